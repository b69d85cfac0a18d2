"""Reads for the consent pages and APIs (CON-4, CON-6, ENT-8).

Administrators: which members have a basis for each sensitive category and purpose. Each sensitive
category is covered by one administrator category (consent.models.enterprise.ADMIN_CATEGORY:
biometrics, health, attendance for precise location, directory for ID documents and contacts); an
admin sees a member when they hold at least one of those over the member, and a cell only for the
categories they hold over that member.

Members: their own records (a record that is not the member's own active consent is the same 404
as a missing one), the other bases that would still cover the data, and what a withdrawal would
delete (`preview_lines`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any, cast

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.http import Http404
from django.utils.translation import gettext_lazy

from consent.consents.services import ConsentLine, consent_lines
from consent.models import PURPOSES, ConsentPurpose, ConsentRecord, SensitiveCategory
from consent.models.enterprise import ADMIN_CATEGORY
from consent.notices.selectors import notice_categories_current
from consent.signals import erasure_counted
from core.models import Membership
from core.scopes import AdminScope
from tenants.context import enterprise_schema
from tenants.models import Enterprise

# The administrator categories that cover a sensitive category, in a stable order.
CONSENT_ADMIN_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(str(c) for c in ADMIN_CATEGORY.values()))


def consent_categories_held(scope: AdminScope) -> tuple[str, ...]:
    """The administrator categories covering a sensitive category that `scope` holds anywhere."""
    return tuple(c for c in CONSENT_ADMIN_CATEGORIES if scope.has_category(c))


def _flag(category: str) -> str:
    return f"can_{category}"


def consent_members(scope: AdminScope, held: tuple[str, ...]) -> QuerySet[Membership]:
    """Members over whom the admin holds at least one of `held`, each annotated `can_<category>`
    for each of them (whether the admin holds that category over this member). One query."""
    queryset = Membership.objects.filter(status__in=[Membership.Status.ACTIVE, Membership.Status.INVITED])
    if not held:
        return queryset.none()
    if not any(c in scope.whole for c in held):
        queryset = queryset.filter(reduce(or_, (Q(pk__in=scope.members(c).values("pk")) for c in held)))
    through = Membership.departments.through
    annotations: dict[str, Any] = {}
    for category in held:
        if category in scope.whole:
            annotations[_flag(category)] = Value(True)
        else:
            subtree = reduce(or_, (Q(department__path__startswith=p) for p in scope.paths[category]))
            annotations[_flag(category)] = Exists(through.objects.filter(subtree, membership_id=OuterRef("pk")))
    return queryset.annotate(**annotations)


def visible_categories(member: Membership, held: tuple[str, ...]) -> frozenset[str]:
    """The sensitive categories whose administrator category the admin holds over `member`
    (a row of `consent_members`)."""
    return frozenset(
        str(s) for s, admin in ADMIN_CATEGORY.items() if admin in held and getattr(member, _flag(admin), False)
    )


def consent_member_for(scope: AdminScope, held: tuple[str, ...], pk: int) -> Membership:
    """Fetch-and-authorize: one member in the admin's consent scope, or the same 404 as a missing one."""
    member = consent_members(scope, held).filter(pk=pk).first()
    if member is None:
        raise Http404("No such member.")
    return member


def legal_basis_for(scope: AdminScope, pk: int) -> ConsentRecord:
    """Fetch-and-authorize: an active legal basis (not a consent) of a member over whom the admin
    holds the record's administrator category; the same 404 for missing and forbidden."""
    record = (
        ConsentRecord.objects.exclude(basis=ConsentRecord.Basis.CONSENT)
        .filter(pk=pk, withdrawn_at__isnull=True)
        .first()
    )
    if record is None:
        raise Http404("No such legal basis.")
    admin_category = ADMIN_CATEGORY[SensitiveCategory(record.category)]
    if (
        not scope.has_category(admin_category)
        or not scope.members(admin_category).filter(pk=record.membership_id).exists()
    ):
        raise Http404("No such legal basis.")
    return record


def member_lines(*, enterprise: Any, member: Membership, held: tuple[str, ...]) -> list[ConsentLine]:
    """The member's consent lines (one query) for the categories the admin holds over them."""
    visible = visible_categories(member, held)
    return [line for line in consent_lines(enterprise=enterprise, membership=member) if line.category in visible]


@dataclass(frozen=True)
class ConsentColumn:
    category: str
    purpose: str

    @property
    def category_label(self) -> str:
        return str(SensitiveCategory(self.category).label)

    @property
    def purpose_label(self) -> str:
        return str(ConsentPurpose(self.purpose).label)


@dataclass(frozen=True)
class ConsentCell:
    """`state`: "consent", "legal" (a legal basis), "both", "none", or "hidden" (outside the
    admin's categories for this member)."""

    state: str


