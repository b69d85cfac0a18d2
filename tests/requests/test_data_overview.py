"""See everything (DSR-2): `/me/data/` and `GET /api/v1/me/data/` on an enterprise host, and
`/account/data/` (public host) with its API twin `GET /api/v1/me/account/` — every category
held, grouped, with its retention period in words; long lists paginated with a constant number
of queries; nothing of anyone else or of another enterprise."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.profile.services import real_name_submit, real_name_verify
from attendance.models import AttendanceDay, ClockEvent
from attendance.services import attendance_clock
from biometrics.services import template_enroll
from core.encryption import encrypt_for_member
from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from health.models import HealthReport
from health.services import DETAILS_FIELD, health_report_submit
from requests.correction.services import member_profile_update
from requests.data.overview import PAGE_SIZE, days_in_words
from requests.workflow.services import request_submit
from retention.services.settings import retention_setting_update
from tenants.context import enterprise_schema
from tests.requests.test_export import BOB_ID, DANA_ID, ERIN_ID

# /me/data/ for a member with data of every kind, whatever its amount (29 measured, 17 with no
# data at all): tenant and search path; session, account, membership (middleware); retention
# settings; the card; exports; departments; the ID number's keys (enterprise, member); a count and
# a page of each of events (raw-coordinate dates in the same query), days, health (+ member keys),
# requests and ledger; enrolments; consents; acknowledgements (with their notice); device
# permissions; invitations.
DATA_PAGE_QUERIES = 30


def _seed_bob(world) -> None:
    """Bob's data in acme of every kind (and Erin's, and Dana's in globex, to prove they stay out)."""
    for enterprise, user, id_no, marker in (
        (world.acme, world.bob, BOB_ID, "bob-marker"),
        (world.acme, world.erin, ERIN_ID, "erin-marker"),
        (world.globex, world.dana, DANA_ID, "dana-marker"),
    ):
        member = world.membership(enterprise, user)
        member_card_update(
            scope=dangerously_whole_enterprise(),
            enterprise=enterprise,
            actor=None,
            membership=member,
            data={"id_number": id_no, "title": f"{marker} title"},
        )
        health_report_submit(
            enterprise=enterprise, membership=member, city="Beijing", unwell=True, symptoms=f"{marker} cough"
        )
        attendance_clock(
            enterprise=enterprise,
            membership=member,
            kind="in",
            source="app",
            latitude="39.9",
            longitude="116.3",
            accuracy_m=10,
        )
        owner = world.membership(enterprise, world.alice if enterprise == world.acme else world.gina)
        template_enroll(
            enterprise=enterprise,
            actor=owner,
            membership=member,
            modality="face",
            purpose="attendance",
            template=b"TEMPLATE-SECRET",
        )
        request_submit(
            enterprise=enterprise,
            account=user,
            membership=member,
            kind="complaint",
            category="attendance",
            description=f"{marker} complaint",
        )
        member_profile_update(enterprise=enterprise, membership=member, data={"seat": f"{marker} seat"})
    connection.set_schema_to_public()


def _grow(world, enterprise, user, n: int) -> None:
    """`n` more clock events, daily records, health reports, requests and ledger entries."""
    member = world.membership(enterprise, user)
    now = timezone.now()
    with enterprise_schema(enterprise):
        for i in range(n):
            day = timezone.localdate(now) - timedelta(days=i + 10)
            ClockEvent.objects.create(
                membership=member,
                kind="in",
                source="app",
                within_geofence=True,
                occurred_at=now - timedelta(days=i + 10),
            )
            AttendanceDay.objects.create(membership=member, date=day)
            HealthReport.objects.create(
                membership=member,
                date=day,
                city="Shanghai",
                unwell=False,
                details_encrypted=encrypt_for_member(
                    enterprise=enterprise,
                    membership_id=member.pk,
                    field=DETAILS_FIELD,
                    value=json.dumps({"symptoms": f"old {i}"}),
                ),
            )
    for i in range(n):
        request_submit(
            enterprise=enterprise,
            account=user,
            membership=member,
            kind="complaint",
            category="directory",
            description=f"complaint {i}",
        )
        member_profile_update(enterprise=enterprise, membership=member, data={"fax": f"010-{1000 + i}"})
    connection.set_schema_to_public()


