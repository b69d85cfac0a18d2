"""Importing members from Excel or CSV (issue 16 §5; ENT-2 cards, ENT-3 invitations, ENT-8
scopes, ENT-10 ledger): the template, the dry run that writes nothing, the Celery job that imports
the good rows, a second import that changes nothing, scoped administrators, isolation.

The job is the real Celery task run in this process with the enterprise's schema in its header
(`.apply(headers={"_schema_name": …})`), as the other task tests do; the confirmation's
on-commit send is captured, not executed (no worker here)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from consent.models import NotificationDelivery
from core.models import Membership
from core.scopes import admin_scope_for
from directory.imports.models import MemberImport
from directory.imports.selectors import import_plan
from directory.imports.services import member_import_preview
from directory.imports.tasks import member_import_run
from invitations.models import Invitation
from ledger.models import LedgerEntry
from ledger.services import Action
from tenants.context import enterprise_schema
from tenants.models import InvitationIndex
from tests.tenants.test_tasks import celery_worker  # noqa: F401  (the module's real worker)

HEADER_EN = ["Name*", "Mobile number*", "Department", "Position", "Rank", "Title", "Gender", "Email"]
HEADER_ZH = ["姓名*", "手机号*", "部门", "职位", "职级", "职务", "性别", "邮箱"]
IMPORT_URL = "/console/members/import/"
CONFIRM_URL = "/console/members/import/confirm/"


def mobile(i: int) -> str:
    return f"1360000{i:04d}"


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_file(header: list[str], rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BAD_KINDS = (
    lambda i: [f"Bad {i}", "12345", "Sales", "", "", "", "", ""],  # not a mobile number
    lambda i: ["", mobile(i), "Sales", "", "", "", "", ""],  # no name
    lambda i: [f"Bad {i}", mobile(i), "Nowhere", "", "", "", "", ""],  # unknown department
    lambda i: [f"Bad {i}", mobile(i), "Engineering", "", "", "", "", "not-an-email"],
    lambda i: [f"Bad {i}", mobile(0), "Sales", "", "", "", "", ""],  # row 2's number again
    lambda i: [f"Bad {i}", mobile(i), "Sales", "Astronaut", "", "", "", ""],  # unknown position
    lambda i: [f"Bad {i}", mobile(i), "Sales", "", "", "", "maybe", ""],  # unknown gender
)


def big_file(n: int = 10_000, bad_share: int = 33) -> tuple[bytes, set[int]]:
    """`n` rows, 3 % of them bad in different ways; (the CSV, the bad rows' numbers)."""
    bad_indexes = list(range(7, n, bad_share))[: n * 3 // 100]
    bad = set(bad_indexes)
    rows = []
    departments = ("Sales", "Sales/Sales East", "Engineering", "Acme Test/Engineering")
    for i in range(n):
        if i in bad:
            rows.append(BAD_KINDS[i % len(BAD_KINDS)](i))
        else:
            gender = ("男", "女", "female", "")[i % 4]
            rows.append([f"成员{i}", mobile(i), departments[i % 4], "", "", "Engineer", gender, f"m{i}@example.com"])
    return csv_bytes(HEADER_EN, rows), {i + 2 for i in bad}  # row 1 is the header


def preview(client, content: bytes, name: str = "members.csv"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content)})


def token_of(response) -> str:
    found = re.search(rb'name="token" value="([^"]+)"', response.content)
    assert found, response.content[:2000]
    return found.group(1).decode()


def bad_rows_of(response) -> set[int]:
    return {int(n) for n in re.findall(rb'<tr data-row="(\d+)"', response.content)}


def counts_of(response) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in re.findall(rb'data-count="(\w+)"[^>]*>(\d+)<', response.content)}


def confirm_and_run(client, token: str, django_capture_on_commit_callbacks, **extra) -> MemberImport:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(CONFIRM_URL, {"token": token, "send_invitations": "on", **extra})
    assert response.status_code == 302, response.content[:2000]
    assert len(callbacks) == 1  # the task is sent after the commit
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    result = member_import_run.apply(kwargs={"import_id": job_id}, headers={"_schema_name": "acme"}).get()
    assert result == {"schema": "acme", "import_id": job_id, "state": "done"}
    with enterprise_schema(_acme()):
        return MemberImport.objects.get(pk=job_id)


