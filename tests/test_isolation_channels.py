"""The non-HTTP rows of the isolation matrix (SEC-1, TEN-5): what one enterprise puts into the
cache, the file storage, a Celery task, an object permission or a session is never readable from
another. tests/test_isolation_matrix.py covers every HTTP route; this module covers the channels
behind them, with the real Redis, file system, Celery worker and database.

What each channel is used for today (docs/security.md, "Isolation beyond HTTP"):

- Cache: Redis (`CACHES`), every key made by `django_tenants.cache.make_key`, which puts the
  current schema first. No portal code caches enterprise data yet (sessions, sign-in counters and
  two-factor state live in the database); these tests pin the key function so that any future
  use is isolated. The in-process caches are keyed by schema or hold public data
  (`core.encryption._derive_enterprise_key(schema, …)`, the holiday calendar).
- Files: `TenantFileSystemStorage` stores under MEDIA_ROOT/<schema>/: member photos
  (`members/photos/`) and data exports (`exports/`) in the enterprise's folder, account avatars in
  `public/avatars/`. File names are always generated (uuid / random hex), never taken from an
  upload; clock-in photos, ID documents and biometric templates are encrypted in the database,
  not files. Nothing under MEDIA_URL is served: files go out only through views that check access.
  A terminated enterprise's folder is deleted with its schema (tests/tenants/test_termination.py).
- Celery: tenant-schemas-celery's `_schema_name` header; per-enterprise tasks take ids and
  re-fetch them in that schema.
- Object permissions: django-guardian grants administrator scopes on Department rows
  (core.scopes); `guardian` is a tenant app, so each enterprise has its own tables.
- Sessions: database sessions in public, bound to the schema of the host that issued them
  (tenants.middleware.HostBoundSessionMiddleware)."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import get_perms

from core.models import Department, Membership
from core.scopes import admin_scope_for
from core.services import department_root
from core.tasks import enterprise_refresh_member_count
from directory.org import scope_grant
from requests.models import Export
from requests.tasks import export_build
from tenants.categories import Category
from tenants.context import enterprise_schema
from tests.conftest import PASSWORD
from tests.consent.test_withdrawal_worker import committed
from tests.tenants.test_tasks import celery_worker  # noqa: F401  (the module's real worker)

PNG_ACME = b"\x89PNG\r\n\x1a\n" + b"acme-photo" * 8
PNG_GLOBEX = b"\x89PNG\r\n\x1a\n" + b"globex-photo" * 8


# --- (a) cache keys --------------------------------------------------------------------------------


def redis_keys(pattern: str) -> set[str]:
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        return {key.decode() for key in client.scan_iter(match=pattern)}
    finally:
        client.close()


@pytest.fixture
def cache_key() -> Iterator[str]:
    key = f"isolation-{uuid.uuid4().hex}"
    yield key
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        for stored in client.scan_iter(match=f"*{key}*"):
            client.delete(stored)
    finally:
        client.close()


def test_the_cache_key_function_puts_the_schema_first():
    assert settings.CACHES["default"]["KEY_FUNCTION"] == "django_tenants.cache.make_key"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_a_cache_entry_of_one_enterprise_is_not_readable_in_another(world, cache_key):
    with enterprise_schema(world.acme):
        cache.set(cache_key, "acme's secret", 60)
        assert cache.get(cache_key) == "acme's secret"
    with enterprise_schema(world.globex):
        assert cache.get(cache_key) is None
        assert cache.get_many([cache_key]) == {}
        assert not cache.has_key(cache_key)
        assert cache.add(cache_key, "globex's own", 60)  # the key is free here
        assert cache.get(cache_key) == "globex's own"
        cache.delete(cache_key)  # deleting globex's entry leaves acme's alone
    connection.set_schema_to_public()
    assert cache.get(cache_key) is None
    with enterprise_schema(world.acme):
        assert cache.get(cache_key) == "acme's secret"

    # in Redis itself: acme's entry only (globex's was deleted), named with the schema first
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert redis_keys(f"*{cache_key}") == {f"acme:{prefix}:1:{cache_key}"}


def test_a_key_spelling_another_enterprises_entry_stays_in_its_own_schema(world, cache_key):
    with enterprise_schema(world.globex):
        cache.set(cache_key, "globex's secret", 60)
        globex_key = cache.make_key(cache_key)
    assert globex_key.startswith("globex:")
    with enterprise_schema(world.acme):
        assert cache.get(globex_key) is None  # acme:…:globex:…, a different entry
        assert cache.make_key(globex_key).startswith("acme:")
        assert cache.get(cache_key) is None
        cache.set(globex_key, "acme's overwrite", 60)  # cannot overwrite globex's entry either
    with enterprise_schema(world.globex):
        assert cache.get(cache_key) == "globex's secret"


# --- (b) uploaded files ----------------------------------------------------------------------------


def folder(enterprise) -> Path:  # type: ignore[no-untyped-def]
    """The enterprise's media folder, as the storage computes it in that schema."""
    if enterprise is None:
        connection.set_schema_to_public()
        return Path(default_storage.location)
    with enterprise_schema(enterprise):
        return Path(default_storage.location)


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file()} if path.exists() else set()


