"""Issue 18 §5: the figures of docs/scaling.md ("Citus"), printed, on Citus or plain PostgreSQL.

Opt-in: runs only with CITUS_FIGURES=1 (it creates enterprises and times pages; not a CI test).

    # on the cluster (scripts/citus_cluster.py start; -s shows the figures)
    CITUS_FIGURES=1 CITUS_DATABASE_URL=postgres://postgres@127.0.0.1:5440/portal_citus \\
        scripts/launcher.py test -s -p no:cacheprovider tests/citus/test_scale_figures.py
    # the same on one plain PostgreSQL node, for the comparison
    CITUS_FIGURES=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_figures \\
        scripts/launcher.py test -s -p no:cacheprovider tests/citus/test_scale_figures.py

- provisioning: the median of `enterprise_create` (build on the coordinator + distribute);
- enterprises per node: where Citus placed the new schemas;
- the console home and the member API: median latency, signed in as acme's owner;
- `citus_schema_move`: acme moved to the other worker and back while a second connection writes
  into acme every 5 ms: the move's time and the longest gap between two committed writes."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import Counter
from typing import Any

import psycopg2
import pytest
from django.db import connection

from core.services import enterprise_create
from tenants.citus import citus_present, schema_node

pytestmark = [
    pytest.mark.citus,
    pytest.mark.skipif(os.environ.get("CITUS_FIGURES") != "1", reason="figures only with CITUS_FIGURES=1"),
]

ENTERPRISES = int(os.environ.get("CITUS_FIGURES_ENTERPRISES", "12"))
REQUESTS = int(os.environ.get("CITUS_FIGURES_REQUESTS", "30"))


def say(line: str) -> None:
    print(f"CITUS-FIGURE {'citus' if citus_present() else 'single'} {line}", flush=True)


def test_provisioning_and_placement(world):
    times = []
    for index in range(ENTERPRISES):
        started = time.perf_counter()
        enterprise_create(name=f"Figure {index}", slug=f"figure-{index}", owner=world.alice)
        times.append(time.perf_counter() - started)
    say(
        f"provisioning_median_s={statistics.median(times):.3f} min={min(times):.3f} max={max(times):.3f} n={len(times)}"
    )
    if citus_present():
        placed = Counter(schema_node(f"figure_{index}") for index in range(ENTERPRISES))
        say("enterprises_per_node " + " ".join(f"{node[1]}={count}" for node, count in sorted(placed.items())))


def test_page_latency(world, client_for):
    client = client_for("acme", world.alice)
    for url in ("/console/", "/api/v1/members/"):
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            samples.append((time.perf_counter() - started) * 1000)
        p90 = sorted(samples)[int(len(samples) * 0.9)]
        say(f"latency_ms {url} median={statistics.median(samples):.1f} p90={p90:.1f}")


def _connect() -> Any:
    settings = connection.settings_dict
    conn = psycopg2.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None, port=settings["PORT"] or None
    )
    conn.autocommit = True
    return conn


def _move(schema: str, to: tuple[str, int], mode: str) -> tuple[float, float, int]:
    """(seconds for the move, longest gap between two committed writes in s, writes)."""
    stop = threading.Event()
    committed: list[float] = []
    errors: list[str] = []

    def writer() -> None:
        conn = _connect()
        try:
            with conn.cursor() as cursor:
                while not stop.is_set():
                    try:
                        cursor.execute(
                            f'INSERT INTO "{schema}".django_migrations (app, name, applied) '  # noqa: S608
                            "VALUES ('citus_probe', 'w', now())"
                        )
                        committed.append(time.perf_counter())
                    except psycopg2.Error as error:
                        errors.append(str(error).splitlines()[0])
                    time.sleep(0.005)
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.5)
    conn = _connect()
    try:
        with conn.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(
                "SELECT citus_schema_move(%s::regnamespace, %s, %s, shard_transfer_mode => %s)",
                [schema, to[0], to[1], mode],
            )
            took = time.perf_counter() - started
            time.sleep(0.5)
            stop.set()
            thread.join()
            cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'citus_probe'")  # noqa: S608
    finally:
        stop.set()
        conn.close()
    gaps = [later - earlier for earlier, later in zip(committed, committed[1:], strict=False)]
    assert not errors, errors[:3]
    return took, max(gaps), len(committed)


@pytest.mark.skipif(not os.environ.get("CITUS_DATABASE_URL"), reason="a move needs Citus")
def test_moving_an_enterprise_between_workers(world):
    schema = world.acme.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(sum(shard_size)) FROM citus_shards WHERE table_name::text LIKE %s", [f"{schema}.%"]
        )
        size = cursor.fetchone()[0]
        cursor.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE noderole = 'primary' AND shouldhaveshards")
        workers = [(str(host), int(port)) for host, port in cursor.fetchall()]
    home = schema_node(schema)
    assert home in workers
    other = next(worker for worker in workers if worker != home and worker[1] != int(connection.settings_dict["PORT"]))
    for mode, target in (
        ("force_logical", other),
        ("force_logical", home),
        ("block_writes", other),
        ("block_writes", home),
    ):
        took, pause, writes = _move(schema, target, mode)
        say(f"schema_move mode={mode} to={target[1]} size={size} took_s={took:.2f}")
        say(f"schema_move_write_pause mode={mode} longest_write_gap_s={pause:.3f} writes={writes}")
    assert schema_node(schema) == home
