"""DSR-4: 15 working days, skipping weekends and mainland-China public holidays, counting the
official make-up working days (调休); operators' overrides win; the clock pauses while awaiting
information."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from requests.models import HolidayOverride, Request
from requests.workflow.calendar import WorkingCalendar, library_is_working_day
from requests.workflow.selectors import with_deadlines
from requests.workflow.services import Decision, request_decide, request_provide_information
from tenants.context import enterprise_schema

LIBRARY_ONLY = WorkingCalendar(overrides={})


def test_national_day_2026_and_its_make_up_saturday():
    # 1–7 October 2026 are days off (the 4th a Sunday anyway); Sunday 20 September and
    # Saturday 10 October are make-up working days.
    for day in range(1, 8):
        assert not LIBRARY_ONLY.is_working_day(date(2026, 10, day)), day
    assert LIBRARY_ONLY.is_working_day(date(2026, 10, 10))  # Saturday, worked
    assert not LIBRARY_ONLY.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert LIBRARY_ONLY.is_working_day(date(2026, 9, 20))  # Sunday, worked
    # Verified on Wednesday 30 September: 8, 9, 10 (Sat), 12 … 27 October are the 15 working days.
    assert LIBRARY_ONLY.add_working_days(date(2026, 9, 30), 15) == date(2026, 10, 27)
    assert LIBRARY_ONLY.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert LIBRARY_ONLY.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4
    assert LIBRARY_ONLY.working_days_between(date(2026, 10, 12), date(2026, 9, 30)) == -4


def test_spring_festival_2026_and_its_make_up_saturdays():
    # 15–23 February 2026 are days off; Saturdays 14 and 28 February are worked.
    assert LIBRARY_ONLY.is_working_day(date(2026, 2, 14))
    assert all(not LIBRARY_ONLY.is_working_day(date(2026, 2, day)) for day in range(15, 24))
    assert LIBRARY_ONLY.is_working_day(date(2026, 2, 28))
    # From Friday 13 February: 14 (Sat), 24, 25, 26, 27, 28 (Sat) …
    assert LIBRARY_ONLY.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert LIBRARY_ONLY.add_working_days(date(2026, 2, 13), 6) == date(2026, 2, 28)
    assert LIBRARY_ONLY.add_working_days(date(2026, 2, 13), 15) == date(2026, 3, 12)


def test_an_operators_override_wins_over_the_library(world):
    HolidayOverride.objects.create(date=date(2026, 10, 12), is_working_day=False, note="test: extra day off")
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(date(2026, 10, 12))
    assert calendar.add_working_days(date(2026, 9, 30), 15) == date(2026, 10, 28)
    HolidayOverride.objects.create(date=date(2026, 10, 7), is_working_day=True, note="test: worked after all")
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2026, 10, 7)) and not library_is_working_day(date(2026, 10, 7))
    assert calendar.add_working_days(date(2026, 9, 30), 15) == date(2026, 10, 27)


def test_overrides_are_read_from_the_public_schema_inside_an_enterprise(world):
    HolidayOverride.objects.create(date=date(2027, 1, 4), is_working_day=False, note="test")
    with enterprise_schema(world.acme):
        assert not WorkingCalendar().is_working_day(date(2027, 1, 4))


def test_deadline_is_set_at_verification_and_pauses_while_awaiting_information(world, clock, submit):
    clock(date(2026, 9, 30))
    request = submit("acme", world.bob, category="health")
    assert request.status == Request.Status.IDENTITY_VERIFIED
    assert request.due_on == date(2026, 10, 27)
    with enterprise_schema(world.acme):
        sam = world.membership(world.acme, world.sam)
        clock(date(2026, 10, 9))  # Friday
        request_decide(enterprise=world.acme, request=request, actor=sam, action=Decision.START_REVIEW)
        request = request_decide(
            enterprise=world.acme,
            request=request,
            actor=sam,
            action=Decision.ASK_INFORMATION,
            note="Which date is wrong?",
        )
        assert request.paused_on == date(2026, 10, 9)
        # frozen while paused: (9 Oct, 27 Oct] holds 13 working days, whatever the date
        clock(date(2026, 10, 20))
        assert with_deadlines([request])[0].days_left == 13
        assert not with_deadlines([request])[0].overdue
        clock(date(2026, 10, 13))  # Tuesday: 10 (Sat, worked), 12 and 13 October were paused
        request = request_provide_information(
            enterprise=world.acme, request=request, account=world.bob, note="The 3rd."
        )
    assert request.status == Request.Status.IN_REVIEW
    assert request.paused_on is None and request.paused_working_days == 3
    assert request.due_on == date(2026, 10, 30)
    assert with_deadlines([request])[0].days_left == 13  # the same as when it was paused


def test_an_administrator_can_resume_the_clock_too(world, clock, submit):
    clock(date(2026, 11, 2))
    request = submit("acme", world.bob, category="directory")
    alice = world.membership(world.acme, world.alice)
    due = request.due_on
    request_decide(
        enterprise=world.acme,
        request=request,
        actor=alice,
        action=Decision.ASK_INFORMATION,
        note="Send a copy of the certificate.",
    )
    clock(date(2026, 11, 4))  # Wednesday: 3 and 4 November paused
    request = request_decide(
        enterprise=world.acme,
        request=request,
        actor=alice,
        action=Decision.INFORMATION_RECEIVED,
        note="Received by post.",
    )
    assert request.due_on == WorkingCalendar().add_working_days(due, 2)
    with pytest.raises(ValidationError) as error:
        request_decide(enterprise=world.acme, request=request, actor=alice, action=Decision.INFORMATION_RECEIVED)
    assert "action" in error.value.message_dict