@pytest.fixture
def media_cleanup(world) -> Iterator[list[tuple[object, str]]]:
    """(enterprise or None, name) of files a test stored; deleted afterwards."""
    stored: list[tuple[object, str]] = []
    yield stored
    for enterprise, name in stored:
        root = folder(enterprise)
        path = root / name
        path.unlink(missing_ok=True)
        for parent in path.parents:  # and the folders the test made, if left empty
            if parent == root or root not in parent.parents or any(parent.iterdir()):
                break
            parent.rmdir()
    connection.set_schema_to_public()


def test_each_enterprise_has_its_own_media_folder(world, media_cleanup):
    acme, globex, public = folder(world.acme), folder(world.globex), folder(None)
    assert (acme.name, globex.name, public.name) == ("acme", "globex", "public")
    assert acme.parent == globex.parent == public.parent
    name = f"isolation/{uuid.uuid4().hex}.txt"
    with enterprise_schema(world.acme):
        saved = default_storage.save(name, ContentFile(b"acme's file"))
        media_cleanup.append((world.acme, saved))
        assert default_storage.exists(saved)
    assert (acme / saved).read_bytes() == b"acme's file"
    for enterprise in (world.globex, None):
        if enterprise is None:
            connection.set_schema_to_public()
            assert not default_storage.exists(saved)
            continue
        with enterprise_schema(enterprise):
            assert not default_storage.exists(saved)
            with pytest.raises(FileNotFoundError):
                default_storage.open(saved)


