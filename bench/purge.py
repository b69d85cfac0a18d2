"""PERF-2: the retention purge vs. one hand-written DELETE and vs. Django's QuerySet.delete().

SPEC §10: *1,000,000 expired rows over 50 enterprises at ≥ 0.5× the throughput of one
hand-written DELETE over the same rows; worker peak memory independent of row count* (and
issue 5: ≥ 10× the throughput of `QuerySet.delete()`).

The rows are attendance: ClockEvent (the biggest table of the attendance retention category),
each with its ClockEventLocation (raw coordinates), all older than both categories' default
periods, spread evenly over the enterprises and their 100 members each. Enterprises are made by
the real service (core.services.enterprise_create, a clone of the template schema); the rows
are bulk-loaded per schema with one `INSERT … SELECT generate_series` (then `VACUUM ANALYZE`,
the steady state autovacuum keeps). The same rows are loaded again before every timed run, and
every run must leave both tables empty, or the benchmark stops with an error.

- **purge**: a child process (the worker: its own interpreter, `django.setup()`) runs the real
  task `retention.tasks.retention_purge` once per enterprise, as Celery would
  (`apply()` with the `_schema_name` header, so tenant-schemas-celery switches the schema; the
  task calls retention.services.purge.purge_run: lock, plan, batches, receipts in the
  ledger and the public schema). Before the timed loop it purges one extra enterprise that has
  nothing due, untimed: the process's first-use costs (imports, Celery's and Django's first
  calls), which a running worker has long paid, are not a purge's. It is timed inside the child
  around the loop and reports its own peak RSS (`getrusage(RUSAGE_SELF).ru_maxrss`). It runs at
  N/10 and at N rows, which gives the two memory figures.
- **raw DELETE**: per enterprise one statement, in autocommit, deleting the due events and
  their coordinates (`WITH loc AS (DELETE … WHERE event_id IN (due)) DELETE FROM event WHERE
  occurred_at < cut-off`), on a new connection (like the worker's, a backend that has not
  touched these schemas' tables yet).
- **ORM**: per enterprise `ClockEvent.objects.filter(occurred_at__lt=cutoff).delete()` (the
  collector loads the events and cascades to the coordinates and photos: the models'
  `on_delete=CASCADE`), on a new connection too. Slow, so by default it runs on a sample
  (`--perf2-orm-rows`, 20,000: the first enterprises' full share) and the figure compares rows
  per second. The purge is also run on that same sample and the like-for-like ratio printed.

All three delete from the same tables, with the same triggers: a clock event's details are tied
to it by set-based triggers, not foreign keys (enterprise_data migration 0008, docs/retention.md).

Throughput is ClockEvent rows per second (each also takes its ClockEventLocation row with it
in every method). Prints one figure per line, e.g.:

    PERF-2 rows=1000000
    PERF-2 purge_rows_per_s=...
    PERF-2 purge_vs_raw_delete=0.8x
    PERF-2 purge_vs_orm_delete=25x
    PERF-2 worker_peak_mb_100k=85
    PERF-2 worker_peak_mb_1m=86

Django models are imported inside the functions: bench/run.py imports this module before
django.setup()."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import statistics
import sys
import time
from typing import Any

from bench.common import positive_int, say, worker_report

TITLE = "retention purge (1,000,000 expired attendance rows over 50 enterprises) vs DELETE and QuerySet.delete()"

DEFAULT_ROWS = 1_000_000
DEFAULT_ENTERPRISES = 50
DEFAULT_ORM_ROWS = 20_000
DEFAULT_REPEAT = 1
# `--small` (bench/run.py): CI's quick run, 1,000 rows in each of two enterprises
SMALL = {"perf2_rows": 2000, "perf2_enterprises": 2, "perf2_orm_rows": 1000, "perf2_repeat": 1}
MEMBERS_PER_ENTERPRISE = 100
# Rows are spread back in time from this age, one every 37 minutes per enterprise: all older
# than the attendance maximum (5 years) would also do; the default period is 2 years.
AGE_DAYS = 3 * 365 + 1
TARGET_VS_RAW = 0.5
TARGET_VS_ORM = 10.0
TARGET_MEMORY_GROWTH = 1.10  # "flat": the peak at N within 10 % of the peak at N/10
OWNER_MOBILE = "+8613900000000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--perf2-rows",
        type=positive_int,
        default=DEFAULT_ROWS,
        metavar="N",
        help=f"PERF-2: expired ClockEvent rows in all (default {DEFAULT_ROWS}; memory is also measured at N/10)",
    )
    parser.add_argument(
        "--perf2-enterprises",
        type=positive_int,
        default=DEFAULT_ENTERPRISES,
        metavar="N",
        help=f"PERF-2: enterprises the rows are spread over (default {DEFAULT_ENTERPRISES})",
    )
    parser.add_argument(
        "--perf2-orm-rows",
        type=positive_int,
        default=DEFAULT_ORM_ROWS,
        metavar="N",
        help=f"PERF-2: rows of the QuerySet.delete() sample, rounded up to whole enterprises "
        f"(default {DEFAULT_ORM_ROWS})",
    )
    parser.add_argument(
        "--perf2-profile",
        action="store_true",
        help="PERF-2: the worker also reports where the purge's time goes (per statement kind, per enterprise)",
    )
    parser.add_argument(
        "--perf2-repeat",
        type=positive_int,
        default=DEFAULT_REPEAT,
        metavar="N",
        help=f"PERF-2: timed runs of each method, interleaved; medians (default {DEFAULT_REPEAT})",
    )


def size_label(rows: int) -> str:
    """1000000 -> "1m", 100000 -> "100k", 2500 -> "2500"."""
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1000 == 0:
        return f"{rows // 1000}k"
    return str(rows)


def _tables() -> dict[str, str]:
    from attendance.models import ClockEvent, ClockEventLocation, ClockEventPhoto
    from core.models import Membership

    return {
        "event": ClockEvent._meta.db_table,
        "loc": ClockEventLocation._meta.db_table,
        "photo": ClockEventPhoto._meta.db_table,
        "member": Membership._meta.db_table,
    }


def _sql(template: str, schema: str) -> str:
    from django.db import connection

    quote = connection.ops.quote_name
    return template.format(**{key: f"{quote(schema)}.{quote(table)}" for key, table in _tables().items()})


# --- the data ---------------------------------------------------------------------------------


def enterprises_create(count: int) -> tuple[list[Any], Any]:
    """`count` enterprises by the real service, each with MEMBERS_PER_ENTERPRISE members, and one
    more that never gets expired rows: the worker's warm-up."""
    from accounts.models import User
    from core.models import Membership
    from core.services import enterprise_create
    from tenants.context import enterprise_schema

    owner = User.objects.create_user(mobile=OWNER_MOBILE, password=None, nickname="Bench purge owner")
    enterprises = []
    for index in range(count + 1):
        slug = f"perf2-{index:03d}" if index < count else "perf2-warmup"
        enterprise = enterprise_create(name=f"Purge {index:03d}", slug=slug, owner=owner)
        with enterprise_schema(enterprise):
            extra = MEMBERS_PER_ENTERPRISE - Membership.objects.count()
            Membership.objects.bulk_create(
                [
                    Membership(
                        display_name=f"Member {index:03d}-{i:03d}", mobile=f"+86139{index:03d}{i:05d}", status="active"
                    )
                    for i in range(extra)
                ]
            )
        enterprises.append(enterprise)
    return enterprises[:count], enterprises[count]


