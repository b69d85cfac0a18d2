"""Export of a member's data (DSR-2) and its abuse limit (DSR-7), end to end through HTTP: the
page and API start an export, the Celery task (run eagerly) builds the zip, the single-use link
hands it out once to its owner on its own host."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from attendance.services import attendance_clock
from biometrics.services import template_enroll
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from health.services import health_report_submit
from ledger.models import LedgerEntry
from requests.export.services import exports_purge_expired
from requests.models import Export, Request
from requests.tasks import export_build
from requests.workflow.services import request_submit
from tenants.context import enterprise_schema

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(body: str) -> str:
    """A resident ID number with a valid check character for the 17-digit `body`."""
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


BOB_ID, ERIN_ID, DANA_ID = (
    id_number("11010519800101123"),
    id_number("11010519900202456"),
    id_number("11010519700303789"),
)
BOB_SYMPTOMS, ERIN_SYMPTOMS = "bob-marker sore throat", "erin-marker fever"
BOB_LAT, BOB_LNG = "39.9087243", "116.3974722"
ERIN_LAT = "31.2304167"


@pytest.fixture(autouse=True)
def remove_export_files(world):
    """The zips go to the real MEDIA_ROOT/<schema>/exports/ (the storage caches its root, so it
    is not redirected); the files this test wrote are removed afterwards."""
    yield
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            for path in Export.objects.exclude(file_path="").values_list("file_path", flat=True):
                default_storage.delete(path)
    connection.set_schema_to_public()


def _seed(world, enterprise, user, *, id_no: str, symptoms: str, latitude: str, longitude: str) -> None:
    member = world.membership(enterprise, user)
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=enterprise,
        actor=None,
        membership=member,
        data={"id_number": id_no},
    )
    health_report_submit(enterprise=enterprise, membership=member, city="Beijing", unwell=True, symptoms=symptoms)
    attendance_clock(
        enterprise=enterprise,
        membership=member,
        kind="in",
        source="app",
        latitude=latitude,
        longitude=longitude,
        accuracy_m=12,
    )
    template_enroll(
        enterprise=enterprise,
        actor=world.membership(enterprise, world.alice if enterprise == world.acme else world.gina),
        membership=member,
        modality="face",
        purpose="attendance",
        template=b"TEMPLATE-SECRET-BYTES",
    )
    request_submit(
        enterprise=enterprise,
        account=user,
        membership=member,
        kind="complaint",
        category="attendance",
        description=f"complaint by {user.nickname}",
    )
    connection.set_schema_to_public()


@pytest.fixture
def seeded(world):
    _seed(world, world.acme, world.bob, id_no=BOB_ID, symptoms=BOB_SYMPTOMS, latitude=BOB_LAT, longitude=BOB_LNG)
    _seed(world, world.acme, world.erin, id_no=ERIN_ID, symptoms=ERIN_SYMPTOMS, latitude=ERIN_LAT, longitude="121.4737")
    _seed(
        world, world.globex, world.dana, id_no=DANA_ID, symptoms="dana-marker", latitude="22.5431", longitude="114.0579"
    )
    return world


def _build(world, enterprise=None) -> None:
    """Run the queued exports' task eagerly in the enterprise's schema (as the worker would)."""
    enterprise = enterprise or world.acme
    with enterprise_schema(enterprise):
        pks = list(Export.objects.filter(state=Export.State.QUEUED).values_list("pk", flat=True))
        for pk in pks:
            result = export_build.apply(kwargs={"export_id": pk})
            assert result.successful(), result.traceback
    connection.set_schema_to_public()


def _export_count(world) -> int:
    with enterprise_schema(world.acme):
        return Export.objects.count()


def _start_on_page(client):
    """POST /me/export/: a redirect back to the page (PRG)."""
    response = client.post(reverse("me_export"))
    assert response.status_code == 302 and response["Location"] == reverse("me_export")
    return response


def test_bob_exports_everything_about_him_and_nothing_about_anyone_else(seeded, client_for):
    world = seeded
    client = client_for("acme", world.bob)
    _start_on_page(client)
    with enterprise_schema(world.acme):
        export = Export.objects.get()
        assert (
            export.state == Export.State.QUEUED and export.membership_id == world.membership(world.acme, world.bob).pk
        )
        assert len(export.token_hash) == 64
    connection.set_schema_to_public()
    page = client.get(reverse("me_export")).content.decode()
    assert 'hx-trigger="every 2s"' in page and reverse("me_export_status", args=[export.pk]) in page
    _build(world)
    fragment = client.get(reverse("me_export_status", args=[export.pk]))
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "hx-trigger" not in body  # polling stops once ready
    link = body.split('href="')[1].split('"')[0]
    assert link.startswith(f"/me/export/{export.pk}/download/")
    with enterprise_schema(world.acme):
        token = link.rstrip("/").rsplit("/", 1)[1]
        assert token not in Export.objects.get().token_hash

    download = client.get(link)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert set(archive.namelist()) == {"data.json", "index.html"}
    raw = archive.read("data.json").decode()
    data = json.loads(raw)
    # every category held about bob in acme
    assert data["format"] == "portal-export/1" and data["enterprise"]["name"] == "Acme Test"
    assert data["member"]["display_name"] == "Bob Member" and data["member"]["id_number"] == BOB_ID
    assert data["member"]["role"] == "member" and data["member"]["departments"] == ["Sales East"]
    assert len(data["attendance"]["events"]) == 1 and len(data["attendance"]["days"]) == 1
    assert data["attendance"]["events"][0]["raw_location"]["latitude"] in (BOB_LAT, float(BOB_LAT))
    assert data["health_reports"][0]["details"]["symptoms"] == BOB_SYMPTOMS
    assert [row["modality"] for row in data["biometric_enrolments"]] == ["face"]
    assert "TEMPLATE" not in raw and "template_encrypted" not in raw
    assert data["consents"] and data["notice_acknowledgements"]
    assert "current" in data["device_permissions"]
    assert [row["kind"] for row in data["requests"]] == ["complaint"]
    assert [e["action"] for e in data["requests"][0]["history"]] == ["submitted", "identity_verified"]
    assert data["ledger"] and {e["subject_membership_id"] for e in data["ledger"]} == {data["membership_id"]}
    with enterprise_schema(world.acme):
        assert len(data["ledger"]) == LedgerEntry.objects.filter(subject_membership_id=data["membership_id"]).count()
    assert isinstance(data["invitations"], list)
    # nothing about anyone else or any other enterprise
    for absent in (
        "Erin Engineer",
        "Dana Dual",
        "Globex",
        "Alice Owner",
        ERIN_ID,
        DANA_ID,
        ERIN_SYMPTOMS,
        "dana-marker",
        ERIN_LAT,
        str(world.erin.mobile),
        str(world.dana.mobile)[3:],
        "complaint by Erin",
    ):
        assert absent not in raw, absent
    html = archive.read("index.html").decode()
    assert "Acme Test" in html and BOB_SYMPTOMS in html and "Erin Engineer" not in html
    # every timestamp in the enterprise's local time with its offset, as the pages show it
    stamps = re.findall(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[^"]*)"', raw)
    assert stamps and all(stamp.endswith("+08:00") for stamp in stamps), stamps
    assert datetime.fromisoformat(data["generated_at"]).utcoffset() == timedelta(hours=8)
    assert "+00:00" not in html and data["generated_at"] in html

    # single use: the second download is refused, the file is gone
    assert client.get(link).status_code == 404
    with enterprise_schema(world.acme):
        used = Export.objects.get()
        assert used.downloaded_at is not None and used.file_path == ""
    connection.set_schema_to_public()
    assert "hx-trigger" not in client.get(reverse("me_export_status", args=[export.pk])).content.decode()


def test_the_polled_fragment_also_updates_the_exports_row_in_the_table(world, client_for):
    """Regression (browser journey, issue 6): the status fragment swapped in by htmx showed the link
    while the table below still said "Queued". The fragment now carries the row's state out of band
    (hx-swap-oob), and the table shows the state the member sees (a used link is expired)."""
    client = client_for("acme", world.bob)
    _start_on_page(client)
    with enterprise_schema(world.acme):
        pk = Export.objects.get().pk
    connection.set_schema_to_public()
    cell = f'<span id="export-state-{pk}">Queued</span>'
    assert cell in client.get(reverse("me_export"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    _build(world)
    fragment = client.get(reverse("me_export_status", args=[pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<span id="export-state-{pk}" hx-swap-oob="true">Ready</span>' in fragment
    assert "hx-swap-oob" not in client.get(reverse("me_export")).content.decode()  # only in the fragment
    link = fragment.split('href="')[1].split('"')[0]
    assert client.get(link).status_code == 200
    page = client.get(reverse("me_export"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<span id="export-state-{pk}">Expired</span>' in page


@pytest.mark.parametrize("language, marker", [("en", 'lang="en"'), ("zh-hans", 'lang="zh-hans"')])
def test_index_html_is_in_the_members_language(world, client_for, language, marker):
    client = client_for("acme", world.bob)
    response = client.post(reverse("api_me_exports"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["state"] == "queued" and created["progress"] == 0
    _build(world)
    polled = client.get(reverse("api_me_export", args=[created["id"]])).json()
    assert polled["state"] == "done" and polled["progress"] == 100
    archive = zipfile.ZipFile(io.BytesIO(client.get(created["download_url"]).content))
    assert marker in archive.read("index.html").decode()


def test_link_refused_for_others_other_hosts_and_when_expired(world, client_for):
    response = client_for("acme", world.bob).post(reverse("api_me_exports"))
    link, pk = response.json()["download_url"], response.json()["id"]
    _build(world)
    # another member of acme, the same account on another enterprise's host, anonymous
    assert client_for("acme", world.erin).get(link).status_code == 404
    assert client_for("acme", world.erin).get(reverse("me_export_status", args=[pk])).status_code == 404
    assert client_for("acme", world.erin).get(reverse("api_me_export", args=[pk])).status_code == 404
    assert client_for("globex", world.dana).get(link).status_code in (403, 404)
    assert client_for("globex", world.gina).get(link).status_code == 404
    assert client_for("acme").get(link).status_code in (302, 403)
    # a wrong token
    bob = client_for("acme", world.bob)
    assert bob.get(reverse("me_export_download", args=[pk, "not-the-token"])).status_code == 404
    assert bob.get(reverse("me_export_status", args=[999999])).status_code == 404
    assert bob.get("/api/v1/me/exports/999999/").status_code == 404
    # expired
    with enterprise_schema(world.acme):
        Export.objects.filter(pk=pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert Export.objects.get(pk=pk).downloaded_at is None
    connection.set_schema_to_public()
    assert bob.get(link).status_code == 404
    assert bob.get(reverse("api_me_export", args=[pk])).json()["state"] == "expired"
    with enterprise_schema(world.acme):
        assert Export.objects.get(pk=pk).downloaded_at is None


def test_fourth_export_in_30_days_is_refused_with_the_abuse_ground(world, client_for):
    client = client_for("acme", world.bob)
    with enterprise_schema(world.acme):
        old = Export.objects.create(
            membership=world.membership(world.acme, world.bob),
            token_hash="x" * 64,
            created_at=timezone.now() - timedelta(days=31),
            expires_at=timezone.now(),
        )
    connection.set_schema_to_public()
    for _ in range(3):
        assert client.post(reverse("api_me_exports")).status_code == 201
    before = _export_count(world)
    refused = client.post(reverse("api_me_exports"))
    assert refused.status_code == 429
    assert refused.json()["code"] == "export_limit" and refused.json()["ground"] == "abuse"
    assert "3" in refused.json()["detail"]
    page = client.post(reverse("me_export"))
    assert page.status_code == 429 and "abuse" in page.content.decode()
    zh = client.post(reverse("me_export"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 429
    assert _export_count(world) == before
    # dana's exports in acme are hers; her limit is untouched by bob's
    assert client_for("acme", world.dana).post(reverse("api_me_exports")).status_code == 201
    with enterprise_schema(world.acme):
        assert Request.objects.count() == 0
        assert Export.objects.filter(pk=old.pk).exists()


def test_failed_exports_do_not_count_and_the_page_lists_exports(world, client_for):
    client = client_for("acme", world.bob)
    with enterprise_schema(world.acme):
        for _ in range(3):
            Export.objects.create(
                membership=world.membership(world.acme, world.bob),
                token_hash="y" * 64,
                state=Export.State.FAILED,
                expires_at=timezone.now(),
            )
    connection.set_schema_to_public()
    assert client.post(reverse("me_export")).status_code == 302
    page = client.get(reverse("me_export"))
    assert page.status_code == 200
    assert client.get(reverse("api_me_exports")).json()[0]["state"] == "queued"


def test_wrong_method_and_not_a_member(world, client_for):
    assert client_for("acme", world.gina).post(reverse("me_export")).status_code == 403
    assert client_for("acme", world.gina).post(reverse("api_me_exports")).status_code in (403, 404)
    assert client_for("acme", world.bob).put(reverse("api_me_exports")).status_code == 405
    assert _export_count(world) == 0


def test_purge_removes_expired_files_and_old_rows(world, client_for):
    client = client_for("acme", world.bob)
    first = client.post(reverse("api_me_exports")).json()
    _build(world)
    with enterprise_schema(world.acme):
        path = Export.objects.get(pk=first["id"]).file_path
        stored = Path(default_storage.path(path))  # MEDIA_ROOT/<schema>/exports/<random>.zip
        assert path.startswith("exports/") and stored.exists() and stored.parent.parent.name == "acme"
        Export.objects.filter(pk=first["id"]).update(expires_at=timezone.now() - timedelta(hours=1))
        removed, more = exports_purge_expired(enterprise=world.acme, cutoff=timezone.now() - timedelta(days=7))
        assert (removed, more) == (0, False)
        row = Export.objects.get(pk=first["id"])
        assert row.file_path == "" and row.state == Export.State.EXPIRED
        assert not stored.exists()
        removed, _more = exports_purge_expired(enterprise=world.acme, cutoff=timezone.now() + timedelta(seconds=1))
        assert removed == 1 and not Export.objects.exists()
