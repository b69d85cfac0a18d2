"""PERF-4: the product with many enterprises on one cluster (issue 18 §1).

Enterprises are added in bulk (their schemas built from the template's definition, many per
statement, plus their Enterprise and Domain rows) to reach 10, 100 and N existing enterprises.
At each level `--scale-repeats` sign-ups are timed (`enterprise_create` without the warm pool:
validation, schema from the template's definition, rows, the owner's membership). Then at N:

    PERF-4 provisioning_median_s_at_10=…   (and _at_100, _at_N)
    PERF-4 provisioning_vs_10=…x            (the median at N over the median at 10; goal ≤ 1.2x)
    PERF-4 pool_claim_s=…                   (median of the claim of a warm pool schema: a rename)
    PERF-4 page_latency_vs_10=…x            (console home and the member API list of one
                                             enterprise, in-process through the middleware, at N
                                             vs at 10; the larger of the two ratios)
    PERF-4 fanout_enqueue_s=… / fanout_drain_s=…  (one beat tick of dispatch_per_enterprise over N
                                             enterprises, drained by a real Celery worker, --pool=solo)
    PERF-4 backend_memory_mb_max_recycled=… (the largest backend while one connection serves every
                                            schema, recycled past DATABASE_SCHEMAS_PER_CONNECTION)
    PERF-4 backend_memory_mb_after_N=…      (pg_backend_memory_contexts of one backend after it
                                             read three tables in each of N schemas)
    PERF-4 noop_migrate_s_per_1000=…        (from bench/migrate_scale.py when that module exists)

Django models are imported inside the functions: bench/run.py imports this module before
django.setup()."""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.common import ROOT, admin_client, median_ms, positive_int, say

ID = "PERF-4"
TITLE = "provisioning, pool claim, page latency, beat fan-out and backend memory at 10 / 100 / N enterprises"
DEFAULT_ENTERPRISES = 1000
DEFAULT_REPEATS = 5
SMALL = {"enterprises": 20, "scale_repeats": 1, "scale_requests": 3}  # `--small` (bench/run.py)
OWNER_MOBILE = "+8613500000000"  # no other benchmark's account has it
OWNER_PASSWORD = "bench-pass-123"
HOME_SLUG = "scale-home"
BATCH = 2  # schemas per statement (and transaction: ~250 locks each) when adding enterprises in bulk
TARGET_RATIO = 1.2
TARGET_PROVISIONING_S = 0.5
TARGET_CLAIM_S = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--enterprises",
        type=positive_int,
        default=DEFAULT_ENTERPRISES,
        metavar="N",
        help=f"PERF-4: the largest number of existing enterprises (default {DEFAULT_ENTERPRISES})",
    )
    parser.add_argument(
        "--scale-repeats",
        type=positive_int,
        default=DEFAULT_REPEATS,
        metavar="N",
        help=f"PERF-4: timed sign-ups (and pool claims) per level (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--scale-requests",
        type=positive_int,
        default=20,
        metavar="N",
        help="PERF-4: timed requests per page and level (default 20)",
    )


def enterprises_count() -> int:
    from tenants.models import Enterprise

    return Enterprise.objects.exclude(schema_name="public").count()


def enterprises_add_bulk(count: int) -> float:
    """Add `count` enterprises (schema, Enterprise and Domain rows) fast; returns seconds."""
    from django.conf import settings
    from django.db import transaction

    from tenants.models import Domain, Enterprise
    from tenants.provisioning import schemas_create_from_definition

    started = time.perf_counter()
    first = Enterprise.objects.filter(slug__startswith="bulk-").count()
    slugs = [f"bulk-{index:05d}" for index in range(first, first + count)]
    for offset in range(0, len(slugs), BATCH):
        batch = slugs[offset : offset + BATCH]
        with transaction.atomic():
            schemas_create_from_definition(
                template=settings.TENANT_BASE_SCHEMA, names=[slug.replace("-", "_") for slug in batch]
            )
            created = Enterprise.objects.bulk_create(
                [Enterprise(name=f"Bulk {slug}", slug=slug, schema_name=slug.replace("-", "_")) for slug in batch]
            )
            Domain.objects.bulk_create(
                [Domain(domain=f"{e.slug}.{settings.ENTERPRISE_DOMAIN_SUFFIX}", tenant=e) for e in created]
            )
    return time.perf_counter() - started


def sign_ups(owner: Any, label: str, repeats: int) -> list[float]:
    from django.test import override_settings

    from core.services import enterprise_create

    samples = []
    with override_settings(TENANT_POOL_SIZE=0):
        for index in range(repeats):
            started = time.perf_counter()
            enterprise_create(name=f"Timed {label} {index}", slug=f"timed-{label}-{index}", owner=owner)
            samples.append(time.perf_counter() - started)
    return samples


