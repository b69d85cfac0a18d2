"""The Content-Security-Policy in real Chromium (SEC-2, docs/security.md): the pages still work
(an htmx reveal, the language switch, the Swagger UI) and the browser reports no violation."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest
from django_otp.oath import totp

from tenants.models import Enterprise
from tests.browser.conftest import own_enterprise

PASSWORD = "browser-csp-pass-7"
MEMBER_MOBILE = "+8613700008888"


@pytest.fixture(scope="module")
def csp_enterprise(django_db_setup: None, django_db_blocker) -> Iterator[Enterprise]:
    with own_enterprise(
        django_db_blocker,
        owner_mobile="+8613900000098",
        password=PASSWORD,
        name="Policy Co",
        slug="policyco",
        sms_to=(MEMBER_MOBILE,),
    ) as enterprise:
        yield enterprise


@pytest.mark.browser
@pytest.mark.django_db
def test_the_pages_work_under_the_policy(csp_enterprise, web_server, browser):
    base = f"http://policyco.localhost{web_server}"
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )

    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "13900000098")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    # the two-factor enrolment page (SEC-2) works under the policy too
    page.wait_for_url(f"{base}/security/two-factor/**")
    secret = page.locator("#totp-secret").inner_text()
    # the QR code (an SVG data: URI, UI-4) is drawn: img-src allows data:
    assert page.locator("#totp-qr").evaluate("image => image.complete && image.naturalWidth") > 0
    page.fill("input[name=token]", f"{totp(base64.b32decode(secret)):06d}")
    page.locator("main form button[type=submit]").click()
    page.locator("#continue").click()
    page.wait_for_url(f"{base}/console/")

    # htmx (served from /static/, its injected styles carrying the nonce): reveal a masked field
    page.goto(f"{base}/console/members/new/")
    page.fill("input[name=display_name]", "Wang Wu")
    page.fill("input[name=mobile]", MEMBER_MOBILE)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/console/members/*/")
    button = page.locator("button[data-reveal]").first
    field = button.get_attribute("data-reveal")
    button.click()
    page.locator(f"[data-revealed={field}]").wait_for()
    assert page.locator(f"[data-revealed={field}]").inner_text() == MEMBER_MOBILE

    # a destructive action asks first in a <dialog> (static/js/portal.js, issue 16 §1): "Cancel"
    # does nothing, "Yes" submits with confirmed=yes
    page.goto(f"{base}/console/org/departments/new/")
    page.fill("form.stacked input[name=name]", "Short-lived Team")
    page.locator("form.stacked select[name=parent]").select_option(index=0)
    page.locator("form.stacked button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/console/org/#department-\d+$"))
    # the ⋯ menu of the new department (a Bootstrap dropdown), then its "Delete"
    more = page.get_by_role("button", name="Actions for Short-lived Team")
    more.click()
    delete = page.locator("form[data-confirm^='Delete the department Short-lived Team'] button[type=submit]")
    delete.click()
    dialog = page.locator("#confirm-dialog")
    dialog.wait_for(state="visible")
    assert "Delete the department Short-lived Team?" in page.locator("#confirm-dialog-message").inner_text()
    dialog.locator("button[value=cancel]").click()
    dialog.wait_for(state="hidden")
    assert page.locator("#org-tree").inner_text().count("Short-lived Team") == 1
    more.click()
    delete.click()
    dialog.wait_for(state="visible")
    with page.expect_navigation():
        page.locator("#confirm-dialog-yes").click()
    assert "Short-lived Team" not in page.locator("#org-tree").inner_text()

    # pages with the nonced <style> and scripts, and the Swagger UI's inline script
    for path in ("/console/", "/console/org/", "/me/", "/api/docs/"):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status < 400, path
    page.locator("#swagger-ui .info").wait_for()

    # the language switch submits on change without an inline handler (static/js/portal.js)
    page.goto(f"{base}/console/")
    page.select_option("select[name=language]", "zh-hans")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    assert violations == []

    # and the browser does report what the policy blocks: an injected inline script
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.injected") is None
    assert violations
    context.close()
