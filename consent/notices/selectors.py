"""Reads of the enterprise notice (CON-3): its versions (drafts are the administrators' only), its
items in the page's language, and a member's acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404

from consent.models import (
    EnterpriseNotice,
    NoticeAcknowledgement,
    NoticeCategory,
    NoticeItem,
)
from core.models import Membership
from retention.selectors import retention_days_for
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tenants.views import in_chinese


def notice_versions() -> QuerySet[EnterpriseNotice]:
    """Every version, newest first, with its acknowledgement count (one query, set-based)."""
    return (
        EnterpriseNotice.objects.select_related("published_by", "created_by")
        .annotate(acknowledgement_count=Count("acknowledgements"))
        .order_by("-version")
    )


def notice_version_or_404(version: int) -> EnterpriseNotice:
    notice = notice_versions().prefetch_related("items").filter(version=version).first()
    if notice is None:
        raise Http404("No such notice version.")
    return notice


def localized(zh: str, en: str) -> str:
    """The text in the active language, falling back to the other one when it is empty."""
    return (zh or en) if in_chinese() else (en or zh)


@dataclass(frozen=True)
class NoticeItemView:
    category: str
    category_label: str
    purpose: str
    retention_days: int


def notice_items(notice: EnterpriseNotice) -> list[NoticeItemView]:
    """The notice's lines in the active language (items must be prefetched: no query)."""
    return [
        NoticeItemView(
            category=item.category,
            category_label=str(NoticeCategory(item.category).label),
            purpose=localized(item.purpose_zh, item.purpose_en),
            retention_days=item.retention_days,
        )
        for item in notice.items.all()
    ]


def notice_versions_published() -> list[EnterpriseNotice]:
    """Every published version of the current enterprise's notice, newest first (one query)."""
    return list(
        EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED)
        .only("version", "published_at", "status")
        .order_by("-version")
    )


def notice_published(*, version: int | None) -> EnterpriseNotice | None:
    """A published version with its items (two queries), the newest when `version` is None;
    None for a draft or an unknown number."""
    rows = EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED).prefetch_related("items")
    if version is not None:
        rows = rows.filter(version=version)
    return rows.order_by("-version").first()


def notice_acknowledgement_of(*, membership: Membership, notice: EnterpriseNotice) -> NoticeAcknowledgement | None:
    return NoticeAcknowledgement.objects.filter(membership=membership, notice=notice).first()


def notice_categories_current(*, enterprise: Enterprise) -> set[str]:
    """The categories the current notice says the enterprise collects (one query, none before the
    first version: `Enterprise.notice_version` is loaded with the tenant)."""
    if not enterprise.notice_version:
        return set()
    return set(
        NoticeItem.objects.filter(
            notice__version=enterprise.notice_version, notice__status=EnterpriseNotice.Status.PUBLISHED
        ).values_list("category", flat=True)
    )


def notice_current(*, enterprise: Enterprise) -> EnterpriseNotice | None:
    """The published version members must acknowledge, or None before the first."""
    with enterprise_schema(enterprise):
        return (
            EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED)
            .order_by("-version")
            .prefetch_related("items")
            .first()
        )


def notice_draft(*, enterprise: Enterprise) -> EnterpriseNotice | None:
    with enterprise_schema(enterprise):
        return EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.DRAFT).prefetch_related("items").first()


def notice_needs_acknowledgement(*, enterprise: Enterprise, membership: Membership | None) -> bool:
    """The member has not acknowledged the current notice (no query: both numbers are loaded)."""
    return membership is not None and membership.notice_acknowledged < enterprise.notice_version


# Which retention category (RET-1) gives the "kept for" of each notice category.
RETENTION_OF_NOTICE_CATEGORY = {
    NoticeCategory.DIRECTORY: "departed_profiles",
    NoticeCategory.ATTENDANCE: "attendance",
    NoticeCategory.PRECISE_LOCATION: "raw_coordinates",
    NoticeCategory.HEALTH: "health_reports",
    NoticeCategory.BIOMETRICS: "biometric_templates",
    NoticeCategory.ID_DOCUMENTS: "departed_profiles",
}


def notice_retention_days(*, enterprise: Enterprise) -> dict[str, int]:
    """{notice category: days} from the enterprise's retention settings (RET-1), so that a new
    notice states the periods the purges actually apply (one query). Contacts are not kept."""

    periods = retention_days_for(enterprise)
    return {
        category: periods[retention]
        for category, retention in RETENTION_OF_NOTICE_CATEGORY.items()
        if retention in periods
    }
