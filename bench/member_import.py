"""PERF-6: importing 10,000 members from an Excel file (issue 16 §5).

Issue 16: *import of 10,000 members ≤ 60 s* on this machine.

The data: one enterprise made by the real service (`enterprise_create`) with a department tree
(8 departments under the root, 5 teams under each), 10 positions and 5 ranks. The file: an .xlsx
of `--perf6-rows` rows (default 10,000) written with openpyxl, Chinese headers, every row a new
member with a department path, a position, a rank, a title, a gender and an e-mail address.

Measured:

- the dry run (`member_import_preview`: read the workbook, check every row, batched lookups), in
  this process, as the web request does it;
- the import itself: the confirmed `MemberImport` row is written as `member_import_start` writes
  it (the rows the dry run read, as JSON; without sending the task), then a child process — a
  fresh interpreter with its own `django.setup()`, like a Celery worker — runs the real task
  `directory.imports.tasks.member_import_run` with `task.apply()` and the `_schema_name` header:
  check every row again, then invited cards, department links, invitations, their public index
  rows and the invitation SMS rows in atomic batches, one ledger entry. The SMS tasks it sends
  after each batch go to a queue of the child's own, emptied at the end;
- the same file imported again (every row unchanged, nothing written).

Prints, e.g.:

    PERF-6 import_10k_s=12.3
    PERF-6 preview_10k_s=4.1
    PERF-6 reimport_10k_s=3.2

(with another `--perf6-rows` the keys say the number of rows: `import_200_rows_s`).

Django models are imported inside the functions: bench/run.py imports this module before
django.setup()."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import uuid
from typing import Any

from bench.common import positive_int, say, worker_report

TITLE = "importing members from an Excel file (dry run, then the Celery job)"

DEFAULT_ROWS = 10_000
SMALL = {"perf6_rows": 200}  # `--small` (bench/run.py): CI's quick run
TARGET_S = 60.0
OWNER_MOBILE = "+8613700000100"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--perf6-rows",
        type=positive_int,
        default=DEFAULT_ROWS,
        metavar="N",
        help=f"PERF-6: rows of the imported file (default {DEFAULT_ROWS})",
    )


def enterprise_prepare() -> tuple[Any, Any, list[str]]:
    """(enterprise, the owner's membership, department paths to use in the file)."""
    from accounts.models import User
    from core.models import Membership, Position, Rank
    from core.services import enterprise_create
    from directory.org import department_create
    from tenants.context import enterprise_schema

    owner = User.objects.create_user(mobile=OWNER_MOBILE, password=None, nickname="Bench import owner")
    enterprise = enterprise_create(name="Import bench", slug="perf6", owner=owner)
    paths = []
    for d in range(8):
        parent = department_create(enterprise=enterprise, actor=None, name=f"部门{d}")
        for t in range(5):
            department_create(enterprise=enterprise, actor=None, name=f"小组{t}", parent=parent)
            paths.append(f"部门{d}/小组{t}")
    with enterprise_schema(enterprise):
        Position.objects.bulk_create([Position(name=f"职位{i}") for i in range(10)])
        Rank.objects.bulk_create([Rank(name=f"P{i}", level=i) for i in range(5)])
        member = Membership.objects.get(account=owner)
    return enterprise, member, paths


def workbook(rows: int, paths: list[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("成员")
    sheet.append(["姓名*", "手机号*", "部门", "职位", "职级", "职务", "性别", "邮箱"])
    for i in range(rows):
        sheet.append(
            [
                f"成员{i:05d}",
                f"1350000{i:04d}" if i < 10_000 else f"135{i:08d}",
                paths[i % len(paths)],
                f"职位{i % 10}",
                f"P{i % 5}",
                "工程师",
                ("男", "女")[i % 2],
                f"member{i}@perf6.example.com",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def job_create(enterprise: Any, member: Any, content: bytes, rows: int) -> int:
    """A confirmed import, as member_import_start writes it (the rows the dry run read), without
    sending the task."""
    import hashlib

    from directory.imports.files import file_read
    from directory.imports.models import MemberImport
    from directory.imports.services import rows_encode
    from tenants.context import enterprise_schema

    rows_read = rows_encode(file_read(name="members.xlsx", content=content))
    with enterprise_schema(enterprise):
        return MemberImport.objects.create(
            created_by=member,
            file_name="members.xlsx",
            file_sha256=hashlib.sha256(content).hexdigest(),
            content=rows_read,
            rows_total=rows,
            language="zh-hans",
        ).pk


# --- the worker -------------------------------------------------------------------------------

WORKER = "from bench.member_import import worker_main; worker_main()"


def worker_main() -> None:
    """The child process: run the import task for each id as a worker would; print one JSON line."""
    ids, schema, expected_database = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    import django
    from django.conf import settings

    django.setup()
    actual = settings.DATABASES["default"]["NAME"]
    if actual != expected_database:  # never write into the real database
        raise RuntimeError(f"worker: database {actual!r}, expected {expected_database!r}")
    from config.celery import app
    from directory.imports.tasks import member_import_run

    seconds = []
    results = []
    try:
        for import_id in ids:
            started = time.perf_counter()
            result = member_import_run.apply(
                kwargs={"import_id": import_id}, headers={"_schema_name": schema}, throw=True
            ).get()
            seconds.append(time.perf_counter() - started)
            if result.get("state") != "done":
                raise RuntimeError(f"worker: unexpected result {result!r}")
            results.append(result)
    finally:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        if queue.startswith("bench-"):  # the SMS tasks sent after each batch: nobody reads them here
            with app.connection_for_write() as connection:
                connection.default_channel.queue_purge(queue)
    print(json.dumps({"seconds": seconds}), flush=True)


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from core.scopes import admin_scope_for
    from directory.imports.models import MemberImport
    from directory.imports.services import member_import_preview
    from tenants.context import enterprise_schema

    rows = args.perf6_rows
    started = time.perf_counter()
    enterprise, member, paths = enterprise_prepare()
    content = workbook(rows, paths)
    say(
        f"  enterprise with {len(paths) + 9} departments; a {len(content) / 1024:.0f} KB workbook of {rows} rows "
        f"({time.perf_counter() - started:.1f} s)"
    )
    with enterprise_schema(enterprise):
        scope = admin_scope_for(member)
    assert scope is not None
    started = time.perf_counter()
    _parsed, plan, _token = member_import_preview(
        enterprise=enterprise, actor=member, scope=scope, name="members.xlsx", content=content
    )
    preview_s = time.perf_counter() - started
    if plan.counts["new"] != rows:
        raise RuntimeError(f"PERF-6: the dry run found {plan.counts}, expected {rows} new rows")
    connection.set_schema_to_public()

    ids = [job_create(enterprise, member, content, rows), job_create(enterprise, member, content, rows)]
    os.environ["CELERY_QUEUE"] = f"bench-{uuid.uuid4().hex[:12]}"  # the child's own queue (emptied)
    try:
        report = worker_report("PERF-6", WORKER, json.dumps(ids), enterprise.schema_name)
    finally:
        del os.environ["CELERY_QUEUE"]
    first, second = report["seconds"]
    with enterprise_schema(enterprise):
        jobs = {job.pk: job for job in MemberImport.objects.filter(pk__in=ids)}
    created, unchanged = jobs[ids[0]].created_count, jobs[ids[1]].unchanged_count
    if created != rows or unchanged != rows:
        raise RuntimeError(f"PERF-6: imported {created}, then {unchanged} unchanged; expected {rows} each")
    key = "10k" if rows == DEFAULT_ROWS else f"{rows}_rows"
    say(f"PERF-6 import_{key}_s={first:.1f}")
    say(f"PERF-6 preview_{key}_s={preview_s:.1f}")
    say(f"PERF-6 reimport_{key}_s={second:.1f}")
    say(f"PERF-6 preview_and_import_{key}_s={preview_s + first:.1f}")
    say(f"  {created} members imported by the task in {first:.1f} s, the same file again in {second:.1f} s (unchanged)")
    say(f"  target import of {DEFAULT_ROWS} members <= {TARGET_S:g} s: {'met' if first <= TARGET_S else 'MISSED'}")
