"""Deadline reminders (DSR-4): when a running request has 5, then 2, working days left, the
people who answer it (the admins whose scope covers it, or the operators) get an inbox message.

Idempotent: `Request.reminded_days_left` remembers the smallest threshold reminded, and each
reminder is claimed with a conditional UPDATE in the same transaction as its messages, so a run
repeated (or two workers at once) never sends one twice. A request first seen with 2 or fewer
days left gets only the 2-day reminder."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from consent.inbox.services import notify_many
from consent.messages import Message
from requests.models import Request
from requests.workflow.calendar import WorkingCalendar
from requests.workflow.selectors import responsible_account_ids
from requests.workflow.services import NOTIFICATION_KIND, request_schema
from tenants.models import Enterprise

REMINDER_THRESHOLDS = (5, 2)  # working days left, largest first


def _threshold(days_left: int) -> int | None:
    due = [threshold for threshold in REMINDER_THRESHOLDS if days_left <= threshold]
    return min(due) if due else None


def request_send_reminders(*, enterprise: Enterprise | None, today: date | None = None) -> int:
    """Send the reminders due today in `enterprise`'s schema (None: the public schema's
    account-data requests). Returns how many requests were reminded."""
    today = today or timezone.localdate()
    sent = 0
    with request_schema(enterprise):
        calendar = WorkingCalendar()
        horizon = calendar.add_working_days(today, max(REMINDER_THRESHOLDS))
        candidates = list(
            Request.objects.filter(status__in=Request.RUNNING_STATUSES, due_on__lte=horizon)
            .filter(Q(reminded_days_left__isnull=True) | Q(reminded_days_left__gt=min(REMINDER_THRESHOLDS)))
            .order_by("due_on", "id")
        )
        due: list[tuple[Request, int, int]] = []
        for request in candidates:
            assert request.due_on is not None
            left = calendar.working_days_between(today, request.due_on)
            threshold = _threshold(left)
            if threshold is not None and (request.reminded_days_left is None or request.reminded_days_left > threshold):
                due.append((request, threshold, left))
        if not due:
            return 0
        recipients = responsible_account_ids(requests=[request for request, _t, _l in due])
        for request, threshold, left in due:
            with transaction.atomic():
                claimed = (
                    Request.objects.filter(pk=request.pk, status__in=Request.RUNNING_STATUSES)
                    .filter(Q(reminded_days_left__isnull=True) | Q(reminded_days_left__gt=threshold))
                    .update(reminded_days_left=threshold)
                )
                if not claimed:
                    continue  # another run sent it, or the request moved on
                if left < 0:
                    msgid = gettext_noop("Request #%(id)s is overdue (due %(due)s)")
                elif left == 0:
                    msgid = gettext_noop("Request #%(id)s is due today")
                else:
                    msgid = gettext_noop("Request #%(id)s: %(left)d working days left (due %(due)s)")
                title = Message(msgid, {"id": request.pk, "left": left, "due": request.due_on.isoformat()})  # type: ignore[union-attr]
                url = (
                    f"/console/requests/{request.pk}/"
                    if enterprise is not None
                    else f"/admin/requests/request/{request.pk}/change/"
                )
                notify_many(
                    account_ids=sorted(recipients[request.pk]),
                    kind=NOTIFICATION_KIND,
                    title=title,
                    url=url,
                    enterprise_id=enterprise.pk if enterprise is not None else None,
                )
                sent += 1
    return sent
