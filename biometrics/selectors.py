"""Reads of biometric data (ENT-6). Admin reads start from the acting admin's scope
(`scope.members(Category.BIOMETRICS)`); metadata reads never load the ciphertext. The only read
that decrypts templates is `device_feed`, for an authenticated device of the same purpose."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from biometrics.models import BiometricTemplate, Device, TemplateChange
from biometrics.services import TEMPLATE_FIELD, device_key_hash, device_key_matches, device_key_split
from consent.consents.services import basis_exists
from consent.models import SensitiveCategory
from core.encryption import decrypt_many_for_members
from core.models import Membership
from core.scopes import AdminScope
from tenants.categories import Category
from tenants.context import current_schema, enterprise_schema
from tenants.ids import object_id
from tenants.models import Enterprise

FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 500
METADATA_FIELDS = ("id", "membership_id", "modality", "purpose", "enrolled_at", "enrolled_by_id", "revoked_at")
# Compared against when no device has the presented prefix, so a miss costs the same as a hit.
_DUMMY_HASH = device_key_hash(schema="", key="dev_0000000000_dummy")


# --- devices ----------------------------------------------------------------------------------


def device_list(*, enterprise: Enterprise) -> QuerySet[Device]:
    """Every device of the enterprise, newest state first by name (keys are never readable)."""
    with enterprise_schema(enterprise):
        return Device.objects.defer("key_hash").order_by("revoked_at", "name", "id")


def device_for(*, enterprise: Enterprise, scope: AdminScope, pk: int) -> Device:
    """Fetch-and-authorize (ENT-8): devices belong to the whole enterprise, so the scope is the
    biometrics category; 404 when missing or not in the scope."""
    device = None
    if scope.has_category(Category.BIOMETRICS):
        with enterprise_schema(enterprise):
            device = Device.objects.filter(pk=object_id(pk) or 0).first()
    if device is None:
        raise Http404("No such device.")
    return device


def device_for_key(*, key: str) -> Device | None:
    """The device holding `key` in the CURRENT schema (the host decides the enterprise), or
    None. Revoked devices are returned too; the caller refuses them with a clear message. The
    hash is compared in constant time, also when the prefix is unknown."""
    parts = device_key_split(key)
    if parts is None:
        return None
    device = Device.objects.filter(key_prefix=parts[0]).first()
    matches = device_key_matches(
        schema=current_schema(), key=key, stored_hash=device.key_hash if device is not None else _DUMMY_HASH
    )
    return device if device is not None and matches else None


def active_member(*, pk: int) -> Membership | None:
    """An active member of the current enterprise by id (a device names the person it
    recognised by the membership id the feed gave it)."""
    return Membership.objects.filter(pk=pk, status=Membership.Status.ACTIVE).first()


# --- enrolments (metadata only) ---------------------------------------------------------------


def biometric_members(*, scope: AdminScope) -> QuerySet[Membership]:
    """Members within the admin's biometrics scope, with their number of active templates."""
    return (
        scope.members(Category.BIOMETRICS, include_invited=False)
        .annotate(active_templates=Count("biometric_templates", filter=Q(biometric_templates__revoked_at__isnull=True)))
        .order_by("display_name", "id")
    )


def enrolments_of(*, membership: Membership) -> QuerySet[BiometricTemplate]:
    """A member's enrolments, metadata only: the ciphertext is not even loaded."""
    return (
        BiometricTemplate.objects.filter(membership_id=membership.pk)
        .only(*METADATA_FIELDS)
        .select_related("enrolled_by")
        .order_by("-enrolled_at", "-id")
    )


def template_for(*, scope: AdminScope, pk: int) -> BiometricTemplate:
    """Fetch-and-authorize: an enrolment of a member within the admin's biometrics scope, or
    the same 404 as a missing one. Metadata only."""
    template = (
        BiometricTemplate.objects.filter(pk=pk, membership__in=scope.members(Category.BIOMETRICS))
        .only(*METADATA_FIELDS)
        .first()
    )
    if template is None:
        raise Http404("No such template.")
    return template


# --- the devices' change feed -----------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    cursor: int
    change: str
    template_id: int
    membership_id: int
    modality: str = ""
    template: bytes | None = None


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem] = field(default_factory=list)
    next_cursor: int = 0
    has_more: bool = False


def _decrypt_templates(enterprise: Enterprise, rows: list[BiometricTemplate]) -> dict[int, bytes]:
    """Decrypt a page of templates in two queries (encryption.decrypt_many_for_members)."""
    return decrypt_many_for_members(
        enterprise=enterprise,
        field=TEMPLATE_FIELD,
        items=[(row.pk, row.membership_id, bytes(row.template_encrypted)) for row in rows],
    )


def device_feed(*, enterprise: Enterprise, device: Device, after: int = 0, limit: int = FEED_DEFAULT_LIMIT) -> FeedPage:
    """Changes for the device's purpose with id > `after`, in id order, at most `limit`.

    Upsert rows carry the decrypted template, but only while that template is still active,
    of an active member who has an active consent or legal basis for biometrics of this purpose
    (CON-4, CON-6), and of this purpose; any other upsert is skipped: one whose template has since
    been revoked or deleted (its later delete row follows) or whose member's basis has ended
    (withdrawal revokes the templates in its own request, so their delete rows follow too; the
    basis check holds even if a template was somehow left active). Delete rows carry only ids.
    Queries: the changes, then (only if there are upserts) the live templates with their
    members' keys and the basis check, then the enterprise key."""
    limit = max(1, min(limit, FEED_MAX_LIMIT))
    with enterprise_schema(enterprise):
        changes = list(
            TemplateChange.objects.filter(purpose=device.purpose, id__gt=after)
            .order_by("id")
            .values_list("id", "change", "template_id", "membership_id")[: limit + 1]
        )
        has_more = len(changes) > limit
        changes = changes[:limit]
        upsert_ids = {template_id for _i, change, template_id, _m in changes if change == TemplateChange.Change.UPSERT}
        live: dict[int, BiometricTemplate] = {}
        if upsert_ids:
            live = {
                row.pk: row
                for row in BiometricTemplate.objects.filter(
                    basis_exists(category=SensitiveCategory.BIOMETRICS, purpose=device.purpose),
                    pk__in=upsert_ids,
                    purpose=device.purpose,
                    revoked_at__isnull=True,
                    membership__status=Membership.Status.ACTIVE,
                ).only("id", "membership_id", "modality", "template_encrypted")
            }
        plaintexts = _decrypt_templates(enterprise, list(live.values()))
    items: list[FeedItem] = []
    for change_id, change, template_id, membership_id in changes:
        if change == TemplateChange.Change.DELETE:
            items.append(FeedItem(change_id, change, template_id, membership_id))
        elif template_id in plaintexts:
            items.append(
                FeedItem(
                    change_id,
                    change,
                    template_id,
                    membership_id,
                    modality=live[template_id].modality,
                    template=plaintexts[template_id],
                )
            )
    return FeedPage(items=items, next_cursor=changes[-1][0] if changes else after, has_more=has_more)
