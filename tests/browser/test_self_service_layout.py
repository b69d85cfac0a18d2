"""The self-service pages as a product (issue 17 §1) in real Chromium: /me/ (tiles), /me/data/
(the member shows their own ID number through htmx), /me/requests/ and a request's detail (the
stepper), /me/inbox/, and on the public host /account/ and every page behind its tiles (inbox,
data, export, requests, permissions, profile, correction, real name, deletion), at 1280×800 and
390×844 in Simplified Chinese and English. No page scrolls sideways, the browser logs no error (a
CSP violation included), the bell shows the member's unread count, and the stepper marks exactly
one step `aria-current="step"`. Screenshots go to .data/test-artifacts/self-service/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import User
from consent.inbox.selectors import notifications_for
from consent.inbox.services import notify
from consent.notices.services import notice_publish_default
from core.models import Membership
from core.scopes import dangerously_whole_enterprise
from core.services import membership_create
from demo import seed
from directory.services import member_card_update
from requests.workflow.services import Decision, request_decide, request_submit
from tenants.context import enterprise_schema
from tests.browser.conftest import ARTEFACTS, own_enterprise
from tests.browser.test_console_layout import WIDE_ELEMENTS
from tests.conftest import sign_in
from tests.requests.test_export import id_number

SHOTS = ARTEFACTS.parent / "self-service"
PASSWORD = "browser-self-page-7"
OWNER = "+8613900000095"
MEMBER = "+8613700007791"
MEMBER_ID = id_number("44030419920315113")
HOST = "selfpage.localhost"
PUBLIC_HOST = "localhost"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
LANGUAGES = ("zh-hans", "en")


@dataclass
class Pages:
    request_id: int
    member_id: int
    session: str
    public_session: str
    unread: dict[str, int]  # host → the bell's count there


@pytest.fixture(scope="module")
def pages(django_db_setup: None, django_db_blocker) -> Iterator[Pages]:
    with own_enterprise(
        django_db_blocker,
        owner_mobile=OWNER,
        password=PASSWORD,
        name="自助页面测试公司",
        slug="selfpage",
        accounts=(MEMBER,),
    ) as enterprise:
        with django_db_blocker.unblock():
            notice_publish_default(enterprise=enterprise, actor=None, contact="privacy@selfpage.example.com")
            owner = User.objects.get(mobile=OWNER)
            with enterprise_schema(enterprise):
                owner_member = Membership.objects.get(account=owner)
            account = User.objects.create_user(MEMBER, PASSWORD, nickname="陈静")
            member = membership_create(
                enterprise=enterprise, account=account, role=Membership.Role.MEMBER, display_name="陈静"
            )
            seed.consent_everything(enterprise, member)
            member_card_update(
                scope=dangerously_whole_enterprise(),
                enterprise=enterprise,
                actor=owner_member,
                membership=member,
                data={"id_number": MEMBER_ID},
            )
            done = request_submit(
                enterprise=enterprise,
                account=account,
                membership=member,
                kind="deletion",
                category="health",
                description="请删除我上个月的健康上报。",
            )
            for decision in (Decision.START_REVIEW, Decision.COMPLETE):
                request_decide(enterprise=enterprise, request=done, actor=owner_member, action=decision)
            open_request = request_submit(
                enterprise=enterprise,
                account=account,
                membership=member,
                kind="correction",
                category="directory",
                description="我的工位号写错了，应为 3-12。",
            )
            request_decide(
                enterprise=enterprise, request=open_request, actor=owner_member, action=Decision.START_REVIEW
            )
            notify(account=account, kind="test", title="您的请求正在审核", enterprise_id=enterprise.pk)
            notify(account=account, kind="test", title="隐私政策已更新")
            unread = {
                HOST: notifications_for(account=account, enterprise_id=enterprise.pk)
                .filter(read_at__isnull=True)
                .count(),
                PUBLIC_HOST: notifications_for(account=account).filter(read_at__isnull=True).count(),
            }
            sessions = []
            for host, schema in ((HOST, enterprise.schema_name), (PUBLIC_HOST, "public")):
                client = Client(HTTP_HOST=host)
                sign_in(client, account, schema)
                sessions.append(client.cookies["sessionid"].value)
        yield Pages(
            request_id=open_request.pk,
            member_id=member.pk,
            session=sessions[0],
            public_session=sessions[1],
            unread=unread,
        )


@pytest.mark.django_db
def test_self_service_pages_fit_a_phone_and_a_desktop_in_both_languages(pages, web_server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    enterprise_pages = ["/me/", "/me/data/", "/me/requests/", f"/me/requests/{pages.request_id}/", "/me/inbox/"]
    public_pages = [
        "/account/",
        "/account/inbox/",
        "/account/data/",
        "/account/export/",
        "/account/requests/",
        "/account/permissions/",
        "/account/profile/",
        "/account/profile/correction/",
        "/account/real-name/",
        "/account/delete/",
    ]
    problems: list[str] = []
    for language in LANGUAGES:
        for device, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies(
                [
                    {"name": "sessionid", "value": pages.session, "domain": HOST, "path": "/"},
                    {"name": "django_language", "value": language, "domain": HOST, "path": "/"},
                    {"name": "sessionid", "value": pages.public_session, "domain": PUBLIC_HOST, "path": "/"},
                    {"name": "django_language", "value": language, "domain": PUBLIC_HOST, "path": "/"},
                ]
            )
            page = context.new_page()
            errors: list[str] = []
            page.on(
                "console",
                lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            for host, paths in ((HOST, enterprise_pages), (PUBLIC_HOST, public_pages)):
                for path in paths:
                    errors.clear()
                    response = page.goto(f"http://{host}{web_server}{path}")
                    status = response.status if response is not None else 0
                    where = f"{language} {device} {host}{path}"
                    if status >= 400 or not page.url.endswith(path):
                        problems.append(f"{where}: HTTP {status} at {page.url}")
                        continue
                    assert page.evaluate("document.documentElement.lang") == language
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    if overflow > 0:
                        problems.append(f"{where}: {overflow}px wider than the screen: {page.evaluate(WIDE_ELEMENTS)}")
                    if errors:
                        problems.append(f"{where}: {errors}")
                    bell = page.locator("#inbox-bell")
                    # the enterprise host counts its own messages and the platform's; the public host all
                    count = bell.locator(".portal-bell-count").inner_text() if bell.count() else None
                    if count != str(pages.unread[host]):
                        problems.append(f"{where}: the bell shows {count!r}, not {pages.unread[host]}")
                    if host == HOST and "/requests/" in path and page.locator("[aria-current=step]").count() < 1:
                        problems.append(f"{where}: no current step")
                    slug = path.strip("/").replace("/", "-")
                    page.screenshot(path=str(SHOTS / f"{device}-{language}-{slug}.png"), full_page=True)
            # the member shows their own ID number in place (htmx, no page load, no CSP error)
            errors.clear()
            page.goto(f"http://{HOST}{web_server}/me/data/")
            assert MEMBER_ID not in page.content()
            page.locator("[data-reveal-own=id_number]").click()
            page.locator("[data-revealed=id_number]").wait_for()
            assert page.locator("[data-revealed=id_number]").inner_text() == MEMBER_ID
            if errors:
                problems.append(f"{language} {device} reveal: {errors}")
            page.locator("#directory").screenshot(path=str(SHOTS / f"{device}-{language}-me-data-shown.png"))
            context.close()
    assert problems == [], "\n".join(problems)
