"""Every console page in real Chromium (UI-1, UI-2, UI-4): each GET route of config/urls_tenants.py
under /console/ is opened as the owner and as a scoped administrator (directory, attendance and
health over one department) at 1280×800 and 390×844, in Simplified Chinese and English; the page
never scrolls sideways, the browser logs no error (a CSP violation included), the side navigation
marks the page shown, and in Simplified Chinese no English word is left untranslated (names and
the allow-list below aside). The enterprise is seeded with the demo's data (attendance, health
reports, devices and templates), so tables have rows. Screenshots go to
.data/test-artifacts/console/ (the scoped administrator's with a `scoped-` prefix)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver

import config.urls_tenants
from accounts.models import User
from attendance.models import Geofence
from attendance.services import geofence_create
from biometrics.models import Device
from consent.notices.services import notice_publish_default
from core.models import Department, Membership, Position, Rank
from core.services import membership_create
from demo import seed
from directory.imports.models import MemberImport
from directory.org import department_create, position_create, rank_create, scope_grant
from requests.workflow.services import request_submit
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tests.browser.conftest import ARTEFACTS, own_enterprise
from tests.conftest import sign_in

SHOTS = ARTEFACTS.parent / "console"
PASSWORD = "browser-layout-pass-7"
OWNER = "+8613900000097"
SCOPED = "+8613900000098"
MEMBERS = (
    ("+8613700007701", "Chen Jing"),
    ("+8613700007702", "Alexandria Wolfeschlegelsteinhausenbergerdorff-Longname"),
    ("+8613700007703", "欧阳明月"),
)
HOST = "layoutco.localhost"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
LANGUAGES = ("zh-hans", "en")


@dataclass
class Layout:
    enterprise: Enterprise
    ids: dict[str, int]
    session: str
    scoped_session: str
    names: set[str]


# UI-4: Latin words a zh-Hans page may show. People's and places' names come from the seed (the
# members above, the demo's cities and offices); the rest are names of standards, products and
# units that Chinese software writes in Latin letters too. Anything else in Latin letters on a
# zh-Hans page is an untranslated string.
ALLOWED_LATIN = {
    # standards, products, formats and units
    *["API", "CSV", "Excel", "JSON", "PDF", "SMS", "TOTP", "URL", "ID", "IP", "GPS", "PIN", "PIPL", "GB/T"],
    *["ISO", "IEC", "UTC", "Android", "iOS", "HTTP", "HTTPS", "App", "JPEG", "PNG", "Wi-Fi", "BSSID", "MAC"],
    *["UTF", "xlsx", "csv"],
    *["iPhone", "iPad", "Windows", "macOS", "Chrome", "Chromium", "Safari", "Firefox", "WeCom", "Lark"],
    *["DingTalk", "Fides", "km", "m", "kg", "cm", "KiB", "MiB", "KB", "MB", "GB"],
}
# The visible text of a page, its placeholders, labels and titles; elements whose text is data or
# code, never interface, are left out (masked values, code, text marked as another language).
LATIN_TEXT = r"""() => {
  const out = [];
  const skip = (el) => el.closest(
    "script,style,code,pre,kbd,samp,svg,noscript,.masked,[translate=no],[lang=en],[data-data]");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    const text = node.textContent.replace(/\s+/g, " ").trim();
    if (!text || !element || skip(element)) continue;
    if (!element.getClientRects().length && !element.closest(".visually-hidden")) continue;
    out.push(text);
  }
  document.querySelectorAll("[placeholder],[aria-label],[title]").forEach((element) => {
    if (skip(element)) return;
    for (const name of ["placeholder", "aria-label", "title"]) {
      const value = element.getAttribute(name);
      if (value) out.push(value.replace(/\s+/g, " ").trim());
    }
  });
  return out;
}"""
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
NOT_WORDS = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"  # e-mail addresses
    r"|\b[\w-]+(\.[\w-]+)*\.(localhost|example\.com|example\.org|com|cn)\b(:\d+)?(/\S*)?"  # hosts and URLs
    r"|https?://\S+"
    r"|\b[0-9A-Fa-f]{8,}\b"  # hashes, keys and ids
    r"|\b([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}\b"  # MAC addresses (BSSIDs)
    r"|\+?\d[\d ()-]{6,}\d"  # phone numbers
)


def untranslated(texts: list[str], names: set[str]) -> list[str]:
    """The Latin words of `texts` that are neither part of a name (`names`: the words of the
    enterprise's people, departments, devices and places) nor in the allow-list."""
    found: list[str] = []
    for text in texts:
        for word in LATIN_WORD.findall(NOT_WORDS.sub(" ", text)):
            if word not in ALLOWED_LATIN and word not in names and len(word) > 1:
                found.append(f"{word!r} in {text[:60]!r}")
    return found


def console_get_routes() -> list[tuple[str, str]]:
    """(route, url name) of every console view answering GET."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                view = getattr(pattern.callback, "view_class", None)
                if route.startswith("console/") and view is not None and hasattr(view, "get"):
                    found.append((route, pattern.name or ""))

    walk(config.urls_tenants.urlpatterns, "")
    return found


# The elements reaching furthest past the right edge (to name them when a page is too wide).
WIDE_ELEMENTS = """() => {
  const wide = [...document.querySelectorAll("body *")].filter(
    (e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".table-responsive"));
  wide.sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right);
  return wide.slice(0, 4).map(
    (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + [...e.classList].join(".")
      + " " + Math.round(e.getBoundingClientRect().right));
}"""

# Not pages: a photo (an image, 404 without one), the ledger's CSV export, the import's template.
NOT_PAGES = {"console_member_photo", "console_ledger_export", "console_member_import_template"}


def fill(route: str, name: str, ids: dict[str, int]) -> str:
    """The route with its parameters taken from the seeded enterprise."""
    if "geofence" in name:
        key = "geofence"
    elif name.startswith("console_notice"):
        key = "notice"
    elif name == "console_request":
        key = "request"
    elif name.startswith("console_org_"):
        key = name.split("_")[2].removesuffix("s")  # department, position or rank
    elif name == "console_member_import_job":
        key = "member_import"
    else:
        key = "member"
    return "/" + re.sub(r"<[^>]+>", str(ids[key]), route)


@pytest.fixture(scope="module")
def layout(django_db_setup: None, django_db_blocker) -> Iterator[Layout]:
    with own_enterprise(
        django_db_blocker,
        owner_mobile=OWNER,
        password=PASSWORD,
        name="Layout Co",
        slug="layoutco",
        accounts=(SCOPED, *(mobile for mobile, _ in MEMBERS)),
    ) as enterprise:
        with django_db_blocker.unblock():
            notice_publish_default(enterprise=enterprise, actor=None, contact="privacy@layoutco.example.com")
            owner = User.objects.get(mobile=OWNER)
            with enterprise_schema(enterprise):
                owner_member = Membership.objects.get(account=owner)
            seed.consent_everything(enterprise, owner_member)
            members = []
            for mobile, name in MEMBERS:
                account = User.objects.create_user(mobile, PASSWORD, nickname=name)
                member = membership_create(
                    enterprise=enterprise, account=account, role=Membership.Role.MEMBER, display_name=name
                )
                seed.consent_everything(enterprise, member)
                members.append(member)
            geofence = geofence_create(
                enterprise=enterprise,
                actor=owner_member,
                name="Shanghai office",
                latitude=31.230416,
                longitude=121.473701,
                radius_m=300,
            )
            # the demo's seeders, for this enterprise's office and city
            seed.OFFICES[enterprise.slug] = ("Shanghai office", 31.230416, 121.473701)
            seed.CITIES[enterprise.slug] = "Shanghai"
            try:
                rng = random.Random(enterprise.slug)
                seed._seed_attendance(enterprise, members[:2], rng)
                seed._seed_health(enterprise, members, rng)
                seed._seed_biometrics(enterprise, owner_member, members, rng)
            finally:
                del seed.OFFICES[enterprise.slug], seed.CITIES[enterprise.slug]
            department = department_create(enterprise=enterprise, actor=None, name="Sales")
            position = position_create(enterprise=enterprise, actor=None, name="Engineer")
            rank = rank_create(enterprise=enterprise, actor=None, name="P5", level=5)
            request = request_submit(
                enterprise=enterprise,
                account=members[0].account,
                membership=members[0],
                kind="access",
                category="health",
                description="Please send me every health report you hold about me.",
            )
            with enterprise_schema(enterprise):  # a finished import with one refused row (issue 16 §5)
                member_import = MemberImport.objects.create(
                    created_by=owner_member,
                    file_name="成员名单-members.xlsx",
                    state=MemberImport.State.DONE,
                    progress=100,
                    rows_total=3,
                    created_count=2,
                    bad_count=1,
                    errors=[{"row": 4, "errors": {"mobile": ["请输入有效的手机号码。"]}}],
                )
            # a scoped administrator: directory, attendance and health over Sales, which holds the
            # first two members (the member whose pages are opened among them)
            sales = department
            scoped_account = User.objects.create_user(SCOPED, PASSWORD, nickname="Sam Scoped")
            scoped = membership_create(
                enterprise=enterprise, account=scoped_account, role=Membership.Role.MEMBER, display_name="Sam Scoped"
            )
            seed.consent_everything(enterprise, scoped)
            with enterprise_schema(enterprise):
                for member in (scoped, *members[:2]):
                    member.departments.add(sales)
            scope_grant(
                enterprise=enterprise,
                actor=owner_member,
                admin=scoped,
                department=sales,
                categories=[Category.DIRECTORY, Category.ATTENDANCE, Category.HEALTH],
            )
            # the sessions, past the second factor (as tests/conftest.sign_in makes them),
            # committed here: a test's own writes are rolled back and the web server never sees them
            sessions = []
            for account in (owner, scoped_account):
                client = Client(HTTP_HOST=HOST)
                sign_in(client, account, enterprise.schema_name)
                sessions.append(client.cookies["sessionid"].value)
            names = names_in(enterprise)
        yield Layout(
            enterprise=enterprise,
            ids={
                "member": members[1].pk,
                "geofence": geofence.pk,
                "notice": 1,
                "request": request.pk,
                "department": department.pk,
                "position": position.pk,
                "rank": rank.pk,
                "member_import": member_import.pk,
            },
            session=sessions[0],
            scoped_session=sessions[1],
            names=names,
        )


def names_in(enterprise: Enterprise) -> set[str]:
    """The Latin words of every name a page may show: people, the enterprise, departments,
    positions, ranks, devices, geofences, imported files (data, not interface)."""
    with enterprise_schema(enterprise):
        texts = [
            enterprise.name,
            *Membership.objects.values_list("display_name", flat=True),
            *Membership.objects.values_list("account__nickname", flat=True),
            *Department.objects.values_list("name", flat=True),
            *Position.objects.values_list("name", flat=True),
            *Rank.objects.values_list("name", flat=True),
            *MemberImport.objects.values_list("file_name", flat=True),
            *Device.objects.values_list("name", flat=True),
            *Geofence.objects.values_list("name", flat=True),
            "Please send me every health report you hold about me.",  # the seeded request's own words
        ]
    return {word for text in texts if text for word in LATIN_WORD.findall(text)}


@pytest.mark.browser
@pytest.mark.django_db
def test_every_console_page_fits_a_phone_and_a_desktop_in_both_languages(layout, web_server, browser):
    """The owner: every console page answers (a form's POST target answers GET with 405, an empty
    body the browser cannot show: left out)."""
    client = Client(HTTP_HOST=HOST)
    client.cookies["sessionid"] = layout.session
    routes = [(fill(route, name, layout.ids), name) for route, name in console_get_routes() if name not in NOT_PAGES]
    statuses = {path: client.get(path).status_code for path, _ in routes}
    assert {path for path, status in statuses.items() if status not in (200, 405)} == set(), statuses
    routes = [(path, name) for path, name in routes if statuses[path] == 200]
    assert len(routes) >= 25, routes
    walk_pages(web_server, browser, layout.session, routes, layout.names, prefix="")


@pytest.mark.browser
@pytest.mark.django_db
def test_a_scoped_administrator_sees_fitting_pages_of_their_categories_only(layout, web_server, browser):
    """The scoped administrator (directory, attendance, health over Sales): the pages of those
    categories answer and fit; the others answer 403 or 404, never 500."""
    client = Client(HTTP_HOST=HOST)
    client.cookies["sessionid"] = layout.scoped_session
    routes = [(fill(route, name, layout.ids), name) for route, name in console_get_routes() if name not in NOT_PAGES]
    statuses = {path: client.get(path).status_code for path, _ in routes}
    assert {path for path, status in statuses.items() if status not in (200, 403, 404, 405)} == set(), statuses
    allowed = [(path, name) for path, name in routes if statuses[path] == 200]
    names = {name for _, name in allowed}
    assert {"console", "console_members", "console_member"} <= names, names
    assert not names & {"console_ledger", "biometrics_devices", "console_retention"}, names
    # in Simplified Chinese only (the owner's walk covers English; this one is about scope)
    walk_pages(
        web_server, browser, layout.scoped_session, allowed, layout.names, prefix="scoped-", languages=("zh-hans",)
    )


def walk_pages(
    web_server: str,
    browser,
    cookie: str,
    routes: list[tuple[str, str]],
    names: set[str],
    *,
    prefix: str,
    languages: tuple[str, ...] = LANGUAGES,
) -> None:
    host = HOST
    base = f"http://{host}{web_server}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for language in languages:
        for device, (width, height) in VIEWPORTS.items():  # one browser, a context for each
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies(
                [
                    {"name": "sessionid", "value": cookie, "domain": host, "path": "/"},
                    {"name": "django_language", "value": language, "domain": host, "path": "/"},
                ]
            )
            page = context.new_page()
            errors: list[str] = []
            page.on(
                "console",
                lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            for path, _name in routes:
                errors.clear()
                response = page.goto(f"{base}{path}")
                status = response.status if response is not None else 0
                if status >= 400 or not page.url.endswith(path):
                    problems.append(f"{language} {device} {path}: HTTP {status}")
                    continue
                assert page.evaluate("document.documentElement.lang") == language
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    culprits = page.evaluate(WIDE_ELEMENTS)
                    problems.append(f"{language} {device} {path}: {overflow}px wider than the screen: {culprits}")
                if errors:
                    problems.append(f"{language} {device} {path}: {errors}")
                current = page.locator("#console-nav [aria-current=page]")
                if current.count() != 1:
                    problems.append(f"{language} {device} {path}: {current.count()} current entries")
                if language == "zh-hans" and device == "desktop":
                    english = untranslated(page.evaluate(LATIN_TEXT), names)
                    if english:
                        problems.append(f"{language} {path}: untranslated {english}")
                slug = path.strip("/").replace("/", "-") or "console"
                page.screenshot(path=str(SHOTS / f"{prefix}{device}-{language}-{slug}.png"))
            if device == "phone" and not prefix:
                # the side navigation is a drawer: hidden until the menu button opens it
                page.goto(f"{base}/console/ledger/")
                assert not page.locator("#console-nav").is_visible()
                page.locator("[data-bs-target='#console-nav']").first.click()
                page.locator("#console-nav.show").wait_for()
                assert page.locator("#console-nav [aria-current=page]").is_visible()
                page.screenshot(path=str(SHOTS / f"{device}-{language}-drawer.png"))
            context.close()
    assert problems == [], "\n".join(problems)
