"""The ledger page as people read it (ENT-10, issue 16 §8, UI-1): one sentence per entry — who,
what, whose data, when, the purpose beneath — in labels, never raw codes, in zh-Hans and
English; links to member cards only within the reader's directory scope and to the object's page;
the filters (each one, bad input as field errors); the export by POST in the reader's language;
a constant number of queries whatever the page size."""

from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from core.models import Department, Membership
from ledger.models import LedgerEntry
from ledger.selectors import (
    ACTION_LABELS,
    ACTION_VERBS,
    ACTIONS,
    action_label,
    field_label,
    object_type_label,
)
from ledger.services import Action, ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema

RAW_CODES = ("enterprise_data.", "id_number", "biometrictemplate", "consent.", "Member #")


def stand_in(object_type: str, pk: int) -> SimpleNamespace:
    """What ledger_record reads of an object (its model label and pk), for rows the test does
    not need to create."""
    return SimpleNamespace(_meta=SimpleNamespace(label_lower=object_type), pk=pk)


def record(world, **kwargs) -> LedgerEntry:
    amy = world.membership(world.acme, world.amy)
    kwargs.setdefault("actor", amy)
    entry = ledger_record(enterprise=world.acme, **kwargs)
    connection.set_schema_to_public()
    return entry


def sample_entries(world) -> dict[str, LedgerEntry]:
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    return {
        "reveal": record(
            world,
            action=Action.REVEAL,
            category=Category.DIRECTORY,
            subject=bob,
            obj=bob,
            purpose="Payroll check",
            details={"field": "mobile"},
        ),
        "change": record(
            world,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            subject=erin,
            obj=erin,
            purpose="Correcting the card",
            details={"fields": ["id_number", "email"]},
        ),
        "enroll": record(
            world,
            action=Action.ENROLL,
            category=Category.BIOMETRICS,
            subject=bob,
            obj=stand_in("enterprise_data.biometrictemplate", 7),
            details={"modality": "face"},
        ),
        "publish": record(
            world,
            action=Action.PUBLISH_NOTICE,
            category=Category.CONSENT,
            obj=stand_in("consent.enterprisenotice", 1),
            details={"version": 1},
        ),
    }


