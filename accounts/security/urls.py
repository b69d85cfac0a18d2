"""Public-host URLs of account security (issue 17 §2), included by config/urls_public.py."""

from django.urls import path

from accounts.security import views

urlpatterns = [
    path("account/security/", views.SecurityView.as_view(), name="account_security"),
    path("account/security/password/", views.PasswordChangeView.as_view(), name="account_password"),
    path("account/security/sessions/", views.SessionsView.as_view(), name="account_sessions"),
    path("account/security/sessions/<int:pk>/end/", views.SessionEndView.as_view(), name="account_session_end"),
    path(
        "account/security/sessions/end-others/",
        views.SessionsEndOthersView.as_view(),
        name="account_sessions_end_others",
    ),
    path("account/security/freeze/", views.FreezeView.as_view(), name="account_freeze"),
    path("account/security/email/", views.EmailView.as_view(), name="account_email"),
    path("account/email/verify/<str:token>/", views.EmailVerifyView.as_view(), name="account_email_verify"),
    path("login/reset/", views.PasswordResetStartView.as_view(), name="password_reset"),
    path("login/reset/verify/", views.PasswordResetVerifyView.as_view(), name="password_reset_verify"),
    path("login/unfreeze/", views.UnfreezeStartView.as_view(), name="account_unfreeze"),
    path("login/unfreeze/verify/", views.UnfreezeVerifyView.as_view(), name="account_unfreeze_verify"),
]
