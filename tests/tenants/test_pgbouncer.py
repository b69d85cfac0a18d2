"""Behind a real PgBouncer in transaction mode (issue 18 §4; docs/operations.md, "Connection
pooling").

Debian's `pgbouncer` (installed here when missing, as the browser tests install Chromium) runs
in transaction mode in front of a copy of the test database (CREATE DATABASE … TEMPLATE: the
committed world, and writes that go nowhere else). Two pools: `pooled1` has ONE server
connection, so every client's transaction runs on it in turn — the case where a search_path left
by one client is met by the next; `pooled` has a few, for the locks.

- The leak, reproduced: django-tenants' backend with TENANT_LIMIT_SET_CALLS (session-level SET,
  once per schema switch) lets one client read another enterprise's rows. The project's backend
  with POOL_MODE "transaction" (tenants.postgresql_backend) reads its own, in autocommit and in
  transactions, after schema switches and savepoint rollbacks; the start-up check refuses the
  unsafe configuration.
- Isolation: a representative subset of the isolation matrix (tests/test_isolation_matrix.py,
  check 3: acme's owner never receives globex's data) served through the pooler while another
  client sets globex's search_path on the same server connection between any two of our
  transactions; the same requests with the unsafe backend leak (so the check can fail).
- Locks: the session-level advisory lock's unlock reaching another server connection (why they
  were replaced); the transaction-level run locks (tenants.locks) make a second purge, erasure
  run and account-deletion run skip through the pooler, and a purge runs to the end.
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.utils import load_backend

from core.models import Department
from requests.account_deletion.services import LOCK_KEY, account_deletions_execute_due
from retention.models import PurgeRun
from retention.services.erasure import ERASURE_LOCK_CLASS, erasure_plans_run_due
from retention.services.purge import PURGE_LOCK_CLASS, purge_run
from tenants.apps import TenantsConfig
from tenants.checks import pool_configuration_errors
from tenants.context import enterprise_schema
from tenants.locks import exclusive_run
from tenants.models import PurgeReceipt
from tests.conftest import end_other_sessions
from tests.test_isolation_matrix import GLOBEX_MARKERS, PATHS

PGBOUNCER = "/usr/sbin/pgbouncer"
SAFE_ENGINE = "tenants.postgresql_backend"
UNSAFE_ENGINE = "django_tenants.postgresql_backend"


# --- PgBouncer, from Debian's package --------------------------------------------------------------


def ensure_pgbouncer() -> str:
    """The pgbouncer binary; installed with apt-get when missing. Skipped — loudly — only when it
    cannot be installed."""
    found = shutil.which("pgbouncer") or (PGBOUNCER if Path(PGBOUNCER).exists() else None)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            "!!! PGBOUNCER TESTS SKIPPED (issue 18 §4): Debian's pgbouncer is not installed and cannot be "
            "installed here (not root, or no apt-get). Install it: apt-get install pgbouncer !!!"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=900)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "pgbouncer"], check=True, capture_output=True, env=env, timeout=900
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        output = getattr(error, "stderr", b"") or b""
        pytest.skip(
            "!!! PGBOUNCER TESTS SKIPPED (issue 18 §4): `apt-get install pgbouncer` failed: "
            f"{output.decode(errors='replace')[-500:]} !!!"
        )
    return shutil.which("pgbouncer") or PGBOUNCER


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Bouncer:
    port: int
    database: str  # the copy of the test database behind it
    server: dict[str, Any]  # how to reach PostgreSQL directly (psycopg2.connect keywords)

    def wrapper(self, pool: str, *, safe: bool = True, alias: str = "default") -> Any:
        """A Django connection to `pool` through PgBouncer: the project's configuration for
        transaction pooling (`safe`), or django-tenants' backend as it was (TENANT_LIMIT_SET_CALLS)."""
        settings_dict = copy.deepcopy(connections["default"].settings_dict)
        settings_dict.update(
            HOST="127.0.0.1",
            PORT=str(self.port),
            NAME=pool,
            CONN_MAX_AGE=0,
            CONN_HEALTH_CHECKS=False,
            ENGINE=SAFE_ENGINE if safe else UNSAFE_ENGINE,
            POOL_MODE="transaction" if safe else "",
            DISABLE_SERVER_SIDE_CURSORS=safe,
        )
        return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)

    def direct(self) -> Any:
        """A psycopg2 connection to the copy, not through PgBouncer (autocommit)."""
        raw = psycopg2.connect(**{**self.server, "dbname": self.database})
        raw.autocommit = True
        return raw


def _server_params() -> dict[str, Any]:
    conf = connections["default"].settings_dict
    params = {"host": conf["HOST"] or "127.0.0.1", "port": int(conf["PORT"] or 5432), "user": conf["USER"]}
    if conf.get("PASSWORD"):
        params["password"] = conf["PASSWORD"]
    return params


