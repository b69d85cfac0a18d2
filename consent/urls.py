"""Routes of the consent app.

config/urls_public.py mounts `public_patterns`, config/urls_tenants.py `tenant_patterns`:
the policy pages are on every host (CON-1: a stable URL per version), the inbox is
`/account/inbox/` on the public host and `/me/inbox/` plus `/api/v1/me/notifications/` on
enterprise hosts."""

from django.urls import path

from consent import views

policy_patterns = [
    path("policy/", views.PolicyView.as_view(), name="policy_current"),
    path("policy/<str:version>/", views.PolicyView.as_view(), name="policy_version"),
]

public_patterns = [
    *policy_patterns,
    path("account/inbox/", views.AccountInboxView.as_view(), name="account_inbox"),
]

tenant_patterns = [
    *policy_patterns,
    path("me/inbox/", views.MeInboxView.as_view(), name="me_inbox"),
    path("api/v1/me/notifications/", views.NotificationListApi.as_view(), name="api_notifications"),
    path("api/v1/me/notifications/<int:notification_id>/read/", views.NotificationReadApi.as_view(),
         name="api_notification_read"),
]

urlpatterns = public_patterns
