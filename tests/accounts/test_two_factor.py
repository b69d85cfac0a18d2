"""Two-factor authentication (SEC-2): required of enterprise administrators (owner, full, scoped)
before any console page or API with session authentication, and of operators before the
operators' admin; a TOTP authenticator plus one-time recovery codes (django-otp)."""

from __future__ import annotations

import time

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor.services import RECOVERY_CODES

SETUP = "/security/two-factor/"


def code_for(device: TOTPDevice, *, drift: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


@pytest.fixture
def alice_without_second_factor(world, client_for):
    """Alice (acme owner) signed in with her password only, before setting up an authenticator."""
    TOTPDevice.objects.filter(user=world.alice).delete()
    return client_for("acme", world.alice, two_factor=False)


@pytest.mark.parametrize("path", ["/console/", "/console/members/", "/console/consents/", "/console/ledger/"])
def test_an_admin_without_two_factor_is_sent_to_set_it_up(alice_without_second_factor, path):
    response = alice_without_second_factor.get(path)
    assert response.status_code == 302 and response["Location"] == f"{SETUP}?next={path}"


@pytest.mark.parametrize("path", ["/api/v1/members/", "/api/v1/me/", "/api/v1/ledger/"])
def test_and_cannot_use_the_api_with_session_auth(alice_without_second_factor, path):
    response = alice_without_second_factor.get(path)
    assert (response.status_code, response.json()["code"]) == (403, "two_factor_required")


def test_members_are_not_asked(world, client_for):
    client = client_for("acme", world.bob, two_factor=False)
    assert client.get("/me/").status_code == 200 and client.get("/api/v1/me/").status_code == 200


def test_enrolment_then_access_then_recovery_codes(world, alice_without_second_factor):
    client = alice_without_second_factor
    page = client.get(f"{SETUP}?next=/console/members/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b'id="totp-secret"' in page.content
    device = TOTPDevice.objects.get(user=world.alice, confirmed=False)
    assert page.context["enrolment"].secret and page.context["enrolment"].config_url.startswith("otpauth://totp/")
    wrong = client.post(SETUP, {"action": "confirm", "token": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 400 and not TOTPDevice.objects.filter(user=world.alice, confirmed=True).exists()
    assert client.get("/console/").status_code == 302  # still not allowed

    done = client.post(SETUP, {"action": "confirm", "token": code_for(device), "next": "/console/members/"})
    assert done.status_code == 200 and len(done.context["codes"]) == RECOVERY_CODES
    assert client.get("/console/members/").status_code == 200
    assert client.get("/api/v1/members/").status_code == 200
    # recovery codes: each works once, on a new session
    code = done.context["codes"][0]
    again = client_signed_in_again(world)
    assert again.get("/console/").status_code == 302
    assert again.post(SETUP, {"action": "verify", "token": code, "next": "/console/"})["Location"] == "/console/"
    assert again.get("/console/").status_code == 200
    third = client_signed_in_again(world)
    assert third.post(SETUP, {"action": "verify", "token": code}).status_code == 400  # used up
    assert StaticToken.objects.filter(device__user=world.alice).count() == RECOVERY_CODES - 1


def test_enrolment_shows_a_qr_code_of_the_provisioning_uri(world, alice_without_second_factor):
    """UI-4/SEC-2: the key URI as an SVG QR code (segno, server-side) with the typed key as a
    fallback; the label is the masked mobile, the issuer the platform's name."""
    import base64
    import io
    import re
    from urllib.parse import parse_qs, unquote, urlsplit

    import segno
    from django.conf import settings

    page = alice_without_second_factor.get(SETUP, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    enrolment = page.context["enrolment"]
    device = TOTPDevice.objects.get(user=world.alice, confirmed=False)
    uri = urlsplit(enrolment.config_url)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == f"/{settings.OTP_TOTP_ISSUER}:139****0001"  # masked, never the number
    assert "13900000001" not in enrolment.config_url
    query = parse_qs(uri.query)
    assert query["issuer"] == [settings.OTP_TOTP_ISSUER] and query["secret"] == [enrolment.secret]
    assert enrolment.secret == base64.b32encode(device.bin_key).decode()
    match = re.search(r'<img id="totp-qr" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"[^>]* alt="([^"]+)"', html)
    assert match is not None and "QR code" in match.group(2)
    svg = base64.b64decode(match.group(1))
    expected = io.BytesIO()
    segno.make_qr(enrolment.config_url, error="m").save(expected, kind="svg", scale=4, border=4, xmldecl=False)
    assert svg.startswith(b"<svg") and svg == expected.getvalue()
    assert f'id="totp-secret">{enrolment.secret}<' in html  # the typed key stays
    zh = alice_without_second_factor.get(SETUP, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert re.search(r'<img id="totp-qr"[^>]* alt="[^"]*二维码', zh)


def client_signed_in_again(world):
    from django.test import Client

    from tests.conftest import sign_in

    client = Client(HTTP_HOST="acme.localhost")
    sign_in(client, world.alice, "acme", two_factor=False)
    return client


def test_a_totp_code_confirms_a_new_session(world, client_for):
    client = client_for("acme", world.sam, two_factor=False)  # sam has an authenticator (World)
    assert client.get("/console/").status_code == 302
    device = TOTPDevice.objects.get(user=world.sam, confirmed=True)
    assert client.post(SETUP, {"action": "verify", "token": "12"}).status_code == 400
    time.sleep(1.1)  # django-otp throttles the next try after a failure (1 s, then doubling)
    response = client.post(SETUP, {"action": "verify", "token": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"  # never an off-site redirect
    assert client.get("/console/").status_code == 200


def test_operators_need_it_for_the_admin(world, client_for):
    client = client_for("public", world.olga, two_factor=False)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(SETUP)
    assert client_for("public", world.olga).get("/admin/").status_code == 200


def test_a_device_of_another_account_does_not_count(world, client_for):
    """A session carrying someone else's device id (e.g. tampered) is not verified."""
    client = client_for("acme", world.amy, two_factor=False)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=world.alice).persistent_id
    session.save()
    assert client.get("/console/").status_code == 302