@dataclass(frozen=True)
class ConsentRow:
    member: Membership
    cells: tuple[ConsentCell, ...]


def consent_columns(held: tuple[str, ...]) -> list[ConsentColumn]:
    return [
        ConsentColumn(category, purpose)
        for category, purposes in PURPOSES.items()
        if ADMIN_CATEGORY[SensitiveCategory(category)] in held
        for purpose in purposes
    ]


def consent_rows(members: list[Membership], columns: list[ConsentColumn], held: tuple[str, ...]) -> list[ConsentRow]:
    """One row per member with a cell per column (one query for the members' active records)."""
    active: dict[tuple[int, str, str], set[str]] = {}
    records = ConsentRecord.objects.filter(
        membership_id__in=[m.pk for m in members], withdrawn_at__isnull=True
    ).values_list("membership_id", "category", "purpose", "basis")
    for membership_id, category, purpose, basis in records:
        active.setdefault((membership_id, category, purpose), set()).add(basis)
    rows = []
    for member in members:
        visible = visible_categories(member, held)
        cells = []
        for column in columns:
            if column.category not in visible:
                cells.append(ConsentCell("hidden"))
                continue
            bases = active.get((member.pk, column.category, column.purpose), set())
            consent = ConsentRecord.Basis.CONSENT in bases
            legal = bool(bases - {ConsentRecord.Basis.CONSENT})
            cells.append(
                ConsentCell("both" if consent and legal else "consent" if consent else "legal" if legal else "none")
            )
        rows.append(ConsentRow(member, tuple(cells)))
    return rows


def consent_of_member(*, membership: Membership, record_id: int) -> ConsentRecord:
    """Fetch-and-authorize: the member's own active consent (not a legal basis an administrator
    recorded, not another member's, not one already withdrawn), else 404."""
    record = (
        ConsentRecord.objects.filter(
            pk=record_id, membership=membership, basis=ConsentRecord.Basis.CONSENT, withdrawn_at__isnull=True
        )
        .select_related("notice")
        .first()
    )
    if record is None:
        raise Http404("No such consent.")
    return record


def other_bases_of(record: ConsentRecord) -> list[ConsentRecord]:
    """The other active bases for the same member, category and purpose (the legal bases that
    keep the data when the consent is withdrawn)."""
    return list(
        ConsentRecord.objects.filter(
            membership_id=record.membership_id,
            category=record.category,
            purpose=record.purpose,
            withdrawn_at__isnull=True,
        )
        .exclude(pk=record.pk)
        .order_by("given_at", "id")
    )


# What each key of withdrawal_preview / sensitive_data_counts means, for people.
PREVIEW_LABELS = {
    "templates": gettext_lazy("Biometric templates"),
    "health_reports": gettext_lazy("Health reports"),
    "raw_locations": gettext_lazy("Exact coordinates recorded at clock-in"),
    "location_cells": gettext_lazy("Approximate locations derived from them"),
    "id_numbers": gettext_lazy("ID number on your directory card"),
}


@dataclass(frozen=True)
class PreviewLine:
    kind: str
    label: str
    count: int


def preview_lines(counts: dict[str, int]) -> list[PreviewLine]:
    return [
        PreviewLine(kind=kind, label=str(PREVIEW_LABELS.get(kind, kind)), count=count) for kind, count in counts.items()
    ]


@dataclass(frozen=True)
class MyConsentRow:
    line: ConsentLine
    can_give: bool


def my_consent_rows(*, enterprise: Enterprise, membership: Membership) -> list[MyConsentRow]:
    """The consents page's rows (two queries: the member's active records, the notice's categories)."""
    listed = notice_categories_current(enterprise=enterprise)
    return [
        MyConsentRow(line=line, can_give=line.consent is None and line.category in listed)
        for line in consent_lines(enterprise=enterprise, membership=membership)
    ]


def withdrawal_preview(*, enterprise: Enterprise, record: ConsentRecord) -> dict[str, int]:
    """What withdrawing `record` would delete now: counts per kind; empty when another basis
    would still cover the data (nothing is deleted then)."""
    with enterprise_schema(enterprise):
        others = (
            ConsentRecord.objects.filter(
                membership_id=record.membership_id,
                category=record.category,
                purpose=record.purpose,
                withdrawn_at__isnull=True,
            )
            .exclude(pk=record.pk)
            .exists()
        )
    if others:
        return {}
    counts: dict[str, int] = {}
    for _receiver, answer in erasure_counted.send(
        sender=ConsentRecord,
        enterprise=enterprise,
        membership_id=record.membership_id,
        category=record.category,
        purpose=record.purpose,
    ):
        # Signal.send's stub says a receiver answers `str | None`; erasure_counted's answer counts
        for kind, number in (cast(dict[str, int] | None, answer) or {}).items():
            counts[kind] = counts.get(kind, 0) + number
    return counts
