"""The sign-up page in Chromium (issue 17 §6), at 1280×800 and 390×844, in Simplified Chinese and
English: the policy line is one line with the box at its left and the policy a link; "send a new
code" is disabled and counts down the seconds the server's resend rule leaves. Screenshots go to
.data/test-artifacts/browser/signup-*.png."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTEFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("size", sorted(SIZES))
def test_policy_line_and_resend_countdown(browser, web_server, size, language):
    width, height = SIZES[size]
    mobile = f"+8613700008{1 if language == 'en' else 2}{1 if size == 'phone' else 2}3"  # 11 digits, new
    context = browser.new_context(viewport={"width": width, "height": height}, locale=language)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto(f"http://localhost{web_server}/signup/")
    page.fill("input[name=mobile]", mobile)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r"/signup/verify/$"))

    box = page.locator("input[name=accept_policy]").bounding_box()
    text = page.locator(".portal-policy-line .form-check-label").bounding_box()
    link = page.locator(".portal-policy-line a[href='/policy/']")
    assert box and text and link.count() == 1
    assert box["x"] < text["x"], "the box is at the left of the sentence"
    line_height = float(
        page.locator(".portal-policy-line .form-check-label").evaluate(
            "e => parseFloat(getComputedStyle(e).lineHeight)"
        )
    )
    assert text["height"] < line_height * 1.6, "the policy sentence is one line"
    if language == "zh-hans":
        assert link.inner_text() == "《隐私政策》"

    resend = page.locator("#resend-code")
    assert resend.is_disabled()
    assert re.fullmatch(r"\d{1,2} (秒|s)", resend.inner_text()), resend.inner_text()
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert errors == []
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"signup-{language}-{size}.png"), full_page=True)
    context.close()