def _alice_scope(world):
    with enterprise_schema(world.acme):
        return admin_scope_for(world.membership(world.acme, world.alice))


def _acme():
    from tenants.models import Enterprise

    return Enterprise.objects.get(schema_name="acme")


def snapshot() -> dict[str, int]:
    with enterprise_schema(_acme()):
        values = {
            "members": Membership.objects.count(),
            "invitations": Invitation.objects.count(),
            "ledger": LedgerEntry.objects.count(),
            "imports": MemberImport.objects.count(),
            "through": Membership.departments.through.objects.count(),
        }
    connection.set_schema_to_public()
    values["index"] = InvitationIndex.objects.count()
    values["deliveries"] = NotificationDelivery.objects.count()
    return values


# --- the template ------------------------------------------------------------------------------


def test_the_template_has_chinese_and_english_headers(world, client_for):
    """Issue 16 §5: a downloadable template, .xlsx and CSV, with zh and en headers."""
    client = client_for("acme", world.amy)
    zh = client.get("/console/members/import/template/?format=xlsx&language=zh")
    assert zh.status_code == 200 and zh["Content-Disposition"].endswith('.xlsx"')
    workbook = load_workbook(io.BytesIO(zh.content), read_only=True)
    assert [c for c in next(workbook.worksheets[0].iter_rows(values_only=True))][:3] == ["姓名*", "手机号*", "部门"]
    assert len(workbook.worksheets) == 2  # the instructions
    en = client.get("/console/members/import/template/?format=csv&language=en")
    assert en.content.startswith("\ufeff".encode()) and b"Name*,Mobile number*,Department" in en.content
    assert client_for("acme", world.bob).get("/console/members/import/template/").status_code == 403


def test_the_members_page_links_to_the_import(world, client_for):
    response = client_for("acme", world.alice).get("/console/members/")
    assert b'href="/console/members/import/"' in response.content


# --- 10,000 rows: the dry run, the job, the second import ------------------------------------------


def test_ten_thousand_rows_preview_names_exactly_the_bad_rows_then_the_job_imports_the_rest(
    world, client_for, django_capture_on_commit_callbacks
):
    """Issue 16 §5: a 10,000-row file with 3 % bad rows — the dry run names exactly those rows
    and writes nothing; confirming imports the rest (one ledger entry); importing the same file
    again changes nothing."""
    content, bad = big_file()
    assert len(bad) == 300
    client = client_for("acme", world.alice)
    before = snapshot()

    response = preview(client, content)
    assert response.status_code == 200
    assert bad_rows_of(response) == bad
    assert counts_of(response) == {"new": 9700, "update": 0, "unchanged": 0, "bad": 300}
    assert snapshot() == before  # the dry run wrote nothing: no card, no job, no ledger entry

    job = confirm_and_run(client, token_of(response), django_capture_on_commit_callbacks)
    assert (job.state, job.progress, job.content) == ("done", 100, None)
    assert (job.created_count, job.updated_count, job.unchanged_count, job.bad_count) == (9700, 0, 0, 300)
    assert {item["row"] for item in job.errors} == bad
    after = snapshot()
    assert after["members"] - before["members"] == 9700
    assert after["invitations"] - before["invitations"] == 9700
    assert after["index"] - before["index"] == 9700
    assert after["deliveries"] - before["deliveries"] == 9700
    assert after["ledger"] - before["ledger"] == 1
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.order_by("-id").first()
        assert (entry.action, entry.category, entry.object_id) == (Action.IMPORT, "directory", str(job.pk))
        assert entry.details["created"] == 9700 and entry.details["bad"] == 300
        card = Membership.objects.get(mobile="+8613600000001")
        assert (card.status, card.display_name, card.gender, card.title) == ("invited", "成员1", "female", "Engineer")
        assert [d.name for d in card.departments.all()] == ["Sales East"]
        assert Invitation.objects.get(membership=card).status == "pending"
        unknown = next(i for i in sorted(bad) if (i - 2) % len(BAD_KINDS) == 2) - 2  # an unknown department
        assert not Membership.objects.filter(mobile=f"+86{mobile(unknown)}").exists()

    # the same file again: every good row is unchanged, nothing is written
    again = preview(client, content)
    assert counts_of(again) == {"new": 0, "update": 0, "unchanged": 9700, "bad": 300}
    assert b'id="import-confirm"' not in again.content  # nothing to import: no button
    # a job started anyway (the service, as a stale page would) writes nothing either
    _parsed, _plan, token = member_import_preview(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        scope=_alice_scope(world),
        name="members.csv",
        content=content,
    )
    second = confirm_and_run(client, token, django_capture_on_commit_callbacks)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 9700)
    assert {k: v for k, v in snapshot().items() if k != "imports"} == {k: v for k, v in after.items() if k != "imports"}