def _copy_test_database(server: dict[str, Any], source: str, target: str, django_db_blocker: Any) -> None:
    """CREATE DATABASE target TEMPLATE source: no other session may be connected to the source."""
    admin = psycopg2.connect(**{**server, "dbname": "postgres"})
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            for attempt in range(2):
                connections.close_all()
                try:
                    cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
                    return
                except psycopg2.errors.ObjectInUse:
                    if attempt:
                        raise
                    end_other_sessions(django_db_blocker)  # a worker or server left by another fixture
    finally:
        admin.close()


@pytest.fixture(scope="module")
def bouncer(django_db_setup: None, django_db_blocker: Any) -> Iterator[Bouncer]:
    binary = ensure_pgbouncer()
    server = _server_params()
    source = connections["default"].settings_dict["NAME"]
    target = f"{source}_pooled"
    _copy_test_database(server, source, target, django_db_blocker)
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # PgBouncer refuses to run as root: it runs as nobody (-u) and reads these
    port = _free_port()
    target_params = f"host={server['host']} port={server['port']} dbname={target} user={server['user']}"
    if "password" in server:
        target_params += f" password={server['password']}"
    (folder / "userlist.txt").write_text(f'"{server["user"]}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"pooled1 = {target_params} pool_size=1\n"
        f"pooled = {target_params} pool_size=4\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        "max_client_conn = 200\n"
        "server_round_robin = 0\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        "query_wait_timeout = 20\n"
    )
    for name in ("userlist.txt", "pgbouncer.ini"):
        (folder / name).chmod(0o644)
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
    log = (folder / "stderr.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"pgbouncer exited: {(folder / 'stderr.log').read_text()[-2000:]}")
            try:
                psycopg2.connect(host="127.0.0.1", port=port, dbname="pooled", user=server["user"]).close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Bouncer(port=port, database=target, server=server)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
        admin = psycopg2.connect(**{**server, "dbname": "postgres"})
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        finally:
            admin.close()


@contextmanager
def default_through(wrapper: Any) -> Iterator[Any]:
    """The app's default connection, in this thread, is `wrapper` for the block."""
    original = connections["default"]
    connections["default"] = wrapper
    try:
        yield wrapper
    finally:
        connections["default"] = original
        wrapper.close()


def _names(wrapper: Any, schema: str) -> list[str]:
    """The department names `wrapper` reads after switching to `schema` (an unqualified table:
    the search_path decides whose rows)."""
    wrapper.set_schema(schema)
    return _read(wrapper)


def _read(wrapper: Any) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {Department._meta.db_table} ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def _set_on_the_server(wrapper: Any, schema: str) -> None:
    """Another client's session-level SET, left on whichever server connection it got."""
    with wrapper.cursor() as cursor:
        cursor.execute(f'SET search_path = "{schema}", public')


@pytest.fixture
def truth(world: Any) -> dict[str, list[str]]:
    """Each enterprise's department names, read directly (no pooler)."""
    found = {}
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            found[enterprise.schema_name] = list(Department.objects.order_by("id").values_list("name", flat=True))
    assert found["acme"] != found["globex"]
    return found


# --- the leak, and the safe backend ----------------------------------------------------------------


def test_the_unsafe_configuration_lets_one_enterprise_read_anothers_rows(bouncer, truth):
    """Reproduction (issue 18 §4): django-tenants' backend, TENANT_LIMIT_SET_CALLS on, PgBouncer
    in transaction mode, one server connection. Client A reads acme; client B reads globex; A
    reads again — no SET this time (the schema did not change for A) — and gets globex's rows."""
    a, b = bouncer.wrapper("pooled1", safe=False, alias="a"), bouncer.wrapper("pooled1", safe=False, alias="b")
    try:
        assert _names(a, "acme") == truth["acme"]
        assert _names(b, "globex") == truth["globex"]
        assert _read(a) == truth["globex"]  # A, in acme, served globex's departments
    finally:
        a.close()
        b.close()


def test_the_safe_backend_reads_its_own_enterprise_whatever_the_server_connection_holds(bouncer, truth):
    a, b = bouncer.wrapper("pooled1", alias="a"), bouncer.wrapper("pooled1", safe=False, alias="b")
    try:
        assert _names(a, "acme") == truth["acme"]
        assert _names(b, "globex") == truth["globex"]
        assert _read(a) == truth["acme"]
        _set_on_the_server(b, "globex")
        assert _read(a) == truth["acme"]  # autocommit: each statement carries its SET LOCAL
        # nothing of A's stays on the server connection: B finds there what B left
        _set_on_the_server(b, "public")
        assert _names(a, "globex") == truth["globex"]
        with b.cursor() as cursor:
            cursor.execute("SHOW search_path")
            assert cursor.fetchone()[0] == "public, public"
    finally:
        a.close()
        b.close()


def test_the_safe_backend_sets_the_path_in_every_transaction_and_after_a_switch_or_savepoint_rollback(bouncer, truth):
    a, b = bouncer.wrapper("pooled1", alias="a"), bouncer.wrapper("pooled1", safe=False, alias="b")
    try:
        a.set_schema("acme")
        a.set_autocommit(False)
        assert _read(a) == truth["acme"]
        a.set_schema("globex")  # a switch inside the transaction
        assert _read(a) == truth["globex"]
        a.set_schema("acme")
        assert _read(a) == truth["acme"]
        sid = a.savepoint()
        a.set_schema("globex")
        assert _read(a) == truth["globex"]
        a.savepoint_rollback(sid)  # undoes the SET LOCAL issued after the savepoint
        a.set_schema("acme")
        assert _read(a) == truth["acme"]
        a.commit()
        _set_on_the_server(b, "globex")  # between A's transactions, on the one server connection
        assert _read(a) == truth["acme"]  # the next transaction sets it again
        a.rollback()
        a.set_autocommit(True)
    finally:
        a.close()
        b.close()


def test_the_start_up_check_refuses_the_unsafe_configuration():
    conf = {"ENGINE": UNSAFE_ENGINE, "POOL_MODE": "transaction", "DISABLE_SERVER_SIDE_CURSORS": True}
    assert [error.id for error in pool_configuration_errors({"default": conf})] == ["tenants.E102"]
    conf = {"ENGINE": SAFE_ENGINE, "POOL_MODE": "transaction"}
    assert [error.id for error in pool_configuration_errors({"default": conf})] == ["tenants.E103"]
    conf = {"ENGINE": SAFE_ENGINE, "POOL_MODE": "statement"}
    assert [error.id for error in pool_configuration_errors({"default": conf})] == ["tenants.E101"]
    conf = {"ENGINE": SAFE_ENGINE, "POOL_MODE": "transaction", "DISABLE_SERVER_SIDE_CURSORS": True}
    assert pool_configuration_errors({"default": conf}) == []
    assert pool_configuration_errors({"default": {"ENGINE": UNSAFE_ENGINE}}) == []  # no pooler: as before
    assert pool_configuration_errors() == []  # this suite's own configuration

    unsafe = {**connections["default"].settings_dict, "ENGINE": UNSAFE_ENGINE, "POOL_MODE": "transaction"}
    import tenants

    with pytest.raises(ImproperlyConfigured, match="search_path"):
        TenantsConfig("tenants", tenants)._refuse_unsafe_pooling({"default": unsafe})
    TenantsConfig("tenants", tenants)._refuse_unsafe_pooling()  # this suite's own: starts


def test_the_environment_turns_transaction_pooling_on(monkeypatch):
    from config.env import db_config

    monkeypatch.setenv("DATABASE_POOL_MODE", "transaction")
    conf = db_config("postgres://postgres@pgbouncer:6432/portal")
    assert (conf["ENGINE"], conf["POOL_MODE"], conf["DISABLE_SERVER_SIDE_CURSORS"]) == (
        SAFE_ENGINE,
        "transaction",
        True,
    )
    assert pool_configuration_errors({"default": conf}) == []
    monkeypatch.delenv("DATABASE_POOL_MODE")
    conf = db_config("postgres://postgres@postgres:5432/portal")
    assert (conf["POOL_MODE"], conf["DISABLE_SERVER_SIDE_CURSORS"]) == ("", False)


# --- isolation through the pooler (tests/test_isolation_matrix.py, check 3) -----------------------

# A representative subset: the console's and the API's member lists and cards, the directory's
# departments, the member's own pages; ids that collide across the two enterprises (1, 2) and one
# that exists only in globex (7).
ISOLATION_ROUTES = {
    "console_members",
    "console_member",
    "console_org",
    "api_members",
    "api_member",
    "api_departments",
    "api_department",
    "me",
    "me_data",
    "api_me",
}
ISOLATION_PATHS = sorted(
    path for name, path in PATHS if name in ISOLATION_ROUTES and not path.endswith(("/999999/", "/999999"))
)


@contextmanager
def another_client_between_our_transactions(ours: Any, other: Any, schema: str) -> Iterator[None]:
    """Before every statement of `ours` that would start a new transaction on the pool, `other`
    sets `schema`'s search_path on the server connection (one server: the one `ours` gets next)."""

    def interleave(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raw = ours.connection
        if raw is not None and raw.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            _set_on_the_server(other, schema)
        return execute(sql, params, many, context)

    with ours.execute_wrapper(interleave):
        yield


Answers = dict[str, tuple[int, list[bytes]]]


def _answer(client: Any, path: str) -> tuple[int, list[bytes]]:
    """The status of GET `path`, and the globex markers its body contains."""
    response = client.get(path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, [marker for marker in GLOBEX_MARKERS if marker in body]


@pytest.fixture
def served_directly(world: Any, client_for: Any) -> Answers:
    """The same requests without the pooler: what acme's owner must get."""
    client = client_for("acme", world.alice)
    answers = {path: _answer(client, path) for path in ISOLATION_PATHS}
    assert all(leaked == [] for _status, leaked in answers.values())
    assert sum(status == 200 for status, _leaked in answers.values()) >= 10
    return answers


def _served_through(bouncer: Bouncer, client_for: Any, world: Any, *, safe: bool) -> Answers:
    """Request ISOLATION_PATHS as acme's owner through the pooler while another client sets globex's
    search_path between our transactions."""
    other = bouncer.wrapper("pooled1", safe=False, alias="other")
    answers: Answers = {}
    try:
        with default_through(bouncer.wrapper("pooled1", safe=safe)) as ours:
            client = client_for("acme", world.alice)
            with another_client_between_our_transactions(ours, other, "globex"):
                for path in ISOLATION_PATHS:
                    answers[path] = _answer(client, path)
    finally:
        other.close()
        connection.set_schema_to_public()
    return answers


def test_the_isolation_subset_covers_its_routes():
    assert {name for name, _path in PATHS if name in ISOLATION_ROUTES} == ISOLATION_ROUTES
    assert len(ISOLATION_PATHS) >= 15


def test_the_owner_never_gets_the_other_enterprises_data_through_the_pooler(
    bouncer, world, client_for, served_directly
):
    """Every answer as without the pooler (statuses, and no globex marker in any body)."""
    assert _served_through(bouncer, client_for, world, safe=True) == served_directly


def test_the_same_requests_go_to_the_other_enterprise_with_the_unsafe_configuration(
    bouncer, world, client_for, served_directly
):
    """The check above can fail: with django-tenants' backend as it was, acme's requests run in
    globex's schema — the owner's membership is looked up among globex's members and refused."""
    through = _served_through(bouncer, client_for, world, safe=False)
    wrong = {path for path, answer in through.items() if answer != served_directly[path]}
    assert len(wrong) >= 10, through


# --- locks through the pooler ----------------------------------------------------------------------

PROBE_KEY = (0x7E57, 18)  # a lock of this test's own


def test_a_session_level_unlock_reaches_another_server_connection_and_the_lock_leaks(bouncer, db):
    """Why the session-level locks were replaced: A locks on server 1; while another client's
    transaction holds server 1, A's unlock runs on server 2, releases nothing, and the lock stays
    with server 1 for whoever gets it next."""
    a, other = bouncer.wrapper("pooled", alias="a"), bouncer.wrapper("pooled", alias="other")
    direct = bouncer.direct()
    try:
        with a.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s), pg_backend_pid()", PROBE_KEY)
            taken, server = cursor.fetchone()
        assert taken
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] == server  # the idle server connection A used (LIFO)
        with a.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s), pg_backend_pid()", PROBE_KEY)
            released, elsewhere = cursor.fetchone()
        assert (released, elsewhere != server) == (False, True)
        other.rollback()
        with direct.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %s AND granted", [server]
            )
            assert cursor.fetchone()[0] == 1  # still held by a server connection nobody owns
    finally:
        a.close()
        other.close()
        with direct.cursor() as cursor:  # end the server connection that holds it
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = %s AND objid = %s",
                PROBE_KEY,
            )
        direct.close()


def test_the_run_locks_make_a_second_run_skip_through_the_pooler(bouncer, world):
    with default_through(bouncer.wrapper("pooled")):
        with exclusive_run(PURGE_LOCK_CLASS, "acme") as held:
            assert held
            assert purge_run(enterprise=world.acme).status == "skipped"
            with exclusive_run(PURGE_LOCK_CLASS, "acme") as again:
                assert not again
        with exclusive_run(ERASURE_LOCK_CLASS, "acme") as held:
            assert held
            assert erasure_plans_run_due(enterprise=world.acme) == []
        with exclusive_run(*LOCK_KEY) as held:
            assert held
            assert account_deletions_execute_due() == []
        # released with the holder's transaction: the purge now runs, to the end
        outcome = purge_run(enterprise=world.acme)
        assert outcome.status == "done"
        with enterprise_schema(world.acme):
            run = PurgeRun.objects.get(pk=outcome.run_id)
            assert run.status == PurgeRun.Status.DONE
        assert PurgeReceipt.objects.filter(enterprise=world.acme, run_id=outcome.run_id).count() == len(outcome.rows)
        connection.set_schema_to_public()
