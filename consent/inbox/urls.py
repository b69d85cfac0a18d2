"""URLs of the in-app inbox (SEC-5): `/account/inbox/` on the public host, `/me/inbox/` and the
notifications API on enterprise hosts."""

from django.urls import path

from consent.inbox import apis, views

public_patterns = [
    path("account/inbox/", views.AccountInboxView.as_view(), name="account_inbox"),
]
tenant_patterns = [
    path("me/inbox/", views.MeInboxView.as_view(), name="me_inbox"),
    path("api/v1/me/notifications/", apis.NotificationListApi.as_view(), name="api_notifications"),
    path(
        "api/v1/me/notifications/<int:notification_id>/read/",
        apis.NotificationReadApi.as_view(),
        name="api_notification_read",
    ),
]
