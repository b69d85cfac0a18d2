"""The export's readable index.html (issue 17 §3) opened from the disk in Debian's Chromium, as a
member opens the file they downloaded: a member's export and an account's, in zh-Hans and
English, at 1280×800 and 390×844 — no horizontal scroll, no console error (the inline style is
the file's own; nothing is loaded). Screenshots: .data/test-artifacts/browser/export-document-*.png."""

from __future__ import annotations

import pytest

from requests.account_export.services import account_export_collect
from requests.export.document import document_render
from requests.export.services import export_collect
from tenants.context import enterprise_schema
from tests.browser.conftest import ARTEFACTS
from tests.requests.test_account_export import seeded as account_seeded  # noqa: F401  (fixture)
from tests.requests.test_export import remove_export_files, seeded  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def test_the_export_documents_read_well_in_chromium(seeded, account_seeded, browser):  # noqa: F811
    world = seeded
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        member_data = export_collect(enterprise=world.acme, membership=bob)
    account_data = account_export_collect(account=world.bob)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    files = {}
    for language in ("zh-hans", "en"):
        for kind, data in (("member", member_data), ("account", account_data)):
            path = ARTEFACTS / f"export-document-{kind}-{language}.html"
            path.write_text(document_render(data=data, language=language, account=kind == "account"), encoding="utf-8")
            files[(kind, language)] = path

    problems = []
    for (kind, language), path in files.items():
        for size, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on(
                "console",
                lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None,
            )
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            requests: list[str] = []
            page.on("request", lambda request, requests=requests: requests.append(request.url))
            page.goto(path.as_uri())
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            page.screenshot(path=str(ARTEFACTS / f"export-document-{kind}-{language}-{size}.png"), full_page=True)
            if overflow > 0:
                problems.append(f"{kind} {language} {size}: {overflow}px horizontal scroll")
            if errors:
                problems.append(f"{kind} {language} {size}: console {errors}")
            if [url for url in requests if not url.startswith("file:")]:
                problems.append(f"{kind} {language} {size}: loaded {requests}")
            page.close()
    assert not problems, problems
