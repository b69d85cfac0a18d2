"""PERF-7: requests per second at concurrency 8 under gunicorn (issue 18 §8).

A member's `/me/` page and an administrator's API list (`/api/v1/members/`) against a minimal
view (one `SELECT 1`) served on the same enterprise host, through the same middleware stack, to
the same signed-in person: goal ≥ 0.5× the minimal view's throughput each.

- **the server**: gunicorn (`config.wsgi:application`, gthread workers: `--workers` × `--threads`
  slots, 4 × 2 by default, for 8 concurrent clients on 2 cores) on a free port of 127.0.0.1,
  with `bench.throughput_settings` (the test/bench settings plus `bench/minimal/` on enterprise
  hosts: bench code, nothing in the product). Started and stopped by this module (SIGTERM to
  the PID it started, SIGKILL after 10 s).
- **the people**: an enterprise made by the real service with 200 members; its owner (an
  administrator) signs in as a person does — password, then the second factor on the
  two-factor page (bench.common.admin_client) — and a member signs in with the password form on
  the enterprise host. Their session cookies are then sent to gunicorn.
- **the load**: `--perf7-concurrency` threads (8), each with its own keep-alive
  `http.client` connection to 127.0.0.1 with the enterprise's Host header (no PyPI `requests`
  in this environment: the project's `requests` app shadows it), each sending the next request
  as soon as the previous answer is read, for `--perf7-seconds` per URL. Rounds are
  interleaved (minimal, /me/, minimal, API, …) `--perf7-rounds` times and the median requests
  per second of each URL is taken, so that noise from other processes hits all of them alike.
  Any answer other than 200 stops the benchmark.

Also printed: the queries each URL costs (in this process, through Django's test client and
the same URL conf), which is what the per-request work is mostly made of.

    PERF-7 minimal_member_rps=...
    PERF-7 me_rps=...
    PERF-7 me_throughput_vs_minimal=0.6x
    PERF-7 api_throughput_vs_minimal=0.6x

Django models are imported inside the functions: bench/run.py imports this module before
django.setup()."""

from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from bench.common import ROOT, positive_int, say

TITLE = "throughput at concurrency 8 under gunicorn: /me/ and an API list vs a minimal view"
SMALL = {"perf7_seconds": 1.0, "perf7_rounds": 1, "perf7_members": 20, "perf7_cpu_requests": 20}
DEFAULT_SECONDS = 5.0
DEFAULT_ROUNDS = 3
DEFAULT_CONCURRENCY = 8
DEFAULT_WORKERS = 4
DEFAULT_THREADS = 2
DEFAULT_MEMBERS = 200
DEFAULT_CPU_REQUESTS = 200
TARGET = 0.5

OWNER_MOBILE = "+8613600000700"  # no other benchmark's account has these
OWNER_PASSWORD = "bench-pass-700"
MEMBER_MOBILE = "+8613600000701"
MEMBER_PASSWORD = "bench-pass-701"
SLUG = "perf-seven"
SETTINGS = "bench.throughput_settings"
MINIMAL = "/bench/minimal/"
ME = "/me/"
API = "/api/v1/members/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--perf7-seconds",
        type=float,
        default=DEFAULT_SECONDS,
        metavar="S",
        help=f"PERF-7: seconds of load per URL and round (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--perf7-rounds",
        type=positive_int,
        default=DEFAULT_ROUNDS,
        metavar="N",
        help=f"PERF-7: interleaved rounds; medians (default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--perf7-concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"PERF-7: concurrent clients (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--perf7-workers",
        type=positive_int,
        default=DEFAULT_WORKERS,
        metavar="N",
        help=f"PERF-7: gunicorn worker processes (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--perf7-threads",
        type=positive_int,
        default=DEFAULT_THREADS,
        metavar="N",
        help=f"PERF-7: threads per gunicorn worker (default {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--perf7-members",
        type=positive_int,
        default=DEFAULT_MEMBERS,
        metavar="N",
        help=f"PERF-7: members in the enterprise (the API list's first page; default {DEFAULT_MEMBERS})",
    )
    parser.add_argument(
        "--perf7-profile",
        action="store_true",
        help="PERF-7: also print each URL's queries (SQL) as run in this process, and a cProfile of each",
    )
    parser.add_argument(
        "--perf7-cpu-requests",
        type=positive_int,
        default=DEFAULT_CPU_REQUESTS,
        metavar="N",
        help=f"PERF-7: requests of each URL timed in this process (CPU per request; default {DEFAULT_CPU_REQUESTS})",
    )


