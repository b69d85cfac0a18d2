"""DSR-2 through a real Celery worker on the real broker: an export committed by the portal is
built by the worker — a separate process — in acme's schema, under acme's media folder; an
account's export in the public schema, under the public media folder.

A worker cannot see rows written inside a test's transaction, so the export is started from a
thread with its own (autocommitting) connection and removed again at the end."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from requests.account_export.services import account_export_start
from requests.export.services import export_start
from requests.models import AccountExport, Export
from tenants.context import enterprise_schema
from tests.consent.test_withdrawal_worker import committed
from tests.tenants.test_tasks import celery_worker  # noqa: F401  (the module's real worker)


def _stored(enterprise, path: str) -> Path:
    return Path(settings.MEDIA_ROOT) / enterprise.schema_name / path


@pytest.mark.celery_worker
def test_the_worker_builds_bobs_export_in_acme(world, celery_worker):  # noqa: F811
    acme = world.acme
    bob = world.membership(acme, world.bob)

    def start() -> int:
        export, _token = export_start(enterprise=acme, membership=bob, language="en")
        return export.pk

    export_id = committed(start)
    try:

        def state() -> tuple[str, int, str]:
            with enterprise_schema(acme):
                row = Export.objects.get(pk=export_id)
                return row.state, row.progress, row.file_path

        deadline = time.monotonic() + 120
        while (current := committed(state))[0] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.25)
        assert current[:2] == ("done", 100), current
        path = current[2]
        assert path.startswith("exports/")

        # the worker's storage: MEDIA_ROOT/<schema>/exports/ (read directly: the test process's
        # default storage may still have cached another test's temporary root)
        archive = zipfile.ZipFile(io.BytesIO(_stored(acme, path).read_bytes()))
        data = json.loads(archive.read("data.json"))
        assert data["member"]["display_name"] == "Bob Member" and data["enterprise"]["name"] == "Acme Test"
        assert "Globex" not in archive.read("data.json").decode()
    finally:

        def cleanup() -> None:
            with enterprise_schema(acme):
                for row in Export.objects.filter(pk=export_id):
                    if row.file_path:
                        _stored(acme, row.file_path).unlink(missing_ok=True)
                    row.delete()

        committed(cleanup)


@pytest.mark.celery_worker
def test_the_worker_builds_bobs_account_export_in_the_public_schema(world, celery_worker):  # noqa: F811
    """Issue 17 §3: the account's copy is built by the worker too, in the public schema, under the
    public schema's media folder; it holds Bob's account and nothing of another account."""

    def start() -> int:
        return account_export_start(account=world.bob, language="en").pk

    export_id = committed(start)
    try:

        def state() -> tuple[str, str]:
            row = AccountExport.objects.get(pk=export_id)
            return row.state, row.file_path

        deadline = time.monotonic() + 120
        while (current := committed(state))[0] not in ("ready", "failed") and time.monotonic() < deadline:
            time.sleep(0.25)
        assert current[0] == "ready", current
        archive = zipfile.ZipFile(io.BytesIO((Path(settings.MEDIA_ROOT) / "public" / current[1]).read_bytes()))
        data = json.loads(archive.read("data.json"))
        assert data["account"]["mobile"] == str(world.bob.mobile) and data["account"]["nickname"] == "Bob Member"
        assert "Erin" not in archive.read("data.json").decode()
        assert 'lang="en"' in archive.read("index.html").decode()
    finally:

        def cleanup() -> None:
            for row in AccountExport.objects.filter(pk=export_id):
                if row.file_path:
                    (Path(settings.MEDIA_ROOT) / "public" / row.file_path).unlink(missing_ok=True)
                row.delete()

        committed(cleanup)
