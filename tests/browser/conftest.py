"""Browser tests: Debian's Chromium driven by Playwright for Python, against a real web server
(`manage.py runserver`) on the test database. Chromium and the CJK fonts are installed from
Debian's packages when missing (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection, connections

from accounts.models import User
from consent.models import NotificationDelivery
from core.services import enterprise_create
from tenants.models import Enterprise, EnterpriseKey
from tests.conftest import end_other_sessions
from tests.tenants.test_tasks import test_database_url

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / ".data" / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def ensure_chromium() -> None:
    if Path(CHROMIUM).exists() and Path("/usr/share/fonts/opentype/noto").exists():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        message = "Debian's chromium and fonts-noto-cjk are needed: apt-get install chromium fonts-noto-cjk"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"],
        check=True,
        capture_output=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: while Playwright's loop runs, Django code gets connections of its own, so
    the loop must end with the browser tests (see the journey fixture)."""
    ensure_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's guard against database
    # calls from async code would fire on the test's own (synchronous) queries.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            # Django code running under Playwright's loop has a database connection of its own; one
            # left from an earlier module's loop may have been ended by `end_other_sessions`, so
            # start without it, and close the one this module opened before the loop stops.
            connections.close_all()
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def web_server(django_db_setup: None, django_db_blocker) -> Iterator[str]:
    """A real web server process on the test database; yields 'host suffix' like ':8123'."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url(), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTEFACTS / "web-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the web server did not start; see .data/test-artifacts/browser/web-server.log")
    yield f":{port}"
    server.terminate()
    server.wait(timeout=20)
    log.close()
    end_other_sessions(django_db_blocker)


@contextmanager
def own_enterprise(
    django_db_blocker,
    *,
    owner_mobile: str,
    password: str,
    name: str,
    slug: str,
    sms_to: tuple[str, ...] = (),
    accounts: tuple[str, ...] = (),
) -> Iterator[Enterprise]:
    """A committed enterprise of its own for a browser test module, dropped afterwards with its
    owner, the accounts with the mobile numbers in `accounts` (members the module created, with
    their sign-in attempts), the SMS deliveries sent to `sms_to` (invitations) and its media folder
    (MEDIA_ROOT/<schema>/, e.g. exports), so the shared world is untouched."""
    with django_db_blocker.unblock():
        owner = User.objects.create_user(owner_mobile, password, nickname=f"{name} Owner")
        enterprise = enterprise_create(name=name, slug=slug, owner=owner)
    yield enterprise
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        EnterpriseKey.objects.filter(enterprise=enterprise).delete()
        enterprise.delete(force_drop=True)
        User.objects.filter(pk=owner.pk).delete()
        User.objects.filter(mobile__in=accounts).delete()
        AccessAttempt.objects.filter(username__in=(owner_mobile, *accounts)).delete()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / enterprise.schema_name, ignore_errors=True)
        NotificationDelivery.objects.filter(address__in=sms_to).delete()
        # Playwright's loop gives this code a context of its own, hence a database connection of
        # its own: close it, or the test database cannot be dropped at the end.
        connections.close_all()