TRAVERSALS = [
    "../globex/members/photos/x.png",
    "../../etc/passwd",
    "members/../../globex/x.png",
    "/etc/passwd",
    "{root}/globex/x.png",  # an absolute path into another enterprise's folder
    "{acme}/../globex/x.png",
]
ENCODED = [  # percent-encoded or Windows-style: refused, or a plain name inside acme's folder
    "%2e%2e/globex/x.png",
    "..%2fglobex%2fx.png",
    "..\\globex\\x.png",
    "members\\..\\..\\globex\\x.png",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_the_storage_refuses_names_outside_the_enterprise_folder(world, name):
    name = name.format(root=folder(world.acme).parent, acme=folder(world.acme))
    before = files_under(folder(world.globex))
    with enterprise_schema(world.acme):
        with pytest.raises(SuspiciousFileOperation):
            default_storage.path(name)
        with pytest.raises(SuspiciousFileOperation):
            default_storage.save(name, ContentFile(b"escape"))
        with pytest.raises(SuspiciousFileOperation):
            default_storage.open(name)
    assert files_under(folder(world.globex)) == before


@pytest.mark.parametrize("name", ENCODED)
def test_encoded_traversals_are_refused_or_stay_inside_the_folder(world, name, media_cleanup):
    before = files_under(folder(world.globex))
    with enterprise_schema(world.acme):
        try:
            saved = default_storage.save(name, ContentFile(b"literal"))
        except SuspiciousFileOperation:
            return
        media_cleanup.append((world.acme, saved))
        path = Path(default_storage.path(saved)).resolve()
    assert folder(world.acme).resolve() in path.parents
    assert files_under(folder(world.globex)) == before


@pytest.mark.parametrize(
    "upload_name",
    [
        "../../globex/members/photos/evil.png",
        "/etc/evil.png",
        "..%2f..%2fglobex%2fevil.png",
        "..\\..\\evil.png",
    ],
)
def test_an_uploaded_photo_name_never_chooses_where_it_is_stored(world, client_for, media_cleanup, upload_name):
    bob = world.membership(world.acme, world.bob)
    globex_before = files_under(folder(world.globex))
    response = client_for("acme", world.alice).post(
        f"/console/members/{bob.pk}/edit/",
        {"display_name": "Bob Member", "photo": SimpleUploadedFile(upload_name, PNG_ACME, "image/png")},
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        bob.refresh_from_db()
        media_cleanup.append((world.acme, bob.photo.name))
        assert re.fullmatch(r"members/photos/[0-9a-f]{32}\.png", bob.photo.name)
        assert Path(bob.photo.path).read_bytes() == PNG_ACME
        assert Path(bob.photo.path).parent == folder(world.acme) / "members" / "photos"
    assert files_under(folder(world.globex)) == globex_before


def test_an_uploaded_avatar_name_never_chooses_where_it_is_stored(world, client_for, media_cleanup):
    client = client_for("public", world.oscar)
    response = client.post(
        "/account/profile/",
        {"nickname": "Oscar Outsider", "avatar": SimpleUploadedFile("../acme/members/photos/x.png", PNG_ACME)},
    )
    assert response.status_code == 302
    world.oscar.refresh_from_db()
    media_cleanup.append((None, world.oscar.avatar.name))
    assert re.fullmatch(r"avatars/[0-9a-f]{32}\.png", world.oscar.avatar.name)
    assert (folder(None) / world.oscar.avatar.name).read_bytes() == PNG_ACME


def test_a_photo_is_served_only_by_its_own_enterprise_even_with_colliding_ids(world, client_for, media_cleanup):
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.globex):
        twin = Membership.objects.get(pk=bob.pk)  # globex's member with bob's id
    assert twin.account_id != world.bob.pk
    acme_admin, globex_admin = client_for("acme", world.alice), client_for("globex", world.gina)
    assert globex_admin.get(f"/console/members/{bob.pk}/photo/").status_code == 404  # twin has none
    for client, member, content in ((acme_admin, bob, PNG_ACME), (globex_admin, twin, PNG_GLOBEX)):
        response = client.post(
            f"/console/members/{member.pk}/edit/",
            {"display_name": member.display_name, "photo": SimpleUploadedFile("p.png", content, "image/png")},
        )
        assert response.status_code == 302
    for enterprise, member in ((world.acme, bob), (world.globex, twin)):
        with enterprise_schema(enterprise):
            member.refresh_from_db()
            media_cleanup.append((enterprise, member.photo.name))
    assert b"".join(acme_admin.get(f"/console/members/{bob.pk}/photo/").streaming_content) == PNG_ACME
    assert b"".join(globex_admin.get(f"/console/members/{bob.pk}/photo/").streaming_content) == PNG_GLOBEX
    # acme's file name, asked for on globex's host, is no route at all
    for host in ("acme.localhost", "globex.localhost", "localhost"):
        for path in (f"/media/acme/{bob.photo.name}", f"/media/{bob.photo.name}", f"/acme/{bob.photo.name}"):
            response = Client(HTTP_HOST=host).get(path)
            assert response.status_code == 404, (host, path)
        response = client_for(host.split(".")[0] if host != "localhost" else "public").get(
            f"/media/acme/{bob.photo.name}"
        )
        assert response.status_code == 404


@pytest.mark.parametrize("token", ["..%2F..%2Facme%2Fexports%2Fx.zip", "%2e%2e", "..", "x" * 43 + "%00"])
def test_traversal_in_a_download_token_is_not_found(world, client_for, token):
    client = client_for("acme", world.bob)
    # a control character in the path is refused before any view (tenants.input, SEC-3)
    expected = 400 if "%00" in token else 404
    assert client.get(f"/me/export/1/download/{token}/").status_code == expected


# --- (c) Celery tasks --------------------------------------------------------------------------------


def worker_folder(enterprise) -> Path:  # type: ignore[no-untyped-def]
    """The enterprise's media folder in the worker process (MEDIA_ROOT from the environment: this
    process's default storage may still hold the temporary root of an earlier test)."""
    return Path(settings.MEDIA_ROOT) / enterprise.schema_name


SHARED_EXPORT_ID = 880_001  # an Export id that exists in both acme and globex for this test
GLOBEX_EXPORT_ID = 880_002  # one that exists only in globex


@pytest.mark.celery_worker
def test_a_task_sent_from_an_enterprise_runs_in_that_enterprises_schema(world, celery_worker):  # noqa: F811
    results = {}
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):  # .delay() takes the schema of the sending connection
            results[enterprise.slug] = enterprise_refresh_member_count.delay()
    assert results["acme"].get(timeout=90)["schema"] == "acme"
    assert results["globex"].get(timeout=90)["schema"] == "globex"