# One statement per schema: the events, spread over its members, and one coordinates row each
# (AES-GCM-sized ciphertext), all received when they happened.
_LOAD = """
WITH members AS (SELECT array_agg(id ORDER BY id) AS ids FROM {member}),
events AS (
    INSERT INTO {event} (membership_id, kind, source, occurred_at, within_geofence, location_cell, created_at)
    SELECT m.ids[1 + g %% array_length(m.ids, 1)], CASE WHEN g %% 2 = 0 THEN 'in' ELSE 'out' END, 'app',
           t.at, g %% 10 <> 0, 'wx4g0b7', t.at
    FROM members m, generate_series(1, %(rows)s) g,
         LATERAL (SELECT now() - make_interval(days => %(age)s) - g * interval '37 minutes' AS at) t
    RETURNING id, occurred_at)
INSERT INTO {loc} (event_id, coordinates_encrypted, created_at)
SELECT id, decode(md5(id::text) || md5(occurred_at::text) || md5('c' || id::text), 'hex'), occurred_at FROM events
"""


def _maintain(schemas: list[str]) -> None:
    """VACUUM ANALYZE the loaded tables (what autovacuum keeps in production) and a checkpoint,
    so that no run pays for the previous one's dead rows or dirty pages."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        for schema in schemas:
            for table in ("{event}", "{loc}"):
                cursor.execute(_sql(f"VACUUM ANALYZE {table}", schema))
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as exc:  # not a superuser: the runs are a little noisier, nothing else
            say(f"  (no CHECKPOINT: {exc})")


def _counts(schemas: list[str]) -> tuple[int, int]:
    from django.db import connection

    events = locations = 0
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(_sql("SELECT (SELECT count(*) FROM {event}), (SELECT count(*) FROM {loc})", schema))
            e, loc = cursor.fetchone()
            events, locations = events + e, locations + loc
    return events, locations


def load(schemas: list[str], per_enterprise: int) -> int:
    """Load `per_enterprise` expired events (and their coordinates) into each of `schemas`,
    which must be empty. Returns the rows loaded."""
    from django.db import connection

    if _counts(schemas) != (0, 0):
        raise RuntimeError("PERF-2: the tables must be empty before loading")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(_sql(_LOAD, schema), {"rows": per_enterprise, "age": AGE_DAYS})
    _maintain(schemas)
    rows = per_enterprise * len(schemas)
    if _counts(schemas) != (rows, rows):
        raise RuntimeError("PERF-2: the load did not produce the expected rows")
    say(
        f"  loaded {rows} events and {rows} coordinates into {len(schemas)} schemas "
        f"({time.perf_counter() - started:.1f} s incl. VACUUM ANALYZE)"
    )
    return rows


def check_empty(schemas: list[str], method: str) -> None:
    left = _counts(schemas)
    if left != (0, 0):
        raise RuntimeError(f"PERF-2: {method} left {left[0]} events and {left[1]} coordinates behind")


# --- the three ways to delete -----------------------------------------------------------------

_RAW_DELETE = """
WITH coordinates AS (DELETE FROM {loc} WHERE event_id IN (SELECT id FROM {event} WHERE occurred_at < %(cutoff)s))
DELETE FROM {event} WHERE occurred_at < %(cutoff)s
"""


def _cutoff() -> Any:
    """The attendance cut-off a purge started now would use (default period)."""
    from datetime import timedelta

    from django.utils import timezone

    from retention.bounds import BOUNDS, RetentionCategory

    return timezone.now() - timedelta(days=BOUNDS[RetentionCategory.ATTENDANCE].default)


def raw_delete(schemas: list[str]) -> float:
    """Seconds for one hand-written DELETE per enterprise (autocommit: one transaction each)."""
    from django.db import connection

    cutoff = _cutoff()
    connection.close()  # a new backend, like the worker's: no table of these schemas in its caches yet
    connection.ensure_connection()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(_sql(_RAW_DELETE, schema), {"cutoff": cutoff})
    return time.perf_counter() - started


def orm_delete(enterprises: list[Any]) -> float:
    """Seconds for `QuerySet.delete()` over the due events, per enterprise."""
    from django.db import connection

    from attendance.models import ClockEvent
    from tenants.context import enterprise_schema

    cutoff = _cutoff()
    connection.close()  # a new backend, as for the other methods
    connection.ensure_connection()
    started = time.perf_counter()
    for enterprise in enterprises:
        with enterprise_schema(enterprise):
            ClockEvent.objects.filter(occurred_at__lt=cutoff).delete()
    return time.perf_counter() - started


WORKER = "from bench.purge import worker_main; worker_main()"


def worker_main() -> None:
    """The child process: set Django up, run the purge task per schema as a worker would, print
    one JSON line (seconds, rows, peak RSS)."""
    import resource

    schemas, warmup, expected_database = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    import django
    from django.conf import settings

    django.setup()
    actual = settings.DATABASES["default"]["NAME"]
    if actual != expected_database:  # never purge the real database
        raise RuntimeError(f"worker: database {actual!r}, expected {expected_database!r}")
    from django.db import connection

    from retention.tasks import retention_purge

    connection.ensure_connection()
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # untimed: a purge of an enterprise with nothing due pays the process's first-use costs
    # (imports, Celery's task set-up, Django's query compilation paths) a running worker has paid
    retention_purge.apply(headers={"_schema_name": warmup}, throw=True).get()
    rows = 0
    statements: dict[str, list[float]] = {}  # with PERF2_PROFILE: seconds per statement kind

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = _statement_kind(sql)
            statements.setdefault(kind, []).append(time.perf_counter() - begun)

    profile = bool(os.environ.get("PERF2_PROFILE"))
    per_enterprise = []
    started = time.perf_counter()
    with connection.execute_wrapper(timed) if profile else contextlib.nullcontext():
        for schema in schemas:
            begun = time.perf_counter()
            result = retention_purge.apply(headers={"_schema_name": schema}, throw=True).get()
            per_enterprise.append(time.perf_counter() - begun)
            if result.get("status") != "done" or result.get("schema") != schema:
                raise RuntimeError(f"worker: unexpected result {result!r}")
            rows += int(result["rows"].get("attendance", 0))
    elapsed = time.perf_counter() - started
    report: dict[str, Any] = {
        "seconds": elapsed,
        "rows": rows,
        "baseline_kb": baseline_kb,
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    if profile:
        report["per_enterprise_ms"] = [round(x * 1000, 1) for x in per_enterprise]
        report["statements"] = {kind: [len(times), round(sum(times) * 1000, 1)] for kind, times in statements.items()}
    print(json.dumps(report), flush=True)


def _statement_kind(sql: str) -> str:
    """A statement without its schema names and numbers: what the profile groups by."""
    text = re.sub(r'"[a-z0-9_]+"\.', "", " ".join(sql.split()))
    text = re.sub(r"\b\d+\b", "N", text)
    return text[:110]


def _say_profile(report: dict[str, Any], raw_seconds: float, count: int) -> None:
    """--perf2-profile: the purge per enterprise against the raw DELETE's, and its statements by
    kind (count, total ms), the costliest first; the rest of the time is Python and commits."""
    each = report["per_enterprise_ms"]
    statements = sorted(report["statements"].items(), key=lambda item: -item[1][1])
    in_statements = sum(total for _count, total in report["statements"].values())
    say(
        f"    per enterprise: purge median {statistics.median(each):.1f} ms "
        f"(min {min(each):.1f}, max {max(each):.1f}), "
        f"raw DELETE mean {raw_seconds / count * 1000:.1f} ms; statements {in_statements / count:.1f} ms of it"
    )
    for kind, (times, total) in statements[:14]:
        say(f"    {total / count:7.2f} ms/enterprise  {times / count:5.1f}x  {kind}")


def purge_in_worker(schemas: list[str], warmup: str) -> dict[str, Any]:
    """Run the purges in a fresh child process (after one untimed purge of `warmup`); its JSON
    report."""
    return worker_report("PERF-2", WORKER, json.dumps(schemas), warmup)


# --- the benchmark ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    total, count = args.perf2_rows, args.perf2_enterprises
    per_enterprise = max(1, total // count)
    total = per_enterprise * count
    small = max(1, per_enterprise // 10)
    orm_enterprises = min(count, math.ceil(args.perf2_orm_rows / per_enterprise))

    started = time.perf_counter()
    enterprises, warmup_enterprise = enterprises_create(count)
    schemas = [enterprise.schema_name for enterprise in enterprises]
    warmup = warmup_enterprise.schema_name
    say(
        f"  {count} enterprises (and a warm-up one) with {MEMBERS_PER_ENTERPRISE} members each created "
        f"({time.perf_counter() - started:.1f} s); {per_enterprise} expired events each"
    )

    if args.perf2_profile:
        os.environ["PERF2_PROFILE"] = "1"  # read by the worker
    # Memory at N/10 (and a first, untimed-for-the-ratio purge).
    load(schemas, small)
    report_small = purge_in_worker(schemas, warmup)
    check_empty(schemas, "the purge")
    say(
        f"  purge of {small * count} rows in the worker: {report_small['seconds']:.1f} s, "
        f"baseline {report_small['baseline_kb'] / 1024:.0f} MB, peak {report_small['peak_kb'] / 1024:.0f} MB"
    )

    purge_seconds: list[float] = []
    raw_seconds: list[float] = []
    peak_kb: list[int] = []
    baseline_kb: list[int] = []
    for attempt in range(1, args.perf2_repeat + 1):
        load(schemas, per_enterprise)
        seconds = raw_delete(schemas)
        check_empty(schemas, "the raw DELETE")
        raw_seconds.append(seconds)
        say(f"  [{attempt}] raw DELETE of {total} rows: {seconds:.1f} s ({total / seconds:,.0f} rows/s)")

        load(schemas, per_enterprise)
        report = purge_in_worker(schemas, warmup)
        check_empty(schemas, "the purge")
        if report["rows"] != total:
            raise RuntimeError(f"PERF-2: the purge reported {report['rows']} attendance rows, expected {total}")
        purge_seconds.append(report["seconds"])
        peak_kb.append(report["peak_kb"])
        baseline_kb.append(report["baseline_kb"])
        say(
            f"  [{attempt}] purge of {total} rows in the worker: {report['seconds']:.1f} s "
            f"({total / report['seconds']:,.0f} rows/s), baseline {report['baseline_kb'] / 1024:.0f} MB, "
            f"peak {report['peak_kb'] / 1024:.0f} MB"
        )
        if args.perf2_profile:
            _say_profile(report, seconds, count)

    # QuerySet.delete() on a sample: the first enterprises' whole share; the purge on the same.
    sample_schemas = schemas[:orm_enterprises]
    sample = per_enterprise * orm_enterprises
    orm_seconds: list[float] = []
    sample_purge_seconds: list[float] = []
    for attempt in range(1, args.perf2_repeat + 1):
        load(sample_schemas, per_enterprise)
        seconds = orm_delete(enterprises[:orm_enterprises])
        check_empty(sample_schemas, "QuerySet.delete()")
        orm_seconds.append(seconds)
        say(
            f"  [{attempt}] QuerySet.delete() of {sample} rows ({orm_enterprises} enterprise(s)): {seconds:.1f} s "
            f"({sample / seconds:,.0f} rows/s)"
        )
        load(sample_schemas, per_enterprise)
        sample_report = purge_in_worker(sample_schemas, warmup)
        check_empty(sample_schemas, "the purge")
        sample_purge_seconds.append(sample_report["seconds"])
        say(
            f"  [{attempt}] purge of the same {sample} rows in the worker: {sample_report['seconds']:.1f} s "
            f"({sample / sample_report['seconds']:,.0f} rows/s)"
        )

    purge_rate = total / statistics.median(purge_seconds)
    raw_rate = total / statistics.median(raw_seconds)
    orm_rate = sample / statistics.median(orm_seconds)
    vs_raw = purge_rate / raw_rate
    vs_orm = purge_rate / orm_rate
    vs_orm_same = (sample / statistics.median(sample_purge_seconds)) / orm_rate
    peak_small = report_small["peak_kb"] / 1024
    peak_large = max(peak_kb) / 1024

    say(f"PERF-2 rows={total}")
    say(f"PERF-2 enterprises={count}")
    say(f"PERF-2 purge_rows_per_s={purge_rate:.0f}")
    say(f"PERF-2 raw_delete_rows_per_s={raw_rate:.0f}")
    say(f"PERF-2 orm_delete_rows_per_s={orm_rate:.0f}")
    say(f"PERF-2 orm_sample_rows={sample}")
    say(f"PERF-2 purge_vs_raw_delete={vs_raw:.2f}x")
    say(f"PERF-2 purge_vs_orm_delete={vs_orm:.1f}x")
    say(f"PERF-2 purge_vs_orm_delete_same_sample={vs_orm_same:.1f}x")
    say(f"PERF-2 raw_delete_vs_orm_delete={raw_rate / orm_rate:.1f}x")
    say(f"PERF-2 worker_baseline_mb={statistics.median(baseline_kb) / 1024:.0f}")
    say(f"PERF-2 worker_peak_mb_{size_label(small * count)}={peak_small:.0f}")
    say(f"PERF-2 worker_peak_mb_{size_label(total)}={peak_large:.0f}")
    say(
        "  throughput: ClockEvent rows per second, each with its ClockEventLocation row; QuerySet.delete() "
        f"measured on a sample of {sample} rows and compared per second"
    )
    say(f"  target purge >= {TARGET_VS_RAW:g}x the raw DELETE: {'met' if vs_raw >= TARGET_VS_RAW else 'MISSED'}")
    say(f"  target purge >= {TARGET_VS_ORM:g}x QuerySet.delete(): {'met' if vs_orm >= TARGET_VS_ORM else 'MISSED'}")
    flat = peak_large <= peak_small * TARGET_MEMORY_GROWTH
    say(
        f"  target worker memory flat (peak at {size_label(total)} within "
        f"{(TARGET_MEMORY_GROWTH - 1) * 100:.0f} % of {size_label(small * count)}): {'met' if flat else 'MISSED'}"
    )
