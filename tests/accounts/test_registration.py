"""Registration confirmed by a one-time SMS code (ACC-1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts import sms
from accounts.models import SmsCode, User
from accounts.services import sms_code_send, sms_code_verify

NEW_MOBILE = "+8613700000777"


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()


def last_code(mobile: str) -> str:
    message = [m for m in sms.outbox if m.mobile == mobile][-1]
    return re.search(r"\b(\d{6})\b", message.text).group(1)


def test_register_through_the_pages(db):
    client = Client(HTTP_HOST="localhost")
    response = client.post("/signup/", {"mobile": "137 0000 0777"})
    assert response.status_code == 302
    assert response["Location"] == "/signup/verify/"
    code = last_code(NEW_MOBILE)
    response = client.post(
        "/signup/verify/",
        {
            "code": code,
            "nickname": "Newbie",
            "password": "a-long-new-pass-42",
            "password_again": "a-long-new-pass-42",
            "accept_policy": "on",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(mobile=NEW_MOBILE)
    assert user.nickname == "Newbie"
    assert user.password.startswith("argon2$")
    assert client.get("/account/").status_code == 200


def test_the_code_is_stored_hashed(db):
    sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    code = last_code(NEW_MOBILE)
    stored = SmsCode.objects.get(mobile=NEW_MOBILE)
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64


@pytest.mark.parametrize("mobile", ["12345678901", "abc", "", "+86 138", "+8612345678901", "010 1234 5678"])
def test_invalid_mobile_numbers_get_a_field_error_and_no_sms(db, mobile):
    client = Client(HTTP_HOST="localhost")
    response = client.post("/signup/", {"mobile": mobile})
    assert response.status_code == 200
    assert "mobile" in response.context["form"].errors
    assert sms.outbox == []
    assert not SmsCode.objects.exists()


def test_resend_is_rate_limited(db):
    sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    with pytest.raises(ValidationError) as excinfo:
        sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    assert "mobile" in excinfo.value.message_dict
    assert len(sms.outbox) == 1
    # after the resend interval a new code may be sent, up to the hourly maximum
    for _ in range(4):
        SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    SmsCode.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    with pytest.raises(ValidationError, match="Too many codes"):
        sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    assert len(sms.outbox) == 5


def test_the_signup_page_shows_the_rate_limit(db):
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": NEW_MOBILE})
    response = client.post("/signup/", {"mobile": NEW_MOBILE})
    assert response.status_code == 200
    assert "Wait" in str(response.context["form"].errors["mobile"])


def test_at_most_five_attempts(db):
    sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    code = last_code(NEW_MOBILE)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(ValidationError, match="Wrong code|Too many"):
            sms_code_verify(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER, code=wrong)
    with pytest.raises(ValidationError, match="Too many wrong codes"):
        sms_code_verify(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER, code=code)


def test_codes_expire_after_five_minutes(db):
    sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    code = last_code(NEW_MOBILE)
    sms_code = SmsCode.objects.get()
    assert sms_code.expires_at - sms_code.created_at == timedelta(minutes=5)
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="expired"):
        sms_code_verify(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER, code=code)


def test_a_code_works_once(db):
    sms_code_send(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER)
    code = last_code(NEW_MOBILE)
    sms_code_verify(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER, code=code)
    with pytest.raises(ValidationError):
        sms_code_verify(mobile=NEW_MOBILE, purpose=SmsCode.Purpose.REGISTER, code=code)


def test_bad_verify_input_changes_nothing(db):
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": NEW_MOBILE})
    code = last_code(NEW_MOBILE)
    cases = [
        (
            {
                "code": "000000" if code != "000000" else "111111",
                "password": "a-long-new-pass-42",
                "password_again": "a-long-new-pass-42",
            },
            "code",
        ),
        ({"code": code, "password": "password", "password_again": "password"}, "password"),
        ({"code": code, "password": "a-long-new-pass-42", "password_again": "different-pass-42"}, "password_again"),
        ({"code": "12", "password": "", "password_again": ""}, "code"),
    ]
    for data, field in cases:
        response = client.post("/signup/verify/", {**data, "accept_policy": "on"})
        assert response.status_code == 200
        assert field in response.context["form"].errors, (data, response.context["form"].errors)
    assert not User.objects.filter(mobile=NEW_MOBILE).exists()


def test_existing_account_cannot_register_again(world):
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": "13900000003"})
    code = last_code("+8613900000003")
    response = client.post(
        "/signup/verify/",
        {"code": code, "password": "a-long-new-pass-42", "password_again": "a-long-new-pass-42", "accept_policy": "on"},
    )
    assert response.status_code == 200
    assert "mobile" in str(response.context["form"].errors) or response.context["form"].non_field_errors()
    assert User.objects.filter(mobile="+8613900000003").count() == 1


def test_verify_page_without_a_started_signup_goes_back(db):
    response = Client(HTTP_HOST="localhost").get("/signup/verify/")
    assert response.status_code == 302
    assert response["Location"] == "/signup/"
