"""Media on object storage (RUN-4, issue 18 §6; tenants.storage, docs/storage.md).

With MEDIA_STORAGE=s3 every file goes to an S3-compatible bucket under `<schema>/…`, the same
layout as MEDIA_ROOT/<schema>/… on the filesystem. These tests run against a real S3 server (moto's
server mode, started by tests/s3server.py from its own virtualenv) with the storage switched to
TenantS3Storage through the real STORAGES setting, and check the bucket's keys directly with boto3:
nothing reaches the web node's disk."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from config.settings.base import s3_media_backend
from core.models import Membership
from core.services import enterprise_create, membership_create
from requests.models import Export
from requests.tasks import export_build
from retention.services.termination import enterprise_termination_execute, enterprise_termination_start
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tenants.storage import TenantS3Storage, enterprise_files_delete
from tests.conftest import PASSWORD
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer, moto_server  # noqa: F401  (fixture)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Bucket:
    """The test's own bucket, read with boto3 directly (not through the storage under test)."""

    def __init__(self, server: MotoServer, name: str) -> None:
        self.name = name
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )
        self.client.create_bucket(Bucket=name)

    def keys(self, prefix: str = "") -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body)


@pytest.fixture
def bucket(moto_server: MotoServer, settings: Any, tmp_path: Path) -> Iterator[Bucket]:  # noqa: F811
    """A fresh bucket, and STORAGES["default"] pointed at it as MEDIA_STORAGE=s3 would
    (pytest-django's `settings` resets Django's storage handler on the change and back)."""
    created = Bucket(moto_server, f"portal-test-{uuid.uuid4().hex[:12]}")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_media_backend(
            bucket=created.name,
            endpoint_url=moto_server.endpoint_url,
            region=REGION,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
        ),
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")  # any stray write to the disk would show here
    yield created
    connection.set_schema_to_public()


def test_the_setting_selects_the_tenant_s3_storage(bucket):
    default_storage._setup()
    assert isinstance(default_storage._wrapped, TenantS3Storage)
    with pytest.raises(NotImplementedError):
        default_storage.path("anything")


