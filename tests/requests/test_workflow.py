"""The request workflow as services (DSR-1, DSR-3, DSR-4, DSR-7, ENT-8, ENT-10)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.utils import timezone

from consent.models import Notification, NotificationDelivery
from core.scopes import admin_scope_for
from ledger.models import LedgerEntry
from ledger.services import Action
from requests import tasks
from requests.models import Request, RequestEvent
from requests.workflow.reminders import request_send_reminders
from requests.workflow.selectors import overdue_requests, request_for_admin, requests_for_admin, requests_recent_count
from requests.workflow.services import Decision, request_cancel, request_decide, request_submit
from tenants.context import enterprise_schema


def _inbox(user, **filters):
    return list(Notification.objects.filter(account=user, kind="request", **filters).values_list("title", flat=True))


def _state(request: Request) -> tuple:
    request.refresh_from_db()
    return (
        request.status,
        request.due_on,
        request.closed_at,
        request.refusal_ground,
        RequestEvent.objects.filter(request=request).count(),
    )


def test_lifecycle_submitted_verified_in_review_completed(world, submit):
    request = submit("acme", world.bob, kind="correction", category="health", description="My city is wrong.")
    with enterprise_schema(world.acme):
        assert request.status == Request.Status.IDENTITY_VERIFIED
        assert request.due_on is not None and request.verified_at is not None
        assert list(request.events.values_list("action", "actor_kind")) == [
            ("submitted", "requester"),
            ("identity_verified", "system"),
        ]
        sam = world.membership(world.acme, world.sam)
        ledger_before = LedgerEntry.objects.filter(action=Action.ANSWER_REQUEST).count()
        request_decide(enterprise=world.acme, request=request, actor=sam, action=Decision.START_REVIEW)
        done = request_decide(
            enterprise=world.acme, request=request, actor=sam, action=Decision.COMPLETE, note="Corrected to Shanghai."
        )
        assert done.status == Request.Status.COMPLETED and done.closed_at is not None
        assert done.resolution == "Corrected to Shanghai."
        events = list(done.events.order_by("id").values_list("action", "status", "actor_kind", "actor_membership_id"))
        assert events[-2:] == [
            ("review_started", "in_review", "admin", sam.pk),
            ("completed", "completed", "admin", sam.pk),
        ]
        entries = list(LedgerEntry.objects.filter(action=Action.ANSWER_REQUEST).order_by("-id")[:2])
        assert LedgerEntry.objects.filter(action=Action.ANSWER_REQUEST).count() == ledger_before + 2
        bob = world.membership(world.acme, world.bob)
        assert {(e.actor_membership_id, e.subject_membership_id, e.category, e.object_id) for e in entries} == {
            (sam.pk, bob.pk, "health", str(request.pk))
        }
        assert entries[0].details == {"action": "complete", "from": "in_review", "to": "completed", "ground": ""}
    bob_inbox = Notification.objects.filter(account=world.bob, kind="request")
    assert bob_inbox.count() == 2 and set(bob_inbox.values_list("enterprise_id", flat=True)) == {world.acme.pk}
    assert bob_inbox.first().url == f"/me/requests/{request.pk}/"
    # the new request went to the admins holding health over Bob: the owner and Sam, not Amy
    assert _inbox(world.sam, title__startswith="New request") and _inbox(world.alice, title__startswith="New request")
    assert not _inbox(world.amy)


@pytest.mark.parametrize(
    ("action", "status", "expected_field"),
    [
        (Decision.COMPLETE, Request.Status.IDENTITY_VERIFIED, "action"),  # must be in review first
        (Decision.VERIFY, Request.Status.IDENTITY_VERIFIED, "action"),  # already verified
        (Decision.INFORMATION_RECEIVED, Request.Status.IN_REVIEW, "action"),  # nothing was asked
        (Decision.START_REVIEW, Request.Status.COMPLETED, "action"),  # closed
        (Decision.REFUSE, Request.Status.CANCELLED, "ground"),  # no ground (checked before the state)
        ("approve", Request.Status.IN_REVIEW, "action"),  # not an action
    ],
)
def test_invalid_transitions_change_nothing(world, submit, action, status, expected_field):
    request = submit("acme", world.bob, category="directory")
    with enterprise_schema(world.acme):
        Request.objects.filter(pk=request.pk).update(status=status)
        before = _state(request)
        ledger = LedgerEntry.objects.count()
        with pytest.raises(ValidationError) as error:
            request_decide(
                enterprise=world.acme, request=request, actor=world.membership(world.acme, world.alice), action=action
            )
        assert expected_field in error.value.message_dict
        assert _state(request) == before and LedgerEntry.objects.count() == ledger


def test_refusal_needs_a_recognised_ground_and_an_explanation(world, submit):
    request = submit("acme", world.bob, kind="deletion", category="attendance", description="Delete my clock-ins.")
    alice = world.membership(world.acme, world.alice)
    with enterprise_schema(world.acme):
        before = _state(request)
        for ground, note, field in (("", "x", "ground"), ("because", "x", "ground"), ("legal_obligation", "", "note")):
            with pytest.raises(ValidationError) as error:
                request_decide(
                    enterprise=world.acme,
                    request=request,
                    actor=alice,
                    action=Decision.REFUSE,
                    ground=ground,
                    note=note,
                )
            assert field in error.value.message_dict
            assert _state(request) == before
        with pytest.raises(ValidationError) as error:
            request_decide(
                enterprise=world.acme, request=request, actor=alice, action=Decision.START_REVIEW, ground="abuse"
            )
        assert "ground" in error.value.message_dict
        refused = request_decide(
            enterprise=world.acme,
            request=request,
            actor=alice,
            action=Decision.REFUSE,
            ground="legal_obligation",
            note="Payroll records are kept for 2 years by law.",
        )
        assert refused.status == Request.Status.REFUSED and refused.refusal_ground == "legal_obligation"
        assert refused.events.last().refusal_ground == "legal_obligation"
    assert "Refused" in _inbox(world.bob)[0]
    # SEC-5: the answer also goes out by SMS (Bob has no e-mail address)
    sms = NotificationDelivery.objects.filter(notification__account=world.bob, notification__kind="request")
    assert list(sms.values_list("channel", "address")) == [("sms", "+8613900000003")]


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("kind", {"kind": "lawsuit"}),
        ("category", {"category": "ledger"}),
        ("category", {"category": ""}),
        ("description", {"description": "   "}),
        ("description", {"description": "x" * 2001}),
    ],
)
def test_bad_submissions_write_nothing(world, submit, field, kwargs):
    with enterprise_schema(world.acme):
        count, events = Request.objects.count(), RequestEvent.objects.count()
    with pytest.raises(ValidationError) as error:
        submit("acme", world.bob, **{"kind": "complaint", "category": "health", **kwargs})
    assert field in error.value.message_dict
    with enterprise_schema(world.acme):
        assert (Request.objects.count(), RequestEvent.objects.count()) == (count, events)


def test_a_request_is_made_only_by_an_active_member_about_their_own_data(world):
    bob = world.membership(world.acme, world.bob)
    with pytest.raises(ValidationError) as error:
        request_submit(
            enterprise=world.acme,
            account=world.erin,
            membership=bob,
            kind="complaint",
            category="health",
            description="x",
        )
    assert "membership" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        request_submit(enterprise=None, account=world.oscar, kind="complaint", category="health", description="x")
    assert "category" in error.value.message_dict


def test_admins_decide_only_within_their_scope_and_never_on_their_own_request(world, submit):
    health = submit("acme", world.bob, category="health")
    own = submit("acme", world.sam, category="directory")
    amy, sam = world.membership(world.acme, world.amy), world.membership(world.acme, world.sam)
    with enterprise_schema(world.acme):
        with pytest.raises(ValidationError, match="scope"):
            request_decide(enterprise=world.acme, request=health, actor=amy, action=Decision.START_REVIEW)
        with pytest.raises(ValidationError, match="own request"):
            request_decide(enterprise=world.acme, request=own, actor=sam, action=Decision.START_REVIEW)
        with pytest.raises(ValidationError):
            request_decide(enterprise=world.acme, request=health, actor=world.bob, action=Decision.START_REVIEW)
        assert _state(health)[0] == _state(own)[0] == Request.Status.IDENTITY_VERIFIED
        request_decide(enterprise=world.acme, request=own, actor=amy, action=Decision.START_REVIEW)


def test_scoped_admin_sees_bobs_health_request_but_not_erins_and_amy_sees_neither(world, submit):
    bob_health = submit("acme", world.bob, category="health")
    erin_health = submit("acme", world.erin, category="health")
    bob_directory = submit("acme", world.bob, category="directory")
    with enterprise_schema(world.acme):

        def visible(user):
            scope = admin_scope_for(world.membership(world.acme, user))
            return set(requests_for_admin(scope=scope).values_list("pk", flat=True))

        assert {bob_health.pk, bob_directory.pk} <= visible(world.sam) and erin_health.pk not in visible(world.sam)
        assert bob_directory.pk in visible(world.amy)
        assert not {bob_health.pk, erin_health.pk} & visible(world.amy)
        assert {bob_health.pk, erin_health.pk, bob_directory.pk} <= visible(world.alice)
        with pytest.raises(Http404):
            request_for_admin(scope=admin_scope_for(world.membership(world.acme, world.amy)), pk=bob_health.pk)


def test_acme_requests_do_not_exist_in_globex(world, submit):
    request = submit("acme", world.bob, category="directory")
    with enterprise_schema(world.globex):
        scope = admin_scope_for(world.membership(world.globex, world.gina))
        assert not requests_for_admin(scope=scope).filter(pk=request.pk).exists()
        assert not Request.objects.filter(pk=request.pk).exists()
    assert not Request.objects.filter(pk=request.pk).exists()  # nor in the public schema


def test_requester_cancels_an_open_request_only(world, submit):
    request = submit("acme", world.bob, category="directory")
    with pytest.raises(ValidationError):
        request_cancel(enterprise=world.acme, request=request, account=world.erin)
    cancelled = request_cancel(enterprise=world.acme, request=request, account=world.bob)
    assert cancelled.status == Request.Status.CANCELLED
    with pytest.raises(ValidationError) as error:
        request_cancel(enterprise=world.acme, request=request, account=world.bob)
    assert "action" in error.value.message_dict


def test_account_data_requests_live_in_public_and_go_to_operators(world, submit):
    request = submit(None, world.oscar, kind="correction", description="My legal name is misspelt.")
    assert connection.schema_name == "public"
    assert Request.objects.filter(pk=request.pk, membership__isnull=True).exists()
    assert _inbox(world.olga, title__startswith="New request")
    with pytest.raises(ValidationError, match="operators"):
        request_decide(enterprise=None, request=request, actor=world.alice, action=Decision.START_REVIEW)
    request_decide(enterprise=None, request=request, actor=world.olga, action=Decision.START_REVIEW)
    done = request_decide(enterprise=None, request=request, actor=world.olga, action=Decision.COMPLETE, note="Fixed.")
    assert done.status == Request.Status.COMPLETED
    assert list(done.events.values_list("actor_kind", flat=True))[-1] == "operator"
    notification = Notification.objects.filter(account=world.oscar, kind="request").first()
    assert notification.enterprise_id is None and notification.url == f"/account/requests/{request.pk}/"


@pytest.mark.parametrize("schema", ["acme", "public"])
def test_the_history_is_append_only_in_the_database(world, submit, schema):
    request = submit("acme" if schema == "acme" else None, world.bob, category="directory")
    context = enterprise_schema(world.acme) if schema == "acme" else transaction.atomic()
    with context:
        for statement in (
            "UPDATE requests_requestevent SET note = 'forged' WHERE request_id = %s",
            "DELETE FROM requests_requestevent WHERE request_id = %s",
        ):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
                c.execute(statement, [request.pk])
        assert RequestEvent.objects.filter(request=request).exclude(note="forged").count() == 2


def test_reminders_at_5_and_2_working_days_are_sent_once(world, submit):
    request = submit("acme", world.bob, category="health")
    due = date(2026, 11, 30)  # a Monday; 23 Nov = 5 working days before, 26 Nov = 2
    with enterprise_schema(world.acme):
        Request.objects.filter(pk=request.pk).update(due_on=due)
    Notification.objects.filter(kind="request").delete()
    sent = [
        request_send_reminders(enterprise=world.acme, today=date(2026, 11, day))
        for day in (20, 23, 23, 24, 26, 26, 27, 30)
    ]
    assert sent == [0, 1, 0, 0, 1, 0, 0, 0]
    titles = _inbox(world.sam)
    assert sorted(titles) == sorted(
        [
            f"Request #{request.pk}: 5 working days left (due 2026-11-30)",
            f"Request #{request.pk}: 2 working days left (due 2026-11-30)",
        ]
    )
    assert len(_inbox(world.alice)) == 2 and _inbox(world.amy) == [] and _inbox(world.bob) == []
    with enterprise_schema(world.acme):
        assert Request.objects.get(pk=request.pk).reminded_days_left == 2


def test_a_late_first_run_sends_only_the_2_day_reminder_and_paused_requests_get_none(world, submit):
    late = submit("acme", world.bob, category="directory")
    paused = submit("acme", world.erin, category="directory")
    alice = world.membership(world.acme, world.alice)
    request_decide(enterprise=world.acme, request=paused, actor=alice, action=Decision.ASK_INFORMATION, note="?")
    with enterprise_schema(world.acme):
        Request.objects.filter(pk__in=[late.pk, paused.pk]).update(due_on=date(2026, 11, 30))
    assert request_send_reminders(enterprise=world.acme, today=date(2026, 11, 27)) == 1
    assert request_send_reminders(enterprise=world.acme, today=date(2026, 11, 27)) == 0
    with enterprise_schema(world.acme):
        assert Request.objects.get(pk=late.pk).reminded_days_left == 2
        assert Request.objects.get(pk=paused.pk).reminded_days_left is None


def test_account_request_reminders_go_to_operators_through_the_task(world, submit):
    request = submit(None, world.oscar)
    Request.objects.filter(pk=request.pk).update(due_on=date(2026, 11, 30))
    assert tasks.account_request_send_reminders.run(day="2026-11-23") == {"schema": "public", "reminded": 1}
    assert tasks.account_request_send_reminders.run(day="2026-11-23") == {"schema": "public", "reminded": 0}
    assert _inbox(world.olga, title__contains="5 working days left")
    acme_request = submit("acme", world.bob, category="directory")
    with enterprise_schema(world.acme):
        Request.objects.filter(pk=acme_request.pk).update(due_on=date(2026, 11, 30))
        assert tasks.request_send_reminders.run(day="2026-11-26") == {"schema": "acme", "reminded": 1}


def test_overdue_requests_are_the_running_ones_past_their_deadline(world, submit):
    late = submit("acme", world.bob, category="directory")
    paused = submit("acme", world.erin, category="directory")
    on_time = submit("acme", world.dana, category="directory")
    request_decide(
        enterprise=world.acme,
        request=paused,
        actor=world.membership(world.acme, world.alice),
        action=Decision.ASK_INFORMATION,
        note="?",
    )
    with enterprise_schema(world.acme):
        past = timezone.localdate() - timedelta(days=3)
        Request.objects.filter(pk__in=[late.pk, paused.pk]).update(due_on=past)
        overdue = set(overdue_requests().values_list("pk", flat=True))
        assert late.pk in overdue and paused.pk not in overdue and on_time.pk not in overdue


def test_recent_count_of_a_kind_for_the_export_limit(world):
    """DSR-7's helper: requests of a kind in the last 30 days, cancelled and refused ones aside."""
    bob = world.membership(world.acme, world.bob)
    made = [
        request_submit(enterprise=world.acme, account=world.bob, membership=bob, kind="export", category="directory")
        for _ in range(3)
    ]
    request_cancel(enterprise=world.acme, request=made[0], account=world.bob)
    with enterprise_schema(world.acme):
        Request.objects.filter(pk=made[1].pk).update(submitted_at=made[1].submitted_at - timedelta(days=31))
        assert requests_recent_count(bob, "export") == 1
        assert requests_recent_count(bob, "export", days=40) == 2
        assert requests_recent_count(bob, "complaint") == 0
        assert requests_recent_count(world.membership(world.acme, world.erin), "export") == 0


def test_beat_sends_the_reminders_every_day():
    """RET-2: one dispatcher per enterprise for enterprise requests, one task in public."""
    from django.conf import settings

    from config.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE
    per_enterprise = schedule["request-reminders"]
    assert per_enterprise["task"] == "tenants.tasks.dispatch_per_enterprise"
    assert per_enterprise["kwargs"]["task_name"] == tasks.request_send_reminders.name
    assert schedule["account-request-reminders"]["task"] == tasks.account_request_send_reminders.name
    assert {tasks.request_send_reminders.name, tasks.account_request_send_reminders.name} <= set(app.tasks)


def test_oversight_counts_are_unavailable_rather_than_an_error_when_a_schema_cannot_be_read(world, monkeypatch):
    from requests.workflow import selectors
    from tenants.models import Enterprise

    monkeypatch.setattr(
        selectors,
        "enterprise_list",
        lambda **kwargs: Enterprise.objects.filter(pk__in=[world.acme.pk]).extra(
            select={"schema_name": "'no_such_schema'"}
        ),
    )
    assert selectors.overdue_counts_by_enterprise() is None
    assert Request.objects.count() >= 0  # the connection is still usable
