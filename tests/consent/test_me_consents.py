"""The members' separate consents (CON-4) and their withdrawal (CON-6): `/me/consents/`, the
withdrawal page with its preview, the API, the effect on collection in the same request, bad
input, and isolation between members and enterprises."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attendance.models import ClockEvent, ClockEventLocation
from attendance.services import attendance_clock
from consent.consents.services import legal_basis_record
from consent.models import ConsentRecord
from consent.notices.services import DEFAULT_ITEMS, notice_draft_save, notice_publish
from health.services import health_report_submit
from tenants.context import enterprise_schema
from tenants.models import Enterprise

PAGE = "/me/consents/"
API = "/api/v1/me/consents/"
HEALTH_API = "/api/v1/health/reports/"
CLOCK_API = "/api/v1/attendance/clock/"
PAIRS = [
    ("biometrics", "attendance"),
    ("biometrics", "door_access"),
    ("health", "health_monitoring"),
    ("precise_location", "attendance"),
    ("id_documents", "hr_records"),
    ("contacts", "contact_matching"),
]


def record_of(world, enterprise, user, category: str, purpose: str, basis: str = "consent") -> ConsentRecord:
    member = world.membership(enterprise, user)
    with enterprise_schema(enterprise):
        record = ConsentRecord.objects.select_related("notice").get(
            membership=member, category=category, purpose=purpose, basis=basis, withdrawn_at__isnull=True
        )
    connection.set_schema_to_public()
    return record


def reload(enterprise, record: ConsentRecord) -> ConsentRecord:
    with enterprise_schema(enterprise):
        fresh = ConsentRecord.objects.get(pk=record.pk)
    connection.set_schema_to_public()
    return fresh


def state(enterprise) -> list[tuple]:
    """Every consent record of the enterprise, to show that nothing changed."""
    with enterprise_schema(enterprise):
        rows = list(ConsentRecord.objects.order_by("pk").values_list("pk", "membership_id", "withdrawn_at", "erasure"))
    connection.set_schema_to_public()
    return rows


def health_report(world, user, days_ago: int = 0, enterprise=None) -> None:
    enterprise = enterprise or world.acme
    health_report_submit(
        enterprise=enterprise,
        membership=world.membership(enterprise, user),
        date=timezone.localdate() - datetime.timedelta(days=days_ago),
        city="Nanjing",
        unwell=False,
    )
    connection.set_schema_to_public()


def clock_in(world, user) -> None:
    attendance_clock(
        enterprise=world.acme,
        membership=world.membership(world.acme, user),
        kind="in",
        source="app",
        latitude=31.2310,
        longitude=121.4740,
        accuracy_m=10,
    )
    connection.set_schema_to_public()


def legal_basis_for_bob_health(world) -> ConsentRecord:
    record = legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=world.membership(world.acme, world.bob).pk,
        category="health",
        purpose="health_monitoring",
        basis="emergency",
        reason="Epidemic response ordered by the city health commission",
    )
    connection.set_schema_to_public()
    return record


# --- the consents page ------------------------------------------------------------------------------------


def test_the_consents_page_lists_every_pair_in_english_and_chinese(world, client_for):
    client = client_for("acme", world.bob)
    response = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(row.line.category, row.line.purpose) for row in rows] == PAIRS
    content = response.content.decode()
    health = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    given = timezone.localdate(health.given_at).isoformat()  # the local day the world was built on
    assert content.count(f"Consent given on {given} under notice v1.") == 6
    assert f'href="/me/consents/{health.pk}/withdraw/"' in content
    assert "Give my consent" not in content
    zh = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200 and '<html lang="zh-hans">' in zh.content.decode()


def test_the_me_page_summarises_the_consents(world, client_for):
    content = client_for("acme", world.bob).get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/me/consents/"' in content and 'href="/me/notice/"' in content
    assert "Health — Daily health reports" in content


@pytest.mark.parametrize("legal_bases", [0, 1])
def test_the_consents_page_and_api_run_a_constant_number_of_queries(world, client_for, legal_bases):
    if legal_bases:
        legal_basis_for_bob_health(world)
    client = client_for("acme", world.bob)
    client.get(PAGE)  # warm the session
    # 1 SET search_path public, 2 domain -> tenant, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7 the current notice's categories, 8 the member's active consent records (notice
    # and recorder joined): the same 8 for the page and the API, whatever the records; the page adds
    # 9 the app shell's header (inbox bell and enterprise switcher, UI-1).
    with CaptureQueriesContext(connection) as page_queries:
        assert client.get(PAGE).status_code == 200
    with CaptureQueriesContext(connection) as api_queries:
        assert client.get(API).status_code == 200
    consent_queries = [q for q in page_queries.captured_queries if "consent_consentrecord" in q["sql"]]
    assert len(consent_queries) == 1
    assert len(page_queries) == 9, [q["sql"] for q in page_queries.captured_queries]
    assert len(api_queries) == 8, [q["sql"] for q in api_queries.captured_queries]


def test_give_from_the_page(world, client_for):
    health = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    client = client_for("acme", world.bob)
    assert client.post(f"/me/consents/{health.pk}/withdraw/", {"confirmed": "yes"}).status_code == 302
    refused = client.post(HEALTH_API, {"city": "Nanjing", "unwell": False}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Not given." in page and "Give my consent" in page
    assert 'name="category" value="health"' in page and 'name="notice_version" value="1"' in page
    response = client.post(PAGE, {"category": "health", "purpose": "health_monitoring", "notice_version": "1"})
    assert response.status_code == 302 and response["Location"] == PAGE
    given = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    assert given.pk != health.pk and given.channel == "web" and given.notice.version == 1
    assert (
        client.post(HEALTH_API, {"city": "Nanjing", "unwell": False}, content_type="application/json").status_code
        == 200
    )


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"category": "dreams", "purpose": "attendance", "notice_version": "1"}, "category"),
        ({"category": "health", "purpose": "attendance", "notice_version": "1"}, "purpose"),
        ({"category": "health", "purpose": "health_monitoring", "notice_version": "7"}, "notice_version"),
        ({"category": "health", "purpose": "health_monitoring", "notice_version": "x"}, "notice_version"),
        ({"category": "health", "purpose": "health_monitoring"}, "notice_version"),
    ],
)
def test_giving_bad_input_on_the_page_is_a_400_and_nothing_changes(world, client_for, payload, field):
    health = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    client = client_for("acme", world.bob)
    client.post(f"/me/consents/{health.pk}/withdraw/", {"confirmed": "yes"})
    before = state(world.acme)
    response = client.post(PAGE, payload)
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert state(world.acme) == before


# --- withdrawal through the page --------------------------------------------------------------------------


def test_withdrawal_page_previews_the_members_data_and_takes_effect_at_once(
    world, client_for, django_capture_on_commit_callbacks
):
    health_report(world, world.bob, 0)
    health_report(world, world.bob, 1)
    health_report(world, world.erin, 0)  # someone else's: not counted
    record = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    client = client_for("acme", world.bob)
    page = client.get(f"/me/consents/{record.pk}/withdraw/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert [(line.kind, line.count) for line in page.context["deletes"]] == [("health_reports", 2)]
    assert "Health reports: 2" in page.content.decode()
    assert client.get(f"/me/consents/{record.pk}/withdraw/", HTTP_ACCEPT_LANGUAGE="zh-hans").status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/me/consents/{record.pk}/withdraw/", {"confirmed": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and response["Location"] == PAGE
    assert len(callbacks) == 1  # retention.tasks.consent_withdrawal_erase, sent after commit
    closed = reload(world.acme, record)
    assert closed.withdrawn_at is not None and closed.erasure == "scheduled"
    followed = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "deletion of the data collected on it has been scheduled" in followed
    # The very next collection is refused, on the API and on the page.
    refused = client.post(HEALTH_API, {"city": "Nanjing", "unwell": False}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    page_refused = client.post("/me/health/", {"city": "Nanjing"})
    assert page_refused.status_code == 400
    # A withdrawn consent cannot be withdrawn again, nor previewed.
    assert client.get(f"/me/consents/{record.pk}/withdraw/").status_code == 404
    assert client.post(f"/me/consents/{record.pk}/withdraw/", {"confirmed": "yes"}).status_code == 404


def test_when_a_legal_basis_covers_the_data_nothing_is_deleted(world, client_for, django_capture_on_commit_callbacks):
    health_report(world, world.bob, 0)
    legal = legal_basis_for_bob_health(world)
    record = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    client = client_for("acme", world.bob)
    listing = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Legal basis recorded by the enterprise" in listing
    assert "Epidemic response ordered by the city health commission" in listing
    page = client.get(f"/me/consents/{record.pk}/withdraw/", HTTP_ACCEPT_LANGUAGE="en")
    content = page.content.decode()
    assert "Nothing will be deleted because the enterprise relies on a legal basis" in content
    assert "Epidemic response ordered by the city health commission" in content and page.context["deletes"] == []
    preview = client.get(f"/api/v1/me/consents/{record.pk}/withdrawal/").json()
    assert preview["deletes"] == [] and [basis["id"] for basis in preview["kept_by"]] == [legal.pk]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(f"/me/consents/{record.pk}/withdraw/", {"confirmed": "yes"}).status_code == 302
    assert callbacks == [] and reload(world.acme, record).erasure == "not_needed"
    # The legal basis is not the member's to withdraw.
    assert client.get(f"/me/consents/{legal.pk}/withdraw/").status_code == 404
    assert client.post(f"/me/consents/{legal.pk}/withdraw/", {"confirmed": "yes"}).status_code == 404
    assert client.post(f"/api/v1/me/consents/{legal.pk}/withdrawal/").status_code == 400
    assert reload(world.acme, legal).withdrawn_at is None
    # Collection goes on under the legal basis.
    assert (
        client.post(HEALTH_API, {"city": "Nanjing", "unwell": False}, content_type="application/json").status_code
        == 200
    )


def test_nothing_held_says_so(world, client_for):
    record = record_of(world, world.acme, world.bob, "contacts", "contact_matching")
    page = client_for("acme", world.bob).get(f"/me/consents/{record.pk}/withdraw/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"Nothing is held on this consent" in page.content


# --- the API ----------------------------------------------------------------------------------------------


def test_api_lists_the_lines(world, client_for):
    legal = legal_basis_for_bob_health(world)
    data = client_for("acme", world.bob).get(API, HTTP_ACCEPT_LANGUAGE="en").json()
    assert data["notice_version"] == 1
    assert [(line["category"], line["purpose"]) for line in data["lines"]] == PAIRS
    health = data["lines"][2]
    assert health["category_label"] == "Health" and health["purpose_label"] == "Daily health reports"
    assert health["covered"] is True and health["can_give"] is False
    assert health["consent"]["notice_version"] == 1 and health["consent"]["basis"] == "consent"
    assert [(b["id"], b["basis"], b["reason"]) for b in health["legal_bases"]] == [
        (legal.pk, "emergency", "Epidemic response ordered by the city health commission")
    ]


def test_api_give_is_201_then_200_and_withdrawal_takes_effect_at_once(world, client_for):
    clock_in(world, world.bob)
    clock_in(world, world.bob)
    with enterprise_schema(world.acme):
        member = world.membership(world.acme, world.bob)
        raw = ClockEventLocation.objects.filter(event__membership=member).count()
        cells = ClockEvent.objects.filter(membership=member).exclude(location_cell="").count()
    connection.set_schema_to_public()
    assert raw == 2 and cells >= 1
    record = record_of(world, world.acme, world.bob, "precise_location", "attendance")
    client = client_for("acme", world.bob)
    preview = client.get(f"/api/v1/me/consents/{record.pk}/withdrawal/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert preview["consent"]["id"] == record.pk
    assert {line["kind"]: line["count"] for line in preview["deletes"]} == {
        "raw_locations": raw,
        "location_cells": cells,
    }
    assert all(line["label"] for line in preview["deletes"]) and preview["kept_by"] == []
    response = client.post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    assert response.status_code == 200
    assert response.json()["withdrawn_at"] and response.json()["erasure"] == "scheduled"
    refused = client.post(
        CLOCK_API,
        {"kind": "out", "source": "app", "latitude": 31.2310, "longitude": 121.4740},
        content_type="application/json",
    )
    assert refused.status_code == 403 and refused.json()["code"] == "consent_required"
    again = client.post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    assert again.status_code == 400 and set(again.json()) == {"consent"}
    payload = {"category": "precise_location", "purpose": "attendance", "notice_version": 1}
    created = client.post(API, payload, content_type="application/json")
    assert created.status_code == 201 and created.json()["channel"] == "api" and created.json()["id"] != record.pk
    repeat = client.post(API, payload, content_type="application/json")
    assert repeat.status_code == 200 and repeat.json()["id"] == created.json()["id"]
    assert (
        client.post(
            CLOCK_API,
            {"kind": "out", "source": "app", "latitude": 31.2310, "longitude": 121.4740},
            content_type="application/json",
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"category": "dreams", "purpose": "attendance", "notice_version": 1}, "category"),
        ({"category": "health", "purpose": "attendance", "notice_version": 1}, "purpose"),
        ({"category": "contacts", "purpose": "hr_records", "notice_version": 1}, "purpose"),
        ({"category": "health", "purpose": "health_monitoring", "notice_version": 2}, "notice_version"),
        ({"category": "health", "purpose": "health_monitoring", "notice_version": "one"}, "notice_version"),
        ({"category": "health", "purpose": "health_monitoring"}, "notice_version"),
    ],
)
def test_api_give_bad_input_is_a_400_with_field_errors(world, client_for, payload, field):
    record = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    client = client_for("acme", world.bob)
    client.post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    before = state(world.acme)
    response = client.post(API, payload, content_type="application/json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert state(world.acme) == before


def test_a_category_the_notice_does_not_list_cannot_be_given(world, client_for):
    record = record_of(world, world.acme, world.bob, "contacts", "contact_matching")
    client = client_for("acme", world.bob)
    client.post(f"/api/v1/me/consents/{record.pk}/withdrawal/")
    fresh = Enterprise.objects.get(pk=world.acme.pk)
    draft = notice_draft_save(
        enterprise=fresh,
        actor=None,
        summary_zh="无通讯录",
        summary_en="No contacts",
        contact="dpo@example.com",
        items=[i for i in DEFAULT_ITEMS if i.category != "contacts"],
    )
    notice_publish(enterprise=fresh, actor=None, notice=draft)
    connection.set_schema_to_public()
    client.post("/api/v1/me/notice/acknowledge/", {"version": 2}, content_type="application/json")
    lines = client.get(API).json()["lines"]
    assert [line["can_give"] for line in lines if line["category"] == "contacts"] == [False]
    response = client.post(
        API,
        {"category": "contacts", "purpose": "contact_matching", "notice_version": 2},
        content_type="application/json",
    )
    assert response.status_code == 400 and set(response.json()) == {"category"}
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "does not list this category" in page
    # Giving under the old version is stale now.
    response = client.post(
        API,
        {"category": "health", "purpose": "health_monitoring", "notice_version": 1},
        content_type="application/json",
    )
    assert response.status_code == 400 and set(response.json()) == {"notice_version"}


def test_withdrawing_a_never_given_consent_is_refused(world, client_for):
    client = client_for("acme", world.bob)
    before = state(world.acme)
    for record_id in (999999, 0):
        assert client.get(f"/me/consents/{record_id}/withdraw/").status_code == 404
        assert client.post(f"/me/consents/{record_id}/withdraw/", {"confirmed": "yes"}).status_code == 404
        assert client.get(f"/api/v1/me/consents/{record_id}/withdrawal/").status_code == 404
        response = client.post(f"/api/v1/me/consents/{record_id}/withdrawal/")
        assert response.status_code == 400 and set(response.json()) == {"consent"}
    assert state(world.acme) == before


# --- isolation --------------------------------------------------------------------------------------------


def test_another_members_record_is_refused(world, client_for):
    bobs = record_of(world, world.acme, world.bob, "health", "health_monitoring")
    erin = client_for("acme", world.erin)
    before = state(world.acme)
    assert erin.get(f"/me/consents/{bobs.pk}/withdraw/").status_code == 404
    assert erin.post(f"/me/consents/{bobs.pk}/withdraw/", {"confirmed": "yes"}).status_code == 404
    assert erin.get(f"/api/v1/me/consents/{bobs.pk}/withdrawal/").status_code == 404
    assert erin.post(f"/api/v1/me/consents/{bobs.pk}/withdrawal/").status_code == 400
    assert state(world.acme) == before
    assert f"/me/consents/{bobs.pk}/withdraw/" not in erin.get(PAGE).content.decode()


def test_a_record_id_from_acme_means_nothing_on_globex(world, client_for):
    """Dana is in both enterprises; the id of her acme consent, used on globex, names another
    member's record there (ids collide across schemas): refused, nothing changed in either."""
    dana_acme = world.membership(world.acme, world.dana)
    dana_globex = world.membership(world.globex, world.dana)
    with enterprise_schema(world.acme):
        acme_ids = list(ConsentRecord.objects.filter(membership=dana_acme).values_list("pk", flat=True))
    with enterprise_schema(world.globex):
        others = set(ConsentRecord.objects.exclude(membership=dana_globex).values_list("pk", flat=True))
    connection.set_schema_to_public()
    record_id = next(pk for pk in acme_ids if pk in others)
    client = client_for("globex", world.dana)
    acme_before, globex_before = state(world.acme), state(world.globex)
    assert client.get(f"/me/consents/{record_id}/withdraw/").status_code == 404
    assert client.post(f"/me/consents/{record_id}/withdraw/", {"confirmed": "yes"}).status_code == 404
    assert client.get(f"/api/v1/me/consents/{record_id}/withdrawal/").status_code == 404
    assert client.post(f"/api/v1/me/consents/{record_id}/withdrawal/").status_code == 400
    assert (state(world.acme), state(world.globex)) == (acme_before, globex_before)
    # Her session on acme is not a session on globex either.
    acme_client = client_for("acme", world.dana)
    acme_client.defaults["HTTP_HOST"] = "globex.localhost"
    assert acme_client.post(f"/api/v1/me/consents/{record_id}/withdrawal/").status_code in (401, 403)
    assert (state(world.acme), state(world.globex)) == (acme_before, globex_before)


