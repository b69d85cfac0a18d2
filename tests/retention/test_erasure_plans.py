"""Scheduled erasures (DSR-5/DSR-6 through the engine): due plans run once, cancelled plans
never, a crashed plan is finished on the next run, and plans stay in their enterprise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from biometrics.models import BiometricTemplate
from core.models import Membership
from health.models import HealthReport
from ledger.models import LedgerEntry
from retention.models import ErasurePlan
from retention.services.erasure import (
    ERASURE_LOCK_CLASS,
    erasure_plan_cancel,
    erasure_plan_counts,
    erasure_plans_run_due,
    schedule_member_erasure,
)
from retention.tasks import erasure_plans_run
from tenants.context import enterprise_schema
from tenants.tasks import PublicSchemaRefused

LEAVER_PLAN = {
    "steps": [
        {"category": "health_reports", "action": "delete"},
        {"category": "biometric_templates", "action": "delete"},
        {"category": "id_documents", "action": "delete"},
        {"category": "profile", "action": "anonymise"},
    ]
}


def _leaver(enterprise, name: str = "Lena Leaver") -> Membership:
    with enterprise_schema(enterprise):
        leaver = Membership.objects.create(
            display_name=name,
            status=Membership.Status.LEFT,
            mobile="+8613700000007",
            id_number_encrypted=b"cipher",
            left_at=timezone.now(),
        )
        for days in (1, 2):
            HealthReport.objects.create(
                membership=leaver,
                date=timezone.localdate() - timedelta(days=days),
                city="Beijing",
                unwell=False,
                details_encrypted=b"x",
            )
        BiometricTemplate.objects.create(
            membership=leaver, modality="face", purpose="attendance", template_encrypted=b"cipher"
        )
    return leaver


def _data(enterprise, member: Membership) -> tuple[int, int, str, bool]:
    with enterprise_schema(enterprise):
        card = Membership.objects.get(pk=member.pk)
        return (
            HealthReport.objects.filter(membership=member).count(),
            BiometricTemplate.objects.filter(membership=member).count(),
            card.display_name,
            card.id_number_encrypted is not None,
        )


def _status(enterprise, plan: ErasurePlan) -> ErasurePlan:
    with enterprise_schema(enterprise):
        return ErasurePlan.objects.get(pk=plan.pk)


def test_a_due_plan_runs_once(world):
    leaver = _leaver(world.acme)
    plan = schedule_member_erasure(
        enterprise=world.acme,
        member=leaver,
        plan=LEAVER_PLAN,
        not_before=timezone.now() - timedelta(minutes=1),
        reason="left the enterprise",
    )
    assert erasure_plans_run_due(enterprise=world.acme) == [plan.pk]
    health, templates, name, has_id = _data(world.acme, leaver)
    assert (health, templates, has_id) == (0, 0, False) and name.startswith("former-")
    done = _status(world.acme, plan)
    assert done.status == "done" and done.attempts == 1 and done.finished_at is not None
    assert done.result == {
        "health_reports:delete": {"health_reports": 2},
        "biometric_templates:delete": {"templates": 1},
        "id_documents:delete": {"id_numbers": 1},
        "profile:anonymise": {"profiles": 1},
    }
    with enterprise_schema(world.acme):
        entries = LedgerEntry.objects.filter(subject_membership_id=leaver.pk).count()
    assert entries == 4  # one per step, each by the system
    assert erasure_plans_run_due(enterprise=world.acme) == []  # once
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.filter(subject_membership_id=leaver.pk).count() == entries


def test_a_plan_waits_until_it_is_due(world):
    leaver = _leaver(world.acme)
    plan = schedule_member_erasure(
        enterprise=world.acme, member=leaver, plan=LEAVER_PLAN, not_before=timezone.now() + timedelta(days=30)
    )
    assert erasure_plans_run_due(enterprise=world.acme) == []
    assert _data(world.acme, leaver)[:2] == (2, 1)
    assert erasure_plans_run_due(enterprise=world.acme, now=timezone.now() + timedelta(days=31)) == [plan.pk]


def test_a_cancelled_plan_never_runs(world):
    leaver = _leaver(world.acme)
    plan = schedule_member_erasure(
        enterprise=world.acme,
        member=leaver,
        plan=LEAVER_PLAN,
        not_before=timezone.now() + timedelta(days=7),
        reason="account deletion",
    )
    cancelled = erasure_plan_cancel(enterprise=world.acme, plan=plan)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert erasure_plan_cancel(enterprise=world.acme, plan=plan).status == "cancelled"  # idempotent
    assert erasure_plans_run_due(enterprise=world.acme, now=timezone.now() + timedelta(days=8)) == []
    assert _data(world.acme, leaver) == (2, 1, "Lena Leaver", True)


def test_a_started_plan_cannot_be_cancelled(world):
    plan = schedule_member_erasure(
        enterprise=world.acme, member=_leaver(world.acme), plan=LEAVER_PLAN, not_before=timezone.now()
    )
    erasure_plans_run_due(enterprise=world.acme)
    with pytest.raises(ValidationError) as caught:
        erasure_plan_cancel(enterprise=world.acme, plan=plan)
    assert "plan" in caught.value.message_dict
    assert _status(world.acme, plan).status == "done"


class Crash(RuntimeError):
    pass


def test_a_plan_interrupted_by_a_crash_is_finished_by_the_next_run(world):
    leaver = _leaver(world.acme)
    plan = schedule_member_erasure(enterprise=world.acme, member=leaver, plan=LEAVER_PLAN, not_before=timezone.now())

    def crash_on_templates(current, step):
        if step["category"] == "biometric_templates":
            raise Crash("worker killed")

    with pytest.raises(Crash):
        erasure_plans_run_due(enterprise=world.acme, before_step=crash_on_templates)
    assert _status(world.acme, plan).status == "running"  # the row survives the crash
    assert _data(world.acme, leaver)[:2] == (0, 1)  # the first step happened, the second not
    assert erasure_plans_run_due(enterprise=world.acme) == [plan.pk]
    finished = _status(world.acme, plan)
    assert finished.status == "done" and finished.attempts == 2
    assert finished.result["health_reports:delete"] == {"health_reports": 0}  # gone already: repeats harmlessly
    assert _data(world.acme, leaver)[:2] == (0, 0)


def test_the_profile_step_leaves_a_member_who_came_back_alone(world):
    bob = world.membership(world.acme, world.bob)
    plan = schedule_member_erasure(
        enterprise=world.acme,
        member=bob,
        plan={"steps": [{"category": "profile", "action": "anonymise"}]},
        not_before=timezone.now(),
    )
    erasure_plans_run_due(enterprise=world.acme)
    assert _status(world.acme, plan).result == {"profile:anonymise": {"profiles": 0}}
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=bob.pk).display_name == bob.display_name


@pytest.mark.parametrize(
    ("plan", "not_before", "field"),
    [
        ({"steps": [{"category": "ledger", "action": "delete"}]}, "now", "plan"),
        ({"steps": [{"category": "profile", "action": "delete"}]}, "now", "plan"),
        ({"steps": []}, "now", "plan"),
        ({"steps": [{"category": "profile", "action": "anonymise"}] * 2}, "now", "plan"),
        (["profile"], "now", "plan"),
        ({"steps": [{"category": "profile", "action": "anonymise"}]}, "naive", "not_before"),
    ],
)
def test_bad_plans_are_refused_and_nothing_is_scheduled(world, plan, not_before, field):
    moment = timezone.now() if not_before == "now" else timezone.now().replace(tzinfo=None)
    with pytest.raises(ValidationError) as caught:
        schedule_member_erasure(
            enterprise=world.acme, member=world.membership(world.acme, world.bob), plan=plan, not_before=moment
        )
    assert field in caught.value.message_dict
    with enterprise_schema(world.acme):
        assert not ErasurePlan.objects.exists()


def test_plans_stay_in_their_enterprise(world):
    leaver = _leaver(world.acme)
    plan = schedule_member_erasure(enterprise=world.acme, member=leaver, plan=LEAVER_PLAN, not_before=timezone.now())
    assert erasure_plans_run_due(enterprise=world.globex) == []
    assert _status(world.acme, plan).status == "scheduled"
    with enterprise_schema(world.globex):
        gwen = Membership.objects.get(account=world.gwen)  # an id acme does not have
    with pytest.raises(ValidationError) as caught:
        schedule_member_erasure(enterprise=world.acme, member=gwen, plan=LEAVER_PLAN, not_before=timezone.now())
    assert "member" in caught.value.message_dict


def test_a_second_runner_returns_at_once(world):
    plan = schedule_member_erasure(
        enterprise=world.acme, member=_leaver(world.acme), plan=LEAVER_PLAN, not_before=timezone.now()
    )
    other = connections.create_connection("default")
    try:  # the lock is transaction-level (issue 18 §4): another runner's open transaction holds it
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [ERASURE_LOCK_CLASS, "acme"])
        assert erasure_plans_run_due(enterprise=world.acme) == []
        assert _status(world.acme, plan).status == "scheduled"
    finally:
        other.rollback()
        other.close()
    assert erasure_plans_run_due(enterprise=world.acme) == [plan.pk]


def test_the_task_refuses_the_public_schema_and_runs_in_its_enterprise(world):
    assert connection.schema_name == "public"
    with pytest.raises(PublicSchemaRefused):
        erasure_plans_run.apply(headers={"_schema_name": "public"}).get()
    plan = schedule_member_erasure(
        enterprise=world.acme, member=_leaver(world.acme), plan=LEAVER_PLAN, not_before=timezone.now()
    )
    assert erasure_plans_run.apply(headers={"_schema_name": "globex"}).get()["completed"] == []
    assert erasure_plans_run.apply(headers={"_schema_name": "acme"}).get() == {"schema": "acme", "completed": [plan.pk]}


def test_the_counts_preview_what_the_plan_would_remove(world):
    leaver = _leaver(world.acme)
    preview = erasure_plan_counts(enterprise=world.acme, membership_id=leaver.pk, plan=LEAVER_PLAN)
    assert preview == {
        "health_reports:delete": {"health_reports": 2},
        "biometric_templates:delete": {"templates": 1},
        "id_documents:delete": {"id_numbers": 1},
        "profile:anonymise": {"profiles": 1},
    }
    plan = schedule_member_erasure(enterprise=world.acme, member=leaver, plan=LEAVER_PLAN, not_before=timezone.now())
    erasure_plans_run_due(enterprise=world.acme)
    assert _status(world.acme, plan).result == preview  # what was shown is what happened
    with pytest.raises(ValidationError):
        erasure_plan_counts(enterprise=world.acme, membership_id=leaver.pk, plan={"steps": [{"category": "x"}]})
