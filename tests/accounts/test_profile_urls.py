"""The public host serves the account pages (accounts.profile.urls) and the account's home with
its invitations and their answers (invitations.urls) (ACC-2, ENT-3), included by
config/urls_public.py."""

from __future__ import annotations

from django.urls import resolve

from invitations import views as invitation_views


def test_public_host_routes_every_account_page():
    match = resolve("/account/", urlconf="config.urls_public")
    assert match.func.view_class is invitation_views.AccountView  # the page with pending invitations
    for path_, name in (
        ("/account/profile/", "account_profile"),
        ("/account/profile/avatar/", "account_avatar"),
        ("/account/real-name/", "account_real_name"),
        ("/account/invitations/1/2/accept/", "account_invitation_answer"),
        ("/invitations/acme/tok/", "invitation_link"),
        ("/login/", "login"),
    ):
        assert resolve(path_, urlconf="config.urls_public").url_name == name
