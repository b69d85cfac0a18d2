"""Sign-in throttling, SMS-code limits, sessions and password rules over HTTP (SEC-2, ACC-1).

The lockout rules are in accounts/throttling.py: 10 failures per account per hour over every
address, 30 per address over every account, one hour of cool-off, success resets the account.
"""

from __future__ import annotations

import re
from datetime import timedelta

import jsonschema
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from accounts import sms
from accounts.models import SmsCode, User
from accounts.throttling import login_username
from tenants.throttling import client_ip
from tests.conftest import PASSWORD, within_one_window
from tests.requests.test_account_deletion import _json_schema

BOB_VARIANTS = ("13900000003", "+8613900000003", "139 0000 0003", "+86 139-0000-0003")
LOCKED = "Too many failed sign-ins"
NEW_MOBILE = "+8613700000888"


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with tiny costs, so that the dozens of sign-ins here take seconds, not minutes
    (what is tested is the counting, not the hashing)."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1


@pytest.fixture(autouse=True)
def _quick_hashing(request, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.QuickArgon2PasswordHasher"]
    if "world" in request.fixturenames:
        request.getfixturevalue("world")
        for mobile in ("+8613900000002", "+8613900000003", "+8613900000041"):  # amy, bob, oscar
            user = User.objects.get(mobile=mobile)
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])


def attempt(username: str, password: str, *, ip: str, host: str = "acme.localhost") -> tuple[Client, object]:
    client = Client(HTTP_HOST=host, REMOTE_ADDR=ip)
    response = client.post("/login/", {"username": username, "password": password})
    return client, response


def signed_in(client: Client) -> bool:
    return client.get("/me/").status_code == 200


def lock_bob_from_ten_addresses() -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        _client, response = attempt(BOB_VARIANTS[n % len(BOB_VARIANTS)], "wrong-password-1", ip=f"203.0.113.{n + 1}")
        if n < settings.AXES_FAILURE_LIMIT - 1:
            assert response.status_code == 200, n
            assert "Wrong mobile number or password" in str(response.context["form"].errors)
        else:  # the tenth failure locks
            assert response.status_code == 429
            assert LOCKED in response.content.decode()


def age_attempts(delta: timedelta) -> None:
    AccessAttempt.objects.update(attempt_time=timezone.now() - delta)


def test_the_limits_are_the_documented_ones():
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.PORTAL_LOGIN_FAILURE_LIMIT_PER_IP == 30
    assert timedelta(hours=1) == settings.AXES_COOLOFF_TIME
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "axes" in settings.SHARED_APPS and "axes" not in settings.TENANT_APPS


def test_ten_failures_from_ten_addresses_lock_the_account_everywhere(world):
    lock_bob_from_ten_addresses()
    # one row per address, all under the normalised number
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"+8613900000003"}
    assert AccessAttempt.objects.count() == settings.AXES_FAILURE_LIMIT
    # the right password from a fresh address, in any spelling, on any host: refused
    for host, ip in (("acme.localhost", "198.51.100.7"), ("localhost", "198.51.100.8")):
        client, response = attempt("139 0000 0003", PASSWORD, ip=ip, host=host)
        assert response.status_code == 429
        assert LOCKED in response.content.decode()
        assert "_auth_user_id" not in client.session
    # other accounts are not affected, from those same addresses
    client, response = attempt("13900000002", PASSWORD, ip="203.0.113.1")
    assert response.status_code == 302
    assert signed_in(client)