def _queries(client, path: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return len(context.captured_queries), response


# --- /me/data/ --------------------------------------------------------------------------------


def test_bob_sees_every_category_held_about_him_with_retention_and_nothing_of_others(world, client_for):
    _seed_bob(world)
    response = client_for("acme", world.bob).get("/me/data/")
    assert response.status_code == 200
    page = response.content.decode()
    for section in (
        "directory",
        "membership",
        "attendance",
        "health",
        "biometrics",
        "consents",
        "invitations",
        "requests",
        "ledger",
        "exports",
    ):
        assert f'id="{section}"' in page, section
    # the card, ID number decrypted and masked; other people's and other enterprises' data absent
    assert "Bob Member" in page and "bob-marker title" in page and "bob-marker seat" in page
    assert BOB_ID[:3] + "*" * 11 + BOB_ID[-4:] in page and BOB_ID not in page
    assert "bob-marker cough" in page and "bob-marker complaint" not in page  # descriptions stay on request pages
    assert "Face" in page and "TEMPLATE" not in page
    for absent in ("erin-marker", "dana-marker", "Globex", ERIN_ID, DANA_ID, "Erin Engineer", "Alice Owner"):
        assert absent not in page, absent
    # retention periods, in words, from the enterprise's settings
    assert "2 years" in page and "3 years" in page and "30 days" in page
    assert "Kept until" in page


def test_retention_words_follow_the_enterprises_settings(world, client_for):
    retention_setting_update(
        enterprise=world.acme, actor=world.membership(world.acme, world.alice), category="health_reports", days=14
    )
    retention_setting_update(
        enterprise=world.acme, actor=world.membership(world.acme, world.alice), category="attendance", days=3 * 365
    )
    connection.set_schema_to_public()
    data = client_for("acme", world.bob).get("/api/v1/me/data/").json()
    assert data["health"]["retention"].startswith("14 days")
    assert data["attendance"]["retention"].startswith("3 years")
    # globex keeps its defaults
    globex = client_for("globex", world.dana).get("/api/v1/me/data/").json()
    assert globex["health"]["retention"].startswith("30 days")
    assert globex["attendance"]["retention"].startswith("2 years")


def test_days_in_words():
    assert [days_in_words(d) for d in (1, 30, 365, 730, 400)] == ["1 day", "30 days", "1 year", "2 years", "400 days"]


def test_the_page_is_in_chinese_too(world, client_for):
    response = client_for("acme", world.bob).get("/me/data/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and 'lang="zh-hans"' in response.content.decode()


def test_long_lists_are_paginated_with_a_constant_number_of_queries(world, client_for, django_assert_max_num_queries):
    _seed_bob(world)
    client = client_for("acme", world.bob)
    with django_assert_max_num_queries(DATA_PAGE_QUERIES):
        small, _response = _queries(client, "/me/data/")
    _grow(world, world.acme, world.bob, PAGE_SIZE + 5)
    with django_assert_max_num_queries(DATA_PAGE_QUERIES):
        large, response = _queries(client, "/me/data/")
    assert large == small, (small, large)
    page = response.content.decode()
    assert page.count("Older") == 5  # events, days, health, requests, ledger each have a second page
    assert "old 0" in page and f"old {PAGE_SIZE + 4}" not in page  # newest first
    # the second page of the health reports, other lists unchanged
    second = client.get("/me/data/?health=2").content.decode()
    assert f"old {PAGE_SIZE + 4}" in second and "old 0" not in second
    # the API at both sizes: the same count
    with django_assert_max_num_queries(DATA_PAGE_QUERIES):
        api, api_response = _queries(client, "/api/v1/me/data/")
    data = api_response.json()
    assert data["health"]["reports"]["count"] == PAGE_SIZE + 6
    assert len(data["health"]["reports"]["results"]) == PAGE_SIZE
    assert data["attendance"]["events"]["pages"] == 2 and data["ledger"]["entries"]["count"] > PAGE_SIZE
    assert data["requests"]["requests"]["count"] == PAGE_SIZE + 6
    last = client.get("/api/v1/me/data/?health=2&ledger=2").json()
    assert last["health"]["reports"]["page"] == 2 and len(last["health"]["reports"]["results"]) == 6
    assert last["ledger"]["entries"]["page"] == 2 and last["attendance"]["events"]["page"] == 1


def test_bad_page_numbers(world, client_for):
    client = client_for("acme", world.bob)
    for query in ("health=0", "ledger=abc", "events=-1", "days=99999999999999999999"):
        response = client.get(f"/api/v1/me/data/?{query}")
        assert response.status_code == 400, query
        assert query.split("=")[0] in response.json()
        # the page is lenient: a bad number is the first (or last) page, never an error
        assert client.get(f"/me/data/?{query}").status_code == 200


def test_api_has_the_same_structure(world, client_for):
    _seed_bob(world)
    data = client_for("acme", world.bob).get("/api/v1/me/data/").json()
    assert set(data) == {
        "enterprise",
        "membership_id",
        "generated_at",
        "directory",
        "membership",
        "attendance",
        "health",
        "biometrics",
        "consents",
        "invitations",
        "requests",
        "ledger",
        "exports",
    }
    assert data["enterprise"] == "Acme Test"
    card = data["directory"]["card"]
    assert card["display_name"] == "Bob Member" and card["departments"] == ["Sales East"]
    assert card["id_number"] == BOB_ID[:3] + "*" * 11 + BOB_ID[-4:] and card["mobile"] == "139****0003"
    assert data["membership"]["role"] == "member" and data["membership"]["scopes"] == []
    assert data["health"]["reports"]["results"][0]["details"]["symptoms"] == "bob-marker cough"
    assert data["attendance"]["events"]["results"][0]["raw_location_kept_until"]
    assert [e["modality"] for e in data["biometrics"]["enrolments"]] == ["face"]
    assert {c["category"] for c in data["consents"]["consents"]} >= {"health", "biometrics"}
    assert data["consents"]["notice_acknowledgements"][0]["version"] == 1
    assert data["requests"]["requests"]["results"][0]["kind"] == "complaint"
    own = [e for e in data["ledger"]["entries"]["results"] if e["actor_label"] == "You"]
    assert own and own[0]["actor_kind"] == "member" and "seat" in own[0]["details"]
    raw = json.dumps(data)
    for absent in ("TEMPLATE", "erin-marker", "dana-marker", "Globex", BOB_ID, ERIN_ID, DANA_ID):
        assert absent not in raw, absent


def test_an_owner_sees_their_scope(world, client_for):
    data = client_for("acme", world.sam).get("/api/v1/me/data/").json()
    assert data["membership"]["role"] == "scoped_admin"
    assert {(s["category"], tuple(s["departments"])) for s in data["membership"]["scopes"]} == {
        ("directory", ("Sales",)),
        ("health", ("Sales",)),
        ("attendance", ("Sales",)),
    }
    owner = client_for("acme", world.alice).get("/api/v1/me/data/").json()
    assert all(s["whole_enterprise"] for s in owner["membership"]["scopes"]) and len(owner["membership"]["scopes"]) == 7


# --- isolation --------------------------------------------------------------------------------


def test_other_hosts_sessions_and_outsiders_are_refused(world, client_for):
    _seed_bob(world)
    # Bob's acme session replayed on globex; a globex member on acme; anonymous; a non-member
    replay = client_for("acme", world.bob)
    replay.defaults["HTTP_HOST"] = "globex.localhost"
    for path in ("/me/data/", "/api/v1/me/data/", "/api/v1/me/account/"):
        assert replay.get(path).status_code in (302, 403, 404), path
        assert client_for("acme", world.gus).get(path).status_code == 403, path
        assert client_for("acme", world.oscar).get(path).status_code == 403, path
        assert client_for("acme").get(path).status_code in (302, 401, 403), path
    # Dana, a member of both, sees each enterprise's data on its own host only
    globex = client_for("globex", world.dana).get("/api/v1/me/data/").json()
    assert globex["enterprise"] == "Globex Test" and globex["directory"]["card"]["title"] == "dana-marker title"
    acme = client_for("acme", world.dana).get("/api/v1/me/data/").json()
    assert acme["enterprise"] == "Acme Test" and "dana-marker" not in json.dumps(acme)
    # the account page is on the platform's host only
    assert client_for("acme", world.bob).get("/account/data/").status_code == 404


# --- the account ------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


def _verified(user, legal_name: str, id_number: str) -> None:
    """Real-name data submitted and verified, on a fresh copy of the account: the world's shared
    User objects outlive each test's rolled-back transaction, so they must not be changed."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = User.objects.get(pk=user.pk)
    real_name_submit(
        account=user,
        legal_name=legal_name,
        id_number=id_number,
        id_front=SimpleUploadedFile("f.png", PNG),
        id_back=SimpleUploadedFile("b.png", PNG),
    )
    real_name_verify(account=user)


def test_account_data_page_and_api(world, client_for, django_assert_max_num_queries):
    _verified(world.dana, "Dana Realname", DANA_ID)
    client = client_for("public", world.dana)
    with django_assert_max_num_queries(20):
        response = client.get("/account/data/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Acme Test" in page and "Globex Test" in page  # her memberships
    assert "D************" in page and "Dana Realname" not in page  # the legal name masked
    assert DANA_ID not in page and DANA_ID[-4:] in page
    assert "139****0031" in page and "Verified" in page
    assert "/account/profile/correction/" in page
    data = client_for("acme", world.dana).get("/api/v1/me/account/").json()
    assert [m["enterprise"] for m in data["memberships"]] == ["Acme Test", "Globex Test"]
    assert data["real_name"]["status"] == "verified" and data["real_name"]["legal_name"] == "D************"
    assert {d["side"] for d in data["real_name"]["id_documents"]} == {"front", "back"}
    assert data["profile"]["mobile"] == "139****0031" and DANA_ID not in json.dumps(data)
    assert set(data["notifications"]) == {"total", "unread"} and set(data["requests"]) == {"total", "open"}


def test_account_data_counts_only_account_requests(world, client_for):
    request_submit(enterprise=None, account=world.bob, kind="complaint", description="about the platform")
    request_submit(
        enterprise=world.acme,
        account=world.bob,
        membership=world.membership(world.acme, world.bob),
        kind="complaint",
        category="health",
        description="about acme",
    )
    connection.set_schema_to_public()
    # asked on acme's host, the account's requests are still read in the public schema
    data = client_for("acme", world.bob).get("/api/v1/me/account/").json()
    assert data["requests"] == {"total": 1, "open": 1}


@pytest.mark.parametrize("path", ["/me/", "/me/data/"])
def test_pages_link_everything(world, client_for, path):
    page = client_for("acme", world.bob).get(path).content.decode()
    assert "/me/profile/" in page and "/me/export/" in page
