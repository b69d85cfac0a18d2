"""The operators' console in real Chromium (issue 17 §4, docs/operators-console.md): the admin
home (dashboard), the enterprises' list and an enterprise's form, a scheduled job's form and its
crontab schedule, at 1280×800 and 390×844, in
Simplified Chinese and English — the page never scrolls sideways, the browser logs no error (no
CSP violation, no Alpine.js expression error), the dashboard's charts are drawn, and on the
zh-Hans pages no English word is left (names aside). Screenshots go to
.data/test-artifacts/operators-console/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tenants.models import Enterprise
from tests.browser.conftest import ARTEFACTS
from tests.browser.test_console_layout import LATIN_TEXT, LATIN_WORD, VIEWPORTS, WIDE_ELEMENTS, untranslated
from tests.conftest import sign_in

SHOTS = ARTEFACTS.parent / "operators-console"
HOST = "localhost"
LANGUAGES = ("zh-hans", "en")
# Latin words the admin shows as data or as names of things, not as interface: the enterprises'
# names and slugs (schema names), the operator's nickname.
DATA_WORDS = {"public"}
# Unfold's icons are ligatures of the Material Symbols font ("dock_to_right" drawn as an icon),
# and SimpleBar labels its scrolling areas "scrollable content" (aria-label) with no way to set it
# from the templates: neither is text a reader sees.
ICONS = "script,style,.material-symbols-outlined,"
SIMPLEBAR_LABEL = "scrollable content"


def untranslatable_labels() -> set[str]:
    """App labels that are plain strings cannot be translated (the breadcrumbs show them); issue 17
    §5 turns every app's label into a translated one, and this set then empties by itself."""
    from django.apps import apps
    from django.utils.functional import Promise

    return {config.verbose_name for config in apps.get_app_configs() if not isinstance(config.verbose_name, Promise)}


@pytest.fixture(scope="module")
def operator_session(django_db_setup: None, django_db_blocker) -> Iterator[tuple[str, set[str]]]:
    """The shared world's operator (olga), signed in past the second factor on the public host;
    the session is committed for the web server and deleted afterwards."""
    from accounts.models import User

    with django_db_blocker.unblock():
        olga = User.objects.get(mobile="+8613900000051")
        client = Client(HTTP_HOST=HOST)
        sign_in(client, olga, "public")
        key = client.cookies["sessionid"].value
        names = set(User.objects.values_list("nickname", flat=True))
        for enterprise in Enterprise.objects.all():
            names |= {enterprise.name, enterprise.slug, enterprise.schema_name}
        acme = Enterprise.objects.get(slug="acme").pk
        names |= untranslatable_labels()
        # a scheduled job on a crontab: its form drew the package's inline script (a CSP error)
        crontab = CrontabSchedule.objects.create(minute="30", hour="3", day_of_week="1-5", timezone="Asia/Shanghai")
        job = PeriodicTask.objects.create(name="Nightly purge", task="tenants.tasks.platform_purge", crontab=crontab)
        names |= {"Nightly purge", "Asia/Shanghai", "tenants.tasks.platform_purge"}
    words = {word for text in names for word in LATIN_WORD.findall(text)} | DATA_WORDS
    yield key, words, (acme, job.pk, crontab.pk)  # type: ignore[misc]
    with django_db_blocker.unblock():
        Session.objects.filter(session_key=key).delete()
        job.delete()
        crontab.delete()


@pytest.mark.browser
@pytest.mark.django_db
def test_the_console_fits_a_phone_and_a_desktop_in_both_languages(operator_session, web_server, browser):
    key, names, (acme, job, crontab) = operator_session  # type: ignore[misc]
    base = f"http://{HOST}{web_server}"
    paths = (
        *("/admin/", "/admin/tenants/enterprise/", f"/admin/tenants/enterprise/{acme}/change/"),
        f"/admin/django_celery_beat/periodictask/{job}/change/",
        f"/admin/django_celery_beat/crontabschedule/{crontab}/change/",
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for language in LANGUAGES:
        for device, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_cookies(
                [
                    {"name": "sessionid", "value": key, "domain": HOST, "path": "/"},
                    {"name": "django_language", "value": language, "domain": HOST, "path": "/"},
                ]
            )
            page = context.new_page()
            errors: list[str] = []
            page.on(
                "console",
                lambda message, errors=errors: (
                    errors.append(message.text)
                    if message.type == "error" or "Content Security Policy" in message.text
                    else None
                ),
            )
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            for path in paths:
                errors.clear()
                response = page.goto(f"{base}{path}")
                status = response.status if response is not None else 0
                if status >= 400 or not page.url.endswith(path):
                    problems.append(f"{language} {device} {path}: HTTP {status} at {page.url}")
                    continue
                page.wait_for_load_state("networkidle")
                assert page.evaluate("document.documentElement.lang") == language
                # Alpine.js ran (its x-cloak attribute is removed once it starts)
                if page.locator("html[x-cloak]").count():
                    problems.append(f"{language} {device} {path}: Alpine.js did not start")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if overflow > 0:
                    problems.append(
                        f"{language} {device} {path}: {overflow}px too wide: {page.evaluate(WIDE_ELEMENTS)}"
                    )
                if path == "/admin/":
                    drawn = page.locator("[data-chart-drawn]").count()
                    if drawn != 3:
                        problems.append(f"{language} {device}: {drawn} of 3 charts drawn")
                if language == "zh-hans":
                    texts = page.evaluate(LATIN_TEXT.replace("script,style,", ICONS))
                    english = untranslated([text for text in texts if text != SIMPLEBAR_LABEL], names)
                    if english:
                        problems.append(f"{language} {device} {path}: untranslated {english}")
                if errors:
                    problems.append(f"{language} {device} {path}: {errors}")
                slug = path.strip("/").replace("/", "-")
                page.screenshot(path=str(SHOTS / f"{device}-{language}-{slug}.png"), full_page=True)
            if device == "phone":
                # the sidebar is a drawer on a phone: its button opens it (Alpine.js at work)
                page.goto(f"{base}/admin/")
                page.locator("#nav-sidebar-apps").first.wait_for(state="attached")
                page.locator("[x-on\\:click='sidebarMobileOpen = !sidebarMobileOpen']:visible").first.click()
                page.wait_for_timeout(400)
                page.screenshot(path=str(SHOTS / f"{device}-{language}-sidebar.png"))
                if not page.locator("#nav-sidebar-apps a[href='/admin/tenants/enterprise/']").is_visible():
                    problems.append(f"{language} phone: the sidebar did not open")
            context.close()
    assert problems == [], "\n".join(problems)
