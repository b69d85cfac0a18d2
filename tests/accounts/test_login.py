"""Login and logout on the public host and on enterprise hosts (ACC-1, ACC-3)."""

from __future__ import annotations

from django.test import Client

from tests.conftest import PASSWORD


def post_login(host: str, username: str, password: str = PASSWORD) -> tuple[Client, object]:
    client = Client(HTTP_HOST=host)
    response = client.post("/login/", {"username": username, "password": password})
    return client, response


def test_member_signs_in_on_the_enterprise_host_with_national_or_e164_number(world):
    for username in ("13900000003", "+8613900000003", "139 0000 0003"):
        client, response = post_login("acme.localhost", username)
        assert response.status_code == 302, username
        page = client.get("/me/")
        assert page.status_code == 200
        assert b"Bob Member" in page.content


def test_wrong_password_or_number_gives_a_form_error(world):
    for username, password in (("13900000003", "nope-nope-nope"), ("12345", PASSWORD), ("", "")):
        _client, response = post_login("acme.localhost", username, password)
        assert response.status_code == 200
        assert response.context["form"].errors


def test_non_member_cannot_sign_in_on_an_enterprise_host(world):
    client, response = post_login("globex.localhost", "13900000003")
    assert response.status_code == 200
    assert "not a member" in str(response.context["form"].errors)
    assert client.get("/me/").status_code == 302


def test_sign_in_on_the_public_host_and_logout(world):
    client, response = post_login("localhost", "13900000041")
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/account/").status_code == 302


def test_passwords_are_hashed_with_argon2(world):
    world.bob.refresh_from_db()
    assert world.bob.password.startswith("argon2$")


def test_login_rotates_the_session_key(world):
    client = Client(HTTP_HOST="acme.localhost")
    client.get("/login/")
    client.cookies["sessionid"] = "attacker-chosen-session-id"
    client.post("/login/", {"username": "13900000003", "password": PASSWORD})
    assert client.cookies["sessionid"].value != "attacker-chosen-session-id"
