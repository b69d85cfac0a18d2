"""Self-service `/me/` and the API's `me` (the member's own data)."""

from __future__ import annotations


def test_me_shows_the_members_own_name(world, client_for):
    response = client_for("acme", world.bob).get("/me/")
    assert response.status_code == 200
    assert b"Bob Member" in response.content
    assert b"Amy Admin" not in response.content


def test_api_me(world, client_for):
    response = client_for("globex", world.gus).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "enterprise": "Globex Test", "display_name": "Gus Member", "role": "member", "mobile": "139****0012",
    }


def test_home_sends_members_and_admins_to_their_pages(world, client_for):
    assert client_for("acme", world.bob).get("/")["Location"] == "/me/"
    assert client_for("acme", world.amy).get("/")["Location"] == "/console/"
    assert client_for("acme").get("/")["Location"] == "/login/"


def test_openapi_schema_is_served(client_for):
    response = client_for("acme").get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/me/" in response.content
