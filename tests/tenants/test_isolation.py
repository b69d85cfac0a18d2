"""Isolation between enterprises (TEN-5 / SEC-1) for the foundation's pages and API."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

from core.models import Membership
from tenants.context import enterprise_schema

# Every enterprise-host page and API route of the foundation, as (path, who may see it).
ENTERPRISE_PAGES = ["/", "/me/", "/console/", "/console/members/", "/api/v1/me/"]


def _named_routes(patterns, prefix: str = "") -> dict[str, str]:
    routes: dict[str, str] = {}
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            routes.update(_named_routes(pattern.url_patterns, prefix + str(pattern.pattern)))
        elif pattern.name:
            routes[pattern.name] = prefix + str(pattern.pattern)
    return routes


def test_every_enterprise_route_is_exercised_by_some_test():
    """A new route cannot escape testing: each named enterprise-host route must be requested by
    name or path in some test module (the full isolation matrix is SEC-1's, issue 7)."""
    from pathlib import Path

    from config import urls_tenants

    sources = "\n".join(p.read_text() for p in Path(__file__).resolve().parents[1].rglob("test_*.py"))
    routes = _named_routes(get_resolver(urls_tenants).url_patterns)
    untested = {
        name: route
        for name, route in routes.items()
        if name not in sources and "/" + route.split("<")[0] not in sources and not route.startswith("i18n/")
    }
    assert untested == {}


def test_ids_collide_across_enterprises(world):
    with enterprise_schema(world.acme):
        acme_ids = set(Membership.objects.values_list("pk", flat=True))
    with enterprise_schema(world.globex):
        globex_ids = set(Membership.objects.values_list("pk", flat=True))
    assert acme_ids & globex_ids == acme_ids  # 1..6 exist in both
    assert globex_ids - acme_ids  # and globex has one more


@pytest.mark.parametrize("path", ENTERPRISE_PAGES)
def test_member_of_one_enterprise_is_refused_on_the_others_host(world, client_for, path):
    """Bob (acme only) signed in on acme, replaying his session on globex: not served."""
    client = client_for("acme", world.bob)
    assert client.get("/me/").status_code == 200
    client.defaults["HTTP_HOST"] = "globex.localhost"
    response = client.get(path)
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert response["Location"].startswith("/login/")
    assert b"Gus Member" not in response.content


@pytest.mark.parametrize("path", ENTERPRISE_PAGES)
def test_non_member_signed_in_on_the_other_host_gets_403(world, client_for, path):
    """Even a session issued by globex's own host gets 403 for an account that is not a member."""
    client = client_for("globex", world.bob)
    response = client.get(path)
    assert response.status_code == 403
    assert b"Gus Member" not in response.content


def test_admin_of_one_enterprise_gets_404_for_the_others_ids(world, client_for):
    """Amy (acme admin) on acme's console asking for an id that exists only in globex: 404; an
    id that exists in both shows acme's row, never globex's."""
    with enterprise_schema(world.globex):
        gary_id = Membership.objects.get(account=world.gwen).pk  # exists only in globex
        gus_id = Membership.objects.get(account=world.gus).pk
    client = client_for("acme", world.amy)
    assert client.get(f"/console/members/{gary_id}/").status_code == 404
    response = client.get(f"/console/members/{gus_id}/")
    assert b"Gus Member" not in response.content
    # and on globex's host her session is not accepted at all
    client.defaults["HTTP_HOST"] = "globex.localhost"
    assert client.get(f"/console/members/{gus_id}/").status_code == 302


def test_replayed_session_leaves_the_original_intact(world, client_for):
    """The refused replay does not end the real session (the test client keeps one cookie jar
    for all hosts, so the cookie the refusal clears is put back as a browser would keep it)."""
    client = client_for("acme", world.bob)
    session_id = client.cookies["sessionid"].value
    client.defaults["HTTP_HOST"] = "globex.localhost"
    assert client.get("/me/").status_code == 302
    client.cookies["sessionid"] = session_id
    client.defaults["HTTP_HOST"] = "acme.localhost"
    assert client.get("/me/").status_code == 200


def test_member_of_both_must_sign_in_on_each_host(world, client_for):
    """Dana belongs to both: a session from acme is still not a globex session; a globex one is."""
    from_acme = client_for("acme", world.dana)
    from_acme.defaults["HTTP_HOST"] = "globex.localhost"
    assert from_acme.get("/me/").status_code == 302
    response = client_for("globex", world.dana).get("/me/")
    assert response.status_code == 200
    assert b"Dana Dual" in response.content


def test_public_host_session_is_not_an_enterprise_session(world, client_for):
    client = client_for("public", world.bob)
    assert client.get("/account/").status_code == 200
    client.defaults["HTTP_HOST"] = "acme.localhost"
    assert client.get("/me/").status_code == 302


def test_suspended_enterprise_shows_a_clear_page(world, client_for):
    for client in (client_for("initech"), client_for("initech", world.ivan)):
        for path in ("/", "/me/", "/login/", "/api/v1/me/"):
            response = client.get(path)
            assert response.status_code == 403
            assert b"suspended" in response.content


def test_api_refusals_are_json_with_a_stable_code(world, client_for):
    response = client_for("globex", world.bob).get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (403, "not_member")
    response = client_for("initech", world.ivan).get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (403, "enterprise_suspended")


def test_unknown_host_is_not_found(client_for):
    assert client_for("nowhere.localhost").get("/").status_code == 404


def test_anonymous_is_sent_to_login_and_api_refuses(client_for):
    client = client_for("acme")
    assert client.get("/me/")["Location"].startswith("/login/")
    assert client.get("/console/")["Location"].startswith("/login/")
    assert client.get("/api/v1/me/").status_code == 403


def test_member_cannot_open_the_console(world, client_for):
    client = client_for("acme", world.bob)
    assert client.get("/console/").status_code == 403
    assert client.get("/console/members/").status_code == 403
