"""Export of everything held about a member in one enterprise (DSR-2) and its abuse limit (DSR-7).

- `export_start` (page or API): refuses a 4th export in 30 days with the "abuse" ground
  (`ExportLimitReached`, nothing written); otherwise writes an `Export` row with the hash of a
  fresh random download token and, on commit, sends `requests.tasks.export_build` with the
  enterprise's schema in the header. The raw token is returned once and never stored.
- `export_build` (the worker): collects every category (`export_collect`), writes a zip with
  `data.json` (schema in docs/export.md) and `index.html` (the member's language) under
  MEDIA_ROOT/<schema>/exports/, updating `progress` as it goes.
- `export_claim_download`: the single-use claim of the link (conditional UPDATE), for its owner
  only, before `expires_at`; the file is read once and deleted.
- `exports_purge_expired`: removes the files and rows of exports older than the enterprise's
  retention period for exports (RET-1, category "exports")."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from attendance.services import COORDINATES_FIELD
from core.encryption import KeyUnavailable, decrypt_for_member, decrypt_many_for_members
from core.models import Membership
from directory.services import ID_NUMBER_FIELD
from health.services import DETAIL_NAMES, DETAILS_FIELD
from requests.export.document import document_render
from requests.export.selectors import LIMIT_DAYS, exports_recent_count
from requests.models import Export, RefusalGround
from requests.selectors import (
    attendance_days_of,
    card_of,
    clock_events_of,
    clock_locations_of,
    consents_of,
    device_permission_events_of,
    device_permissions_of,
    enrolments_metadata_of,
    health_reports_of,
    invitations_of,
    ledger_entries_about,
    notice_acknowledgements_of,
    request_events_of,
    requests_of,
)
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tenants.queue import task_send_on_commit

FORMAT = "portal-export/1"
EXPORT_LIMIT = 3  # DSR-7: more than this many exports per member per enterprise in LIMIT_DAYS is refused
LINK_HOURS = 24  # the download link expires this long after the export is ready
LIMIT_CODE = "export_limit"


class ExportLimitReached(ValidationError):
    """DSR-7: the member already made EXPORT_LIMIT exports in LIMIT_DAYS days (ground "abuse")."""

    ground = RefusalGround.ABUSE

    def __init__(self) -> None:
        super().__init__(
            _(
                "You have already made %(limit)d exports of your data in the last %(days)d days. A further "
                "export is refused as an excessive repetition (ground: evidence of abuse of rights). "
                "Please use one of your earlier exports or try again later."
            )
            % {"limit": EXPORT_LIMIT, "days": LIMIT_DAYS},
            code=LIMIT_CODE,
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def export_start(*, enterprise: Enterprise, membership: Membership, language: str | None = None) -> tuple[Export, str]:
    """Start an export for the member (DSR-2): returns the row and the raw download token (shown
    once). Raises ExportLimitReached (DSR-7) with nothing written."""
    with enterprise_schema(enterprise), transaction.atomic():
        # one member's concurrent starts are serialised on their card, so the limit holds
        Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if exports_recent_count(membership=membership) >= EXPORT_LIMIT:
            raise ExportLimitReached()
        token = secrets.token_urlsafe(32)
        now = timezone.now()
        export = Export.objects.create(
            membership=membership,
            language=language or translation.get_language() or "zh-hans",
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + dt.timedelta(hours=LINK_HOURS),
        )
        schema = enterprise.schema_name
        export_id = export.pk
        task_send_on_commit("requests.tasks.export_build", kwargs={"export_id": export_id}, schema=schema)
    return export, token


def export_for_member(*, membership: Membership, pk: Any) -> Export:
    """The member's own export, 404 for a missing one and for anybody else's."""
    try:
        return Export.objects.get(pk=int(pk), membership=membership)
    except (Export.DoesNotExist, TypeError, ValueError) as error:
        raise Http404 from error


# --- collecting -------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).isoformat()  # the enterprise's +08:00, as the pages show it
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def json_row(obj: models.Model, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every concrete field of `obj` except binary ones (ciphertexts) and `exclude`; foreign keys
    as ids."""
    skip = set(exclude)
    return {
        field.attname: json_value(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
        if field.name not in skip and field.attname not in skip and not isinstance(field, models.BinaryField)
    }


def _decrypt(enterprise: Enterprise, membership: Membership, field: str, blob: Any) -> str | None:
    if not blob:
        return None
    try:
        return decrypt_for_member(
            enterprise=enterprise, membership_id=membership.pk, field=field, blob=bytes(blob)
        ).decode()
    except KeyUnavailable:
        return None


def _card(enterprise: Enterprise, member: Membership) -> dict[str, Any]:
    card = json_row(member, exclude=("account", "external_fields", "notice_acknowledged"))
    card["id_number"] = _decrypt(enterprise, member, ID_NUMBER_FIELD, member.id_number_encrypted)
    card["position"] = member.position.name if member.position_id else None  # type: ignore[union-attr]
    card["rank"] = member.rank.name if member.rank_id else None  # type: ignore[union-attr]
    card["departments"] = sorted(member.departments.values_list("name", flat=True))
    card["shown_outside_the_company"] = list(member.external_fields or [])
    return card


def _attendance(enterprise: Enterprise, member: Membership) -> dict[str, Any]:
    events = list(clock_events_of(membership=member).select_related("geofence", "device"))
    locations = {loc.event_id: loc for loc in clock_locations_of(membership=member)}
    plain = decrypt_many_for_members(
        enterprise=enterprise,
        field=COORDINATES_FIELD,
        items=[(event_id, member.pk, bytes(loc.coordinates_encrypted)) for event_id, loc in locations.items()],
    )
    rows = []
    for event in events:
        row = json_row(event, exclude=("membership",))
        # the enterprise's own names of the place and the terminal (nobody's personal data)
        row["geofence"] = event.geofence.name if event.geofence_id else None  # type: ignore[union-attr]
        row["device"] = event.device.name if event.device_id else None  # type: ignore[union-attr]
        raw = plain.get(event.pk)
        row["raw_location"] = json.loads(raw.decode()) if raw is not None else None
        rows.append(row)
    days = [json_row(day, exclude=("membership",)) for day in attendance_days_of(membership=member)]
    return {"events": rows, "days": days}


def _health(enterprise: Enterprise, member: Membership) -> list[dict[str, Any]]:
    reports = list(health_reports_of(membership=member))
    plain = decrypt_many_for_members(
        enterprise=enterprise,
        field=DETAILS_FIELD,
        items=[(report.pk, member.pk, bytes(report.details_encrypted)) for report in reports],
    )
    rows = []
    for report in reports:
        row = json_row(report, exclude=("membership",))
        raw = plain.get(report.pk)
        values = json.loads(raw.decode()) if raw is not None else None
        row["details"] = {name: str(values.get(name, "")) for name in DETAIL_NAMES} if values is not None else None
        rows.append(row)
    return rows


def _requests(member: Membership) -> list[dict[str, Any]]:
    requests = list(requests_of(membership=member))
    events: dict[int, list[dict[str, Any]]] = {}
    for event in request_events_of(membership=member):
        # who acted is kept as a kind only: another person's identity is not the member's data
        events.setdefault(event.request_id, []).append(
            json_row(event, exclude=("request", "actor_account", "actor_membership"))
        )
    rows = []
    for request in requests:
        row = json_row(request, exclude=("account", "membership", "reminded_days_left"))
        row["history"] = events.get(request.pk, [])
        rows.append(row)
    return rows


# (key, title) in the order of data.json and index.html; the progress advances per section
SECTIONS = (
    "member",
    "attendance",
    "health_reports",
    "biometric_enrolments",
    "consents",
    "notice_acknowledgements",
    "device_permissions",
    "invitations",
    "requests",
    "ledger",
)


def export_collect(*, enterprise: Enterprise, membership: Membership, on_section: Any = None) -> dict[str, Any]:
    """Everything held about `membership` in `enterprise`, as JSON-ready data (schema in
    docs/export.md). Only rows whose subject is this member: never anyone else's data."""
    with enterprise_schema(enterprise):
        member = card_of(membership=membership)
        account_id = member.account_id
        builders = {
            "member": lambda: _card(enterprise, member),
            "attendance": lambda: _attendance(enterprise, member),
            "health_reports": lambda: _health(enterprise, member),
            "biometric_enrolments": lambda: [  # metadata only, never the template
                json_row(template, exclude=("membership", "enrolled_by", "template_encrypted"))
                for template in enrolments_metadata_of(membership=member)
            ],
            "consents": lambda: [
                json_row(record, exclude=("membership", "recorded_by", "withdrawn_by"))
                for record in consents_of(membership=member)
            ],
            "notice_acknowledgements": lambda: [
                {**json_row(ack, exclude=("membership",)), "notice_version": ack.notice.version}
                for ack in notice_acknowledgements_of(membership=member)
            ],
            "device_permissions": lambda: {
                "current": [json_row(p, exclude=("account",)) for p in device_permissions_of(account_id=account_id)],
                "history": [
                    json_row(e, exclude=("account",)) for e in device_permission_events_of(account_id=account_id)
                ],
            },
            "invitations": lambda: [
                json_row(invitation, exclude=("membership", "token_hash", "created_by", "accepted_account_id"))
                for invitation in invitations_of(membership=member)
            ],
            "requests": lambda: _requests(member),
            "ledger": lambda: [
                json_row(entry, exclude=("prev_hash",)) for entry in ledger_entries_about(membership=member)
            ],
        }
        data: dict[str, Any] = {
            "format": FORMAT,
            "generated_at": timezone.localtime().isoformat(),
            "enterprise": {"name": enterprise.name},
            "membership_id": member.pk,
        }
        for position, key in enumerate(SECTIONS):
            data[key] = builders[key]()
            if on_section is not None:
                on_section(position + 1, len(SECTIONS))
        return data


def export_build(*, enterprise: Enterprise, export_id: int) -> Export:
    """Build the zip of a queued export (the worker). Idempotent: a finished export is left as is."""
    with enterprise_schema(enterprise):
        export = Export.objects.select_related("membership").get(pk=export_id)
        if export.state not in (Export.State.QUEUED, Export.State.RUNNING):
            return export
        Export.objects.filter(pk=export.pk).update(state=Export.State.RUNNING, progress=1)

        def advance(done: int, total: int) -> None:
            Export.objects.filter(pk=export.pk).update(progress=max(1, min(95, done * 95 // total)))

        try:
            data = export_collect(enterprise=enterprise, membership=export.membership, on_section=advance)
            body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("data.json", body)
                archive.writestr("index.html", document_render(data=data, language=export.language))
            path = default_storage.save(f"exports/{secrets.token_hex(16)}.zip", ContentFile(buffer.getvalue()))
        except Exception:
            Export.objects.filter(pk=export.pk).update(state=Export.State.FAILED, finished_at=timezone.now())
            raise
        now = timezone.now()
        Export.objects.filter(pk=export.pk).update(
            state=Export.State.DONE,
            progress=100,
            file_path=path,
            finished_at=now,
            expires_at=now + dt.timedelta(hours=LINK_HOURS),
        )
        export.refresh_from_db()
        return export


def export_claim_download(*, enterprise: Enterprise, membership: Membership, pk: Any, token: str) -> bytes:
    """The zip's bytes, once: the link is claimed by a conditional UPDATE (owner, token hash,
    ready, not expired, not used) and the file is deleted after reading. Http404 otherwise."""
    try:
        export_id = int(pk)
    except (TypeError, ValueError) as error:
        raise Http404 from error
    with enterprise_schema(enterprise), transaction.atomic():
        now = timezone.now()
        claimed = (
            Export.objects.filter(
                pk=export_id,
                membership=membership,
                token_hash=token_hash(str(token)),
                state=Export.State.DONE,
                downloaded_at__isnull=True,
                expires_at__gt=now,
            )
            .exclude(file_path="")
            .update(downloaded_at=now)
        )
        if not claimed:
            raise Http404
        path = Export.objects.values_list("file_path", flat=True).get(pk=export_id)
        try:
            with default_storage.open(path, "rb") as handle:
                content = handle.read()
        except FileNotFoundError as error:  # removed behind our back: the claim is rolled back
            raise Http404 from error
        Export.objects.filter(pk=export_id).update(file_path="", state=Export.State.EXPIRED)
        default_storage.delete(path)  # single use: the copy is gone once handed out
    return content


def exports_purge_expired(*, enterprise: Enterprise, cutoff: dt.datetime, limit: int = 500) -> tuple[int, bool]:
    """Retention (category "exports"): delete the files and rows of exports made before `cutoff`,
    and the files of links that expired unused. Returns (rows removed, more to do)."""
    with enterprise_schema(enterprise):
        now = timezone.now()
        stale = list(
            Export.objects.filter(expires_at__lte=now).exclude(file_path="").values_list("pk", "file_path")[:limit]
        )
        for pk, path in stale:
            default_storage.delete(path)
            Export.objects.filter(pk=pk).update(file_path="", state=Export.State.EXPIRED)
        old = list(Export.objects.filter(created_at__lt=cutoff).values_list("pk", "file_path")[:limit])
        for _pk, path in old:
            if path:
                default_storage.delete(path)
        Export.objects.filter(pk__in=[pk for pk, _path in old]).delete()
    return len(old), len(old) == limit or len(stale) == limit