# --- the data and the people ------------------------------------------------------------------


def _prepare(members: int) -> tuple[str, str, str]:
    """The enterprise, its members; (host, the member's session cookie, the admin's)."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from bench.common import _post, admin_client
    from core.models import Membership
    from core.services import enterprise_create, membership_create
    from tenants.context import enterprise_schema

    owner = User.objects.create_user(OWNER_MOBILE, OWNER_PASSWORD, nickname="Bench Seven Owner")
    enterprise = enterprise_create(name="Perf Seven", slug=SLUG, owner=owner)
    member = User.objects.create_user(MEMBER_MOBILE, MEMBER_PASSWORD, nickname="Bench Seven Member")
    membership_create(enterprise=enterprise, account=member, role=Membership.Role.MEMBER)
    with enterprise_schema(enterprise):
        extra = members - Membership.objects.count()
        Membership.objects.bulk_create(
            [
                Membership(display_name=f"Member {i:05d}", mobile=f"+86135{i:08d}", status="active")
                for i in range(max(0, extra))
            ]
        )
    host = f"{SLUG}.{settings.ENTERPRISE_DOMAIN_SUFFIX}"

    admin = admin_client(host, OWNER_MOBILE, OWNER_PASSWORD)
    person = Client(HTTP_HOST=host, enforce_csrf_checks=True)
    if person.get("/login/").status_code != 200:
        raise RuntimeError("PERF-7: GET /login/ failed for the member")
    answer = _post(person, "/login/", {"username": MEMBER_MOBILE, "password": MEMBER_PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"PERF-7: the member's sign-in answered {answer.status_code}")
    if person.get(ME).status_code != 200:
        raise RuntimeError("PERF-7: /me/ does not open for the signed-in member")
    cookie = settings.SESSION_COOKIE_NAME
    return host, person.cookies[cookie].value, admin.cookies[cookie].value


def _queries(host: str, session: str, url: str, show: bool) -> int:
    """Queries of one request through the test client with the bench URL conf."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=host)
    client.cookies[settings.SESSION_COOKIE_NAME] = session
    with override_settings(ROOT_URLCONF="bench.throughput_urls"):
        client.get(url)  # warm-up: caches filled as in a running server
        with CaptureQueriesContext(connection) as captured:
            status = client.get(url).status_code
    connection.set_schema_to_public()
    if status != 200:
        raise RuntimeError(f"PERF-7: {url} answered {status} in the test client")
    if show:
        say(f"  queries of {url}:")
        for query in captured.captured_queries:
            say(f"    {query['sql'][:300]}")
    return len(captured)


def _cpu_ms(host: str, session: str, url: str, requests: int, profile: bool) -> float:
    """CPU time of this process per request (`time.process_time`), the test client with the
    bench URL conf, after a warm-up: the Django side of a request, without the database's CPU
    or gunicorn's. With `profile`, the 25 functions with the most cumulative time."""
    import cProfile
    import pstats

    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    client = Client(HTTP_HOST=host)
    client.cookies[settings.SESSION_COOKIE_NAME] = session
    with override_settings(ROOT_URLCONF="bench.throughput_urls"):
        client.get(url)
        started = time.process_time()
        for _ in range(requests):
            client.get(url)
        spent = (time.process_time() - started) / requests * 1000
        if profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [client.get(url) for _ in range(requests)])
            say(f"  cProfile of {requests} requests of {url}:")
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(25)
            stats.print_stats(re.escape(str(ROOT)) + r"/(?!\.venv)", 40)  # the project's own functions
            for line in out.getvalue().splitlines():
                if line.strip():
                    say(f"    {line}")
    connection.set_schema_to_public()
    return spent


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(conn: http.client.HTTPConnection, host: str, session: str, url: str) -> int:
    from django.conf import settings

    conn.request("GET", url, headers={"Host": host, "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"})
    response = conn.getresponse()
    response.read()
    return response.status


