"""The sign-in hand-off (TEN-2, SEC-2; accounts/handoff.py, docs/security.md "Sign-in hand-off"):
creating an enterprise on the public host lands its creator signed in on the new host's console,
through a single-use, short-lived, host-bound token stored hashed; every misuse gets the same
refusal and signs nobody in. All through HTTP with the real Host headers."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts.handoff import handoff_create
from accounts.models import SignInHandoff
from tenants.middleware import SESSION_SCHEMA_KEY
from tenants.models import Enterprise
from tests.conftest import within_one_window

REFUSED = "This sign-in link cannot be used"


def _signed_in(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def _redeem(host: str, token: str, client: Client | None = None):
    client = client or Client(HTTP_HOST=host)
    return client, client.post(f"/login/handoff/{token}/", HTTP_ACCEPT_LANGUAGE="en")


def _refused(client: Client, response) -> bool:
    return response.status_code == 400 and REFUSED in response.content.decode() and _signed_in(client) is None


def test_creating_an_enterprise_lands_the_creator_on_its_console(world, client_for):
    public = client_for("public", world.oscar)
    public_key = public.session.session_key
    public_session = dict(public.session.items())
    response = public.post(
        "/enterprises/new/",
        {"name": "Stark Industries", "slug": "stark", "creator_name": "Oscar O.", "creator_email": "o@stark.test"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    match = re.fullmatch(r"http://stark\.localhost/login/handoff/([A-Za-z0-9_-]{43})/", response.context["url"])
    assert match is not None
    token = match.group(1)
    # stored hashed only, for this account and enterprise, for two minutes
    row = SignInHandoff.objects.get()
    stark = Enterprise.objects.get(slug="stark")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert (row.account_id, row.enterprise_id) == (world.oscar.pk, stark.pk)
    assert timedelta(seconds=119) < row.expires_at - timezone.now() <= timedelta(seconds=120)

    new_host = Client(HTTP_HOST="stark.localhost")
    page = new_host.get(f"/login/handoff/{token}/", HTTP_ACCEPT_LANGUAGE="en")  # GET changes nothing
    assert page.status_code == 200 and b"data-submit-on-load" in page.content and _signed_in(new_host) is None
    assert SignInHandoff.objects.filter(pk=row.pk).exists()
    anonymous_key = new_host.session.session_key
    landed = new_host.post(f"/login/handoff/{token}/")
    assert landed.status_code == 302 and landed["Location"] == "/console/"
    assert _signed_in(new_host) == str(world.oscar.pk)
    assert new_host.session[SESSION_SCHEMA_KEY] == "stark"  # a session of that host
    assert new_host.session.session_key != anonymous_key  # rotated on sign-in
    assert not SignInHandoff.objects.exists()  # used up
    # the owner must still pass the second factor before the console (SEC-2): not bypassed
    console = new_host.get("/console/")
    assert console.status_code == 302 and console["Location"] == "/security/two-factor/?next=/console/"
    assert new_host.get("/me/").status_code == 200
    # the public host's session is untouched, and still only the public host's
    assert public.session.session_key == public_key and dict(public.session.items()) == public_session
    assert public.get("/account/").status_code == 200
    replayed = Client(HTTP_HOST="stark.localhost")
    replayed.cookies = public.cookies
    assert replayed.get("/me/").status_code == 302  # not signed in there with the public session

    # a second use is refused, and signs nobody in
    assert _refused(*_redeem("stark.localhost", token))


def test_an_expired_token_is_refused(world):
    token = handoff_create(account=world.alice, enterprise=world.acme)
    with time_machine.travel(timezone.now() + timedelta(seconds=121), tick=False):
        client, response = _redeem("acme.localhost", token)
    assert _refused(client, response)
    assert not SignInHandoff.objects.exists()


def test_a_token_on_another_enterprises_host_is_refused_and_used_up(world):
    token = handoff_create(account=world.dana, enterprise=world.acme)  # Dana is a member of both
    assert _refused(*_redeem("globex.localhost", token))
    assert _refused(*_redeem("acme.localhost", token))  # burnt by the attempt


def test_a_tampered_or_unknown_token_is_refused(world):
    token = handoff_create(account=world.bob, enterprise=world.acme)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert _refused(*_redeem("acme.localhost", tampered))
    assert _refused(*_redeem("acme.localhost", "x" * 500))
    client, response = _redeem("acme.localhost", token)  # the real one still works once
    assert response.status_code == 302 and _signed_in(client) == str(world.bob.pk)


def test_a_token_of_another_account_does_not_replace_who_is_signed_in(world, client_for):
    erin = client_for("acme", world.erin)
    token = handoff_create(account=world.bob, enterprise=world.acme)
    client, response = _redeem("acme.localhost", token, client=erin)
    assert response.status_code == 400 and REFUSED in response.content.decode()
    assert _signed_in(erin) == str(world.erin.pk)


def test_a_token_for_someone_no_longer_a_member_is_refused(world):
    token = handoff_create(account=world.oscar, enterprise=world.acme)  # Oscar is no member of acme
    assert _refused(*_redeem("acme.localhost", token))


def test_the_hand_off_is_only_on_enterprise_hosts(world):
    token = handoff_create(account=world.bob, enterprise=world.acme)
    assert Client(HTTP_HOST="localhost").post(f"/login/handoff/{token}/").status_code == 404


@pytest.mark.usefixtures("fresh_throttle_counters")
def test_redemptions_are_rate_limited_per_address(world, settings):
    """SEC-7: like the other sign-in paths, guessing is capped per client address."""
    settings.SIGN_IN_HANDOFF_MAX_PER_ADDRESS_PER_MINUTE = 2
    within_one_window(60, 10)
    token = handoff_create(account=world.bob, enterprise=world.acme)
    for _attempt in range(2):
        assert _refused(*_redeem("acme.localhost", "y" * 43))
    client, response = _redeem("acme.localhost", token)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1 and _signed_in(client) is None
    assert SignInHandoff.objects.filter(account=world.bob).exists()  # not spent by a refused request
