"""A member's self-service journey in real Chromium (issue 6; DSR-2, DSR-5, DSR-7), in the
Chinese UI on a phone-sized screen: sign in through the login page, open /me/ and see everything
held (/me/data/), export (the queued state, then — by htmx polling, no reload — the ready state
with the link), download the zip once (data.json holds the member's data and nothing of a
colleague's; a second use of the link is refused), then read the leave plan on /me/leave/, confirm
with the password, be signed out, and find that signing in to that enterprise again is refused.
Screenshots go to .data/test-artifacts/browser/self-service-NN-<step>.png.

The export is built by a real Celery worker on this run's queue, started only after the page has
shown the queued state: a member's export takes well under a second, so with a worker already
running the queued state would be a race, not something the test can see every time.

Extending the journey: every step is a function of `Journey` (screenshots are numbered as they
are taken, so a step can be inserted anywhere). Account deletion (DSR-6, on the public host) is a
journey of its own — seed another member with `seed_member` in `self_service` (add its mobile
number to `accounts`) and reuse `sign_in` with the public host's base URL."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from attendance.services import attendance_clock
from biometrics.models import BiometricTemplate
from biometrics.services import template_enroll
from consent.notices.services import notice_publish_default
from core.models import Membership
from core.scopes import dangerously_whole_enterprise
from core.services import membership_create
from demo.seed import consent_everything
from directory.services import member_card_update
from health.models import HealthReport
from health.services import health_report_submit
from requests.models import Export
from retention.models import ErasurePlan
from retention.services.settings import retention_setting_update
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex
from tests.browser.conftest import ARTEFACTS, own_enterprise
from tests.requests.test_export import id_number
from tests.tenants.test_tasks import worker_process

PASSWORD = "browser-self-service-7"
ENTERPRISE_NAME = "自助服务测试公司"
GRACE_DAYS = 45  # the enterprise's own grace period (default 30): the plan must show this one
TIMEOUT_MS = 120_000  # the worker's start and the export together; generous for a busy machine
WAIT_MS = 30_000  # any other element or page (Playwright's `expect` waits 5 s by default)


@dataclass(frozen=True)
class Person:
    mobile: str  # E.164
    name: str
    id_number: str
    symptoms: str  # a marker that must appear only in this person's export

    @property
    def national(self) -> str:
        return self.mobile.removeprefix("+86")


LEAVER = Person("+8613700007777", "陈小梅", id_number("44030419920315112"), "leaver-marker 咽痛")
COLLEAGUE = Person("+8613700007778", "赵大勇", id_number("44030419850708334"), "colleague-marker 发热")
OWNER_MOBILE = "+8613900000097"


def seed_member(enterprise: Enterprise, owner: Membership, person: Person, *, reports: int) -> Membership:
    """A member who acknowledged the notice and gave every consent, with an ID number, one app
    clock-in (raw coordinates), `reports` health reports and one enrolled face template."""
    account = User.objects.create_user(person.mobile, PASSWORD, nickname=person.name)
    member = membership_create(
        enterprise=enterprise, account=account, role=Membership.Role.MEMBER, display_name=person.name
    )
    consent_everything(enterprise, member)
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=enterprise,
        actor=owner,
        membership=member,
        data={"id_number": person.id_number},
    )
    attendance_clock(
        enterprise=enterprise,
        membership=member,
        kind="in",
        source="app",
        latitude="22.5431",
        longitude="114.0579",
        accuracy_m=10,
    )
    today = timezone.localdate()
    for day in range(reports):
        health_report_submit(
            enterprise=enterprise,
            membership=member,
            date=today - timedelta(days=day),
            city="深圳",
            unwell=True,
            symptoms=person.symptoms,
        )
    template_enroll(
        enterprise=enterprise,
        actor=owner,
        membership=member,
        modality="face",
        purpose="attendance",
        template=b"BROWSER-TEMPLATE-BYTES",
    )
    return member


@pytest.fixture(scope="module")
def self_service(django_db_setup: None, django_db_blocker) -> Iterator[Enterprise]:
    with own_enterprise(
        django_db_blocker,
        owner_mobile=OWNER_MOBILE,
        password=PASSWORD,
        name=ENTERPRISE_NAME,
        slug="selfserve",
        accounts=(LEAVER.mobile, COLLEAGUE.mobile),
    ) as enterprise:
        with django_db_blocker.unblock():
            with enterprise_schema(enterprise):
                owner = Membership.objects.get(role=Membership.Role.OWNER)
            notice_publish_default(enterprise=enterprise, actor=owner, contact="privacy@selfserve.example.com")
            enterprise.refresh_from_db()
            retention_setting_update(enterprise=enterprise, actor=owner, category="departed_profiles", days=GRACE_DAYS)
            seed_member(enterprise, owner, LEAVER, reports=2)
            seed_member(enterprise, owner, COLLEAGUE, reports=1)
        yield enterprise


@pytest.fixture(scope="module")
def start_worker(web_server: str) -> Iterator[Callable[[], None]]:
    """`start_worker()` starts the real Celery worker (once; later calls do nothing); it is stopped
    with the module. Its database sessions are ended by `web_server`'s teardown, which runs after
    this one (calling `end_other_sessions` here would run inside Playwright's loop, on a connection
    of its own, and cut the one the enterprise's cleanup still needs)."""
    with ExitStack() as stack:
        started: list[object] = []

        def start() -> None:
            if not started:
                started.append(stack.enter_context(worker_process(ARTEFACTS / "celery-worker.log")))

        yield start


@dataclass
class Journey:
    page: Page
    base: str  # e.g. http://selfserve.localhost:8123
    person: Person
    shots: list[str] = field(default_factory=list)

    def shot(self, step: str) -> None:
        name = f"self-service-{len(self.shots) + 1:02d}-{step}.png"
        self.page.screenshot(path=str(ARTEFACTS / name), full_page=True)
        self.shots.append(name)


def sign_in(journey: Journey, step: str = "sign-in") -> None:
    """The real login page (in Chinese); the form is submitted and the browser lands wherever it
    is sent."""
    page = journey.page
    page.goto(f"{journey.base}/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main h1")).to_contain_text("登录")
    page.fill("input[name=username]", journey.person.national)
    page.fill("input[name=password]", PASSWORD)
    journey.shot(step)
    page.locator("main form button[type=submit]").click()