def _start_server(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603


def _wait_ready(server: subprocess.Popen[bytes], port: int, host: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"PERF-7: gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", MINIMAL, headers={"Host": host})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("PERF-7: gunicorn did not answer within 90 s")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _cpu_split(server_pid: int) -> tuple[float, float, float]:
    """CPU seconds used so far by gunicorn (its master and workers), by the PostgreSQL backends of
    the scratch database (those serving gunicorn and this process) and by this process (the load's
    client threads). Read from /proc with psutil; where each request's CPU goes (PERF-7)."""
    import psutil
    from django.conf import settings

    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
            return float(times.user + times.system)
        except psutil.Error:  # gone meanwhile
            return 0.0

    server = psutil.Process(server_pid)
    web = used(server) + sum(used(child) for child in server.children(recursive=True))
    database_name = settings.DATABASES["default"]["NAME"]
    database = 0.0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and cmdline[0].startswith("postgres:") and f" {database_name} " in f"{cmdline[0]} ":
            database += used(process)
    return web, database, used(psutil.Process())


# --- the load ---------------------------------------------------------------------------------


def _load(port: int, host: str, session: str, url: str, concurrency: int, seconds: float) -> float:
    """Requests per second of `url` with `concurrency` clients, each sending its next request
    when the previous answer is read, for `seconds`."""
    counts = [0] * concurrency
    failures: list[str] = []
    start = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.connect()
            start.wait()
            while time.perf_counter() < stop_at[0]:
                status = _request(conn, host, session, url)
                if status != 200:
                    failures.append(f"{url} answered {status}")
                    return
                counts[index] += 1
        except Exception as exc:  # noqa: BLE001  # reported below, the benchmark stops
            failures.append(f"{url}: {exc!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds + 3600  # until the barrier releases everyone
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"PERF-7: {failures[0]}")
    return sum(counts) / elapsed


def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    host, member_session, admin_session = _prepare(args.perf7_members)
    say(
        f"  enterprise with {args.perf7_members} members, a member and an administrator signed in "
        f"({time.perf_counter() - started:.1f} s)"
    )

    cases = {
        "minimal_member": (member_session, MINIMAL),
        "me": (member_session, ME),
        "minimal_admin": (admin_session, MINIMAL),
        "api": (admin_session, API),
    }
    for name, (session, url) in cases.items():
        queries = _queries(host, session, url, args.perf7_profile)
        say(f"PERF-7 {name}_queries={queries}")
    for name, (session, url) in cases.items():
        cpu = _cpu_ms(host, session, url, args.perf7_cpu_requests, args.perf7_profile)
        say(f"PERF-7 {name}_cpu_ms={cpu:.1f}")

    port = _free_port()
    server = _start_server(port, args.perf7_workers, args.perf7_threads)
    try:
        _wait_ready(server, port, host)
        say(
            f"  gunicorn on 127.0.0.1:{port}: {args.perf7_workers} gthread workers x {args.perf7_threads} "
            f"threads; {args.perf7_concurrency} clients, {args.perf7_seconds:g} s per URL and round"
        )
        for session, url in cases.values():  # warm-up: every worker has served every URL
            _load(port, host, session, url, args.perf7_concurrency, 1.0)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        split: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
        for attempt in range(1, args.perf7_rounds + 1):
            for name, (session, url) in cases.items():
                before = _cpu_split(server.pid)
                rps = _load(port, host, session, url, args.perf7_concurrency, args.perf7_seconds)
                after = _cpu_split(server.pid)
                served = max(1.0, rps * args.perf7_seconds)
                split[name].append(tuple((b - a) / served * 1000 for a, b in zip(before, after, strict=True)))  # type: ignore[arg-type]
                rates[name].append(rps)
                say(f"  [{attempt}] {url} ({name}): {rps:,.0f} requests/s")
    finally:
        _stop_server(server)
    for name, values in split.items():
        web, database, clients = (statistics.median(v[i] for v in values) for i in range(3))
        say(
            f"  CPU per request of {name}: gunicorn {web:.1f} ms, PostgreSQL {database:.1f} ms, "
            f"the clients {clients:.1f} ms"
        )

    rps = {name: statistics.median(values) for name, values in rates.items()}
    me_ratio = rps["me"] / rps["minimal_member"]
    api_ratio = rps["api"] / rps["minimal_admin"]
    for name, value in rps.items():
        say(f"PERF-7 {name}_rps={value:.0f}")
    say(f"PERF-7 me_throughput_vs_minimal={me_ratio:.2f}x")
    say(f"PERF-7 api_throughput_vs_minimal={api_ratio:.2f}x")
    say(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for label, ratio in (("/me/", me_ratio), ("API list", api_ratio)):
        say(f"  target {label} >= {TARGET:g}x the minimal view: {'met' if ratio >= TARGET else 'MISSED'}")