def test_globex_lines_are_globex_records(world, client_for):
    gus_globex = world.membership(world.globex, world.gus)
    with enterprise_schema(world.globex):
        ids = set(ConsentRecord.objects.filter(membership=gus_globex).values_list("pk", flat=True))
    connection.set_schema_to_public()
    lines = client_for("globex", world.gus).get(API).json()["lines"]
    assert {line["consent"]["id"] for line in lines} == ids


def test_absurd_input_is_a_4xx_never_a_500(world, client_for):
    client = client_for("acme", world.bob)
    big = "9" * 25
    before = state(world.acme)
    assert client.get(f"/me/consents/{big}/withdraw/").status_code == 404
    assert client.post(f"/me/consents/{big}/withdraw/", {"confirmed": "yes"}).status_code == 404
    assert client.get(f"/api/v1/me/consents/{big}/withdrawal/").status_code == 404
    assert client.post(f"/api/v1/me/consents/{big}/withdrawal/").status_code == 400
    assert (
        client.post(PAGE, {"category": "health", "purpose": "health_monitoring", "notice_version": big}).status_code
        == 400
    )
    assert (
        client.post(
            API,
            {"category": "health", "purpose": "health_monitoring", "notice_version": int(big)},
            content_type="application/json",
        ).status_code
        == 400
    )
    assert client.post(API, "[1, 2]", content_type="application/json").status_code == 400
    assert client.post("/api/v1/me/notice/acknowledge/", "null", content_type="application/json").status_code == 400
    assert (
        client.post(
            "/api/v1/me/notice/acknowledge/", {"version": int(big)}, content_type="application/json"
        ).status_code
        == 400
    )
    assert client_for("acme").get(f"/notice/{big}/").status_code == 404
    assert state(world.acme) == before
