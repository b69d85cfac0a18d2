"""`manage.py session_for`: the signed-in sessions of the API fuzzing personas (SEC-3,
scripts/fuzz.py). A way around the password, so refused outside DEBUG unless explicitly allowed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client


def session_for(*args: str) -> tuple[str, str]:
    out = StringIO()
    call_command("session_for", *args, stdout=out)
    session_id, csrf = out.getvalue().split()
    return session_id, csrf


def client_with(host: str, session_id: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.cookies["sessionid"] = session_id
    return client


@pytest.fixture
def allowed(monkeypatch):
    monkeypatch.setenv("PORTAL_ALLOW_SESSION_FOR", "1")


def test_refused_without_debug_or_the_explicit_permission(world, monkeypatch):
    monkeypatch.delenv("PORTAL_ALLOW_SESSION_FOR", raising=False)
    with pytest.raises(CommandError, match="Refused"):
        session_for(str(world.alice.mobile), "acme.localhost")
    monkeypatch.setenv("PORTAL_ALLOW_SESSION_FOR", "yes")  # only "1" allows it
    with pytest.raises(CommandError, match="Refused"):
        session_for(str(world.alice.mobile), "acme.localhost")


def test_an_admin_session_has_passed_the_second_factor_and_is_bound_to_its_host(world, allowed):
    session_id, csrf = session_for(str(world.alice.mobile), "acme.localhost")
    assert len(csrf) == 32
    assert client_with("acme.localhost", session_id).get("/api/v1/members/").status_code == 200
    assert client_with("acme.localhost", session_id).get("/console/").status_code == 200
    # the same cookie on globex's host is nobody's session (HostBoundSessionMiddleware)
    assert client_with("globex.localhost", session_id).get("/me/")["Location"].startswith("/login/")


def test_password_only_sessions(world, allowed):
    admin, _csrf = session_for(str(world.alice.mobile), "acme.localhost", "--password-only")
    response = client_with("acme.localhost", admin).get("/api/v1/members/")
    assert (response.status_code, response.json()["code"]) == (403, "two_factor_required")
    member, _csrf = session_for(str(world.gus.mobile), "globex.localhost", "--password-only")
    response = client_with("globex.localhost", member).get("/api/v1/me/")
    assert response.status_code == 200 and response.json()["display_name"] == "Gus Member"


@pytest.mark.parametrize(
    ("mobile", "host", "message"),
    [
        ("+8613700000999", "acme.localhost", "No such account"),
        ("+8613900000001", "nowhere.localhost", "No such host"),
    ],
)
def test_unknown_account_or_host(world, allowed, mobile, host, message):
    with pytest.raises(CommandError, match=message):
        session_for(mobile, host)
