"""URLs of the invitations sub-domain (ENT-3). config/urls_tenants.py mounts console_patterns under
/console/, me_patterns under /me/, api_patterns under /api/v1/ and device_patterns under
/api/device/v1/. The invitee's side is on the public host (accounts/profile/urls.py)."""

from django.urls import path

from invitations import apis, views

console_patterns = [
    path("invitations/", views.InvitationListView.as_view(), name="console_invitations"),
    path("invitations/mobile/", views.InvitationMobileCreateView.as_view(), name="console_invitation_mobile"),
    path("invitations/link/", views.InvitationLinkCreateView.as_view(), name="console_invitation_link"),
    path("invitations/<int:pk>/revoke/", views.InvitationRevokeView.as_view(), name="console_invitation_revoke"),
]
me_patterns: list = []
api_patterns = [
    path("invitations/", apis.InvitationListCreateApi.as_view(), name="api_invitations"),
    path("invitations/<int:pk>/revoke/", apis.InvitationRevokeApi.as_view(), name="api_invitation_revoke"),
]
device_patterns: list = []

# The public host (config/urls_public.py): the account's home with its pending invitations, and
# answering an invitation (ENT-3).
public_patterns = [
    path("account/", views.AccountView.as_view(), name="account"),
    path(
        "account/invitations/<int:enterprise_id>/<int:invitation_id>/<str:answer>/",
        views.InvitationAnswerView.as_view(),
        name="account_invitation_answer",
    ),
    path("invitations/<slug:slug>/<str:token>/", views.LinkInvitationView.as_view(), name="invitation_link"),
]
