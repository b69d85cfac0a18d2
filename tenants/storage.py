"""Uploaded files, one folder (or key prefix) per schema (TEN-5, RUN-4; docs/storage.md).

Two backends, chosen by `MEDIA_STORAGE` (config/settings/base.py):

- `filesystem` (the default, and what `make run` / `make test` use): django-tenants'
  `TenantFileSystemStorage`, files under MEDIA_ROOT/<schema>/….
- `s3`: an S3-compatible bucket through django-storages, every key under `<schema>/…`. Nothing is
  kept on a web node's disk, so a second web node or Celery worker sees the same files (RUN-4).

Both derive the enterprise's folder from the schema the database connection is using *at the
moment of each call*: code running in acme's schema can only name keys under `acme/`. A name that
would leave it (`../globex/…`, an absolute path) is refused with SuspiciousFileOperation, as the
filesystem storage does. Nothing is served as public media: files go out only through views that
check access and stream them through Django (no public or presigned URL is ever handed out).

`enterprise_files_delete(schema_name)` removes a whole enterprise's folder or prefix (termination,
retention.services.termination), the one operation that names a schema instead of using the
connection's."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django_tenants.files.storage import TenantFileSystemStorage as _TenantFileSystemStorage
from django_tenants.postgresql_backend.base import is_valid_schema_name
from storages.backends.s3 import S3Storage
from storages.utils import clean_name, safe_join

from tenants.context import current_schema

DELETE_BATCH = 1000  # the most keys one S3 DeleteObjects request takes


def _checked_schema(schema_name: str) -> str:
    """A schema name usable as a folder or key prefix: never empty, never a path."""
    if not schema_name or not is_valid_schema_name(schema_name) or "/" in schema_name or "." in schema_name:
        raise SuspiciousFileOperation(f"not a schema name: {schema_name!r}")
    return schema_name


class TenantFileSystemStorage(_TenantFileSystemStorage):
    """MEDIA_ROOT/<schema>/… (django-tenants), with the folder removal termination needs."""

    def _clear_cached_properties(self, setting: str, **kwargs: Any) -> None:
        """django-tenants 4.0.1 keeps the root it computed from MEDIA_ROOT when MEDIA_ROOT changes
        (it forgets it only for MULTITENANT_RELATIVE_MEDIA_ROOT), so a storage first used while a
        test had moved MEDIA_ROOT kept writing under that test's folder for every later test."""
        super()._clear_cached_properties(setting, **kwargs)
        if setting in ("MEDIA_ROOT", "MULTITENANT_RELATIVE_MEDIA_ROOT"):
            self.__dict__.pop("relative_media_root", None)

    def enterprise_files_delete(self, schema_name: str) -> None:
        root = Path(settings.MEDIA_ROOT).resolve()
        folder = (root / _checked_schema(schema_name)).resolve()
        if folder.parent != root:  # never MEDIA_ROOT itself, nothing outside it
            raise SuspiciousFileOperation(f"unexpected media folder for {schema_name!r}: {folder}")
        shutil.rmtree(folder, ignore_errors=True)


class TenantS3Storage(S3Storage):
    """An S3 bucket with every key under `<schema>/`, the schema of the connection at each call.

    `location` is a property, not a setting: django-storages joins it to every name it reads,
    writes, lists or deletes (`_normalize_name`), so the prefix cannot be chosen by a caller."""

    def __init__(self, **options: Any) -> None:
        if "location" in options:
            raise SuspiciousFileOperation("TenantS3Storage derives its location from the schema")
        super().__init__(**options)

    @property  # type: ignore[override]
    def location(self) -> str:
        return _checked_schema(current_schema())

    def _normalize_name(self, name: str) -> str:
        """The key of `name` under the schema's prefix; SuspiciousFileOperation (as the
        filesystem storage raises) for a name that would leave it."""
        try:
            return str(safe_join(self.location, name))
        except ValueError as error:
            raise SuspiciousFileOperation(f"Detected path traversal attempt in {name!r}") from error

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        # Refuse before django-storages' own clean-up could turn `/etc/x` into a relative name.
        self._normalize_name(clean_name(name))
        return str(super().get_available_name(name, max_length=max_length))

    def path(self, name: str) -> str:
        raise NotImplementedError("files on S3 have no local path: read them with open()")

    def enterprise_files_delete(self, schema_name: str) -> None:
        prefix = f"{_checked_schema(schema_name)}/"
        keys = [{"Key": item.key} for item in self.bucket.objects.filter(Prefix=prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            self.bucket.delete_objects(Delete={"Objects": keys[start : start + DELETE_BATCH], "Quiet": True})


def enterprise_files_delete(schema_name: str) -> None:
    """Remove every file of the schema (its folder under MEDIA_ROOT, or its prefix in the bucket).
    Never the platform's own (public: accounts' avatars and exports) nor the template's."""
    if schema_name in {settings.PUBLIC_SCHEMA_NAME, getattr(settings, "TENANT_BASE_SCHEMA", "")}:
        raise SuspiciousFileOperation(f"the files of {schema_name!r} are not an enterprise's")
    storage: Any = default_storage
    storage.enterprise_files_delete(schema_name)