def test_the_dry_run_runs_a_constant_number_of_queries(world):
    """The rows are checked with batched lookups, never a query per row."""

    def queries(n: int) -> int:
        rows = [(i + 2, {"display_name": f"P{i}", "mobile": mobile(i), "departments": "Sales"}) for i in range(n)]
        with enterprise_schema(world.acme):
            scope = admin_scope_for(world.membership(world.acme, world.sam))
            with CaptureQueriesContext(connection) as captured:
                plan = import_plan(scope=scope, rows=rows)
        assert plan.counts["new"] == n
        return len(captured)

    assert queries(5) == queries(500)


def test_an_update_changes_only_what_the_row_gives(world, client_for, django_capture_on_commit_callbacks):
    """Matched by mobile (E.164, either spelling): an empty cell keeps the card's value."""
    client = client_for("acme", world.alice)
    rows = [["Bob Member", "+86 139 0000 0003", "", "", "", "Closer", "", ""]]
    response = preview(client, csv_bytes(HEADER_EN, rows))
    assert counts_of(response) == {"new": 0, "update": 1, "unchanged": 0, "bad": 0}
    job = confirm_and_run(client, token_of(response), django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count) == (0, 1)
    bob = world.membership(world.acme, world.bob)
    assert bob.title == "Closer" and bob.display_name == "Bob Member"
    with enterprise_schema(world.acme):
        assert [d.name for d in bob.departments.all()] == ["Sales East"]  # empty cell: kept


# --- the scoped administrator ---------------------------------------------------------------------


def test_a_scoped_admin_imports_only_into_their_subtree(world, client_for, django_capture_on_commit_callbacks):
    """ENT-8: Sam (Sales) may name only Sales departments, may update only members in scope, and
    a new member needs one of his departments."""
    client = client_for("acme", world.sam)
    rows = [
        ["In East", mobile(1), "Sales East", "", "", "", "", ""],  # row 2: new, in scope
        ["In Eng", mobile(2), "Engineering", "", "", "", "", ""],  # row 3: outside Sam's scope
        ["Nowhere", mobile(3), "", "", "", "", "", ""],  # row 4: a new member without a department
        ["Erin Engineer", "13900000005", "Sales", "", "", "", "", ""],  # row 5: Erin is outside
        ["Bob Member", "13900000003", "Sales", "", "", "", "", ""],  # row 6: Bob moves to Sales
        ["Root", mobile(4), "Acme Test", "", "", "", "", ""],  # row 7: the root is outside too
    ]
    response = preview(client, csv_bytes(HEADER_EN, rows))
    assert response.status_code == 200
    assert bad_rows_of(response) == {3, 4, 5, 7}
    assert "No department “Engineering” in your scope.".encode() in response.content
    assert counts_of(response) == {"new": 1, "update": 1, "unchanged": 0, "bad": 4}
    job = confirm_and_run(client, token_of(response), django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count, job.bad_count) == (1, 1, 4)
    with enterprise_schema(world.acme):
        assert not Membership.objects.filter(mobile=f"+86{mobile(2)}").exists()
        assert [d.name for d in Membership.objects.get(mobile=f"+86{mobile(1)}").departments.all()] == ["Sales East"]
        erin = Membership.objects.get(account=world.erin)
        assert [d.name for d in erin.departments.all()] == ["Engineering"]
        bob = Membership.objects.get(account=world.bob)
        assert [d.name for d in bob.departments.all()] == ["Sales"]


