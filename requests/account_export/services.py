"""The account's copy of what the platform holds about it (DSR-2 for account data, ACC-1/ACC-2,
CON-1/CON-5, SEC-5; issue 17 §3), on `/account/export/` of the public host.

- `account_export_start`: refuses a 4th export in 30 days with the "abuse" ground (DSR-7, the
  same limit as a member's export: `ExportLimitReached`, nothing written); otherwise writes an
  `AccountExport` (state `preparing`, the language of the page) and, on commit, sends
  `requests.tasks.account_export_build` to the worker, in the public schema.
- `account_export_build` (the worker): collects the account's data (`account_export_collect`),
  writes a zip with `data.json` and a readable `index.html` (requests.export.document) under
  `MEDIA_ROOT/public/account-exports/`, then `ready` with a link valid for LINK_HOURS.
- `account_export_file`: the zip's bytes for its owner while the link is valid (Http404 otherwise,
  the same for a missing export, another account's, an expired one).
- `account_exports_purge`: beat — deletes the files of expired links (state `expired`) and
  the rows older than LIMIT_DAYS (they no longer count towards the limit).

Only the account's own rows are read, all in the public schema: nothing about another account
(a request's steps name who acted as a kind only; a guardian consent is its relation and dates,
not the guardian's name and contact), and nothing an enterprise holds (that is each
enterprise's own export, requests.export)."""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import zipfile
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation

from accounts.models import IdDocument, User
from accounts.profile.services import real_name_id_number, real_name_summary
from consent.models import (
    DevicePermission,
    DevicePermissionEvent,
    GuardianConsent,
    Notification,
    PolicyAcceptance,
    PolicyNoticeDismissal,
)
from requests.export.document import document_render
from requests.export.selectors import LIMIT_DAYS
from requests.export.services import EXPORT_LIMIT, LINK_HOURS, ExportLimitReached, json_row, json_value
from requests.models import AccountExport, Request, RequestEvent
from tenants.context import public_schema
from tenants.models import MembershipIndex
from tenants.queue import task_send_on_commit

FORMAT = "portal-account-export/1"
TASK_NAME = "requests.tasks.account_export_build"
FOLDER = "account-exports"


def account_exports_recent_count(*, account: User, now: dt.datetime | None = None) -> int:
    """Exports the account made over the last LIMIT_DAYS days (failed ones delivered nothing)."""
    since = (now or timezone.now()) - dt.timedelta(days=LIMIT_DAYS)
    return (
        AccountExport.objects.filter(account=account, created_at__gte=since)
        .exclude(state=AccountExport.State.FAILED)
        .count()
    )


def account_export_effective_state(export: AccountExport, *, now: dt.datetime | None = None) -> str:
    """The state the account sees: a ready export whose link has run out is expired (before beat
    has removed its file)."""
    if export.state == AccountExport.State.READY and (
        export.expires_at is None or export.expires_at <= (now or timezone.now())
    ):
        return AccountExport.State.EXPIRED
    return export.state


def account_export_start(*, account: User, language: str | None = None) -> AccountExport:
    """Start a copy of the account's data. Raises ExportLimitReached (DSR-7) with nothing written."""
    with public_schema(), transaction.atomic():
        # one account's concurrent starts are serialised on its row, so the limit holds
        User.objects.select_for_update().filter(pk=account.pk).first()
        if account_exports_recent_count(account=account) >= EXPORT_LIMIT:
            raise ExportLimitReached()
        export = AccountExport.objects.create(
            account=account,
            language=language or translation.get_language() or settings.LANGUAGE_CODE,
            created_at=timezone.now(),
        )
        task_send_on_commit(TASK_NAME, kwargs={"export_id": export.pk}, schema=settings.PUBLIC_SCHEMA_NAME)
    return export


def account_export_for(*, account: User, pk: Any) -> AccountExport:
    """The account's own export; 404 for a missing one and for anybody else's."""
    try:
        return AccountExport.objects.get(pk=int(pk), account=account)
    except (AccountExport.DoesNotExist, TypeError, ValueError) as error:
        raise Http404 from error


# --- collecting -------------------------------------------------------------------------------


def _account(account: User) -> dict[str, Any]:
    summary = real_name_summary(account=account)
    return {
        "id": account.pk,
        "mobile": str(account.mobile or ""),
        "nickname": account.nickname,
        "email": account.email,
        "gender": account.gender,
        "birthday": json_value(account.birthday),
        "avatar": account.avatar.name or "",
        "date_joined": json_value(account.date_joined),
        "last_login": json_value(account.last_login),
        "real_name_status": account.real_name_status,
        # the holder's own copy: decrypted, not masked (portability)
        "legal_name": summary.legal_name or None,
        "id_number": real_name_id_number(account=account) or None,
        "real_name_verified_at": json_value(account.real_name_verified_at),
    }


def _requests(account: User) -> list[dict[str, Any]]:
    """Requests about account data (public schema), each with its steps; who acted is a kind."""
    rows = list(Request.objects.filter(account=account, membership__isnull=True).order_by("submitted_at", "id"))
    steps: dict[int, list[dict[str, Any]]] = {}
    for event in RequestEvent.objects.filter(request__in=rows).order_by("created_at", "id"):
        steps.setdefault(event.request_id, []).append(
            json_row(event, exclude=("request", "actor_account", "actor_membership"))
        )
    return [
        {
            **json_row(row, exclude=("account", "membership", "reminded_days_left", "category")),
            "history": steps.get(row.pk, []),
        }
        for row in rows
    ]


SECTIONS = (
    "account",
    "id_documents",
    "policy_acceptances",
    "policy_notice_dismissals",
    "device_permissions",
    "memberships",
    "guardian_consents",
    "notifications",
    "requests",
)


