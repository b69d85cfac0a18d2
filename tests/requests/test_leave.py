"""Leaving an enterprise (DSR-5) through HTTP: the plan first, password confirmation, access ends
at once, templates and health reports go at once, the rest is scheduled with the erasure engine
and run after the grace period; another enterprise of the same account is untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from attendance.models import ClockEvent, ClockEventLocation
from biometrics.models import BiometricTemplate, TemplateChange
from consent.models import Notification
from core.models import Membership
from health.models import HealthReport
from ledger.models import LedgerEntry
from requests.models import Request, RequestKind
from retention.models import ErasurePlan
from retention.services.erasure import erasure_plans_run_due
from retention.services.settings import retention_setting_update
from tenants.context import enterprise_schema
from tenants.models import MembershipIndex
from tests.conftest import PASSWORD


def _give_data(enterprise, member: Membership, *, templates: int = 2, reports: int = 3) -> None:
    with enterprise_schema(enterprise):
        for i in range(templates):
            BiometricTemplate.objects.create(
                membership=member, modality="face", purpose="attendance", template_encrypted=b"cipher-%d" % i
            )
        for i in range(reports):
            HealthReport.objects.create(
                membership=member,
                date=timezone.localdate() - timedelta(days=i),
                city="Shanghai",
                unwell=False,
                details_encrypted=b"x",
            )
        event = ClockEvent.objects.create(
            membership=member, kind="in", source="app", occurred_at=timezone.now(), within_geofence=True
        )
        ClockEventLocation.objects.create(event=event, coordinates_encrypted=b"secret")


def _held(enterprise, member: Membership) -> tuple[int, int]:
    with enterprise_schema(enterprise):
        return (
            BiometricTemplate.objects.filter(membership_id=member.pk).count(),
            HealthReport.objects.filter(membership_id=member.pk).count(),
        )


def _card(enterprise, member: Membership) -> Membership:
    with enterprise_schema(enterprise):
        return Membership.objects.get(pk=member.pk)


def _plans(enterprise, member: Membership) -> list[ErasurePlan]:
    with enterprise_schema(enterprise):
        return list(ErasurePlan.objects.filter(membership_id=member.pk))


# --- the plan -----------------------------------------------------------------------------------


def test_the_plan_shows_counts_and_dates(world, client_for):
    bob = world.membership(world.acme, world.bob)
    _give_data(world.acme, bob)
    retention_setting_update(
        enterprise=world.acme, actor=world.membership(world.acme, world.alice), category="departed_profiles", days=45
    )
    client = client_for("acme", world.bob)
    page = client.get("/me/leave/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2 biometric templates" in text and "3 health reports" in text
    assert (timezone.localdate() + timedelta(days=45)).strftime("%Y-%m-%d") in text
    assert "730" in text and "1095" in text  # attendance and ledger retention (defaults)
    assert 'name="password"' in text

    data = client.get("/api/v1/me/leave/").json()
    assert data["can_leave"] is True
    assert data["deleted_now"] == {"biometric_templates": 2, "health_reports": 3}
    assert data["grace_days"] == 45
    assert data["deleted_after_grace"]["raw_locations"] == 1
    assert data["kept_under_pseudonym"]["attendance"]["clock_events"] == 1
    assert data["kept_under_pseudonym"]["attendance"]["retention_days"] == 730
    assert data["kept_under_pseudonym"]["ledger"]["retention_days"] == 1095
    assert data["anonymise_at"][:10] == timezone.localdate(timezone.now() + timedelta(days=45)).isoformat()


def test_me_links_to_the_leave_page(world, client_for):
    assert b"/me/leave/" in client_for("acme", world.bob).get("/me/").content


# --- refusals: nothing changed ------------------------------------------------------------------


def _unchanged(world, user, enterprise, member, templates: int = 2, reports: int = 3) -> None:
    assert _card(enterprise, member).status == Membership.Status.ACTIVE
    assert _held(enterprise, member) == (templates, reports)
    assert _plans(enterprise, member) == []
    assert MembershipIndex.objects.filter(account=user, enterprise=enterprise).exists()


@pytest.mark.parametrize("password", ["wrong-password", ""])
def test_a_wrong_or_missing_password_is_a_field_error_and_changes_nothing(world, client_for, password):
    bob = world.membership(world.acme, world.bob)
    _give_data(world.acme, bob)
    client = client_for("acme", world.bob)
    response = client.post("/me/leave/", {"password": password})
    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    _unchanged(world, world.bob, world.acme, bob)
    assert client.get("/me/").status_code == 200

    api = client.post("/api/v1/me/leave/", {"password": password}, content_type="application/json")
    assert api.status_code == 400
    assert "password" in api.json()
    _unchanged(world, world.bob, world.acme, bob)


@pytest.mark.parametrize("body", [{}, {"password": ["x"]}, {"password": {"a": 1}}, {"password": "x" * 500}])
def test_bad_api_input_is_400(world, client_for, body):
    bob = world.membership(world.acme, world.bob)
    response = client_for("acme", world.bob).post("/api/v1/me/leave/", body, content_type="application/json")
    assert response.status_code == 400
    assert "password" in response.json()
    _unchanged(world, world.bob, world.acme, bob, templates=0, reports=0)


def test_the_only_owner_cannot_leave_and_is_told_to_hand_over(world, client_for):
    alice = world.membership(world.acme, world.alice)
    client = client_for("acme", world.alice)
    page = client.get("/me/leave/")
    assert page.status_code == 200
    assert b"only owner" in page.content
    assert b'name="password"' not in page.content
    assert client.get("/api/v1/me/leave/").json()["can_leave"] is False

    response = client.post("/me/leave/", {"password": PASSWORD})
    assert response.status_code == 400
    assert b"only owner" in response.content
    api = client.post("/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json")
    assert api.status_code == 400
    assert "only owner" in api.json()["non_field_errors"][0]
    _unchanged(world, world.alice, world.acme, alice, templates=0, reports=0)


def test_an_owner_can_leave_once_another_owner_exists(world, client_for):
    with enterprise_schema(world.acme):
        Membership.objects.filter(account=world.amy).update(role=Membership.Role.OWNER)
    response = client_for("acme", world.alice).post(
        "/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    assert _card(world.acme, world.membership(world.acme, world.alice)).status == Membership.Status.LEFT


def test_another_enterprises_member_cannot_open_or_use_the_page(world, client_for):
    client = client_for("acme", world.gus)
    assert client.get("/me/leave/").status_code == 403
    assert client.post("/me/leave/", {"password": PASSWORD}).status_code == 403
    assert client.post("/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json").status_code == 403
    assert client_for("acme").get("/me/leave/").status_code == 302  # signed out: to the login page
    assert _card(world.globex, world.membership(world.globex, world.gus)).status == Membership.Status.ACTIVE


# --- leaving ------------------------------------------------------------------------------------


def test_leaving_ends_access_at_once_and_deletes_templates_and_health_reports(world, client_for):
    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    _give_data(world.acme, bob)
    _give_data(world.acme, erin, templates=1, reports=2)
    other_session = client_for("acme", world.bob)
    client = client_for("acme", world.bob)
    before = timezone.now()

    response = client.post("/me/leave/", {"password": PASSWORD})
    assert response.status_code == 200
    assert b"You have left Acme Test" in response.content

    # access ends: this session is signed out, any other session of bob's is refused
    assert client.get("/me/").status_code == 302
    assert other_session.get("/me/").status_code == 403
    assert other_session.get("/api/v1/me/").status_code == 403
    assert other_session.get("/me/leave/").status_code == 403
    account = client_for("public", world.bob).get("/account/")
    assert b"Acme Test" not in account.content
    assert not MembershipIndex.objects.filter(account=world.bob, enterprise=world.acme).exists()

    card = _card(world.acme, bob)
    assert card.status == Membership.Status.LEFT and card.left_at >= before
    assert _held(world.acme, bob) == (0, 0)
    assert _held(world.acme, erin) == (1, 2)  # other members untouched
    with enterprise_schema(world.acme):
        assert TemplateChange.objects.filter(membership_id=bob.pk, change=TemplateChange.Change.DELETE).count() == 2
        assert ClockEvent.objects.filter(membership_id=bob.pk).count() == 1  # kept for payroll
        entry = LedgerEntry.objects.filter(subject_membership_id=bob.pk, purpose__startswith="left").latest("id")
        assert entry.details["status"] == "left" and entry.details["templates_deleted"] == 2
        leave_request = Request.objects.get(membership_id=bob.pk, kind=RequestKind.LEAVE)
        assert leave_request.status == Request.Status.COMPLETED

    [plan] = _plans(world.acme, bob)
    assert plan.status == ErasurePlan.Status.SCHEDULED
    assert before + timedelta(days=30) <= plan.not_before <= timezone.now() + timedelta(days=30)
    assert {"category": "profile", "action": "anonymise"} in plan.plan["steps"]

    notice = Notification.objects.filter(account=world.bob, kind="leave").get()
    assert notice.enterprise_id == world.acme.pk
    assert plan.not_before.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d") in notice.body


def test_after_the_grace_period_the_card_is_anonymised_and_records_keep_the_pseudonym(world, client_for):
    bob = world.membership(world.acme, world.bob)
    _give_data(world.acme, bob)
    assert (
        client_for("acme", world.bob)
        .post("/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json")
        .status_code
        == 200
    )

    assert erasure_plans_run_due(enterprise=world.acme, now=timezone.now() + timedelta(days=29)) == []
    assert _card(world.acme, bob).display_name == "Bob Member"  # still within the grace period

    [plan] = _plans(world.acme, bob)
    assert erasure_plans_run_due(enterprise=world.acme, now=timezone.now() + timedelta(days=31)) == [plan.pk]
    card = _card(world.acme, bob)
    assert card.display_name.startswith("former-") and card.account_id is None and card.mobile == ""
    assert card.anonymised_at is not None
    with enterprise_schema(world.acme):
        assert ClockEvent.objects.filter(membership_id=bob.pk).count() == 1  # kept, under the pseudonym
        assert ClockEventLocation.objects.filter(event__membership_id=bob.pk).count() == 0
        assert ErasurePlan.objects.get(pk=plan.pk).status == ErasurePlan.Status.DONE


def test_dana_leaving_acme_leaves_her_globex_membership_untouched(world, client_for):
    acme_dana = world.membership(world.acme, world.dana)
    globex_dana = world.membership(world.globex, world.dana)
    _give_data(world.acme, acme_dana)
    _give_data(world.globex, globex_dana, templates=1, reports=4)

    response = client_for("acme", world.dana).post(
        "/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["templates_deleted"] == 2 and response.json()["health_reports_deleted"] == 3
    assert client_for("acme", world.dana).get("/api/v1/me/").status_code == 403

    assert _held(world.globex, globex_dana) == (1, 4)
    assert _card(world.globex, globex_dana).status == Membership.Status.ACTIVE
    assert _plans(world.globex, globex_dana) == []
    assert MembershipIndex.objects.filter(account=world.dana, enterprise=world.globex).exists()
    assert client_for("globex", world.dana).get("/me/").status_code == 200
    account = client_for("public", world.dana).get("/account/").content
    assert b"Globex Test" in account and b"Acme Test" not in account

    erasure_plans_run_due(enterprise=world.acme, now=timezone.now() + timedelta(days=31))
    erasure_plans_run_due(enterprise=world.globex, now=timezone.now() + timedelta(days=31))
    assert _card(world.acme, acme_dana).anonymised_at is not None
    globex_card = _card(world.globex, globex_dana)
    assert globex_card.anonymised_at is None and globex_card.account_id == world.dana.pk