def test_a_row_that_cannot_be_saved_leaves_nothing_half_written(world, client_for, django_capture_on_commit_callbacks):
    """A batch that fails in the database is retried row by row: the failing row leaves no card,
    invitation, index row or SMS; the others are imported. (A real trigger refuses one name.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION acme.refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.display_name = 'Boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON acme.enterprise_data_membership "
            "FOR EACH ROW EXECUTE FUNCTION acme.refuse_boom()"
        )
    client = client_for("acme", world.alice)
    rows = [[name, mobile(i), "Sales", "", "", "", "", ""] for i, name in enumerate(("One", "Boom", "Three"), 1)]
    before = snapshot()
    response = preview(client, csv_bytes(HEADER_EN, rows))
    job = confirm_and_run(client, token_of(response), django_capture_on_commit_callbacks)
    assert (job.created_count, job.bad_count) == (2, 1)
    assert [item["row"] for item in job.errors] == [3]
    after = snapshot()
    for key in ("members", "invitations", "index", "deliveries", "through"):
        assert after[key] - before[key] == 2, key
    connection.set_schema_to_public()
    assert not NotificationDelivery.objects.filter(address=f"+86{mobile(2)}").exists()
    assert not InvitationIndex.objects.filter(mobile=f"+86{mobile(2)}").exists()
    page = client.get(f"/console/members/import/{job.pk}/")
    assert b'<tr data-row="3">' in page.content


# --- files ------------------------------------------------------------------------------------------


def test_chinese_headers_gb18030_csv_and_an_xlsx_with_numeric_mobiles(world, client_for):
    client = client_for("acme", world.alice)
    rows = [["张三", mobile(1), "销售", "", "", "", "男", ""]]
    response = preview(client, csv_bytes(HEADER_ZH, rows, encoding="gb18030"))
    assert response.status_code == 200
    assert bad_rows_of(response) == {2}  # no department called 销售
    assert "No department “销售” in your scope.".encode() in response.content
    rows = [["张三", int(mobile(1)), "Sales", None, None, None, "男", None], [None] * 8]
    response = preview(client, xlsx_file(HEADER_ZH, rows), name="成员.xlsx")
    assert counts_of(response) == {"new": 1, "update": 0, "unchanged": 0, "bad": 0}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("members.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "Old Excel files (.xls)"),
        ("members.pdf", b"%PDF-1.7", "Upload an Excel workbook (.xlsx) or a CSV file."),
        ("members.xlsx", b"PK\x03\x04broken", "could not be read as an Excel workbook"),
        ("members.csv", b"Name,Email\nA,b@example.com\n", "missing: 手机号 / Mobile number"),
        ("members.csv", b"", "empty"),
    ],
)
def test_a_file_that_cannot_be_imported_is_a_form_error(world, client_for, name, content, message):
    before = snapshot()
    response = preview(client_for("acme", world.alice), content, name=name)
    assert response.status_code == 400
    assert message.encode() in response.content
    assert snapshot() == before


def test_at_most_twenty_thousand_rows(world, client_for):
    content = csv_bytes(HEADER_EN, [[f"P{i}", mobile(i % 10000), "", "", "", "", "", ""] for i in range(20_001)])
    response = preview(client_for("acme", world.alice), content)
    assert response.status_code == 400 and b"At most 20000 rows" in response.content


# --- access, confirmation, isolation ---------------------------------------------------------------


def test_get_of_the_confirm_url_does_nothing(world, client_for):
    before = snapshot()
    assert client_for("acme", world.alice).get(CONFIRM_URL).status_code == 405
    assert snapshot() == before


def test_an_expired_or_foreign_token_starts_nothing(world, client_for):
    client = client_for("acme", world.alice)
    response = preview(client, csv_bytes(HEADER_EN, [["P", mobile(1), "Sales", "", "", "", "", ""]]))
    token = token_of(response)
    before = snapshot()
    # another admin of acme, and the same admin with an unknown token: nothing starts
    assert client_for("acme", world.amy).post(CONFIRM_URL, {"token": token}).status_code == 400
    refused = client.post(CONFIRM_URL, {"token": "not-a-token"})
    assert refused.status_code == 400 and b"This preview has expired" in refused.content
    assert snapshot() == before


def test_members_and_outsiders_cannot_import(world, client_for):
    assert client_for("acme", world.bob).get(IMPORT_URL).status_code == 403
    assert client_for("acme", world.bob).post(CONFIRM_URL, {"token": "x"}).status_code == 403


def test_another_enterprise_and_another_scoped_admin_never_see_the_job(
    world, client_for, django_capture_on_commit_callbacks
):
    """Isolation (TEN-1): acme's job id on globex is a 404; a scoped admin sees only their own."""
    client = client_for("acme", world.alice)
    response = preview(client, csv_bytes(HEADER_EN, [["P", mobile(1), "Sales", "", "", "", "", ""]]))
    job = confirm_and_run(client, token_of(response), django_capture_on_commit_callbacks)
    assert client.get(f"/console/members/import/{job.pk}/").status_code == 200
    assert client_for("globex", world.gina).get(f"/console/members/import/{job.pk}/").status_code == 404
    assert client_for("acme", world.sam).get(f"/console/members/import/{job.pk}/").status_code == 404
    assert client_for("acme", world.amy).get(f"/console/members/import/{job.pk}/").status_code == 200
    page = client_for("acme", world.amy).get(IMPORT_URL)
    assert f"/console/members/import/{job.pk}/".encode() in page.content