def test_a_member_photo_is_stored_under_the_enterprises_prefix_and_served_through_django(
    world, client_for, bucket, tmp_path
):
    bob = world.membership(world.acme, world.bob)
    client = client_for("acme", world.alice)
    response = client.post(
        f"/console/members/{bob.pk}/edit/",
        {"display_name": "Bob Member", "photo": SimpleUploadedFile("b.png", PNG, "image/png")},
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        bob.refresh_from_db()
    name = bob.photo.name
    assert name.startswith("members/photos/")
    assert bucket.keys() == {f"acme/{name}"}  # the enterprise's prefix, nothing else
    assert bucket.read(f"acme/{name}") == PNG
    assert not (tmp_path / "media").exists()  # not on this node's disk
    photo = client.get(f"/console/members/{bob.pk}/photo/")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert b"".join(photo.streaming_content) == PNG  # streamed through Django: no bucket URL
    # the access check still stands: globex's owner asking globex's host for that id gets nothing
    assert client_for("globex", world.gina).get(f"/console/members/{bob.pk}/photo/").status_code == 404
    with enterprise_schema(world.acme):
        default_storage.delete(name)
    assert bucket.keys() == set()


def test_an_export_is_written_to_the_bucket_and_downloaded_once(world, client_for, bucket):
    """DSR-2's zip, built by the task (run eagerly, as the worker would) into acme/exports/, handed
    out once through the single-use link, then deleted from the bucket."""
    bob = client_for("acme", world.bob)
    response = bob.post(reverse("api_me_exports"))
    assert response.status_code in (201, 202), response.content
    link, pk = response.json()["download_url"], response.json()["id"]
    with enterprise_schema(world.acme):
        result = export_build.apply(kwargs={"export_id": pk})
        assert result.successful(), result.traceback
        path = Export.objects.get(pk=pk).file_path
    connection.set_schema_to_public()
    assert path.startswith("exports/") and bucket.keys() == {f"acme/{path}"}
    download = bob.get(link)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert "index.html" in archive.namelist()
    assert bucket.keys() == set()  # single use: gone from the bucket once handed out
    assert bob.get(link).status_code == 404


def test_acmes_code_cannot_read_or_write_globexs_keys(world, bucket):
    name = f"isolation/{uuid.uuid4().hex}.txt"
    with enterprise_schema(world.globex):
        saved = default_storage.save(name, ContentFile(b"globex's file"))
        assert default_storage.exists(saved)
    assert bucket.keys() == {f"globex/{saved}"}
    with enterprise_schema(world.acme):
        assert not default_storage.exists(saved)
        with pytest.raises(FileNotFoundError):
            default_storage.open(saved)
        assert default_storage.listdir("") == ([], [])
        for escape in (f"../globex/{saved}", f"/globex/{saved}", f"isolation/../../globex/{saved}"):
            with pytest.raises(SuspiciousFileOperation):
                default_storage.open(escape)
            with pytest.raises(SuspiciousFileOperation):
                default_storage.exists(escape)
            with pytest.raises(SuspiciousFileOperation):
                default_storage.save(escape, ContentFile(b"overwrite"))
            with pytest.raises(SuspiciousFileOperation):
                default_storage.delete(escape)
        default_storage.delete(saved)  # acme's own (absent) name: globex's file stays
        stored = default_storage.save(saved, ContentFile(b"acme's file"))  # the same name, acme's own key
    assert stored == saved and bucket.keys() == {f"globex/{saved}", f"acme/{saved}"}
    assert bucket.read(f"globex/{saved}") == b"globex's file"
    # the platform (public schema: account avatars and exports) sees neither
    connection.set_schema_to_public()
    assert not default_storage.exists(saved)
    with enterprise_schema(world.globex):
        assert default_storage.open(saved).read() == b"globex's file"


def test_a_storage_location_cannot_be_configured_to_another_prefix():
    with pytest.raises(SuspiciousFileOperation):
        TenantS3Storage(bucket_name="x", location="globex")


def test_termination_deletes_the_enterprises_prefix_and_no_other(world, bucket, django_capture_on_commit_callbacks):
    owner = User.objects.create_user("+8613900000092", PASSWORD, nickname="Closing Owner")
    enterprise = enterprise_create(name="Closing S3", slug="closings3", owner=owner)
    membership_create(enterprise=enterprise, account=world.dana, role=Membership.Role.MEMBER)
    connection.set_schema_to_public()
    with enterprise_schema(enterprise):
        photo = default_storage.save("members/photos/closing.png", ContentFile(PNG))
        export = default_storage.save("exports/closing.zip", ContentFile(b"zip"))
    with enterprise_schema(world.acme):
        kept = default_storage.save("termination/keep.txt", ContentFile(b"acme"))
    bucket.put("closings3x/other.txt", b"a look-alike prefix")  # `closings3` must not match it
    schema = enterprise.schema_name
    assert bucket.keys(f"{schema}/") == {f"{schema}/{photo}", f"{schema}/{export}"}
    enterprise_termination_start(enterprise=enterprise, reason="Contract ended")
    Enterprise.objects.filter(pk=enterprise.pk).update(termination_effective_at=timezone.now() - timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        enterprise_termination_execute(enterprise=enterprise)
    assert bucket.keys() == {f"acme/{kept}", "closings3x/other.txt"}


def test_the_platforms_and_the_templates_prefixes_are_never_deleted_whole(bucket):
    bucket.put("public/avatars/a.png", PNG)
    for schema in (django_settings.PUBLIC_SCHEMA_NAME, django_settings.TENANT_BASE_SCHEMA, "", "../acme", "a/b"):
        with pytest.raises(SuspiciousFileOperation):
            enterprise_files_delete(schema)
    assert bucket.keys() == {"public/avatars/a.png"}


def _settings_in_a_fresh_process(**environment: str) -> subprocess.CompletedProcess[str]:
    """The base settings read in a new interpreter with `environment` added (they are read once)."""
    code = (
        "import json; from config.settings import base; "
        "print(json.dumps({'storage': base.STORAGES['default'], 'media': base.MEDIA_STORAGE}))"
    )
    env = {**os.environ, "SECRET_KEY": "x", "PORTAL_MASTER_KEY": "unused", **environment}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True
    )


def test_media_storage_is_chosen_by_the_environment_and_the_filesystem_is_the_default():
    default = _settings_in_a_fresh_process(MEDIA_STORAGE="")
    assert json.loads(default.stdout)["storage"] == {"BACKEND": "tenants.storage.TenantFileSystemStorage"}
    s3 = _settings_in_a_fresh_process(
        MEDIA_STORAGE="s3",
        S3_BUCKET="portal-media",
        S3_ENDPOINT_URL="http://minio:9000",
        S3_ACCESS_KEY_ID="k",
        S3_SECRET_ACCESS_KEY="",
    )
    storage = json.loads(s3.stdout)["storage"]
    assert storage["BACKEND"] == "tenants.storage.TenantS3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["access_key"]) == (
        "portal-media",
        "http://minio:9000",
        "k",
    )
    assert options["secret_key"] is None and options["file_overwrite"] is False and "location" not in options
    no_bucket = _settings_in_a_fresh_process(MEDIA_STORAGE="s3", S3_BUCKET="")
    assert no_bucket.returncode != 0 and "S3_BUCKET" in no_bucket.stderr
    unknown = _settings_in_a_fresh_process(MEDIA_STORAGE="nfs")
    assert unknown.returncode != 0 and "MEDIA_STORAGE must be" in unknown.stderr


def test_the_filesystem_storage_follows_media_root_when_it_changes(world, settings, tmp_path):
    """django-tenants kept the root it first computed from MEDIA_ROOT; ours forgets it when
    MEDIA_ROOT changes, so what one test does with MEDIA_ROOT never sends another's files
    elsewhere (found by running the suite in another order)."""
    with enterprise_schema(world.acme):
        before = Path(default_storage.location)
        settings.MEDIA_ROOT = str(tmp_path / "moved")
        moved = Path(default_storage.location)
    assert moved == tmp_path / "moved" / "acme" and before != moved