def page_text(response) -> str:
    """The page's visible text (tags dropped, so attribute values such as option codes are not
    counted as shown)."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def ledger_list(response) -> str:
    html = response.content.decode()
    return html[html.index('<ol class="list-group') : html.index("</ol>")]


# --- labels for every code ------------------------------------------------------------------


def test_every_action_constant_has_a_label_and_a_verb_in_both_languages():
    """ENT-10, STYLE §16: no raw action code on a page — every Action constant is labelled."""
    constants = {value for name, value in vars(Action).items() if name.isupper() and isinstance(value, str)}
    assert constants == set(ACTIONS)
    assert constants <= set(ACTION_LABELS) and constants <= set(ACTION_VERBS)
    for action in constants:
        with translation.override("en"):
            english = (str(ACTION_LABELS[action]), str(ACTION_VERBS[action]))
        with translation.override("zh-hans"):
            chinese = (str(ACTION_LABELS[action]), str(ACTION_VERBS[action]))
        assert action not in english
        assert chinese[0] != english[0] and chinese[1] != english[1], action  # translated


def test_every_model_has_a_translated_object_label():
    for model in apps.get_models():
        if model._meta.app_label not in ("enterprise_data", "consent", "requests"):
            continue
        code = model._meta.label_lower
        with translation.override("en"):
            english = object_type_label(code)
        with translation.override("zh-hans"):
            chinese = object_type_label(code)
        assert english and "." not in english and english != "Record", code
        assert chinese != english, code


@pytest.mark.parametrize(
    ("object_type", "names"),
    [
        (
            "enterprise_data.membership",
            ["mobile", "id_number", "landline", "fax", "email", "enterprise_mailbox", "display_name", "photo", "title"],
        ),
        ("enterprise_data.healthreport", ["symptoms", "close_contacts", "special_circumstances", "city"]),
        ("enterprise_data.clockevent", ["coordinates"]),
        ("enterprise_data.geofence", ["name", "latitude", "radius_m", "wifi_bssids", "is_active"]),
        ("enterprise_data.attendancepolicy", ["work_starts", "work_ends", "late_after_minutes"]),
        ("enterprise_data.invitation", ["display_name", "mobile"]),
    ],
)
def test_field_names_in_details_show_as_translated_labels(object_type, names):
    for name in names:
        with translation.override("en"):
            english = field_label(object_type, name)
        with translation.override("zh-hans"):
            chinese = field_label(object_type, name)
        assert english != "another field" and "_" not in english, (object_type, name)
        assert chinese != english, (object_type, name)  # translated


def test_an_unknown_code_is_never_shown_raw():
    with translation.override("en"):
        assert action_label("made_up") == "Other action"
        assert object_type_label("somewhere.nothing") == "Record"
        assert field_label("enterprise_data.membership", "made_up_field") == "another field"


# --- the readable rows ------------------------------------------------------------------------


def test_rows_read_as_sentences_in_english(world, client_for):
    entries = sample_entries(world)
    response = client_for("acme", world.amy).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = page_text(response)
    assert "Amy Admin revealed Bob Member’s mobile number" in text
    assert "Amy Admin changed Erin Engineer’s ID number, email" in text
    assert "Amy Admin enrolled Bob Member’s Biometric template" in text
    assert "Amy Admin published Enterprise notice" in text or "Amy Admin published Notice" in text
    assert "Payroll check" in text and "Correcting the card" in text  # the purpose beneath
    assert "Administrator" in text  # the actor kind as a badge
    assert "No purpose stated" in text
    assert "Directory" in text and "Biometrics" in text
    rows = ledger_list(response)
    for code in RAW_CODES:
        assert code not in rows, code
    for code in ("enroll", "reveal", "publish_notice", "biometrics", "directory"):
        assert f">{code}<" not in rows
    created = entries["reveal"].created_at
    from django.utils import timezone

    assert timezone.localtime(created).strftime("%Y-%m-%d %H:%M") + " +08:00" in text


def test_rows_read_as_sentences_in_chinese(world, client_for):
    sample_entries(world)
    response = client_for("acme", world.amy).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    text = page_text(response)
    assert "Amy Admin 查看了 Bob Member 的手机号" in text
    assert "身份证号" in text and "生物识别模板" in text
    assert "管理员" in text and "未说明目的" in text
    rows = ledger_list(response)
    for code in RAW_CODES:
        assert code not in rows, code
    for english in ("revealed", "changed", "enrolled", "published", "Administrator", "Directory", "Biometric"):
        assert english not in rows, english


def test_a_device_acts_under_its_name(world, client_for):
    from biometrics.models import Device, Purpose

    with enterprise_schema(world.acme):
        device = Device.objects.create(
            name="Front door terminal",
            kind=Device.Kind.values[0],
            purpose=Purpose.values[0],
            key_prefix="ledgertest",
            key_hash="x",
        )
    connection.set_schema_to_public()
    record(
        world,
        actor=None,
        actor_kind=LedgerEntry.ActorKind.DEVICE,
        actor_device_id=device.pk,
        action=Action.ENROLL,
        category=Category.BIOMETRICS,
        subject=world.membership(world.acme, world.bob),
    )
    text = page_text(client_for("acme", world.amy).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Front door terminal enrolled Bob Member’s data" in text
    assert "Device" in text  # the kind badge


def test_purposes_the_platform_writes_show_as_labels(world, client_for):
    """Biometric purposes are stored as codes, request answers and purges as English phrases:
    the page shows labels (the CSV keeps the stored, hashed text)."""
    bob = world.membership(world.acme, world.bob)
    for purpose in ("door_access", "DSR access request: approve", "retention purge"):
        record(world, action=Action.ENROLL, category=Category.BIOMETRICS, subject=bob, purpose=purpose)
    rows = ledger_list(client_for("acme", world.amy).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "用于门禁" in rows and "处理个人信息权利请求" in rows and "到期数据清理" in rows
    assert "door_access" not in rows and "DSR access" not in rows and "retention purge" not in rows


# --- links ------------------------------------------------------------------------------------


def grant_ledger_to_sam(world) -> Membership:
    from directory.org import scope_grant

    sam = world.membership(world.acme, world.sam)
    with enterprise_schema(world.acme):
        root = Department.objects.order_by("path").first()
    scope_grant(enterprise=world.acme, actor=None, admin=sam, department=root, categories=[Category.LEDGER])
    connection.set_schema_to_public()
    return sam


def test_member_links_only_for_members_in_the_readers_directory_scope(world, client_for):
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    amy = world.membership(world.acme, world.amy)
    sample_entries(world)
    grant_ledger_to_sam(world)

    full = ledger_list(client_for("acme", world.amy).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="en"))
    assert f'href="/console/members/{bob.pk}/"' in full
    assert f'href="/console/members/{erin.pk}/"' in full
    assert f'href="/console/members/{amy.pk}/"' in full  # the actor's card
    assert 'href="/console/notices/1/"' in full  # the object's page

    # sam reads the whole ledger but holds the directory only over Sales: Bob (Sales East) is a
    # link, Erin (Engineering) and Amy (no department) are plain text, as is the notice
    # (no consent category)
    scoped = client_for("acme", world.sam).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="en")
    assert scoped.status_code == 200
    rows = ledger_list(scoped)
    assert f'href="/console/members/{bob.pk}/"' in rows
    assert f'href="/console/members/{erin.pk}/"' not in rows and "Erin Engineer" in rows
    assert f'href="/console/members/{amy.pk}/"' not in rows and "Amy Admin" in rows
    assert 'href="/console/notices/' not in rows


def test_object_links_go_to_the_objects_console_page(world, client_for):
    from attendance.services import geofence_create

    geofence = geofence_create(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.amy),
        name="HQ",
        latitude="31.2",
        longitude="121.5",
    )
    connection.set_schema_to_public()
    rows = ledger_list(client_for("acme", world.amy).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="en"))
    assert f'href="/console/attendance/geofences/{geofence.pk}/"' in rows
    assert "Geofence" in rows
    # sam holds attendance only over Sales: the geofence page needs it enterprise-wide
    grant_ledger_to_sam(world)
    rows = ledger_list(client_for("acme", world.sam).get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "/console/attendance/geofences/" not in rows and "Geofence" in rows


# --- filters ----------------------------------------------------------------------------------


def test_each_filter_narrows_the_rows(world, client_for):
    entries = sample_entries(world)
    bob = world.membership(world.acme, world.bob)
    amy = world.membership(world.acme, world.amy)
    client = client_for("acme", world.alice)

    def ids(query: str) -> set[int]:
        response = client.get(f"/console/ledger/?{query}")
        assert response.status_code == 200, response.content
        return {row.entry.id for row in response.context["page"].rows}

    mine = {entry.id for entry in entries.values()}
    assert ids("action=reveal") & mine == {entries["reveal"].id}
    assert ids("category=biometrics") & mine == {entries["enroll"].id}
    assert ids(f"subject={bob.pk}") & mine == {entries["reveal"].id, entries["enroll"].id}
    assert ids(f"actor={amy.pk}") >= mine
    assert ids("q=payroll") == {entries["reveal"].id}  # the purpose, ignoring case
    from django.utils import timezone

    today = timezone.localdate()
    assert ids(f"date_from={today.isoformat()}&date_to={today.isoformat()}") >= mine
    page = client.get("/console/ledger/?q=payroll", HTTP_ACCEPT_LANGUAGE="en")
    assert 'class="collapse d-lg-block show"' in page.content.decode()  # a set filter keeps the panel open


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("action=nonsense", "action"),
        ("category=nope", "category"),
        ("actor=abc", "actor"),
        ("subject=999999", "subject"),
        ("date_from=31.12.2026", "date_from"),
        ("date_from=2026-02-01&date_to=2026-01-01", "date_to"),
        ("q=a%09b", "q"),  # a tab: the search is one line
        ("q=" + "x" * 101, "q"),
    ],
)
def test_bad_filters_are_400_with_field_errors(world, client_for, query, field):
    response = client_for("acme", world.alice).get(f"/console/ledger/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="collapse d-lg-block show"' in response.content.decode()  # errors are visible


def test_a_control_character_in_the_search_is_refused_before_the_view(world, client_for):
    response = client_for("acme", world.alice).get("/console/ledger/?q=a%01b")
    assert response.status_code == 400


def test_keyset_pages_keep_the_filters(world, client_for):
    bob = world.membership(world.acme, world.bob)
    for _ in range(55):
        record(world, action=Action.REVEAL, category=Category.DIRECTORY, subject=bob, purpose="Audit sample")
    client = client_for("acme", world.alice)
    first = client.get("/console/ledger/?q=audit+sample")
    assert len(first.context["page"].rows) == 50
    assert "q=audit+sample" in first.context["older_query"]
    second = client.get(f"/console/ledger/?{first.context['older_query']}")
    assert len(second.context["page"].rows) == 5


# --- export -----------------------------------------------------------------------------------


def test_the_export_has_readable_headers_and_labels_in_the_readers_language(world, client_for):
    sample_entries(world)
    response = client_for("acme", world.amy).post(
        "/console/ledger/export/", {"action": "reveal", "purpose": "审计"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(body[1:])))
    header = rows[0]
    assert header[:3] == ["条目", "时间", "操作人"]
    records = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    reveal = next(row for row in records if row["操作（代码）"] == "reveal")
    assert reveal["操作"] == "查看完整信息" and reveal["类别"] == "成员名录"
    assert reveal["字段"] == "手机号" and reveal["操作对象"] == "成员名片"
    assert reveal["操作人类型"] == "管理员"


def test_the_export_is_a_post_a_get_writes_nothing(world, client_for):
    client = client_for("acme", world.amy)
    with enterprise_schema(world.acme):
        before = LedgerEntry.objects.count()
    connection.set_schema_to_public()
    response = client.get("/console/ledger/export/?q=x&purpose=planted")
    assert response.status_code == 302 and response["Location"] == "/console/ledger/?q=x"
    assert client.get("/api/v1/ledger/export/").status_code == 405
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.count() == before
    connection.set_schema_to_public()
    page = client.get("/console/ledger/?q=x").content.decode()
    assert '<input type="hidden" name="q" value="x">' in page  # the export carries the filters
    response = client.post("/console/ledger/export/", {"q": "x", "purpose": "Audit"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    with enterprise_schema(world.acme):
        export = LedgerEntry.objects.order_by("-id").first()
        assert LedgerEntry.objects.count() == before + 1
    assert export.action == Action.EXPORT and export.details["filters"] == {"text": "x"}


# --- queries ----------------------------------------------------------------------------------


def queries_for_page(world, client_for, count: int) -> tuple[int, int]:
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    for index in range(count):
        record(
            world,
            action=Action.REVEAL if index % 2 else Action.CHANGE,
            category=Category.DIRECTORY,
            subject=bob if index % 3 else erin,
            obj=bob if index % 3 else erin,
            details={"fields": ["mobile", "id_number"]},
            purpose=f"Check {index}",
        )
    client = client_for("acme", world.sam)
    client.get("/console/ledger/")  # warm the session
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/console/ledger/?category=directory")
    return len(queries), len(response.context["page"].rows)


@pytest.mark.parametrize("count", [5, 50])
def test_the_page_costs_the_same_queries_for_5_or_50_entries(world, client_for, count):
    """Names, card links (the reader's directory scope) and object links are resolved for the
    whole page at once; a scoped reader (sam: ledger everywhere, the directory over Sales)."""
    grant_ledger_to_sam(world)
    queries, rows = queries_for_page(world, client_for, count)
    assert rows >= count
    assert queries == 14, queries  # the same for 5 and 50 entries


# --- verify -----------------------------------------------------------------------------------


def test_verify_is_a_secondary_action_with_a_clear_result(world, client_for):
    """ENT-10: the chain check stays one click away (a secondary button) and says plainly
    whether the chain is intact."""
    client = client_for("acme", world.amy)
    page = client.get("/console/ledger/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<a class="btn btn-outline-secondary" href="/console/ledger/verify/">' in page
    result = client.get("/console/ledger/verify/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'class="alert alert-success ledger-verify-result" role="status"' in result
