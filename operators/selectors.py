"""The operators' dashboard figures (issue 17 §4, docs/operators-console.md): counts only, read on
every visit (nothing cached), in a fixed handful of queries whatever the number of enterprises.

- enterprises by lifecycle state (TEN-4) — the public tenant is not an enterprise;
- members: accounts linked to an enterprise that is not terminated (tenants.MembershipIndex, the
  public mirror of the memberships, kept in the same transaction as each membership);
- data-subject requests by status (DSR-3) and overdue (DSR-4): the platform's own (about account
  data, public schema) plus every live enterprise's, in one UNION ALL over their schemas;
- purge receipts of the last 7 days (RET-5): how many, rows removed, per day;
- open security incidents (SEC-4): drafts not yet published, and published ones whose report to
  the regulator is still pending;
- failed notification deliveries (SMS / e-mail that gave up), in all and in the last 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from consent.models import NotificationDelivery
from incidents.models import SecurityIncident
from requests.models import Request
from tenants.models import Enterprise, MembershipIndex, PurgeReceipt

# Enterprises whose schema exists (a terminated enterprise's schema is dropped, TEN-4).
LIVE_STATES = (Enterprise.State.ACTIVE, Enterprise.State.SUSPENDED, Enterprise.State.TERMINATING)


@dataclass(frozen=True)
class RequestFigures:
    by_status: dict[str, int]  # every Request.Status value, 0 where none
    overdue: int  # open, clock running, past the due date
    overdue_platform: int  # of which the platform's own (account data)
    unavailable: bool = False  # an enterprise schema could not be read: enterprise counts left out

    @property
    def open(self) -> int:
        return sum(self.by_status[status] for status in Request.OPEN_STATUSES)


@dataclass(frozen=True)
class PlatformDashboard:
    enterprises_by_state: dict[str, int]  # every Enterprise.State value
    members: int
    requests: RequestFigures
    purge_receipts_7d: int
    purged_rows_7d: int
    purges_by_day: list[tuple[date, int]]  # the last 7 days, oldest first: receipts per day
    incidents_draft: int
    incidents_report_pending: int
    deliveries_failed: int
    deliveries_failed_7d: int
    generated_at: datetime | None = field(default=None)

    @property
    def enterprises(self) -> int:
        return sum(self.enterprises_by_state.values())

    @property
    def incidents_open(self) -> int:
        return self.incidents_draft + self.incidents_report_pending


def enterprise_state_counts() -> dict[str, int]:
    counts = dict(
        Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in Enterprise.State.values}


def member_total() -> int:
    """Members of enterprises that are not terminated (live, from the public membership index)."""
    return MembershipIndex.objects.exclude(enterprise__state=Enterprise.State.TERMINATED).count()


def request_figures(*, today: date | None = None) -> RequestFigures:
    """Requests by status and overdue, the platform's and every live enterprise's (counts only)."""
    today = today or timezone.localdate()
    running = list(Request.RUNNING_STATUSES)
    by_status = {status: 0 for status in Request.Status.values}
    platform = Request.objects.filter(membership__isnull=True)
    for status, n in platform.values_list("status").annotate(n=Count("pk")).values_list("status", "n"):
        by_status[status] = by_status.get(status, 0) + n
    overdue_platform = platform.filter(status__in=running, due_on__lt=today).count()
    overdue = overdue_platform
    unavailable = False
    schemas = list(
        Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(state__in=LIVE_STATES)
        .order_by("pk")
        .values_list("schema_name", flat=True)
    )
    if schemas:
        parts: list[str] = []
        params: list[str | date] = []
        for schema in schemas:
            # the schema name is an identifier from the Enterprise table, quoted; values are parameters
            table = f"{connection.ops.quote_name(schema)}.requests_request"
            parts.append(
                f"SELECT status, count(*), count(*) FILTER (WHERE status IN (%s, %s) AND due_on < %s) "  # noqa: S608
                f"FROM {table} GROUP BY status"
            )
            params += [*running, today]
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(" UNION ALL ".join(parts), params)
                rows = cursor.fetchall()
        except DatabaseError:  # a schema mid-migration: show the platform's own figures only
            unavailable = True
        else:
            for status, n, late in rows:
                by_status[status] = by_status.get(status, 0) + n
                overdue += late
    return RequestFigures(
        by_status=by_status, overdue=overdue, overdue_platform=overdue_platform, unavailable=unavailable
    )


def platform_dashboard(*, now: datetime | None = None) -> PlatformDashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    week_start = today - timedelta(days=6)
    since = timezone.make_aware(datetime.combine(week_start, time.min))  # today and the 6 days before
    purges = PurgeReceipt.objects.filter(finished_at__gte=since)
    purge_totals = purges.aggregate(receipts=Count("pk"), rows=Sum("rows"))
    per_day: dict[date, int] = {}
    for finished_at in purges.values_list("finished_at", flat=True):
        day = timezone.localdate(finished_at)
        per_day[day] = per_day.get(day, 0) + 1
    incidents = SecurityIncident.objects.aggregate(
        draft=Count("pk", filter=Q(status=SecurityIncident.Status.DRAFT)),
        pending=Count(
            "pk",
            filter=Q(status=SecurityIncident.Status.PUBLISHED, regulator_status=SecurityIncident.Regulator.PENDING),
        ),
    )
    failed = NotificationDelivery.objects.filter(status=NotificationDelivery.Status.FAILED).aggregate(
        total=Count("pk"), week=Count("pk", filter=Q(created_at__gte=since))
    )
    return PlatformDashboard(
        enterprises_by_state=enterprise_state_counts(),
        members=member_total(),
        requests=request_figures(today=today),
        purge_receipts_7d=purge_totals["receipts"] or 0,
        purged_rows_7d=purge_totals["rows"] or 0,
        purges_by_day=[
            (week_start + timedelta(days=i), per_day.get(week_start + timedelta(days=i), 0)) for i in range(7)
        ],
        incidents_draft=incidents["draft"],
        incidents_report_pending=incidents["pending"],
        deliveries_failed=failed["total"],
        deliveries_failed_7d=failed["week"],
        generated_at=now,
    )
