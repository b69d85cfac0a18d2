"""The account's download of what the platform holds about it (DSR-2 for account data; issue 17
§3), through HTTP on the public host, with the Celery task run for real (eagerly, in this
process, as tests/requests/test_export.py does; tests/requests/test_export_worker.py shows the
worker): the zip holds Bob's account data and nothing of Erin, who is a member of the same
enterprise; the status page; the link refused to others and once expired; the purge."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from consent.inbox.services import notify
from consent.models import PolicyVersion
from consent.permissions.services import device_permission_set
from consent.policy.services import policy_accept
from requests.account_export.services import account_export_collect
from requests.models import AccountExport
from requests.tasks import account_export_build, account_exports_purge
from requests.workflow.services import request_submit
from tests.requests.test_export_document import ISO, SNAKE_CASE, visible_text

EXPORT = "/account/export/"


def public_url(name: str, *args: object) -> str:
    return reverse(name, args=args, urlconf="config.urls_public")


@pytest.fixture(autouse=True)
def remove_account_export_files(db):
    """The zips go to the real MEDIA_ROOT/public/account-exports/: remove what this test wrote."""
    yield
    for path in AccountExport.objects.exclude(file_path="").values_list("file_path", flat=True):
        default_storage.delete(path)


def _seed(user: User, marker: str, version: PolicyVersion) -> None:
    """Account data with a marker in each kind of row: nickname, inbox, device permission, policy
    acceptance, an account-data request."""
    User.objects.filter(pk=user.pk).update(nickname=f"{marker} nickname", email=f"{marker}@example.com")
    # A fresh instance: the world's accounts are shared by every test in the session, and this
    # test's rollback would not undo a refresh of them (a later test would see this e-mail).
    user = User.objects.get(pk=user.pk)
    notify(account=user, kind="test", title=f"{marker} inbox title", body=f"{marker} inbox body")
    device_permission_set(account=user, kind="camera", granted=True, channel="web")
    policy_accept(account=user, version=version, channel="web", ip="192.0.2.7" if marker == "bob" else "198.51.100.9")
    request_submit(enterprise=None, account=user, kind="complaint", description=f"{marker} complaint about my account")


@pytest.fixture
def seeded(world):
    version = PolicyVersion.objects.create(
        version="9.1",
        title_en="Privacy policy",
        title_zh="隐私政策",
        body_en="Text.",
        body_zh="正文。",
        status=PolicyVersion.Status.PUBLISHED,
        effective_at=timezone.now(),
        published_at=timezone.now(),
    )
    _seed(world.bob, "bob", version)
    _seed(world.erin, "erin", version)  # a member of acme too
    return world


def _build() -> None:
    """Run every preparing export's task (the worker's code, eagerly, in the public schema)."""
    for pk in AccountExport.objects.filter(state=AccountExport.State.PREPARING).values_list("pk", flat=True):
        result = account_export_build.apply(kwargs={"export_id": pk}, headers={"_schema_name": "public"})
        assert result.successful(), result.traceback


def _start(client) -> AccountExport:
    response = client.post(EXPORT)
    assert response.status_code == 302 and response["Location"] == EXPORT
    return AccountExport.objects.latest("id")


def test_the_url_names_are_kept():
    assert reverse("account_export", urlconf="config.urls_public") == EXPORT


def test_the_account_page_links_the_download(world, client_for):
    assert f'href="{EXPORT}"'.encode() in client_for("public", world.bob).get("/account/").content


def test_bobs_account_export_holds_his_data_and_nothing_of_erin(seeded, client_for):
    world = seeded
    client = client_for("public", world.bob)
    export = _start(client)
    assert export.account_id == world.bob.pk and export.state == AccountExport.State.PREPARING

    # the status page while the worker prepares it: it polls its fragment
    page = client.get(EXPORT, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-state="preparing"' in page and 'hx-trigger="every 2s"' in page
    assert public_url("account_export_status", export.pk) in page
    _build()
    export.refresh_from_db()
    assert export.state == AccountExport.State.READY and export.file_path.startswith("account-exports/")
    assert export.expires_at - export.finished_at == dt.timedelta(hours=24)
    fragment = client.get(public_url("account_export_status", export.pk), HTTP_ACCEPT_LANGUAGE="en")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "hx-trigger" not in body and 'data-state="ready"' in body
    assert f'<span id="account-export-state-{export.pk}" hx-swap-oob="true">Ready</span>' in body
    link = public_url("account_export_download", export.pk)
    assert f'href="{link}"' in body

    download = client.get(link)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert set(archive.namelist()) == {"data.json", "index.html"}
    raw = archive.read("data.json").decode()
    data = json.loads(raw)
    assert data["format"] == "portal-account-export/1"
    assert data["account"]["mobile"] == str(world.bob.mobile) and data["account"]["nickname"] == "bob nickname"
    assert [row["title"] for row in data["notifications"]] == ["bob inbox title"]
    assert [(row["kind"], row["granted"]) for row in data["device_permissions"]["current"]] == [("camera", True)]
    assert [row["version"] for row in data["policy_acceptances"]] == ["9.1"]
    assert data["policy_acceptances"][0]["ip"] == "192.0.2.7"
    assert [row["description"] for row in data["requests"]] == ["bob complaint about my account"]
    assert [step["action"] for step in data["requests"][0]["history"]][:1] == ["submitted"]
    assert {row["enterprise"] for row in data["memberships"]} == {"Acme Test"}
    stamps = [value for value in _strings(data) if ISO.match(value)]
    assert stamps and all(stamp.endswith("+08:00") for stamp in stamps), stamps
    # nothing of Erin (a member of the same enterprise), nor of anyone else
    for absent in ("erin", "Erin", str(world.erin.mobile), "198.51.100.9", "Alice Owner", "Globex"):
        assert absent not in raw, absent

    document = archive.read("index.html").decode()
    text = visible_text(document)
    assert f'lang="{export.language}"' in document  # the language the page was in when asked
    assert "bob inbox title" in text and "bob nickname" in text and "erin" not in document.lower()
    assert "<pre" not in document and "<script" not in document and not SNAKE_CASE.findall(text)
    assert not ISO.search(text) and "+08:00" in text

    # the link works while valid (a second download too) and only for Bob
    assert client.get(link).status_code == 200
    assert client_for("public", world.erin).get(link).status_code == 404
    assert client_for("public", world.erin).get(public_url("account_export_status", export.pk)).status_code == 404
    assert client_for("public").get(link).status_code == 302  # to the sign-in page
    assert client_for("acme", world.bob).get(link).status_code == 404  # the platform's host only


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize(
    "language, heading, column", [("en", "Account and profile", "Version"), ("zh-hans", "账号与个人资料", "版本")]
)
def test_the_readable_document_is_in_the_language_of_the_page(seeded, client_for, language, heading, column):
    client = client_for("public", seeded.bob)
    assert client.post(EXPORT, HTTP_ACCEPT_LANGUAGE=language).status_code == 302
    export = AccountExport.objects.latest("id")
    assert export.language == language
    _build()
    archive = zipfile.ZipFile(io.BytesIO(client.get(public_url("account_export_download", export.pk)).content))
    document = archive.read("index.html").decode()
    assert f'lang="{language}"' in document and heading in document and f'<th scope="col">{column}</th>' in document


def test_an_expired_link_is_refused_and_the_purge_deletes_the_file(seeded, client_for):
    client = client_for("public", seeded.bob)
    export = _start(client)
    _build()
    export.refresh_from_db()
    path = export.file_path
    assert default_storage.exists(path)
    link = public_url("account_export_download", export.pk)

    AccountExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(link).status_code == 404  # expired: refused even before the purge
    page = client.get(EXPORT, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-state="expired"' in page and link not in page
    assert f'<span id="account-export-state-{export.pk}">Expired</span>' in page

    result = account_exports_purge.apply(headers={"_schema_name": "public"})
    assert result.successful() and result.result["files_deleted"] == 1
    export.refresh_from_db()
    assert export.state == AccountExport.State.EXPIRED and export.file_path == "" and not default_storage.exists(path)
    assert client.get(link).status_code == 404
    # run twice: nothing more to do; rows older than the limit's window go too
    assert account_exports_purge.apply().result["files_deleted"] == 0
    AccountExport.objects.filter(pk=export.pk).update(created_at=timezone.now() - dt.timedelta(days=31))
    assert account_exports_purge.apply().result["rows_deleted"] == 1
    assert not AccountExport.objects.filter(pk=export.pk).exists()


def test_the_purge_is_in_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["account-exports-purge"]
    assert entry["task"] == "requests.tasks.account_exports_purge"


def test_a_fourth_export_in_30_days_is_refused_with_nothing_written(seeded, client_for):
    client = client_for("public", seeded.bob)
    for _ in range(3):
        _start(client)
    response = client.post(EXPORT, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429 and "excessive repetition" in response.content.decode()
    assert AccountExport.objects.filter(account=seeded.bob).count() == 3
    # Erin's limit is her own
    assert client_for("public", seeded.erin).post(EXPORT).status_code == 302


def test_the_collected_data_is_only_the_accounts(seeded):
    """The selector reads only rows of the account (no other account's notification, permission,
    acceptance or request), whoever else shares its enterprises."""
    data = account_export_collect(account=seeded.erin)
    raw = json.dumps(data, ensure_ascii=False)
    assert "erin inbox title" in raw and "bob" not in raw.lower() and str(seeded.bob.mobile) not in raw