def open_me(journey: Journey) -> None:
    page = journey.page
    page.wait_for_url(f"{journey.base}/me/")  # a member lands on their page
    expect(page.locator("main h1")).to_have_text(f"{journey.person.name}，您好")
    journey.shot("me")


def see_everything(journey: Journey) -> None:
    """DSR-2: /me/data/ shows every category held about the member, grouped (the page:
    docs/self-service.md); the ID number masked, nothing of a colleague."""
    page, person = journey.page, journey.person
    page.locator("#my-rights a[href='/me/data/']").click()
    page.wait_for_url(f"{journey.base}/me/data/")
    expect(page.locator("main h1")).to_have_text(f"{ENTERPRISE_NAME}持有的您的全部信息")
    for section in (
        "directory",
        "membership",
        "attendance",
        "health",
        "biometrics",
        "consents",
        "invitations",
        "requests",
        "ledger",
        "exports",
    ):
        expect(page.locator(f"main section#{section} h2")).to_be_visible()
    expect(page.locator("#directory")).to_contain_text(person.name)
    expect(page.locator("#health tbody tr")).to_have_count(2)
    expect(page.locator("#health tbody")).to_contain_text(person.symptoms)
    expect(page.locator("#biometrics tbody tr")).to_have_count(1)
    text = page.locator("main").inner_text()
    assert person.id_number not in text and person.id_number[-4:] in text  # masked
    assert COLLEAGUE.name not in text and COLLEAGUE.symptoms not in text
    journey.shot("data")
    page.locator("main a[href='/me/']").first.click()
    page.wait_for_url(f"{journey.base}/me/")


