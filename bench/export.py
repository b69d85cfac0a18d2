"""PERF-5: building one member's full data export (DSR-2) in the worker.

SPEC/issue 6: *building the full export for a member with two years of daily attendance and
health reports: under 2 s in the worker.*

The data: one enterprise made by the real service (`enterprise_create`), one member (an account
made a member by `membership_create`, the separate consents given by the demo's
`consent_everything`) with, for each of the last `--perf5-days` days (default 730, every day of
the week): a clock-in and a clock-out (ClockEvent), the day's AttendanceDay (first in, last out,
a "late" exception on some days) and a HealthReport whose details are encrypted with the member's
data key. The raw coordinates (ClockEventLocation, encrypted) exist for the events of the last
90 days only: the longest any enterprise may keep them (RET-1 bounds), so no real member has
more. Health reports are kept for at most 180 days, so two years of them is more than a real
member can have. Ciphertexts are made by `encrypt_for_member`; the rows are bulk-inserted
(then `VACUUM ANALYZE`, the steady state autovacuum keeps).

The export: `Export` rows are written as `export_start` writes them (queued, a token hash, the
member's language zh-hans), without its DSR-7 limit (3 per 30 days) and without sending the task.
A child process — a fresh interpreter that does `django.setup()`, like a worker — runs the real
Celery task `requests.tasks.export_build` for each of them with `task.apply()` and the
`_schema_name` header (tenant-schemas-celery switches the schema; the task calls
`requests.export.services.export_build`: collect every section, `data.json`, `index.html`, the
zip in the tenant's storage, the Export row's progress and state). Each task is timed inside the
child. The first export of a fresh worker process also pays one-off costs (imports, templates,
translation catalogues); the figure is the median of the exports after it, and the first is
printed too. Queries of one export are counted (Django's query log, DEBUG off). The zips are
deleted afterwards.

Prints, e.g.:

    PERF-5 export_s=0.42
    PERF-5 export_first_s=0.61
    PERF-5 export_queries=35

Django models are imported inside the functions: bench/run.py imports this module before
django.setup()."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from bench.common import positive_int, say, worker_report

TITLE = "one member's full export (two years of daily attendance and health reports) in the worker"

DEFAULT_DAYS = 730
DEFAULT_RUNS = 5
SMALL = {"perf5_days": 30, "perf5_runs": 2}  # `--small` (bench/run.py): CI's quick run
LOCATION_DAYS = 90  # RET-1: raw coordinates are kept at most 90 days
TARGET_S = 2.0
OWNER_MOBILE = "+8613700000000"
MEMBER_MOBILE = "+8613700000001"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--perf5-days",
        type=positive_int,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"PERF-5: days of attendance and health reports (default {DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--perf5-runs",
        type=positive_int,
        default=DEFAULT_RUNS,
        metavar="N",
        help=f"PERF-5: exports built in the worker, the first one included (default {DEFAULT_RUNS})",
    )


# --- the data ---------------------------------------------------------------------------------


def member_create() -> tuple[Any, Any]:
    """(enterprise, membership): the owner's enterprise and the member the export is for."""
    from accounts.models import User
    from consent.notices.services import notice_publish_default
    from core.models import Membership
    from core.services import enterprise_create, membership_create
    from demo.seed import consent_everything

    owner = User.objects.create_user(mobile=OWNER_MOBILE, password=None, nickname="Bench export owner")
    account = User.objects.create_user(mobile=MEMBER_MOBILE, password=None, nickname="Bench export member")
    enterprise = enterprise_create(name="Export bench", slug="perf5", owner=owner)
    notice_publish_default(enterprise=enterprise, actor=None, contact="privacy@perf5.example.com")
    enterprise.refresh_from_db()
    member = membership_create(
        enterprise=enterprise, account=account, role=Membership.Role.MEMBER, display_name="王小明"
    )
    consent_everything(enterprise, member)
    return enterprise, member


