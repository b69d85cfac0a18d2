"""An administrator's journey in real Chromium (issue 3): sign in, add a department and a
member, see the masked ID number, reveal it, and find the reveal in the instruction ledger.
Screenshots go to .data/test-artifacts/browser/."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_otp.oath import totp

from core.models import Membership
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tests.browser.conftest import ARTEFACTS, own_enterprise

PASSWORD = "browser-journey-pass-7"
ID_NUMBER = "11010519491231002X"


@pytest.fixture(scope="module")
def journey_enterprise(django_db_setup: None, django_db_blocker) -> Iterator[Enterprise]:
    with own_enterprise(
        django_db_blocker,
        owner_mobile="+8613900000099",
        password=PASSWORD,
        name="Journey Co",
        slug="journey",
        sms_to=("+8613700009999",),
    ) as enterprise:
        yield enterprise


@pytest.mark.browser
@pytest.mark.django_db
def test_admin_adds_a_member_reveals_the_id_number_and_finds_it_in_the_ledger(journey_enterprise, web_server, browser):
    base = f"http://journey.localhost{web_server}"
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "13900000099")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    # SEC-2: an administrator sets up two-factor authentication before the console opens
    page.wait_for_url(f"{base}/security/two-factor/**")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("input[name=token]", f"{totp(base64.b32decode(secret)):06d}")
    page.locator("main form button[type=submit]").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.screenshot(path=str(ARTEFACTS / "00-two-factor.png"), full_page=True)
    page.locator("#continue").click()
    page.wait_for_url(f"{base}/console/")
    page.screenshot(path=str(ARTEFACTS / "01-console.png"), full_page=True)

    page.goto(f"{base}/console/org/departments/new/")
    page.locator("main form input[name=name]").fill("Research")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/console/org/#department-\d+$"))
    assert page.locator("#org-tree", has_text="Research").count() == 1

    page.goto(f"{base}/console/members/new/")
    page.fill("input[name=display_name]", "Li Si")
    page.fill("input[name=mobile]", "13700009999")
    page.locator("label", has_text="Research").locator("input").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/console/members/*/")
    member_url = page.url

    # CON-4: an ID number needs the member's consent or a legal basis recorded with a reason
    member_id = member_url.rstrip("/").rsplit("/", 1)[-1]
    page.goto(f"{base}/console/consents/{member_id}/")
    page.select_option("select[name=line]", "id_documents:hr_records")
    page.select_option("select[name=basis]", "hr_necessity")
    page.fill("textarea[name=reason]", "劳动合同与社会保险登记需要身份证号")
    page.locator("main form.stacked button[type=submit]").click()
    page.wait_for_url(f"{base}/console/consents/{member_id}/")
    page.goto(f"{member_url}edit/")
    page.fill("input[name=id_number]", ID_NUMBER)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(member_url)
    masked = page.locator("#reveal-id_number .masked")
    assert masked.inner_text() == "110***********002X"
    assert ID_NUMBER not in page.content()
    page.screenshot(path=str(ARTEFACTS / "02-member-masked.png"), full_page=True)

    page.locator("button[data-reveal=id_number]").click()
    page.locator("[data-revealed=id_number]").wait_for()
    assert page.locator("[data-revealed=id_number]").inner_text() == ID_NUMBER
    page.screenshot(path=str(ARTEFACTS / "03-member-revealed.png"), full_page=True)

    page.goto(f"{base}/console/ledger/?action=reveal")
    page.screenshot(path=str(ARTEFACTS / "04-ledger.png"), full_page=True)
    assert page.locator("main").filter(has_text="Li Si").count() == 1  # the ledger names whose data

    # the export is a POST form (it records an instruction); the browser still downloads the CSV
    page.locator("form.ledger-export input[name=purpose]").fill("Quarterly audit")
    with page.expect_download() as download_info:
        page.locator("form.ledger-export button[type=submit]").click()
    download = download_info.value
    assert download.suggested_filename.startswith("ledger-") and download.suggested_filename.endswith(".csv")
    assert "Li Si" in Path(download.path()).read_text(encoding="utf-8-sig")
    context.close()

    with enterprise_schema(journey_enterprise):
        member = Membership.objects.get(display_name="Li Si")
        reveal = LedgerEntry.objects.filter(action="reveal", subject_membership_id=member.pk).get()
    assert reveal.details == {"field": "id_number"} and reveal.category == "directory"
    with enterprise_schema(journey_enterprise):
        export = LedgerEntry.objects.filter(action="export").get()
    assert export.purpose == "Quarterly audit" and export.details["filters"] == {"action": "reveal"}