def pool_claims(owner: Any, repeats: int) -> tuple[list[float], list[float]]:
    """(seconds of each claim, a rename; seconds of each whole sign-up that claimed)."""
    from django.db import transaction
    from django.test import override_settings

    from core.services import enterprise_create
    from tenants.pool import pool_claim, pool_fill

    claims, creates = [], []
    with override_settings(TENANT_POOL_SIZE=repeats):
        pool_fill(size=repeats)
        for index in range(repeats):
            with transaction.atomic():
                started = time.perf_counter()
                claimed = pool_claim(new=f"claim_probe_{index}")
                claims.append(time.perf_counter() - started)
                transaction.set_rollback(True)  # the schema goes back to the pool
            if not claimed:
                raise RuntimeError("the warm pool had no schema to claim")
        for index in range(repeats):
            started = time.perf_counter()
            enterprise_create(name=f"Pooled {index}", slug=f"pooled-{index}", owner=owner)
            creates.append(time.perf_counter() - started)
    return claims, creates


def page_medians(client: Any, requests: int) -> dict[str, float]:
    """The pages' median latencies, on a fresh database connection at every level: the backend
    that has just created hundreds of schemas carries their catalogue entries in its caches, which
    no web process's connection does (they are recycled: DATABASE_SCHEMAS_PER_CONNECTION)."""
    from django.db import connection

    connection.close()
    return {url: median_ms(client, url, requests) for url in ("/console/", "/api/v1/members/")}


def backend_memory_mb(schemas: list[str]) -> tuple[float, float]:
    """(MB before, MB after) of a fresh backend's memory contexts around reading three tables in
    each schema (what a long-lived connection serving every enterprise accumulates)."""
    from django.db import connection

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        before = cursor.fetchone()[0] / 2**20
        for schema in schemas:
            for table in ("enterprise_data_membership", "enterprise_data_department", "enterprise_data_ledgerentry"):
                cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608 (catalogue names)
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        after = cursor.fetchone()[0] / 2**20
    connection.close()
    return before, after


def backend_memory_recycled_mb(schemas: list[str]) -> float:
    """The largest memory of any backend while one connection serves `schemas` one request each
    (the three tables read through the schema's search_path, then Django's end-of-request check,
    which closes a connection past DATABASE_SCHEMAS_PER_CONNECTION schemas)."""
    from django.db import connection

    connection.close()
    largest = 0.0
    for schema in schemas:
        connection.set_schema(schema)
        with connection.cursor() as cursor:
            for table in ("enterprise_data_membership", "enterprise_data_department", "enterprise_data_ledgerentry"):
                cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (catalogue names)
            cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
            largest = max(largest, cursor.fetchone()[0] / 2**20)
        connection.close_if_unusable_or_obsolete()
    connection.close()
    connection.set_schema_to_public()
    return largest


def fan_out(count_expected: int) -> tuple[float, float]:
    """(seconds to enqueue one tick of dispatch_per_enterprise, seconds until a real worker
    — started beforehand, --pool=solo, one process — has run every child task)."""
    from celery.result import AsyncResult
    from django.conf import settings

    from config.celery import app
    from tenants.tasks import dispatch_per_enterprise

    app.loader.import_default_modules()  # the task modules, as a worker loads them
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.test")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "warning",
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # the worker is up when it has run one tick over nothing (a state no enterprise is in)
        dispatch_per_enterprise.delay(task_name="tenants.tasks.enterprise_refresh_member_count", states=["none"]).get(
            timeout=180
        )
        started = time.perf_counter()
        ids = dispatch_per_enterprise.run(task_name="tenants.tasks.enterprise_refresh_member_count")
        enqueued = time.perf_counter() - started
        if len(ids) != count_expected:
            raise RuntimeError(f"the tick enqueued {len(ids)} tasks, expected {count_expected}")
        for task_id in ids:
            AsyncResult(task_id).get(timeout=600)
        drained = time.perf_counter() - started
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return enqueued, drained


