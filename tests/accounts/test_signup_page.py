"""The sign-up page (issue 17 §6): the policy line as consumer apps in China write it, and the
countdown on "send a new code" matching the server's resend rule (ACC-1, CON-1)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts import sms

NEW_MOBILE = "+8613700000888"


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()


@pytest.fixture
def on_verify_page(db) -> Client:
    client = Client(HTTP_HOST="localhost")
    assert client.post("/signup/", {"mobile": NEW_MOBILE}).status_code == 302
    return client


def _resend_button(html: str) -> str:
    match = re.search(r'<button[^>]*id="resend-code"[^>]*>', html)
    assert match, "no resend button"
    return match.group(0)


def test_the_policy_line_is_one_label_with_the_box_first_and_the_policy_a_link(on_verify_page):
    html = on_verify_page.get("/signup/verify/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    line = re.search(r'<label class="form-check"[^>]*>(.*?)</label>', html, re.S)
    assert line, "the policy line is one <label>"
    inside = line.group(1)
    assert inside.lstrip().startswith('<input class="form-check-input" type="checkbox" name="accept_policy"')
    assert re.search(r'我已阅读并同意<a href="/policy/"[^>]*>《隐私政策》</a>', inside)
    html = on_verify_page.get("/signup/verify/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'I have read and agree to the <a href="/policy/"[^>]*>Privacy Policy</a>', html)


def test_a_missing_tick_is_a_field_error_and_no_account(on_verify_page):
    response = on_verify_page.post(
        "/signup/verify/",
        {"code": "000000", "nickname": "N", "password": "a-long-new-pass-42", "password_again": "a-long-new-pass-42"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert b'aria-invalid="true"' in response.content
    assert b"Accept the privacy policy to create an account." in response.content


def test_the_resend_button_counts_down_what_the_server_rule_leaves(on_verify_page, settings):
    button = _resend_button(on_verify_page.get("/signup/verify/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode())
    wait = int(re.search(r'data-countdown="(\d+)"', button).group(1))
    assert settings.SMS_CODE_RESEND_SECONDS - 2 <= wait <= settings.SMS_CODE_RESEND_SECONDS
    assert 'data-countdown-unit="秒"' in button
    # without JavaScript the button works as before: not disabled in the HTML; the script that
    # disables it is a static file (CSP: no inline script)
    assert "disabled" not in button
    html = on_verify_page.get("/signup/verify/").content.decode()
    assert re.search(r'<script src="/static/js/countdown\.js" defer></script>', html)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SMS_CODE_RESEND_SECONDS + 1)):
        button = _resend_button(on_verify_page.get("/signup/verify/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert 'data-countdown="0"' in button and 'data-countdown-unit="s"' in button


def test_a_resend_before_the_countdown_ends_is_refused_by_the_server(on_verify_page):
    response = on_verify_page.post("/signup/", {"mobile": NEW_MOBILE}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"before asking for a new code" in response.content
    assert len([m for m in sms.outbox if m.mobile == NEW_MOBILE]) == 1