def test_the_lockout_page_is_the_sign_in_form_with_a_message(world):
    lock_bob_from_ten_addresses()
    _client, response = attempt("13900000003", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page
    assert "Wrong mobile number or password" not in page  # the password is not what failed
    assert 'name="username"' in page and 'value="13900000003"' in page


def test_the_lockout_lifts_after_the_cool_off(world):
    lock_bob_from_ten_addresses()
    cool_off = settings.AXES_COOLOFF_TIME
    age_attempts(cool_off - timedelta(minutes=1))
    _client, response = attempt("13900000003", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 429  # still inside the hour
    age_attempts(cool_off + timedelta(minutes=1))
    client, response = attempt("13900000003", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302
    assert signed_in(client)


def test_failing_again_while_locked_does_not_extend_the_lockout(world):
    lock_bob_from_ten_addresses()
    age_attempts(timedelta(minutes=30))
    _client, response = attempt("13900000003", "wrong-password-1", ip="203.0.113.1")
    assert response.status_code == 429
    latest = max(AccessAttempt.objects.values_list("attempt_time", flat=True))
    assert latest < timezone.now() - timedelta(minutes=29)
    age_attempts(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
    _client, response = attempt("13900000003", PASSWORD, ip="203.0.113.1")
    assert response.status_code == 302


def test_a_successful_sign_in_resets_the_account(world):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("13900000003", "wrong-password-1", ip=f"203.0.113.{n + 1}")
    _client, response = attempt("13900000003", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="+8613900000003").exists()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        _client, response = attempt("13900000003", "wrong-password-1", ip=f"203.0.113.{n + 1}")
        assert response.status_code == 200
    _client, response = attempt("13900000003", PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302


def fail_from_one_address(count: int, ip: str) -> None:
    for n in range(count):  # a different (unknown) account each time: no account reaches its limit
        _client, response = attempt(f"+86137000001{n:02d}", "wrong-password-1", ip=ip)
        assert response.status_code == (429 if n == settings.PORTAL_LOGIN_FAILURE_LIMIT_PER_IP - 1 else 200), n


def test_an_address_is_locked_after_its_own_limit_over_many_accounts(world):
    fail_from_one_address(settings.PORTAL_LOGIN_FAILURE_LIMIT_PER_IP, "192.0.2.50")
    # any account, right password, from that address: refused
    client, response = attempt("13900000003", PASSWORD, ip="192.0.2.50")
    assert response.status_code == 429
    assert not signed_in(client)
    # the same account from elsewhere: fine (the accounts themselves are not locked)
    client, response = attempt("13900000003", PASSWORD, ip="192.0.2.51")
    assert response.status_code == 302
    # and the address is free again after the cool-off
    age_attempts(settings.AXES_COOLOFF_TIME + timedelta(minutes=1))
    _client, response = attempt("13900000002", PASSWORD, ip="192.0.2.50")
    assert response.status_code == 302


def test_signing_in_to_an_own_account_does_not_clear_the_address_count(world):
    fail_from_one_address(settings.PORTAL_LOGIN_FAILURE_LIMIT_PER_IP - 1, "192.0.2.60")
    _client, response = attempt("13900000041", PASSWORD, ip="192.0.2.60", host="localhost")  # oscar's own
    assert response.status_code == 302
    _client, response = attempt("+8613700000299", "wrong-password-1", ip="192.0.2.60")
    assert response.status_code == 429


def test_the_lockout_key_is_the_normalised_mobile_number():
    factory = RequestFactory()
    for variant in BOB_VARIANTS:
        assert login_username(factory.post("/login/", {"username": variant})) == "+8613900000003"
        assert login_username(factory.get("/"), {"username": variant}) == "+8613900000003"
    assert login_username(factory.post("/login/", {"username": " not-a-number "})) == "not-a-number"
    assert login_username(factory.post("/login/", {})) is None


def test_the_client_address_behind_the_proxy():
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(request) == "10.0.0.2"  # no trusted proxy: X-Forwarded-For is ignored
    with override_settings(PORTAL_TRUSTED_PROXY_COUNT=1):
        assert client_ip(request) == "203.0.113.9"  # what our proxy saw; the spoofed entry is ignored
        assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
        assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="garbage")) == "10.0.0.2"
    with override_settings(PORTAL_TRUSTED_PROXY_COUNT=2):
        assert client_ip(request) == "6.6.6.6"


# --- SMS codes through the pages (ACC-1; the service rules are in test_registration.py) --------


@pytest.fixture
def outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def last_code(outbox, mobile: str) -> str:
    return re.search(r"\b(\d{6})\b", [m for m in outbox if m.mobile == mobile][-1].text).group(1)


def test_signup_codes_wait_a_minute_and_at_most_five_an_hour(db, outbox):
    client = Client(HTTP_HOST="localhost")
    assert client.post("/signup/", {"mobile": NEW_MOBILE}).status_code == 302
    response = client.post("/signup/", {"mobile": NEW_MOBILE})
    assert response.status_code == 200
    assert "Wait" in str(response.context["form"].errors["mobile"])
    for _ in range(settings.SMS_CODE_MAX_PER_HOUR - 1):
        SmsCode.objects.update(created_at=timezone.now() - timedelta(seconds=settings.SMS_CODE_RESEND_SECONDS + 1))
        assert client.post("/signup/", {"mobile": NEW_MOBILE}).status_code == 302
    SmsCode.objects.update(created_at=timezone.now() - timedelta(seconds=settings.SMS_CODE_RESEND_SECONDS + 1))
    response = client.post("/signup/", {"mobile": NEW_MOBILE})
    assert response.status_code == 200
    assert "Too many codes" in str(response.context["form"].errors["mobile"])
    assert len(outbox) == settings.SMS_CODE_MAX_PER_HOUR
    # an hour after the first ones, codes may be sent again
    SmsCode.objects.update(created_at=timezone.now() - timedelta(hours=1, seconds=1))
    assert client.post("/signup/", {"mobile": NEW_MOBILE}).status_code == 302
    assert len(outbox) == settings.SMS_CODE_MAX_PER_HOUR + 1


def test_signup_verification_allows_five_wrong_codes(db, outbox):
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": NEW_MOBILE})
    code = last_code(outbox, NEW_MOBILE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    data = {"password": "a-long-new-pass-42", "password_again": "a-long-new-pass-42", "accept_policy": "on"}
    for _ in range(settings.SMS_CODE_MAX_ATTEMPTS):
        response = client.post("/signup/verify/", {**data, "code": wrong})
        assert response.status_code == 200
        assert "code" in response.context["form"].errors
    response = client.post("/signup/verify/", {**data, "code": code})  # the right code, too late
    assert response.status_code == 200
    assert "Too many wrong codes" in str(response.context["form"].errors["code"])
    assert not User.objects.filter(mobile=NEW_MOBILE).exists()


# --- sessions and passwords ---------------------------------------------------------------------


def test_signing_in_replaces_the_anonymous_session(world, outbox):
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": NEW_MOBILE})  # stores the number in an anonymous session
    before = client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=before).exists()
    response = client.post("/login/", {"username": "13900000041", "password": PASSWORD})
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get("/account/").status_code == 200


def test_registration_refuses_a_common_password(db, outbox):
    assert any(v["NAME"].endswith(".CommonPasswordValidator") for v in settings.AUTH_PASSWORD_VALIDATORS)
    assert "password123" in CommonPasswordValidator().passwords
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": NEW_MOBILE})
    code = last_code(outbox, NEW_MOBILE)
    response = client.post(
        "/signup/verify/",
        {"code": code, "password": "password123", "password_again": "password123", "accept_policy": "on"},
    )
    assert response.status_code == 200
    assert "too common" in str(response.context["form"].errors["password"])
    assert not User.objects.filter(mobile=NEW_MOBILE).exists()
    # the code was not spent on the refused attempt
    response = client.post(
        "/signup/verify/",
        {"code": code, "password": "a-long-new-pass-42", "password_again": "a-long-new-pass-42", "accept_policy": "on"},
    )
    assert response.status_code == 302


# --- SEC-7: SMS codes per client address and for the platform -----------------------------------

SIX_NUMBERS = [f"+861370000{n:04d}" for n in range(6)]


def signup_from(address: str, mobile: str, **extra):
    return Client(HTTP_HOST="localhost", REMOTE_ADDR=address).post("/signup/", {"mobile": mobile}, **extra)


@pytest.mark.usefixtures("fresh_throttle_counters")
def test_six_numbers_from_one_address_get_five_codes_then_a_429(db, outbox, settings):
    """The reproduction: six numbers from one address all got codes. With the default cap (5 an
    hour per address) the sixth is refused with 429, Retry-After and a clear message, and no
    code is made or sent; another address is not affected."""
    settings.SMS_CODE_MAX_PER_ADDRESS_PER_HOUR = 5  # the default (base.py); the suite raises it
    within_one_window(3600, needed=10)
    for mobile in SIX_NUMBERS[:5]:
        assert signup_from("198.51.100.30", mobile).status_code == 302
    refused = signup_from("198.51.100.30", SIX_NUMBERS[5])
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "Too many verification codes were requested from your network" in refused.content.decode()
    assert 'name="mobile"' in refused.content.decode()  # the form again, with the message
    assert [message.mobile for message in outbox] == SIX_NUMBERS[:5]
    assert not SmsCode.objects.filter(mobile=SIX_NUMBERS[5]).exists()
    # in Chinese too
    chinese = signup_from("198.51.100.30", SIX_NUMBERS[5], HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 429 and "您的网络请求的验证码过多" in chinese.content.decode()
    # the same number from another address: sent
    assert signup_from("198.51.100.31", SIX_NUMBERS[5]).status_code == 302
    assert len(outbox) == 6


@pytest.mark.usefixtures("fresh_throttle_counters")
def test_the_platform_cap_counts_every_address(db, outbox, settings):
    settings.SMS_CODE_MAX_PER_HOUR_PLATFORM = 3
    within_one_window(3600, needed=10)
    for n in range(3):
        assert signup_from(f"203.0.113.{n + 1}", SIX_NUMBERS[n]).status_code == 302
    refused = signup_from("203.0.113.99", SIX_NUMBERS[3])
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "Too many verification codes are being requested right now" in refused.content.decode()
    assert len(outbox) == 3
    # a refused code is not counted against its address: with room on the platform, it is sent
    settings.SMS_CODE_MAX_PER_HOUR_PLATFORM = 4
    settings.SMS_CODE_MAX_PER_ADDRESS_PER_HOUR = 1
    assert signup_from("203.0.113.99", SIX_NUMBERS[3]).status_code == 302


@pytest.mark.usefixtures("fresh_throttle_counters")
def test_the_address_is_the_one_the_trusted_proxy_saw(db, outbox, settings):
    """Behind the proxy (PORTAL_TRUSTED_PROXY_COUNT) every request comes from the proxy's
    address: the cap counts the address the proxy appended, and what the client wrote to the
    left of it changes nothing."""
    settings.SMS_CODE_MAX_PER_ADDRESS_PER_HOUR = 2
    settings.PORTAL_TRUSTED_PROXY_COUNT = 1
    within_one_window(3600, needed=10)
    for n, spoofed in enumerate(("6.6.6.6", "7.7.7.7")):
        response = signup_from("10.0.0.2", SIX_NUMBERS[n], HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.40")
        assert response.status_code == 302
    assert signup_from("10.0.0.2", SIX_NUMBERS[2], HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.40").status_code == 429
    # another client behind the same proxy
    assert signup_from("10.0.0.2", SIX_NUMBERS[2], HTTP_X_FORWARDED_FOR="203.0.113.41").status_code == 302
    assert SmsCode.objects.filter(sent_to_ip="203.0.113.41").count() == 1  # the record has the client's address


@pytest.mark.usefixtures("fresh_throttle_counters")
def test_account_deletion_codes_share_the_caps_on_the_page_and_the_api(world, outbox, settings, client_for):
    """The other way to get a code (DSR-6): the page answers 429 with the message, the API a JSON
    429 with `code` and Retry-After (documented for every operation, config/openapi.py)."""
    settings.SMS_CODE_MAX_PER_ADDRESS_PER_HOUR = 1
    within_one_window(3600, needed=10)
    erin = client_for("public", world.erin)  # (not Bob: this file's fixture changes his password)
    erin.defaults["REMOTE_ADDR"] = "198.51.100.50"
    assert erin.post("/account/delete/", {"action": "send_code"}).status_code == 302
    dana_page = client_for("public", world.dana)
    dana_page.defaults["REMOTE_ADDR"] = "198.51.100.50"
    page = dana_page.post("/account/delete/", {"action": "send_code"})
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1
    assert "Too many verification codes were requested from your network" in page.content.decode()
    dana_api = client_for("acme", world.dana)
    dana_api.defaults["REMOTE_ADDR"] = "198.51.100.50"
    answer = dana_api.post("/api/v1/me/account-deletion/code/")
    assert answer.status_code == 429
    body = answer.json()
    assert body["code"] == "sms_address_limit" and body["retry_after"] == int(answer["Retry-After"]) >= 1
    assert "Too many verification codes" in body["detail"]
    doc = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR="192.0.2.201").get("/api/schema/?format=json").json()
    documented = doc["paths"]["/api/v1/me/account-deletion/code/"]["post"]["responses"]["429"]
    assert "Retry-After" in documented["headers"]
    jsonschema.Draft202012Validator(
        _json_schema({**documented["content"]["application/json"]["schema"], "components": doc["components"]})
    ).validate(body)
    assert [message.mobile for message in outbox] == [str(world.erin.mobile)]