@pytest.mark.celery_worker
def test_a_task_for_acme_reads_acme_rows_only(world, celery_worker):  # noqa: F811
    """export_build for acme with an id that also exists in globex builds acme's export; with an
    id that exists only in globex it finds nothing. globex's rows are never touched."""
    acme, globex = world.acme, world.globex
    bob, gus = world.membership(acme, world.bob), world.membership(globex, world.gus)

    def setup() -> None:
        expires = timezone.now() + timedelta(hours=1)
        for enterprise, member, ids in (
            (acme, bob, [SHARED_EXPORT_ID]),
            (globex, gus, [SHARED_EXPORT_ID, GLOBEX_EXPORT_ID]),
        ):
            with enterprise_schema(enterprise):
                for pk in ids:
                    Export.objects.create(
                        pk=pk, membership=member, language="en", token_hash="0" * 64, expires_at=expires
                    )

    def rows(enterprise) -> dict[int, tuple[str, int, str]]:  # type: ignore[no-untyped-def]
        with enterprise_schema(enterprise):
            return {
                e.pk: (e.state, e.progress, e.file_path)
                for e in Export.objects.filter(pk__in=[SHARED_EXPORT_ID, GLOBEX_EXPORT_ID])
            }

    committed(setup)
    try:
        built = export_build.apply_async(kwargs={"export_id": SHARED_EXPORT_ID}, headers={"_schema_name": "acme"})
        assert built.get(timeout=120) == {"schema": "acme", "export_id": SHARED_EXPORT_ID, "state": "done"}
        missing = export_build.apply_async(kwargs={"export_id": GLOBEX_EXPORT_ID}, headers={"_schema_name": "acme"})
        assert missing.get(timeout=60) == {"schema": "acme", "export_id": GLOBEX_EXPORT_ID, "state": "missing"}

        acme_rows = committed(lambda: rows(acme))
        state, progress, path = acme_rows[SHARED_EXPORT_ID]
        assert (state, progress, set(acme_rows)) == ("done", 100, {SHARED_EXPORT_ID})
        archive = (worker_folder(acme) / path).read_bytes()
        data = zipfile.ZipFile(io.BytesIO(archive)).read("data.json").decode()
        assert "Bob Member" in data and "Gus Member" not in data and "Globex" not in data
        assert committed(lambda: rows(globex)) == {
            SHARED_EXPORT_ID: ("queued", 0, ""),
            GLOBEX_EXPORT_ID: ("queued", 0, ""),
        }
    finally:

        def cleanup() -> None:
            for enterprise in (acme, globex):
                with enterprise_schema(enterprise):
                    for export in Export.objects.filter(pk__in=[SHARED_EXPORT_ID, GLOBEX_EXPORT_ID]):
                        if export.file_path:
                            (worker_folder(enterprise) / export.file_path).unlink(missing_ok=True)
                        export.delete()

        committed(cleanup)


def test_a_task_without_an_enterprise_refuses_to_run_in_public(world):
    connection.set_schema_to_public()
    from tenants.tasks import PublicSchemaRefused

    with pytest.raises(PublicSchemaRefused):
        export_build.apply(kwargs={"export_id": SHARED_EXPORT_ID}).get()


