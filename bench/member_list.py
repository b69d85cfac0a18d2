"""PERF-3: the member list (console page and API) and the console home (its figures and the
attendance trend) with 10,000 members in one enterprise.

Measured in one run, in-process through the whole middleware stack (Django's test client):
queries per request, and median latency relative to a minimal view on the same database (one
`SELECT 1`) served on the same enterprise host to the same admin, signed in as a person is
(password, then the second factor on the two-factor page: SEC-2). Also the
tenant-routing overhead: that minimal view on an enterprise host vs on the public host.
The minimal view is added to both URL confs of this process only (bench code, not the product)."""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench.common import admin_client, median_ms, say

TITLE = "member list (console and API) and console home vs a minimal view, 10,000 members"
DEFAULT_MEMBERS = 10_000
DEFAULT_REQUESTS = 30
# `--small` (bench/run.py): CI's quick run
SMALL = {"members": 200, "requests": 3}
OWNER_MOBILE = "+8613600000000"  # no other benchmark's account has it
OWNER_PASSWORD = "bench-pass-123"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--members",
        type=int,
        default=DEFAULT_MEMBERS,
        metavar="N",
        help=f"PERF-3: members in the enterprise (default {DEFAULT_MEMBERS})",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=DEFAULT_REQUESTS,
        metavar="N",
        help=f"PERF-3: timed requests per URL (default {DEFAULT_REQUESTS})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="PERF-3: also profile the timed pages (cProfile, the 30 costliest functions of each)",
    )


def _install_minimal_view() -> None:
    from django.db import connection
    from django.http import HttpResponse
    from django.urls import clear_url_caches, path

    from config import urls_public, urls_tenants

    def minimal(request: Any) -> HttpResponse:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return HttpResponse("ok")

    for module in (urls_public, urls_tenants):
        module.urlpatterns.append(path("bench/minimal/", minimal))
    clear_url_caches()


def _interleaved_medians(client: Any, urls: list[str], requests: int) -> dict[str, float]:
    """Median latency of each URL, the requests taken in turn (minimal, list, API, minimal, …) so
    that whatever else the machine does hits every URL alike: the ratios to the minimal view
    compare like with like (measured one after the other, a busy spell during the minimal view's
    turn alone moved member_list_vs_minimal from 2.5x to 3.9x between two runs)."""
    for url in urls:
        for _ in range(3):  # warm-up
            assert client.get(url).status_code == 200, url
    samples: dict[str, list[float]] = {url: [] for url in urls}
    for _ in range(requests):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            samples[url].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
    return {url: statistics.median(values) for url, values in samples.items()}


def _queries(client: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _profile(client: Any, url: str, requests: int) -> None:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(25)  # where the time is spent, not only passed through
    say(f"  profile of {url}, {requests} requests:")
    for line in out.getvalue().splitlines():
        say(f"  {line}")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    say(f"  the slowest queries of {url}:")
    for query in sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:8]:
        say(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:400]}")


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from core.models import Department, Membership
    from core.services import enterprise_create
    from directory.org import department_create
    from tenants.context import enterprise_schema

    owner = User.objects.create_user(OWNER_MOBILE, OWNER_PASSWORD, nickname="Bench Owner")
    enterprise = enterprise_create(name="Perf Three", slug="perf-three", owner=owner)
    departments = [department_create(enterprise=enterprise, actor=None, name=f"Dept {i}") for i in range(20)]
    started = time.perf_counter()
    with enterprise_schema(enterprise):
        members = Membership.objects.bulk_create(
            [
                Membership(display_name=f"Member {i:05d}", mobile=f"+86137{i:08d}", status="active")
                for i in range(args.members)
            ],
            batch_size=2000,
        )
        through = Membership.departments.through
        through.objects.bulk_create(
            [
                through(membership_id=m.pk, department_id=departments[i % len(departments)].pk)
                for i, m in enumerate(members)
            ],
            batch_size=5000,
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps in production
        assert Department.objects.count() == len(departments) + 1
    connection.set_schema_to_public()
    say(f"  {args.members} members created in {time.perf_counter() - started:.1f} s")

    _install_minimal_view()
    # SEC-2: the owner signs in with the password and passes the second factor, as a person does
    admin = admin_client("perf-three.localhost", OWNER_MOBILE, OWNER_PASSWORD)

    page_queries = _queries(admin, "/console/members/")
    api_queries = _queries(admin, "/api/v1/members/")
    dashboard_queries = _queries(admin, "/console/")
    dashboard_fresh_queries = _queries(admin, "/console/?refresh=1")
    # the dashboard's figures kept (DASHBOARD_CACHE_SECONDS), then every figure read anew
    medians = _interleaved_medians(
        admin,
        ["/bench/minimal/", "/console/members/", "/api/v1/members/", "/console/", "/console/?refresh=1"],
        args.requests,
    )
    minimal_ms, page_ms, api_ms, dashboard_ms, dashboard_fresh_ms = medians.values()
    public_minimal_ms = median_ms(Client(HTTP_HOST="localhost"), "/bench/minimal/", args.requests)
    tenant_minimal_ms = median_ms(Client(HTTP_HOST="perf-three.localhost"), "/bench/minimal/", args.requests)

    if args.profile:
        for url in ("/console/members/", "/api/v1/members/", "/console/", "/console/?refresh=1"):
            _profile(admin, url, args.requests)

    say(f"PERF-3 members={args.members}")
    say(f"PERF-3 member_list_queries={page_queries}")
    say(f"PERF-3 member_api_queries={api_queries}")
    say(f"PERF-3 minimal_median_ms={minimal_ms:.2f}")
    say(f"PERF-3 member_list_median_ms={page_ms:.2f}")
    say(f"PERF-3 member_api_median_ms={api_ms:.2f}")
    say(f"PERF-3 member_list_vs_minimal={page_ms / minimal_ms:.1f}x")
    say(f"PERF-3 member_api_vs_minimal={api_ms / minimal_ms:.1f}x")
    say(f"PERF-3 dashboard_queries={dashboard_queries}")
    say(f"PERF-3 dashboard_median_ms={dashboard_ms:.2f}")
    say(f"PERF-3 dashboard_vs_minimal={dashboard_ms / minimal_ms:.1f}x")
    say(f"PERF-3 dashboard_fresh_queries={dashboard_fresh_queries}")
    say(f"PERF-3 dashboard_fresh_median_ms={dashboard_fresh_ms:.2f}")
    say(f"PERF-3 dashboard_fresh_vs_minimal={dashboard_fresh_ms / minimal_ms:.1f}x")
    say(f"PERF-3 tenant_routing_overhead={tenant_minimal_ms / public_minimal_ms:.2f}x")