def noop_migrate_hook(schemas: list[str]) -> None:
    """HOOK (lead): `PERF-4 noop_migrate_s_per_1000` comes from another engineer's
    bench/migrate_scale.py (`noop_migrate_seconds(schemas) -> float`, issue 18 §3); skipped, and
    said, while that module is not on main."""
    try:
        module = importlib.import_module("bench.migrate_scale")
    except ImportError:
        say("  noop_migrate_s_per_1000: bench/migrate_scale.py is not there yet (issue 18 §3)")
        return
    seconds = float(module.noop_migrate_seconds(schemas))
    say(f"PERF-4 noop_migrate_s_per_1000={seconds * 1000 / max(1, len(schemas)):.1f}")


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from accounts.models import User
    from core.services import enterprise_create
    from tenants.models import Enterprise
    from tenants.provisioning import template_definition

    n = args.enterprises
    levels = sorted({level for level in (10, 100, n) if level <= n} | {n})
    owner = User.objects.create_user(OWNER_MOBILE, OWNER_PASSWORD, nickname="Scale Owner")
    started = time.perf_counter()
    template_definition("enterprise_template", refresh=True)
    say(f"  template definition written in {time.perf_counter() - started:.2f} s (once per migration state)")
    enterprise_create(name="Scale Home", slug=HOME_SLUG, owner=owner)
    connection.set_schema_to_public()
    admin = admin_client(f"{HOME_SLUG}.localhost", OWNER_MOBILE, OWNER_PASSWORD)
    connection.set_schema_to_public()  # the test client leaves the connection in the enterprise's schema
    sign_ups(owner, "warmup", 1)

    medians: dict[int, float] = {}
    pages: dict[int, dict[str, float]] = {}
    for level in levels:
        missing = level - enterprises_count()
        if missing > 0:
            seconds = enterprises_add_bulk(missing)
            say(f"  added {missing} enterprises in bulk in {seconds:.1f} s ({seconds / missing:.3f} s each)")
        connection.close()  # a fresh backend, as a web process's (see page_medians)
        connection.set_schema_to_public()
        samples = sign_ups(owner, str(level), args.scale_repeats)
        medians[level] = statistics.median(samples)
        say(f"  at {enterprises_count()} enterprises: sign-up min {min(samples):.3f} s, max {max(samples):.3f} s")
        say(f"PERF-4 provisioning_median_s_at_{level}={medians[level]:.3f}")
        if level in (levels[0], levels[-1]):
            pages[level] = page_medians(admin, args.scale_requests)
            connection.set_schema_to_public()
            say(f"  at {level}: " + ", ".join(f"{url} {ms:.1f} ms" for url, ms in pages[level].items()))
    low, high = levels[0], levels[-1]
    ratio = medians[high] / medians[low]
    say(f"PERF-4 provisioning_vs_10={ratio:.2f}x")
    claims, creates = pool_claims(owner, args.scale_repeats)
    say(f"  sign-up with a warm pool schema: median {statistics.median(creates):.3f} s")
    say(f"PERF-4 pool_claim_s={statistics.median(claims):.4f}")
    page_ratios = {url: pages[high][url] / pages[low][url] for url in pages[low]}
    say("  page latency at N vs 10: " + ", ".join(f"{url} {r:.2f}x" for url, r in page_ratios.items()))
    say(f"PERF-4 page_latency_vs_10={max(page_ratios.values()):.2f}x")

    connection.set_schema_to_public()
    active = Enterprise.objects.exclude(schema_name="public").filter(state="active").count()
    enqueued, drained = fan_out(active)
    say(f"  one beat tick over {active} enterprises, drained by one real worker (--pool=solo)")
    say(f"PERF-4 fanout_enterprises={active}")
    say(f"PERF-4 fanout_enqueue_s={enqueued:.2f}")
    say(f"PERF-4 fanout_drain_s={drained:.2f}")

    schemas = list(Enterprise.objects.exclude(schema_name="public").values_list("schema_name", flat=True))
    before, after = backend_memory_mb(schemas)
    say(f"  backend memory {before:.1f} MB fresh, {after:.1f} MB after {len(schemas)} schemas")
    say(f"PERF-4 backend_memory_mb_after_N={after:.1f}")
    say(f"PERF-4 backend_memory_mb_per_schema={(after - before) / max(1, len(schemas)):.3f}")
    from django.conf import settings

    recycled = backend_memory_recycled_mb(schemas)
    say(
        f"  one connection serving the {len(schemas)} schemas a request each, recycled past "
        f"DATABASE_SCHEMAS_PER_CONNECTION={settings.DATABASE_SCHEMAS_PER_CONNECTION}: largest backend {recycled:.1f} MB"
    )
    say(f"PERF-4 backend_memory_mb_max_recycled={recycled:.1f}")

    noop_migrate_hook(schemas)
    met = ratio <= TARGET_RATIO and medians[high] <= TARGET_PROVISIONING_S
    say(
        f"  target provisioning <= {TARGET_RATIO}x of 10 and <= {TARGET_PROVISIONING_S} s: {'met' if met else 'MISSED'}"
    )
    met = statistics.median(claims) <= TARGET_CLAIM_S
    say(f"  target pool claim <= {TARGET_CLAIM_S} s: {'met' if met else 'MISSED'}")
