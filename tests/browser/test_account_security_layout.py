"""The account-security pages in real Chromium (issue 17 §2): signed in through the sign-in page,
the hub (/account/security/), the session list, the password, e-mail and password-reset pages,
at 1280×800 and 390×844, in Simplified Chinese and English. No page scrolls sideways, the
browser logs no error (a CSP violation included), zh-Hans pages leave no English word
untranslated, and the freeze button asks in the confirmation dialog first. Screenshots go to
.data/test-artifacts/account-security/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axes.models import AccessAttempt
from django.db import connection, connections
from django.test import Client

from accounts.models import User
from tests.browser.conftest import ARTEFACTS
from tests.browser.test_console_layout import LATIN_TEXT, WIDE_ELEMENTS, untranslated

SHOTS = ARTEFACTS.parent / "account-security"
MOBILE = "+8613900001717"
PASSWORD = "browser-security-pass-7"
HOST = "localhost"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
LANGUAGES = ("zh-hans", "en")
PAGES = (
    "/account/security/",
    "/account/security/sessions/",
    "/account/security/password/",
    "/account/security/email/",
)
ANONYMOUS_PAGES = ("/login/", "/login/reset/")
# Latin words that are data on these pages: the nickname, the e-mail address's host, the browsers
# and systems of the sessions (product names), the host names.
NAMES = {"Sec", "Tester", "localhost", "Linux", "Chromium", "Chrome", "Windows", "Safari", "iPhone"}
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(scope="module")
def account(django_db_setup: None, django_db_blocker) -> Iterator[User]:
    """A committed account with an e-mail address waiting for verification and a second session
    (a phone signed in through the sign-in form), deleted afterwards."""
    with django_db_blocker.unblock():
        user = User.objects.create_user(MOBILE, PASSWORD, nickname="Sec Tester", email="sec.tester@example.com")
        phone = Client(HTTP_HOST=HOST, HTTP_USER_AGENT=IPHONE, REMOTE_ADDR="198.51.100.23")
        assert phone.post("/login/", {"username": MOBILE, "password": PASSWORD}).status_code == 302
    yield user
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        User.objects.filter(pk=user.pk).delete()
        AccessAttempt.objects.filter(username=MOBILE).delete()
        connections.close_all()


@pytest.mark.browser
@pytest.mark.django_db
def test_the_account_security_pages_fit_a_phone_and_a_desktop_in_both_languages(account, web_server, browser):
    base = f"http://{HOST}{web_server}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for language in LANGUAGES:
        for device, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies([{"name": "django_language", "value": language, "domain": HOST, "path": "/"}])
            page = context.new_page()
            errors: list[str] = []
            page.on(
                "console",
                lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))

            def check(path: str, slug: str, *, page=page, errors=errors, language=language, device=device) -> None:
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    wide = page.evaluate(WIDE_ELEMENTS)
                    problems.append(f"{language} {device} {path}: {overflow}px too wide: {wide}")
                if errors:
                    problems.append(f"{language} {device} {path}: {errors}")
                    errors.clear()
                if language == "zh-hans":
                    english = untranslated(page.evaluate(LATIN_TEXT), NAMES)
                    if english:
                        problems.append(f"{language} {device} {path}: untranslated {english}")
                page.screenshot(path=str(SHOTS / f"{device}-{language}-{slug}.png"), full_page=True)

            for path in ANONYMOUS_PAGES:
                response = page.goto(f"{base}{path}")
                assert response is not None and response.status == 200, path
                check(path, path.strip("/").replace("/", "-"))
            # sign in through the form (a new device for the account: its notice is sent)
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", MOBILE)
            page.fill("input[name=password]", PASSWORD)
            page.locator("form.stacked button[type=submit]").click()
            page.wait_for_load_state()
            for path in PAGES:
                response = page.goto(f"{base}{path}")
                status = response.status if response is not None else 0
                if status != 200 or not page.url.endswith(path):
                    problems.append(f"{language} {device} {path}: HTTP {status} at {page.url}")
                    continue
                assert page.evaluate("document.documentElement.lang") == language
                check(path, path.strip("/").replace("/", "-"))
                if path == "/account/security/sessions/":
                    assert page.locator("#this-device").count() == 1
                    assert page.locator("#session-list > li").count() >= 2
            # freezing asks first; cancelling changes nothing
            page.goto(f"{base}/account/security/")
            page.locator("#freeze-button").click()
            dialog = page.locator("#confirm-dialog")
            dialog.wait_for(state="visible")
            page.screenshot(path=str(SHOTS / f"{device}-{language}-freeze-dialog.png"))
            dialog.locator("button[value=cancel]").click()
            dialog.wait_for(state="hidden")
            assert page.url.endswith("/account/security/")
            context.close()
    User.objects.filter(pk=account.pk, frozen_at__isnull=True).get()
    assert problems == [], "\n".join(problems)