def history_load(enterprise: Any, member: Any, days: int) -> dict[str, int]:
    """`days` days of attendance and health reports for `member`, ending yesterday."""
    import random
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.db import connection
    from django.utils import timezone

    from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation
    from attendance.services import COORDINATES_FIELD
    from core.encryption import encrypt_for_member
    from health.models import HealthReport
    from health.services import DETAILS_FIELD
    from tenants.context import enterprise_schema

    rng = random.Random(5)
    tz = timezone.get_default_timezone()
    today = timezone.localdate()
    counts = {"events": 0, "locations": 0, "days": 0, "health_reports": 0}
    with enterprise_schema(enterprise):
        events: list[ClockEvent] = []
        attendance: list[AttendanceDay] = []
        reports: list[HealthReport] = []
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            arrive = datetime.combine(day, clock(8, 30), tz) + timedelta(minutes=rng.randint(0, 50))
            leave = datetime.combine(day, clock(18, 0), tz) + timedelta(minutes=rng.randint(0, 90))
            for kind, moment in (("in", arrive), ("out", leave)):
                events.append(
                    ClockEvent(
                        membership=member,
                        kind=kind,
                        source="app",
                        occurred_at=moment,
                        within_geofence=rng.random() > 0.05,
                        location_cell="wtw3sjq",
                        accuracy_m=rng.randint(5, 40),
                    )
                )
            late = arrive.time() > clock(9, 5)
            attendance.append(
                AttendanceDay(
                    membership=member, date=day, first_in=arrive, last_out=leave, exceptions=["late"] if late else []
                )
            )
            details = {
                "symptoms": "咳嗽" if rng.random() < 0.05 else "",
                "close_contacts": "",
                "special_circumstances": "",
            }
            reports.append(
                HealthReport(
                    membership=member,
                    date=day,
                    city="上海",
                    unwell=bool(details["symptoms"]),
                    details_encrypted=encrypt_for_member(
                        enterprise=enterprise,
                        membership_id=member.pk,
                        field=DETAILS_FIELD,
                        value=json.dumps(details, ensure_ascii=False),
                    ),
                )
            )
        ClockEvent.objects.bulk_create(events, batch_size=2000)
        AttendanceDay.objects.bulk_create(attendance, batch_size=2000)
        HealthReport.objects.bulk_create(reports, batch_size=2000)
        since = timezone.now() - timedelta(days=LOCATION_DAYS)
        located = [event for event in events if event.occurred_at >= since]
        ClockEventLocation.objects.bulk_create(
            [
                ClockEventLocation(
                    event=event,
                    coordinates_encrypted=encrypt_for_member(
                        enterprise=enterprise,
                        membership_id=member.pk,
                        field=COORDINATES_FIELD,
                        value=json.dumps(
                            {
                                "latitude": 31.2304 + rng.uniform(-0.001, 0.001),
                                "longitude": 121.4737 + rng.uniform(-0.001, 0.001),
                                "accuracy_m": event.accuracy_m,
                            },
                            separators=(",", ":"),
                        ),
                    ),
                )
                for event in located
            ],
            batch_size=2000,
        )
        counts.update(events=len(events), locations=len(located), days=len(attendance), health_reports=len(reports))
        with connection.cursor() as cursor:
            for model in (ClockEvent, ClockEventLocation, AttendanceDay, HealthReport):
                cursor.execute(f'VACUUM ANALYZE "{enterprise.schema_name}"."{model._meta.db_table}"')
    return counts


