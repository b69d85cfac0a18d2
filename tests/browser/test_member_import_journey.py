"""An administrator imports members in real Chromium (issue 16 §5), in the Chinese UI: download
nothing, upload an .xlsx on the import page, read the dry run (the counts, the one bad row with
its error; nothing saved), confirm, and watch the job page — polled by htmx, no reload — reach
"done" with the counts, the job run by a real Celery worker on this run's queue. The preview is
also opened on a phone and in English: it never scrolls sideways and logs no console error (CSP
included). Screenshots: .data/test-artifacts/browser/import-*.png."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.test import Client
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from accounts.models import User
from directory.org import department_create
from tests.browser.conftest import ARTEFACTS, own_enterprise
from tests.conftest import sign_in
from tests.tenants.test_tasks import worker_process

PASSWORD = "browser-import-pass-5"
OWNER = "+8613900000094"
HOST = "importco.localhost"
MOBILES = ("13600007701", "13600007702", "13600007703")
WAIT_MS = 120_000


def workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名*", "手机号*", "部门", "职务", "性别"])
    sheet.append(["陈静", MOBILES[0], "销售部/华东", "销售", "女"])
    sheet.append(["王伟", int(MOBILES[1]), "华东", "", "男"])
    sheet.append(["李娜", "12345", "销售部", "", ""])  # row 4: not a mobile number
    sheet.append(["Alexandria Wolfeschlegelsteinhausenbergerdorff", MOBILES[2], "销售部", "", "female"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def import_session(django_db_setup: None, django_db_blocker) -> Iterator[str]:
    with own_enterprise(
        django_db_blocker,
        owner_mobile=OWNER,
        password=PASSWORD,
        name="导入测试公司",
        slug="importco",
        sms_to=tuple(f"+86{m}" for m in MOBILES),
    ) as enterprise:
        with django_db_blocker.unblock():
            sales = department_create(enterprise=enterprise, actor=None, name="销售部")
            department_create(enterprise=enterprise, actor=None, name="华东", parent=sales)
            client = Client(HTTP_HOST=HOST)
            sign_in(client, User.objects.get(mobile=OWNER), enterprise.schema_name)
            session = client.cookies["sessionid"].value
        yield session


@pytest.fixture(scope="module")
def worker(web_server: str) -> Iterator[None]:
    """The real Celery worker, stopped with the module; its database sessions are ended by
    `web_server`'s teardown, which runs after this one (as in test_self_service_journey)."""
    with worker_process(ARTEFACTS / "import-celery-worker.log"):
        yield


def _page(browser, base: str, session: str, language: str, width: int, height: int) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies(
        [
            {"name": "sessionid", "value": session, "domain": HOST, "path": "/"},
            {"name": "django_language", "value": language, "domain": HOST, "path": "/"},
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def _preview(page: Page, base: str) -> None:
    page.goto(f"{base}/console/members/import/")
    page.set_input_files(
        "#import-upload input[type=file]",
        files=[
            {
                "name": "成员.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": workbook(),
            }
        ],
    )
    page.locator("#import-upload button[type=submit]").click()
    expect(page.locator("#import-counts [data-count=new]")).to_have_text("3", timeout=WAIT_MS)


@pytest.mark.browser
@pytest.mark.celery_worker
@pytest.mark.django_db
def test_an_admin_imports_members_from_excel(import_session, web_server, worker, browser):
    base = f"http://{HOST}{web_server}"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for language, (width, height), name in (("en", (1280, 800), "desktop-en"), ("zh-hans", (390, 844), "phone-zh")):
        page, errors = _page(browser, base, import_session, language, width, height)
        _preview(page, base)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(ARTEFACTS / f"import-preview-{name}.png"), full_page=True)
        assert errors == []
        page.context.close()

    page, errors = _page(browser, base, import_session, "zh-hans", 1280, 800)
    _preview(page, base)
    expect(page.locator("#import-counts [data-count=bad]")).to_have_text("1")
    expect(page.locator('#import-bad-rows tr[data-row="4"]')).to_contain_text("手机号：请输入有效的手机号")
    page.screenshot(path=str(ARTEFACTS / "import-preview-desktop-zh.png"), full_page=True)
    page.locator("#import-confirm button[type=submit]").click()
    page.wait_for_url("**/console/members/import/*/")
    status = page.locator("#import-status")
    expect(status).to_have_attribute("data-state", "done", timeout=WAIT_MS)  # htmx polling, no reload
    expect(page.locator("#import-status [data-count=new]")).to_have_text("3")
    expect(page.locator("#import-status [data-count=bad]")).to_have_text("1")
    expect(page.locator('#import-bad-rows tr[data-row="4"]')).to_be_visible()
    page.screenshot(path=str(ARTEFACTS / "import-done-desktop-zh.png"), full_page=True)
    page.goto(f"{base}/console/members/")
    expect(page.locator("body")).to_contain_text("陈静")
    assert errors == []
    page.context.close()
