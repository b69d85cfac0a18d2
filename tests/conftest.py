"""Shared test world, built once per session through the real services (STYLE §8, §9).

Two active enterprises with colliding primary keys (acme, globex) and a suspended one
(initech). Personas:

acme (departments: Acme Test ⊃ Sales ⊃ Sales East, Acme Test ⊃ Engineering)
  Alice   owner
  Amy     full admin (directory, attendance, ledger, retention; no health/biometrics)
  Sam     scoped admin of Sales (subtree) for directory + health + attendance
  Bob     member, in Sales East (inside Sam's scope)
  Erin    member, in Engineering (outside Sam's scope)
  Dana    member of acme (no department) and of globex
globex
  Gina    owner;  Greg  full admin;  Gus, Gail, Gary, Gwen  members (one id more than acme)
Oscar     a member of nothing
Olga      platform operator
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from tenant_schemas_celery.task import _shared_storage as tenant_cache_storage

from accounts.models import User
from consent.models import Notification
from consent.notices.services import NOTICE_KIND, notice_publish_default
from core.models import Department, Membership
from core.services import CreatorDetails, enterprise_create, membership_create
from demo.seed import consent_everything
from directory.org import department_create, scope_grant
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.middleware import SESSION_SCHEMA_KEY
from tenants.models import Enterprise
from tenants.services import enterprise_suspend, public_tenant_ensure, template_schema_sync

PASSWORD = "correct-horse-battery-9"


# --- the test clock (docs/architecture.md "Time and the local day") -----------------------------
# PORTAL_TEST_CLOCK=2026-12-31T23:30:00+08:00 runs the session at that instant: the clock of this
# process (time-machine, ticking) starts an hour before it, when the shared world is built, and
# every test starts exactly at that instant (what the world wrote is older, as it would be), whatever
# the real time is. Processes the tests start (Celery workers, web servers, Chromium) and PostgreSQL's now()
# keep the real clock. Unset (the default), nothing is moved.
CLOCK_ENV = "PORTAL_TEST_CLOCK"
WORLD_BUILT_BEFORE = timedelta(hours=1)
_clock: datetime | None = None
_session_travel: time_machine.travel | None = None


def clock_instant() -> datetime | None:
    """The instant of PORTAL_TEST_CLOCK (an ISO 8601 time with its UTC offset), or None."""
    value = os.environ.get(CLOCK_ENV, "").strip()
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as error:
        raise pytest.UsageError(f"{CLOCK_ENV}={value!r} is not an ISO 8601 time: {error}") from None
    if instant.tzinfo is None:
        raise pytest.UsageError(f"{CLOCK_ENV}={value!r} has no UTC offset (write e.g. 2026-12-31T23:30:00+08:00)")
    return instant


# --- Citus (issue 18 §5; docs/scaling.md "Citus") ----------------------------------------------
# The tests marked `citus` (these modules, and tests/citus/) are the tenancy, provisioning, purge,
# ledger, isolation and migration tests. With CITUS_DATABASE_URL set, config/settings/test.py points
# the session at that Citus coordinator database; `-m citus` runs just them there:
#   CITUS_DATABASE_URL=postgres://postgres@127.0.0.1:5440/portal_citus scripts/launcher.py test -m citus
# The database is dropped and made anew on every node first (scripts/citus_cluster.py; workers on the
# ports after the coordinator's, CITUS_WORKERS of them, default 2). Without it tests/citus/ is skipped
# and the other modules run on plain PostgreSQL as always.
CITUS_URL_ENV = "CITUS_DATABASE_URL"
CITUS_MODULES = (
    "tests/tenants/test_provisioning.py",
    "tests/tenants/test_pool.py",
    "tests/tenants/test_isolation.py",
    "tests/tenants/test_migrate_fleet.py",
    "tests/retention/test_purge.py",
    "tests/retention/test_clock_event_links.py",
    "tests/ledger/",
    "tests/test_isolation_matrix.py",
    "tests/test_citus_static.py",
    "tests/citus/",
)


def citus_url() -> str:
    return os.environ.get(CITUS_URL_ENV, "").strip()


def _citus_database_recreate(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    script = Path(__file__).resolve().parent.parent / "scripts" / "citus_cluster.py"
    name = parts.path.lstrip("/")
    common = ["--port", str(parts.port or 5432), "--workers", os.environ.get("CITUS_WORKERS", "2")]
    for command in ("dropdb", "createdb"):
        subprocess.run([sys.executable, str(script), command, name, *common], check=True, capture_output=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    skip = pytest.mark.skip(reason=f"{CITUS_URL_ENV} is not set (a Citus coordinator: docs/scaling.md)")
    for item in items:
        relative = (
            Path(str(item.path)).relative_to(root).as_posix() if Path(str(item.path)).is_relative_to(root) else ""
        )
        if relative.startswith(CITUS_MODULES):
            item.add_marker(pytest.mark.citus)
        figures = relative.endswith("test_scale_figures.py") and os.environ.get("CITUS_FIGURES") == "1"
        if relative.startswith("tests/citus/") and not citus_url() and not figures:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    global _clock, _session_travel
    if citus_url():
        _citus_database_recreate(citus_url())
        config.option.reuse_db = True  # the database made on every node above, not one Django creates
    _clock = clock_instant()
    if _clock is not None:
        _session_travel = time_machine.travel(_clock - WORLD_BUILT_BEFORE, tick=True)
        _session_travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    global _session_travel
    if _session_travel is not None:
        _session_travel.stop()
        _session_travel = None


def pytest_report_header(config: pytest.Config) -> str | None:
    if _clock is None:
        return None
    return f"clock moved to {_clock.isoformat()} ({CLOCK_ENV}); every test starts at that instant"


@pytest.fixture(autouse=True)
def _moved_clock() -> Iterator[None]:
    if _clock is None:
        yield
        return
    with time_machine.travel(_clock, tick=True):
        # The clock went back to the instant: tenant-schemas-celery's in-process tenant cache is
        # dated by the wall clock, so what an earlier test cached would look fresh again.
        tenant_cache_storage.clear()
        yield


@pytest.fixture(autouse=True)
def _dashboard_figures_fresh(settings: Any) -> None:
    """Tests read the console home's figures anew after every change (the bench and the portal
    keep them for DASHBOARD_CACHE_SECONDS); tests/dashboard/test_dashboard_cache.py proves the
    cache with its real default."""
    settings.DASHBOARD_CACHE_SECONDS = 0
    # likewise the published policy versions /me/ reads (tests/consent/test_policy_cache.py proves that cache)
    settings.POLICY_CACHE_SECONDS = 0


@dataclass
class World:
    acme: Enterprise
    globex: Enterprise
    initech: Enterprise
    alice: User  # acme owner
    amy: User  # acme admin
    bob: User  # acme member
    gina: User  # globex owner
    gus: User  # globex member
    gail: User  # globex member
    gary: User  # globex member
    dana: User  # member of acme and globex
    oscar: User  # member of nothing
    olga: User  # platform operator
    ivan: User  # initech owner
    sam: User  # acme scoped admin of Sales (directory, health, attendance)
    erin: User  # acme member in Engineering
    greg: User  # globex full admin
    gwen: User  # globex member (the id that exists only in globex)
    sales: Department
    sales_east: Department
    engineering: Department

    def membership(self, enterprise: Enterprise, user: User) -> Membership:
        with enterprise_schema(enterprise):
            return Membership.objects.get(account=user)


def _account(mobile: str, nickname: str, **extra: object) -> User:
    return User.objects.create_user(mobile, PASSWORD, nickname=nickname, **extra)


def _build_world() -> World:
    public_tenant_ensure()
    template_schema_sync()
    alice = _account("+8613900000001", "Alice Owner")
    gina = _account("+8613900000011", "Gina Owner")
    ivan = _account("+8613900000021", "Ivan Owner")
    acme = enterprise_create(name="Acme Test", slug="acme", owner=alice, creator=CreatorDetails(name="Alice Owner"))
    globex = enterprise_create(name="Globex Test", slug="globex", owner=gina, creator=CreatorDetails(name="Gina Owner"))
    initech = enterprise_create(name="Initech Test", slug="initech", owner=ivan)
    enterprise_suspend(enterprise=initech, reason="Unpaid invoices")
    world = World(
        acme=acme,
        globex=globex,
        initech=initech,
        alice=alice,
        gina=gina,
        ivan=ivan,
        amy=_account("+8613900000002", "Amy Admin"),
        bob=_account("+8613900000003", "Bob Member"),
        gus=_account("+8613900000012", "Gus Member"),
        gail=_account("+8613900000013", "Gail Member"),
        gary=_account("+8613900000014", "Gary Member"),
        dana=_account("+8613900000031", "Dana Dual"),
        oscar=_account("+8613900000041", "Oscar Outsider"),
        olga=_account("+8613900000051", "Olga Operator", is_staff=True, is_superuser=True),
        sam=_account("+8613900000004", "Sam Scoped"),
        erin=_account("+8613900000005", "Erin Engineer"),
        greg=_account("+8613900000015", "Greg Admin"),
        gwen=_account("+8613900000016", "Gwen Member"),
        sales=None,
        sales_east=None,
        engineering=None,  # type: ignore[arg-type]
    )
    membership_create(enterprise=acme, account=world.amy, role=Membership.Role.ADMIN)
    bob = membership_create(enterprise=acme, account=world.bob, role=Membership.Role.MEMBER)
    membership_create(enterprise=acme, account=world.dana, role=Membership.Role.MEMBER)
    sam = membership_create(enterprise=acme, account=world.sam, role=Membership.Role.MEMBER)
    erin = membership_create(enterprise=acme, account=world.erin, role=Membership.Role.MEMBER)
    world.sales = department_create(enterprise=acme, actor=None, name="Sales")
    world.sales_east = department_create(enterprise=acme, actor=None, name="Sales East", parent=world.sales)
    world.engineering = department_create(enterprise=acme, actor=None, name="Engineering")
    with enterprise_schema(acme):
        bob.departments.add(world.sales_east)
        sam.departments.add(world.sales)
        erin.departments.add(world.engineering)
    scope_grant(
        enterprise=acme,
        actor=None,
        admin=sam,
        department=world.sales,
        categories=[Category.DIRECTORY, Category.HEALTH, Category.ATTENDANCE],
    )
    membership_create(enterprise=globex, account=world.gus, role=Membership.Role.MEMBER)
    membership_create(enterprise=globex, account=world.gail, role=Membership.Role.MEMBER)
    membership_create(enterprise=globex, account=world.dana, role=Membership.Role.MEMBER)
    membership_create(enterprise=globex, account=world.gary, role=Membership.Role.MEMBER)
    membership_create(enterprise=globex, account=world.greg, role=Membership.Role.ADMIN)
    membership_create(enterprise=globex, account=world.gwen, role=Membership.Role.MEMBER)
    # CON-3/CON-4: both enterprises publish the template notice; every member acknowledged it and
    # gave every separate consent (tests of refusals withdraw one or use a fresh member).
    for enterprise in (acme, globex):
        notice_publish_default(enterprise=enterprise, actor=None, contact="privacy@example.com")
        with enterprise_schema(enterprise):
            members = list(Membership.objects.filter(account__isnull=False))
        for member in members:
            consent_everything(enterprise, member)
    connection.set_schema_to_public()
    Notification.objects.filter(kind=NOTICE_KIND).delete()  # tests start with empty inboxes
    # SEC-2: administrators and the operator have an authenticator app
    for admin in (alice, gina, ivan, world.amy, world.sam, world.greg, world.olga):
        TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    return world


_world: World | None = None
_world_fields: dict[str, dict[str, object]] = {}


def _world_snapshot(world: World) -> None:
    """Remember every world object's field values as committed."""
    for name, obj in vars(world).items():
        _world_fields[name] = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _world_restore(world: World) -> None:
    """Put back the committed field values (no query): a test's rollback undoes its writes in the
    database, not a `refresh_from_db()` it made on a shared object, which a later test would see
    (an e-mail address set by one test made another's account receive e-mail)."""
    for name, values in _world_fields.items():
        obj = getattr(world, name)
        for attname, value in values.items():
            setattr(obj, attname, value)
        obj._state.fields_cache.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Create the test database (pytest-django), then the shared world, committed once."""
    global _world
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        _world = _build_world()
        _world_snapshot(_world)
    yield


@pytest.fixture
def world(db: None) -> World:
    assert _world is not None
    _world_restore(_world)
    # A test may publish a notice, which bumps the shared Enterprise objects' notice_version in
    # memory; its transaction is rolled back, so read the committed value again.
    for enterprise in (_world.acme, _world.globex):
        enterprise.refresh_from_db(fields=["notice_version"])
    return _world


@pytest.fixture(autouse=True)
def _public_schema_after_each_test() -> Iterator[None]:
    yield
    connection.set_schema_to_public()
    # LocaleMiddleware leaves the language of a test's last request active in this thread: a test
    # that asked for a zh-Hans page must not make the next one's service messages Chinese.
    translation.deactivate()


HOSTS = {"public": "localhost", "acme": "acme.localhost", "globex": "globex.localhost", "initech": "initech.localhost"}


@pytest.fixture
def client_for(db: None) -> Callable[..., Client]:
    """`client_for("acme", user)`: a test client for that host, signed in as `user` if given.

    Signing in uses force_login plus the schema binding a real login writes (the login form
    itself is tested in tests/accounts)."""

    def make(host: str, user: User | None = None, *, two_factor: bool = True) -> Client:
        client = Client(HTTP_HOST=HOSTS.get(host, host))
        if user is not None:
            sign_in(client, user, "public" if host == "public" else host.split(".")[0], two_factor=two_factor)
        return client

    return make


def sign_in(client: Client, user: User, schema: str, *, two_factor: bool = True) -> None:
    """Signed in as `user` on `schema`'s host; with `two_factor` (the default) the session has also
    passed the second factor (SEC-2), as an administrator's would after entering a code — the
    account gets an authenticator if it has none. Tests of the two-factor flow pass False."""
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_SCHEMA_KEY] = schema
    if two_factor and _needs_two_factor(user, schema):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def _needs_two_factor(user: User, schema: str) -> bool:
    """Operators, and administrators of the enterprise whose host this is (SEC-2)."""
    if user.is_staff:
        return True
    if schema == "public":
        return False
    enterprise = Enterprise.objects.filter(schema_name=schema).first()
    if enterprise is None:
        return False
    with enterprise_schema(enterprise):
        membership = Membership.objects.filter(account=user).first()
    connection.set_schema_to_public()
    return membership is not None and membership.is_admin


def end_other_sessions(django_db_blocker: pytest.FixtureRequest) -> None:
    """End every other connection to the test database (a worker or server process started by a
    fixture), so that pytest-django can drop the database at the end."""
    import time

    with django_db_blocker.unblock(), connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        # pg_terminate_backend only signals: wait until those backends have really gone
        for _attempt in range(50):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)


# --- SEC-7: the abuse limits' counters ------------------------------------------------------------


@pytest.fixture
def fresh_throttle_counters(settings: Any) -> None:
    """Counters of this test's own for the abuse limits (the `throttle` cache under a key prefix
    of its own): what earlier tests sent from 127.0.0.1, as the same personas, does not count.
    The suite's settings raise every limit; a test of a limit sets the rate it proves."""
    throttle = settings.CACHES["throttle"]
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {**throttle, "KEY_PREFIX": f"{throttle['KEY_PREFIX']}-{uuid.uuid4().hex[:8]}"},
    }


def within_one_window(seconds: int, needed: float) -> None:
    """The limits count in fixed windows (a clock minute or hour): when fewer than `needed`
    seconds are left in the current one, wait for the next, so that a test's hits all fall in
    one window at any time of the day."""
    left = seconds - time.time() % seconds
    if left < needed:
        time.sleep(left + 0.05)