def exports_queue(enterprise: Any, member: Any, runs: int) -> list[int]:
    """`runs` queued Export rows, as export_start writes them (no DSR-7 limit, no task sent)."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from requests.export.services import LINK_HOURS, token_hash
    from requests.models import Export
    from tenants.context import enterprise_schema

    ids = []
    with enterprise_schema(enterprise):
        for _run in range(runs):
            now = timezone.now()
            ids.append(
                Export.objects.create(
                    membership=member,
                    language="zh-hans",
                    token_hash=token_hash(secrets.token_urlsafe(32)),
                    created_at=now,
                    expires_at=now + timedelta(hours=LINK_HOURS),
                ).pk
            )
    return ids


def exports_remove(enterprise: Any, ids: list[int]) -> dict[str, int]:
    """Delete the zips; (data.json bytes, zip bytes) of the last one."""
    import io
    import zipfile

    from django.core.files.storage import default_storage

    from requests.models import Export
    from tenants.context import enterprise_schema

    sizes = {"json": 0, "zip": 0}
    with enterprise_schema(enterprise):
        for export in Export.objects.filter(pk__in=ids).order_by("pk"):
            if not export.file_path:
                continue
            with default_storage.open(export.file_path, "rb") as handle:
                content = handle.read()
            sizes["zip"] = len(content)
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                sizes["json"] = archive.getinfo("data.json").file_size
            default_storage.delete(export.file_path)
        Export.objects.filter(pk__in=ids).delete()
    return sizes


# --- the worker -------------------------------------------------------------------------------

WORKER = "from bench.export import worker_main; worker_main()"


def worker_main() -> None:
    """The child process: set Django up, run the export task for each id as a worker would,
    print one JSON line (seconds per export, queries of the last one, sections' row counts)."""
    ids, schema, expected_database = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    import django
    from django.conf import settings

    django.setup()
    actual = settings.DATABASES["default"]["NAME"]
    if actual != expected_database:  # never write into the real database
        raise RuntimeError(f"worker: database {actual!r}, expected {expected_database!r}")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from requests.tasks import export_build

    connection.ensure_connection()
    seconds: list[float] = []
    queries = 0
    for position, export_id in enumerate(ids):
        last = position == len(ids) - 1
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = export_build.apply(
                kwargs={"export_id": export_id}, headers={"_schema_name": schema}, throw=True
            ).get()
            seconds.append(time.perf_counter() - started)
        if result.get("state") != "done" or result.get("schema") != schema:
            raise RuntimeError(f"worker: unexpected result {result!r}")
        if last:
            queries = len(captured.captured_queries)
    print(json.dumps({"seconds": seconds, "queries": queries}), flush=True)


def exports_in_worker(ids: list[int], schema: str) -> dict[str, Any]:
    return worker_report("PERF-5", WORKER, json.dumps(ids), schema)


# --- the benchmark ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    enterprise, member = member_create()
    counts = history_load(enterprise, member, args.perf5_days)
    say(
        f"  one member with {counts['events']} clock events ({counts['locations']} with raw coordinates), "
        f"{counts['days']} attendance days and {counts['health_reports']} health reports "
        f"({time.perf_counter() - started:.1f} s)"
    )

    ids = exports_queue(enterprise, member, args.perf5_runs)
    report = exports_in_worker(ids, enterprise.schema_name)
    sizes = exports_remove(enterprise, ids)
    seconds = report["seconds"]
    first, rest = seconds[0], seconds[1:] or seconds
    median = statistics.median(rest)

    say(f"  exports in the worker: {', '.join(f'{s:.2f}' for s in seconds)} s (the first in a fresh process)")
    say(f"PERF-5 export_s={median:.2f}")
    say(f"PERF-5 export_first_s={first:.2f}")
    say(f"PERF-5 export_queries={report['queries']}")
    say(f"PERF-5 data_json_kb={sizes['json'] / 1024:.0f}")
    say(f"PERF-5 zip_kb={sizes['zip'] / 1024:.0f}")
    say(
        f"  export_s: median of the {len(rest)} export(s) after the first; min {min(rest):.2f} s, max {max(rest):.2f} s"
    )
    say(
        f"  target export < {TARGET_S:g} s in the worker: {'met' if median < TARGET_S else 'MISSED'} "
        f"(first export of a fresh worker: {'met' if first < TARGET_S else 'MISSED'})"
    )
