"""Public-host URLs of the account (ACC-2, ACC-3) and of answering invitations (ENT-3).

config/urls_public.py includes this module with `path("", include("accounts.profile.urls"))`,
placed before its own `account/` route, so that `/account/` is served by
invitations.views.AccountView (the same page plus pending invitations)."""

from django.urls import path

from accounts.profile import views

urlpatterns = [
    path("account/profile/", views.ProfileView.as_view(), name="account_profile"),
    path("account/profile/avatar/", views.AvatarView.as_view(), name="account_avatar"),
    path("account/real-name/", views.RealNameView.as_view(), name="account_real_name"),
]
