"""PERF-1: provisioning an enterprise by cloning the template schema vs. migrating a new schema.

SPEC §10: the median `enterprise_create` must take at most 1 s on 2 cores and be at least 5×
faster than creating the schema and running every tenant migration in it.

One owner account, one untimed warm-up of each path, then N enterprises by clone and N by
migrate, interleaved (clone, migrate, clone, migrate, ...) so that machine noise hits both paths
alike. Each `enterprise_create` call (validation, schema, Enterprise/Domain rows, the owner's
membership) is timed with time.perf_counter(). Prints (one figure per line):

    PERF-1 clone_median_s=0.214
    PERF-1 migrate_median_s=1.532
    PERF-1 clone_vs_migrate=7.2x
    PERF-1 tenant_migrations=3

Django models are imported inside the functions: bench/run.py imports this module before
django.setup().
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import positive_int, say

ID = "PERF-1"
TITLE = "enterprise provisioning: clone the template schema vs. migrate a new schema"

DEFAULT_N = 10
SMALL = {"n": 1}  # `--small` (bench/run.py): CI's quick run
TARGET_CLONE_MEDIAN_S = 1.0
TARGET_RATIO = 5.0
OWNER_MOBILE = "+8613800138000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--n",
        type=positive_int,
        default=DEFAULT_N,
        metavar="N",
        help=f"PERF-1: enterprises provisioned per path, after one warm-up each (default {DEFAULT_N})",
    )


def tenant_migration_counts() -> tuple[int, int]:
    """(migrations of the apps in settings.TENANT_APPS: the ones whose operations the migrate path
    runs in each new schema; migrations of the other apps, which django-tenants' migrate_schemas
    only records as applied in that schema, their operations being routed away)."""
    from django.apps import apps
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    tenant_labels = {config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS}
    nodes = MigrationLoader(None, ignore_no_migrations=True).graph.nodes
    tenant = sum(1 for app_label, _name in nodes if app_label in tenant_labels)
    return tenant, len(nodes) - tenant


def provision(*, slug: str, owner, clone: bool) -> float:
    """Seconds one `enterprise_create` call takes on the chosen path."""
    from django.db import connection
    from django.test import override_settings

    from core.services import enterprise_create

    # django-tenants' TenantMixin.create_schema reads the setting at call time: True clones
    # settings.TENANT_BASE_SCHEMA (then fakes the migrations), False runs CREATE SCHEMA and
    # every migration.
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=clone):
        started = time.perf_counter()
        enterprise = enterprise_create(name=f"Bench {slug}", slug=slug, owner=owner)
        elapsed = time.perf_counter() - started
    if connection.schema_name != "public" or enterprise.schema_name != slug.replace("-", "_"):
        raise RuntimeError(f"unexpected state after provisioning {slug!r}")
    return elapsed


def schema_tables(schema: str) -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def describe(values: list[float]) -> str:
    return f"min {min(values):.3f} s, max {max(values):.3f} s, n={len(values)}"


def run(args: argparse.Namespace) -> None:
    from django.conf import settings

    from accounts.models import User

    n = args.n
    owner = User.objects.create_user(mobile=OWNER_MOBILE, password=None, nickname="Bench owner")
    paths: list[tuple[str, bool]] = [("clone", True), ("migrate", False)]

    say("  warm-up (untimed): one enterprise per path")
    for label, clone in paths:
        provision(slug=f"bench-{label}-warmup", owner=owner, clone=clone)
    # Both paths must produce the same tables, or the comparison is meaningless.
    template = schema_tables(settings.TENANT_BASE_SCHEMA)
    for label, _clone in paths:
        tables = schema_tables(f"bench_{label}_warmup")
        if tables != template:
            raise RuntimeError(
                f"the {label} path produced tables {sorted(tables)}, the template has {sorted(template)}"
            )

    samples: dict[str, list[float]] = {label: [] for label, _clone in paths}
    say(f"  timing {n} enterprises per path, interleaved")
    for index in range(1, n + 1):
        for label, clone in paths:
            samples[label].append(provision(slug=f"bench-{label}-{index}", owner=owner, clone=clone))

    clone_median = statistics.median(samples["clone"])
    migrate_median = statistics.median(samples["migrate"])
    ratio = migrate_median / clone_median
    tenant_migrations, other_migrations = tenant_migration_counts()

    say(f"  clone:   {describe(samples['clone'])}")
    say(f"  migrate: {describe(samples['migrate'])}")
    say(
        f"  the migrate path applies {tenant_migrations} tenant-app migrations per schema and records "
        f"{other_migrations} shared-app migrations as applied without running their operations"
    )
    say(f"PERF-1 clone_median_s={clone_median:.3f}")
    say(f"PERF-1 migrate_median_s={migrate_median:.3f}")
    say(f"PERF-1 clone_vs_migrate={ratio:.1f}x")
    say(f"PERF-1 tenant_migrations={tenant_migrations}")
    met = clone_median <= TARGET_CLONE_MEDIAN_S
    say(f"  target clone median <= {TARGET_CLONE_MEDIAN_S:g} s: {'met' if met else 'MISSED'}")
    met = ratio >= TARGET_RATIO
    say(f"  target clone >= {TARGET_RATIO:g}x faster than migrate: {'met' if met else 'MISSED'}")