def export_and_download(journey: Journey, start_worker: Callable[[], None], tmp_path: Path) -> None:
    """DSR-2: start an export, watch it go from queued to ready without reloading, download it
    once; the link is refused the second time."""
    page, base = journey.page, journey.base
    page.locator("main a[href='/me/export/']").click()
    page.wait_for_url(f"{base}/me/export/")
    expect(page.locator("main h1")).to_have_text("导出我的个人信息")
    expect(page.locator("#export-status")).to_have_count(0)  # nothing exported yet

    page.locator("main form[action='/me/export/'] button[type=submit]").click()
    status = page.locator("#export-status")
    expect(status).to_contain_text("正在生成您的导出文件…")  # queued: no worker runs yet
    expect(status.locator("progress")).to_have_attribute("value", "0")
    expect(status).to_have_attribute("hx-trigger", "every 2s")
    row_state = page.locator("main table span[id^=export-state-]")
    expect(row_state).to_have_text("排队中")
    journey.shot("export-queued")

    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/status/" in request.url else None)
    page.evaluate("() => { window.journeyMarker = 'same document'; }")  # gone if the page reloads
    start_worker()
    link = page.locator("#export-download")
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    expect(link).to_have_text("下载您的导出文件（zip）")
    assert page.evaluate("() => window.journeyMarker") == "same document"  # htmx swapped the fragment
    assert polls and all(re.search(r"/me/export/\d+/status/$", url) for url in polls)
    expect(status).not_to_have_attribute("hx-trigger", re.compile(".*"))  # polling has stopped
    expect(row_state).to_have_text("已就绪")  # the table follows the fragment (out-of-band swap)
    journey.shot("export-ready")

    href = link.get_attribute("href")
    assert href and re.fullmatch(r"/me/export/\d+/download/[\w-]+/", href)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert re.fullmatch(r"export-\d+\.zip", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    check_archive(path.read_bytes(), journey.person)

    # single use: the same link again is refused (404), and the page says the link is used
    response = page.goto(f"{base}{href}")
    assert response is not None and response.status == 404
    journey.shot("export-link-used")
    page.goto(f"{base}/me/export/")
    expect(page.locator("#export-status")).to_contain_text("该导出文件已被下载，或其链接已过期。")
    expect(page.locator("#export-download")).to_have_count(0)
    expect(row_state).to_have_text("已过期")
    journey.shot("export-downloaded")


def check_archive(content: bytes, person: Person) -> None:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert set(archive.namelist()) == {"data.json", "index.html"}
    raw = archive.read("data.json").decode()
    data = json.loads(raw)
    assert data["format"] == "portal-export/1" and data["enterprise"]["name"] == ENTERPRISE_NAME
    member = data["member"]
    assert (member["display_name"], member["mobile"], member["id_number"]) == (
        person.name,
        person.mobile,
        person.id_number,
    )
    assert [report["details"]["symptoms"] for report in data["health_reports"]] == [person.symptoms] * 2
    assert len(data["attendance"]["events"]) == 1 and data["attendance"]["events"][0]["raw_location"]
    assert [(row["modality"], row["purpose"]) for row in data["biometric_enrolments"]] == [("face", "attendance")]
    # nothing of the colleague or the owner who enrolled the template
    for other in (
        COLLEAGUE.name,
        COLLEAGUE.national,
        COLLEAGUE.id_number,
        COLLEAGUE.symptoms,
        f"{ENTERPRISE_NAME} Owner",
        OWNER_MOBILE.removeprefix("+86"),
    ):
        assert other not in raw
    assert "BROWSER-TEMPLATE-BYTES" not in raw
    readable = archive.read("index.html").decode()
    assert '<html lang="zh-hans"' in readable and person.name in readable and COLLEAGUE.name not in readable


def leave(journey: Journey, enterprise: Enterprise) -> None:
    """DSR-5: the plan first (deleted now / anonymised after the grace period / kept under a
    pseudonym), a wrong password changes nothing, the right one ends access and signs out."""
    page, base = journey.page, journey.base
    page.goto(f"{base}/me/")
    page.locator("main a[href='/me/leave/']").click()
    page.wait_for_url(f"{base}/me/leave/")
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text("退出本企业")
    expect(main.locator("h2")).to_have_text(["立即删除", "宽限期结束后匿名化", "以假名形式保存"])
    expect(main.locator("ul").nth(0).locator("li")).to_have_text(["1 个生物识别模板（将通知设备删除）", "2 份健康申报"])
    grace = main.locator("h2 + p")  # the paragraph under "anonymised after the grace period"
    expect(grace).to_contain_text(f"{GRACE_DAYS} 天后，即 ")
    shown = re.search(r"\d{4}-\d{2}-\d{2}", grace.inner_text())
    expected = {timezone.localdate() + timedelta(days=GRACE_DAYS + d) for d in (-1, 0)}  # around midnight
    assert shown and date.fromisoformat(shown.group()) in expected
    expect(main.locator("ul").nth(1).locator("li")).to_have_text(["1 个居民身份证号码", "1 条打卡原始坐标"])
    kept = main.locator("table tr")
    expect(kept.nth(1)).to_contain_text("1 / 1")  # one clock event, one attendance day
    expect(kept.nth(1).locator("td").last).to_have_text("730 天")
    expect(kept.nth(2).locator("td").last).to_have_text("1095 天")
    journey.shot("leave-plan")

    page.fill("input[name=password]", "not-my-password")
    page.locator("main form button[type=submit]").click()
    expect(main.locator(".errorlist")).to_have_text("密码不正确。")
    assert page.url == f"{base}/me/leave/"
    journey.shot("leave-wrong-password")
    assert member_status(enterprise, journey.person) == Membership.Status.ACTIVE

    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(main.locator("h1")).to_have_text(f"您已退出{ENTERPRISE_NAME}")
    expect(main).to_contain_text("立即删除：")
    expect(main.locator("li")).to_have_text(["1 个生物识别模板", "2 份健康申报"])
    journey.shot("left")

    # signed out: the member's page asks for a sign-in
    page.goto(f"{base}/me/")
    page.wait_for_url(re.compile(re.escape(f"{base}/login/")))
    journey.shot("signed-out")


def sign_in_refused(journey: Journey) -> None:
    sign_in(journey, "sign-in-again")
    expect(journey.page.locator("main form .errorlist")).to_have_text(f"该账号不是{ENTERPRISE_NAME}的成员。")
    assert journey.page.url.startswith(f"{journey.base}/login/")
    journey.shot("sign-in-refused")


def member_status(enterprise: Enterprise, person: Person) -> str:
    with enterprise_schema(enterprise):
        return Membership.objects.get(mobile=person.mobile).status


@pytest.mark.browser
@pytest.mark.celery_worker
@pytest.mark.django_db
def test_a_member_exports_their_data_and_leaves_the_enterprise(
    self_service, web_server, browser, start_worker, tmp_path
):
    enterprise = self_service
    for stale in ARTEFACTS.glob("self-service-*.png"):  # numbers shift when steps are added
        stale.unlink()
    # a phone-sized screen; the browser asks for Chinese (the portal's default language anyway)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    journey = Journey(page=context.new_page(), base=f"http://selfserve.localhost{web_server}", person=LEAVER)
    try:
        sign_in(journey)
        open_me(journey)
        see_everything(journey)
        export_and_download(journey, start_worker, tmp_path)
        leave(journey, enterprise)
        sign_in_refused(journey)
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for other modules
        context.close()

    # what the pages said happened did happen; the colleague is untouched
    account = User.objects.get(mobile=LEAVER.mobile)
    with enterprise_schema(enterprise):
        leaver = Membership.objects.get(account=account)
        colleague = Membership.objects.get(mobile=COLLEAGUE.mobile)
        assert leaver.status == Membership.Status.LEFT and leaver.left_at is not None
        assert not BiometricTemplate.objects.filter(membership=leaver).exists()
        assert not HealthReport.objects.filter(membership=leaver).exists()
        plan = ErasurePlan.objects.get(membership_id=leaver.pk)
        assert timezone.localtime(plan.not_before).date() in {
            timezone.localdate() + timedelta(days=GRACE_DAYS + d) for d in (-1, 0)
        }
        export = Export.objects.get(membership=leaver)
        assert (export.state, export.file_path) == (Export.State.EXPIRED, "") and export.downloaded_at
        assert colleague.status == Membership.Status.ACTIVE
        assert BiometricTemplate.objects.filter(membership=colleague).count() == 1
        assert HealthReport.objects.filter(membership=colleague).count() == 1
    assert not MembershipIndex.objects.filter(account=account, enterprise=enterprise).exists()
    assert all((ARTEFACTS / name).stat().st_size for name in journey.shots)
