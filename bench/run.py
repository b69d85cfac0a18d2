#!/usr/bin/env python3
"""Run the performance benchmarks (SPEC §10): `make bench [--only PERF-1] [--n 10] [--small]`.

Normally started by `scripts/launcher.py bench`, which provides DATABASE_URL, REDIS_URL,
SECRET_KEY and DJANGO_SETTINGS_MODULE. Directly:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal REDIS_URL=redis://127.0.0.1:6379/3 \
    SECRET_KEY=bench DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/run.py

The benchmarks never touch the database named in DATABASE_URL: this script creates a scratch
database `<name>_bench` on the same server (dropping a leftover one first), points Django at it
before `django.setup()`, migrates it (plus the public tenant and the template schema), runs
the benchmarks and drops it again, also on errors and on SIGINT / SIGTERM / SIGHUP.

Each benchmark is a module under bench/ with `TITLE`, `SMALL`, `add_arguments(parser)` and
`run(args)`; it prints its results with `bench.common.say` as `PERF-n key=value` lines (one
figure per line, nothing else on lines starting with `PERF-`). `SMALL` maps its options (argparse
`dest`) to the tiny sizes `--small` uses (CI's `make bench BENCH_ARGS=--small`: every benchmark
once, in a minute or two); options given explicitly still win.

Targets are reported, not asserted. A benchmark that raises, or that prints no `PERF-n` line of
its own id, is reported as failed and the next one still runs; the exit code is 0 when every
benchmark ran and printed its figures, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
import traceback
import types
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
# `python bench/run.py` puts bench/ first on sys.path; the benchmarks are imported as `bench.*`
# from the repository root instead (which also makes the project's apps importable).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Benchmark id -> module.
BENCHMARKS: dict[str, str] = {
    "PERF-1": "bench.provisioning",
    "PERF-2": "bench.purge",
    "PERF-3": "bench.member_list",
    "PERF-4": "bench.scale",
    "PERF-5": "bench.export",
    "PERF-6": "bench.member_import",
    "PERF-7": "bench.throughput",
}

SCRATCH_SUFFIX = "_bench"


def say(message: str = "") -> None:
    """Explanatory output: never on a line starting with `PERF-`."""
    print(message, flush=True)


def load_benchmarks() -> dict[str, types.ModuleType]:
    # The modules import Django models only inside their functions, so this is safe before
    # django.setup().
    return {bench_id: importlib.import_module(module) for bench_id, module in BENCHMARKS.items()}


def parse_args(argv: list[str], modules: dict[str, types.ModuleType]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make bench",
        description="Run the performance benchmarks in a scratch database. See docs/performance.md.",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PERF-n",
        help=f"run only this benchmark (repeatable; known: {', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--small",
        action="store_true",
        help="tiny sizes and one repetition for every benchmark (CI: checks that each runs to the end; "
        "the figures mean little); explicit options still win",
    )
    for module in modules.values():
        module.add_arguments(parser)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--small", action="store_true")
    if pre.parse_known_args(argv)[0].small:
        for module in modules.values():
            parser.set_defaults(**module.SMALL)
    args = parser.parse_args(argv)
    if args.only:
        wanted = [item.strip().upper() for value in args.only for item in value.split(",") if item.strip()]
        unknown = [item for item in wanted if item not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
        args.only = wanted
    else:
        args.only = list(BENCHMARKS)
    return args


# --- the scratch database ---------------------------------------------------------------------


def scratch_database_url(url: str) -> tuple[str, dict, str]:
    """(the URL with only its path replaced by `<name>_bench`, the original connection
    parameters, the scratch database's name). The host part is kept byte for byte, so a
    percent-encoded socket directory (`postgres://postgres@%2Fpath%2Fpg/portal`) stays valid."""
    from config.env import db_config  # no Django setup needed

    params = db_config(url)
    scratch = f"{params['NAME']}{SCRATCH_SUFFIX}"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(scratch, safe=""))), params, scratch


def maintenance_connection(params: dict):
    """An autocommit connection to the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg2

    conn = psycopg2.connect(
        dbname="postgres",
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
    )
    conn.autocommit = True
    return conn


def scratch_database_drop(params: dict, name: str) -> None:
    from psycopg2 import sql

    conn = maintenance_connection(params)
    try:
        with conn.cursor() as cursor:
            # WITH (FORCE): PostgreSQL ≥ 13 ends any session still connected to it.
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        conn.close()


def scratch_database_create(params: dict, name: str) -> None:
    from psycopg2 import sql

    scratch_database_drop(params, name)
    conn = maintenance_connection(params)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


# --- Django -----------------------------------------------------------------------------------


def django_setup(scratch: str) -> None:
    import django
    from django.conf import settings

    django.setup()
    actual = settings.DATABASES["default"]["NAME"]
    if actual != scratch:  # never benchmark in the real database
        raise RuntimeError(f"settings.DATABASES['default']['NAME'] is {actual!r}, expected {scratch!r}")


def database_prepare() -> None:
    """What `make run` does before serving, minus the demo data: shared apps into public (the
    django-tenants `migrate`), the public tenant and the template schema."""
    from django.core.management import call_command

    from tenants.services import public_tenant_ensure, template_schema_sync

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    public_tenant_ensure()
    template_schema_sync(verbosity=0)
    say(f"  scratch database migrated, template schema ready ({time.perf_counter() - started:.1f} s)")


def describe_environment(params: dict, scratch: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    where = params["HOST"] or "default socket"
    if params["PORT"]:
        where += f":{params['PORT']}"
    say(f"  PostgreSQL {version} at {where}, scratch database {scratch!r}, {os.cpu_count()} CPUs")


# --- main -------------------------------------------------------------------------------------


def run_one(bench_id: str, module: types.ModuleType, args: argparse.Namespace) -> bool:
    """Run one benchmark; False when it raised or printed no `PERF-n` line of its own id. Each
    starts in the public schema (requests through the test client leave the connection in the
    last enterprise's schema); after a failure the connection is also closed (a broken
    transaction), so that the next benchmark still runs."""
    from django.db import connection

    from bench.common import PRINTED

    say(f"bench: {bench_id} {module.TITLE}")
    started = time.perf_counter()
    connection.set_schema_to_public()
    try:
        module.run(args)
    except Exception:
        traceback.print_exc()
        say(f"bench: {bench_id} failed after {time.perf_counter() - started:.1f} s")
        connection.close()
        connection.set_schema_to_public()
        return False
    if bench_id not in PRINTED:
        say(f"bench: {bench_id} printed no {bench_id} line")
        return False
    say(f"bench: {bench_id} done in {time.perf_counter() - started:.1f} s")
    return True


class Stop(BaseException):
    """Raised by the signal handler so that `finally` blocks (dropping the database) run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: types.FrameType | None) -> None:
    # Ignore further signals while cleaning up; the first one already unwinds the stack.
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)
    raise Stop(signum)


def main(argv: list[str] | None = None) -> int:
    modules = load_benchmarks()
    args = parse_args(sys.argv[1:] if argv is None else argv, modules)
    url = os.environ.get("DATABASE_URL")
    if not url:
        say("bench: set DATABASE_URL (or run `make bench`, which starts an embedded PostgreSQL)")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)

    scratch_url, params, scratch = scratch_database_url(url)
    created = False
    try:
        say(f"bench: creating scratch database {scratch!r}")
        created = True  # from here on, drop it whatever happens (DROP ... IF EXISTS)
        scratch_database_create(params, scratch)
        os.environ["DATABASE_URL"] = scratch_url  # read by the settings at django.setup()
        django_setup(scratch)
        describe_environment(params, scratch)
        database_prepare()
        failed = [bench_id for bench_id in args.only if not run_one(bench_id, modules[bench_id], args)]
        if failed:
            say(f"bench: failed: {', '.join(failed)} (of {', '.join(args.only)})")
            return 1
        say(f"bench: every benchmark ran: {', '.join(args.only)}")
        return 0
    except Stop as stop:
        say(f"bench: interrupted by {signal.Signals(stop.signum).name}")
        return 128 + stop.signum
    except Exception:
        traceback.print_exc()
        say("bench: failed")
        return 1
    finally:
        if created:
            try:
                from django.conf import settings

                if settings.configured:  # else there is no Django connection to close
                    from django.db import connections

                    connections.close_all()
            except BaseException as exc:
                say(f"bench: could not close Django's connections: {exc!r}")
            try:
                scratch_database_drop(params, scratch)  # WITH (FORCE) ends anything left open
                say(f"bench: dropped scratch database {scratch!r}")
            except BaseException as exc:  # report, keep the original exit code
                say(f"bench: could not drop scratch database {scratch!r}: {exc!r}")


if __name__ == "__main__":
    sys.exit(main())
