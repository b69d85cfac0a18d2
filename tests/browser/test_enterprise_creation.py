"""Creating an enterprise in real Chromium (TEN-2, UI-4): the creator lands signed in on the new
host (its two-factor set-up first, as an owner), under the Content-Security-Policy — whose
form-action 'self' stops a redirect of the form's POST to another host, so the created page
follows a link instead (docs/security.md, "Sign-in hand-off")."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from tenants.models import Enterprise, EnterpriseKey
from tests.browser.conftest import own_enterprise

PASSWORD = "browser-handoff-pass-3"


@pytest.fixture(scope="module")
def creator_enterprise(django_db_setup: None, django_db_blocker) -> Iterator[Enterprise]:
    with own_enterprise(
        django_db_blocker, owner_mobile="+8613900000097", password=PASSWORD, name="Creator Co", slug="creatorco"
    ) as enterprise:
        yield enterprise
        with django_db_blocker.unblock():  # the enterprise the test created
            connection.set_schema_to_public()
            for created in Enterprise.objects.filter(slug="handoff-co"):
                EnterpriseKey.objects.filter(enterprise=created).delete()
                created.delete(force_drop=True)
                shutil.rmtree(Path(settings.MEDIA_ROOT) / created.schema_name, ignore_errors=True)
            connections.close_all()


@pytest.mark.browser
@pytest.mark.django_db
def test_creating_an_enterprise_lands_the_creator_on_its_host(creator_enterprise, web_server, browser):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"http://localhost{web_server}/login/")
    page.fill("input[name=username]", "13900000097")
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"http://localhost{web_server}/**")
    page.goto(f"http://localhost{web_server}/enterprises/new/")
    page.fill("input[name=name]", "Handoff Co")
    page.fill("input[name=slug]", "handoff-co")
    page.fill("input[name=creator_name]", "Creator")
    page.locator("main form button[type=submit]").click()
    # signed in on the new host: an owner is asked to set up the second factor before the console
    page.wait_for_url(f"http://handoff-co.localhost{web_server}/security/two-factor/**", timeout=60_000)
    assert "next=/console/" in page.url
    assert violations == []
    context.close()