def test_the_job_page_polls_until_done_and_the_task_is_safe_twice(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for("acme", world.alice)
    response = preview(client, csv_bytes(HEADER_EN, [["P", mobile(1), "Sales", "", "", "", "", ""]]))
    with django_capture_on_commit_callbacks(execute=False):
        started = client.post(CONFIRM_URL, {"token": token_of(response)})
    job_id = int(started["Location"].rstrip("/").rsplit("/", 1)[1])
    queued = client.get(started["Location"], headers={"HX-Request": "true"})
    assert b'hx-trigger="every 2s"' in queued.content and b"<html" not in queued.content
    assert (
        member_import_run.apply(kwargs={"import_id": job_id}, headers={"_schema_name": "acme"}).get()["state"] == "done"
    )
    before = snapshot()
    assert (
        member_import_run.apply(kwargs={"import_id": job_id}, headers={"_schema_name": "acme"}).get()["state"] == "done"
    )
    assert snapshot() == before  # a second run does nothing
    done = client.get(started["Location"])
    assert b"hx-trigger" not in done.content and b'data-state="done"' in done.content


# --- a real worker ------------------------------------------------------------------------------------


@pytest.mark.celery_worker
def test_a_real_worker_runs_a_confirmed_import_in_acme(world, celery_worker):  # noqa: F811
    """The confirmation sends the task by name after the commit, with acme's schema in its header;
    a real worker (a separate process) finds it and runs it there. The file's one row is Bob as
    he is, so nothing is written but the job's own row (removed at the end)."""
    import time

    from directory.imports.services import member_import_start
    from tests.consent.test_withdrawal_worker import committed

    acme = world.acme

    def start() -> int:
        with enterprise_schema(acme):
            alice = Membership.objects.get(account=world.alice)
            scope = admin_scope_for(alice)
        _parsed, plan, token = member_import_preview(
            enterprise=acme,
            actor=alice,
            scope=scope,
            name="bob.csv",
            content=csv_bytes(HEADER_EN, [["Bob Member", "13900000003", "", "", "", "", "", ""]]),
        )
        assert plan.counts["unchanged"] == 1
        return member_import_start(enterprise=acme, actor=alice, token=token).pk

    job_id = committed(start)
    try:

        def state() -> tuple[str, int]:
            with enterprise_schema(acme):
                job = MemberImport.objects.get(pk=job_id)
                return job.state, job.unchanged_count

        deadline = time.monotonic() + 120
        while (current := committed(state))[0] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.25)
        assert current == ("done", 1)
    finally:

        def cleanup() -> None:
            with enterprise_schema(acme):
                MemberImport.objects.filter(pk=job_id).delete()

        committed(cleanup)


def test_a_job_that_crashes_is_marked_failed(world, client_for, django_capture_on_commit_callbacks):
    """A job whose rows cannot be read fails visibly (the page stops polling), never stays running."""
    client = client_for("acme", world.alice)
    response = preview(client, csv_bytes(HEADER_EN, [["P", mobile(1), "Sales", "", "", "", "", ""]]))
    with django_capture_on_commit_callbacks(execute=False):
        started = client.post(CONFIRM_URL, {"token": token_of(response)})
    job_id = int(started["Location"].rstrip("/").rsplit("/", 1)[1])
    with enterprise_schema(world.acme):
        MemberImport.objects.filter(pk=job_id).update(content=b"not json")
    result = member_import_run.apply(kwargs={"import_id": job_id}, headers={"_schema_name": "acme"}).get()
    assert result["state"] == "failed"
    page = client.get(started["Location"])
    assert b'data-state="failed"' in page.content and b"hx-trigger" not in page.content