# --- (d) object permissions (django-guardian) with colliding primary keys ------------------------------


def _department_with_pk(enterprise, pk: int) -> Department:  # type: ignore[no-untyped-def]
    """The enterprise's department with this id (made if missing: ids collide across schemas)."""
    root = department_root(enterprise=enterprise)
    with enterprise_schema(enterprise):
        found = Department.objects.filter(pk=pk).first()
        if found is None:
            found = Department.objects.create(pk=pk, name="Colliding id", parent=root, path=f"{root.path}{pk}/")
        return found


def test_a_scope_granted_on_one_enterprises_department_gives_nothing_on_the_same_id_elsewhere(world, client_for):
    """Dana belongs to both. In globex she is given health and directory over the department whose
    id is acme's root department: were the grant visible in acme, she would see every acme member.
    In acme she is a scoped admin of Engineering for attendance only."""
    acme, globex, dana = world.acme, world.globex, world.dana
    acme_root = department_root(enterprise=acme)
    twin = _department_with_pk(globex, acme_root.pk)
    scope_grant(
        enterprise=globex,
        actor=None,
        admin=world.membership(globex, dana),
        department=twin,
        categories=[Category.HEALTH, Category.DIRECTORY],
    )
    scope_grant(
        enterprise=acme,
        actor=None,
        admin=world.membership(acme, dana),
        department=world.engineering,
        categories=[Category.ATTENDANCE],
    )

    with enterprise_schema(globex):
        assert sorted(get_perms(dana, twin)) == ["scope_directory", "scope_health"]
        assert admin_scope_for(world.membership(globex, dana)).categories == {"directory", "health"}
    with enterprise_schema(acme):
        assert get_perms(dana, Department.objects.get(pk=acme_root.pk)) == []
        assert not dana.has_perm("enterprise_data.scope_health", Department.objects.get(pk=acme_root.pk))
        scope = admin_scope_for(world.membership(acme, dana))
        assert scope.categories == {"attendance"} and scope.whole == frozenset()
        assert UserObjectPermission.objects.filter(user=dana, object_pk=str(acme_root.pk)).count() == 0
    connection.set_schema_to_public()
    assert UserObjectPermission.objects.filter(user=dana).count() == 0  # the public copy stays empty

    on_acme = client_for("acme", dana)
    bob = world.membership(acme, world.bob)
    for path in ("/api/v1/members/", "/api/v1/health/reports/", f"/api/v1/members/{bob.pk}/"):
        response = on_acme.get(path)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert b"Bob Member" not in response.content and b"Erin Engineer" not in response.content
    assert client_for("globex", dana).get("/api/v1/members/").status_code == 200


# --- (e) sessions replayed across hosts ------------------------------------------------------------------


def _signed_in_through_the_form(host: str, user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(HTTP_HOST=host)
    response = client.post("/login/", {"username": str(user.mobile), "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


@pytest.mark.parametrize(
    ("issuer", "user_name"),
    [
        ("acme.localhost", "bob"),
        ("acme.localhost", "dana"),
        ("localhost", "dana"),
        ("globex.localhost", "gus"),
    ],
)
def test_a_session_from_the_sign_in_form_is_nobodys_on_another_host(world, issuer, user_name):
    """The real sign-in (not the tests' force_login) binds the session to its host: the cookie
    replayed on any other host — another enterprise, the public host, or the way back — is an
    anonymous request there, also for Dana, who is a member of both enterprises."""
    user = getattr(world, user_name)
    client = _signed_in_through_the_form(issuer, user)
    own_page = "/account/" if issuer == "localhost" else "/me/"
    assert client.get(own_page).status_code == 200
    cookie = client.cookies["sessionid"].value
    for host in {"acme.localhost", "globex.localhost", "localhost"} - {issuer}:
        replay = Client(HTTP_HOST=host)
        replay.cookies["sessionid"] = cookie
        for path in ("/account/",) if host == "localhost" else ("/me/", "/api/v1/me/", "/console/"):
            response = replay.get(path)
            assert response.status_code in (302, 403), (host, path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/login/"), (host, path)
            assert user.nickname.encode() not in response.content
    assert client.get(own_page).status_code == 200  # the original session still works