def account_export_collect(*, account: User) -> dict[str, Any]:
    """Everything the platform holds about `account`, as JSON-ready data (docs/export.md)."""
    with public_schema():
        account = User.objects.get(pk=account.pk)
        builders = {
            "account": lambda: _account(account),
            "id_documents": lambda: [  # that the photos exist, never the images
                json_row(row, exclude=("account", "data_encrypted"))
                for row in IdDocument.objects.filter(account=account).order_by("side")
            ],
            "policy_acceptances": lambda: [
                {
                    **json_row(row, exclude=("account", "version")),
                    "version": row.version.version,
                    "title_zh": row.version.title_zh,
                    "title_en": row.version.title_en,
                }
                for row in PolicyAcceptance.objects.filter(account=account)
                .select_related("version")
                .order_by("accepted_at", "id")
            ],
            "policy_notice_dismissals": lambda: [
                {"version": row.version.version, "dismissed_at": json_value(row.dismissed_at)}
                for row in PolicyNoticeDismissal.objects.filter(account=account)
                .select_related("version")
                .order_by("dismissed_at", "id")
            ],
            "device_permissions": lambda: {
                "current": [
                    json_row(row, exclude=("account",))
                    for row in DevicePermission.objects.filter(account=account).order_by("kind")
                ],
                "history": [
                    json_row(row, exclude=("account",))
                    for row in DevicePermissionEvent.objects.filter(account=account).order_by("at", "id")
                ],
            },
            "memberships": lambda: [
                {"enterprise": link.enterprise.name, "role": link.role, "joined_at": json_value(link.joined_at)}
                for link in MembershipIndex.objects.filter(account=account)
                .select_related("enterprise")
                .order_by("enterprise__name")
            ],
            "guardian_consents": lambda: [
                {
                    "id": row.pk,
                    "relation": row.relation,
                    "recorded_at": json_value(row.recorded_at),
                    "revoked_at": json_value(row.revoked_at),
                }
                for row in GuardianConsent.objects.filter(account=account).order_by("recorded_at", "id")
            ],
            "notifications": lambda: [
                json_row(row, exclude=("account", "enterprise_id"))
                for row in Notification.objects.filter(account=account).order_by("created_at", "id")
            ],
            "requests": lambda: _requests(account),
        }
        data: dict[str, Any] = {"format": FORMAT, "generated_at": timezone.localtime().isoformat()}
        for key in SECTIONS:
            data[key] = builders[key]()
        return data


# --- building, handing out, purging -------------------------------------------------------------


def account_export_build(*, export_id: int) -> AccountExport:
    """Build the zip of a preparing export (the worker). Idempotent: a finished export is left as is."""
    with public_schema():
        export = AccountExport.objects.select_related("account").get(pk=export_id)
        if export.state != AccountExport.State.PREPARING:
            return export
        try:
            data = account_export_collect(account=export.account)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
                archive.writestr("index.html", document_render(data=data, language=export.language, account=True))
            path = default_storage.save(f"{FOLDER}/{secrets.token_hex(16)}.zip", ContentFile(buffer.getvalue()))
        except Exception:
            AccountExport.objects.filter(pk=export.pk, state=AccountExport.State.PREPARING).update(
                state=AccountExport.State.FAILED, finished_at=timezone.now()
            )
            raise
        now = timezone.now()
        done = AccountExport.objects.filter(pk=export.pk, state=AccountExport.State.PREPARING).update(
            state=AccountExport.State.READY,
            file_path=path,
            finished_at=now,
            expires_at=now + dt.timedelta(hours=LINK_HOURS),
        )
        if not done:  # another run finished it first: keep that one's file only
            default_storage.delete(path)
        export.refresh_from_db()
        return export


def account_export_file(*, account: User, pk: Any) -> tuple[AccountExport, bytes]:
    """The zip of the account's own ready export while its link is valid; Http404 otherwise."""
    with public_schema():
        export = account_export_for(account=account, pk=pk)
        if account_export_effective_state(export) != AccountExport.State.READY or not export.file_path:
            raise Http404
        try:
            with default_storage.open(export.file_path, "rb") as handle:
                return export, handle.read()
        except FileNotFoundError as error:
            raise Http404 from error


def account_exports_purge(*, now: dt.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Beat: delete the files of links that have expired (state `expired`), and the rows older
    than LIMIT_DAYS with any file left. Safe to run twice."""
    now = now or timezone.now()
    with public_schema():
        expired = list(
            AccountExport.objects.filter(expires_at__lte=now)
            .exclude(file_path="")
            .values_list("pk", "file_path")[:limit]
        )
        for pk, path in expired:
            default_storage.delete(path)
            AccountExport.objects.filter(pk=pk).update(file_path="", state=AccountExport.State.EXPIRED)
        old = list(
            AccountExport.objects.filter(created_at__lt=now - dt.timedelta(days=LIMIT_DAYS)).values_list(
                "pk", "file_path"
            )[:limit]
        )
        for _pk, path in old:
            if path:
                default_storage.delete(path)
        AccountExport.objects.filter(pk__in=[pk for pk, _path in old]).delete()
    return {"files_deleted": len(expired), "rows_deleted": len(old)}


def account_exports_delete(*, account: User) -> int:
    """Every export of `account` with its file (the account is being erased, DSR-6)."""
    with public_schema():
        rows = list(AccountExport.objects.filter(account=account).values_list("pk", "file_path"))
        for _pk, path in rows:
            if path:
                default_storage.delete(path)
        AccountExport.objects.filter(pk__in=[pk for pk, _path in rows]).delete()
    return len(rows)
