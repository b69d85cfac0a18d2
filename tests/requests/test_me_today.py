"""/me/'s four sections read in one statement (requests.today.me_today; PERF-7, issue 18 §8):
it answers exactly what the ORM answers for the member, and nothing of anyone else; the page
shows "today" by the enterprise's local day (Asia/Shanghai) at 23:59 and at 00:01 alike."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from attendance.models import AttendanceDay
from biometrics.models import BiometricTemplate, Purpose
from biometrics.selectors import enrolments_of
from consent.models import ConsentPurpose, ConsentRecord, SensitiveCategory
from health.models import HealthReport
from requests.today import me_today
from tenants.context import enterprise_schema


def _local(day, hour: int, minute: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), timezone.get_default_timezone())


@pytest.fixture
def rows(world):
    """Bob's days, reports and enrolments of today and yesterday, and Erin's of today (another member)."""
    today = timezone.localdate()
    now = timezone.now()
    with enterprise_schema(world.acme):
        bob = world.membership(world.acme, world.bob)
        erin = world.membership(world.acme, world.erin)
        alice = world.membership(world.acme, world.alice)
        for member, first_in in ((bob, now - timedelta(hours=1)), (erin, now - timedelta(hours=2))):
            AttendanceDay.objects.create(
                membership=member, date=today, first_in=first_in, last_out=None, exceptions=["late", "out_of_range"]
            )
            AttendanceDay.objects.create(
                membership=member, date=today - timedelta(days=1), first_in=now - timedelta(days=1)
            )
            HealthReport.objects.create(
                membership=member,
                date=today,
                city=f"{member.display_name}城",
                unwell=member == bob,
                details_encrypted=b"x",
            )
            HealthReport.objects.create(
                membership=member, date=today - timedelta(days=1), city="昨天", unwell=False, details_encrypted=b"x"
            )
        BiometricTemplate.objects.create(
            membership=bob, modality="face", purpose=Purpose.ATTENDANCE, template_encrypted=b"t", enrolled_by=alice
        )
        BiometricTemplate.objects.create(
            membership=bob,
            modality="fingerprint",
            purpose=Purpose.DOOR_ACCESS,
            template_encrypted=b"t",
            revoked_at=now,
        )
        BiometricTemplate.objects.create(
            membership=erin, modality="iris", purpose=Purpose.ATTENDANCE, template_encrypted=b"t"
        )
        withdrawn = ConsentRecord.objects.filter(membership=bob, withdrawn_at__isnull=True).first()
        assert withdrawn is not None  # the world gives Bob his consents: one of them is withdrawn
        withdrawn.withdrawn_at = now
        withdrawn.save(update_fields=["withdrawn_at"])
        ConsentRecord.objects.create(
            membership=bob,
            category=SensitiveCategory.HEALTH,
            purpose=ConsentPurpose.HEALTH_MONITORING,
            basis=ConsentRecord.Basis.EMERGENCY,
            reason="疫情应急",
            given_at=now,
            channel=ConsentRecord.Channel.CONSOLE,
        )
    return today, bob, withdrawn.pk


def _fields(obj, names):
    return {name: getattr(obj, name) for name in names}


def test_one_statement_answers_what_the_orm_answers(world, rows, django_assert_num_queries):
    today, bob, withdrawn = rows
    with enterprise_schema(world.acme):
        AttendanceDay.objects.exists()  # the schema's search_path is set
        with django_assert_num_queries(1):
            got = me_today(membership=bob, today=today)
        day = AttendanceDay.objects.get(membership=bob, date=today)
        health = HealthReport.objects.get(membership=bob, date=today)
        consents = list(
            ConsentRecord.objects.filter(membership=bob, withdrawn_at__isnull=True).order_by("-given_at", "-id")
        )
        enrolments = list(enrolments_of(membership=bob))
    assert _fields(got.day, ("pk", "date", "first_in", "last_out", "exceptions", "membership_id")) == _fields(
        day, ("pk", "date", "first_in", "last_out", "exceptions", "membership_id")
    )
    assert got.day.exceptions == ["late", "out_of_range"]
    assert _fields(got.health, ("pk", "date", "city", "unwell")) == _fields(health, ("pk", "date", "city", "unwell"))
    assert got.health.unwell is True
    names = ("pk", "category", "purpose", "basis", "given_at")
    assert [_fields(c, names) for c in got.consents] == [_fields(c, names) for c in consents]
    assert got.consents and withdrawn not in {c.pk for c in got.consents}  # the withdrawn one is left out
    names = ("pk", "modality", "purpose", "enrolled_at", "enrolled_by_id", "revoked_at")
    assert [_fields(e, names) for e in got.enrolments] == [_fields(e, names) for e in enrolments]
    assert [e.enrolled_by.display_name if e.enrolled_by else None for e in got.enrolments] == [
        e.enrolled_by.display_name if e.enrolled_by else None for e in enrolments
    ]
    assert {e.get_modality_display() for e in got.enrolments} == {"Face", "Fingerprint"}  # Erin's iris is hers


def test_a_member_with_nothing_gets_empty_sections(world, django_assert_num_queries):
    with enterprise_schema(world.acme):
        erin = world.membership(world.acme, world.erin)
        ConsentRecord.objects.filter(membership=erin).delete()  # also sets the schema's search_path
        with django_assert_num_queries(1):
            got = me_today(membership=erin, today=timezone.localdate())
    assert (got.day, got.health, got.consents, got.enrolments) == (None, None, [], [])


@pytest.mark.parametrize(("hour", "minute"), [(23, 59), (0, 1)])
def test_the_page_shows_today_by_the_local_day(world, rows, client_for, hour, minute):
    """Bob's rows of the local today are shown, yesterday's are not, at either end of the day."""
    today, _bob, _withdrawn = rows
    with time_machine.travel(_local(today, hour, minute), tick=False):
        response = client_for("acme", world.bob).get("/me/")  # signed in then (sessions expire when idle)
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        page = response.content.decode()
    assert "Reported today from Bob" in page and "昨天" not in page
    assert "You have not clocked in today." not in page
    assert "Face" in page and "Fingerprint" in page and "Iris" not in page
    # the next local day: nothing of "today" any more, whatever the UTC date is
    with time_machine.travel(_local(today + timedelta(days=1), hour, minute), tick=False):
        page = client_for("acme", world.bob).get("/me/").content.decode()
    assert "You have not reported today." in page and "You have not clocked in today." in page
