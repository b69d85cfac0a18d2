"""Enterprise notices (CON-3): each enterprise publishes numbered versions saying what it
collects, why, and how long it keeps each category; members acknowledge the current version
when they join and after each new one.

A version starts as the one draft (an administrator with the "consent" category edits it) and is
published by `notice_publish`, which makes it current: `Enterprise.notice_version` holds its
number so that the acknowledgement check on every request costs no query
(consent.notices.middleware.NoticeInterstitialMiddleware), and every active member with an account is
notified in the inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.inbox.services import notify_many
from consent.messages import Message
from consent.models import EnterpriseNotice, NoticeAcknowledgement, NoticeCategory, NoticeItem
from consent.notices.selectors import notice_retention_days
from core.models import Membership
from ledger.services import ledger_record
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise

MAX_RETENTION_DAYS = 36500
STALE_NOTICE = "stale_notice"
NOTICE_KIND = "enterprise_notice"
PUBLISH = "publish_notice"

_LIMITS = {"summary_zh": 5000, "summary_en": 5000, "contact": 200, "purpose_zh": 1000, "purpose_en": 1000}


@dataclass(frozen=True)
class NoticeItemInput:
    category: str
    purpose_zh: str
    purpose_en: str = ""
    retention_days: Any = None


def _text(value: Any) -> str:
    return str(value or "").strip()


def _clean_items(items: list[NoticeItemInput], errors: dict[str, list[str]]) -> list[NoticeItem]:
    clean: list[NoticeItem] = []
    seen: set[str] = set()
    if not items:
        errors["items"] = [_("List at least one category of data the enterprise collects.")]
    for index, item in enumerate(items):
        key = f"items-{index}"
        if item.category not in NoticeCategory.values:
            errors[f"{key}-category"] = [_("Choose a known category.")]
            continue
        if item.category in seen:
            errors[f"{key}-category"] = [_("Each category may appear once.")]
        seen.add(item.category)
        purpose_zh, purpose_en = _text(item.purpose_zh), _text(item.purpose_en)
        if not purpose_zh and not purpose_en:
            errors[f"{key}-purpose_zh"] = [_("Say why the enterprise collects this.")]
        for field, value in (("purpose_zh", purpose_zh), ("purpose_en", purpose_en)):
            if len(value) > _LIMITS[field]:
                errors[f"{key}-{field}"] = [_("At most %(n)d characters.") % {"n": _LIMITS[field]}]
        try:
            days = int(str(item.retention_days).strip())
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= MAX_RETENTION_DAYS:
            errors[f"{key}-retention_days"] = [
                _("Enter how many days it is kept (1 to %(max)d).") % {"max": MAX_RETENTION_DAYS}
            ]
        clean.append(
            NoticeItem(
                category=item.category, purpose_zh=purpose_zh, purpose_en=purpose_en, retention_days=max(days, 1)
            )
        )
    return clean


def notice_draft_save(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    summary_zh: str,
    summary_en: str,
    contact: str,
    items: list[NoticeItemInput],
) -> EnterpriseNotice:
    """Create the draft, or replace the existing draft's text and items. Field errors (nothing
    written) for a missing summary or contact, no items, an unknown or repeated category, a
    missing purpose or a retention outside 1..36500 days."""
    errors: dict[str, list[str]] = {}
    values = {"summary_zh": _text(summary_zh), "summary_en": _text(summary_en), "contact": _text(contact)}
    if not values["summary_zh"] and not values["summary_en"]:
        errors["summary_zh"] = [_("Write a summary for members.")]
    if not values["contact"]:
        errors["contact"] = [_("Say whom members can contact about their personal data.")]
    for field in values:
        if len(values[field]) > _LIMITS[field]:
            errors[field] = [_("At most %(n)d characters.") % {"n": _LIMITS[field]}]
    clean_items = _clean_items(items, errors)
    if errors:
        raise ValidationError(errors)
    with enterprise_schema(enterprise), transaction.atomic():
        draft = EnterpriseNotice.objects.select_for_update().filter(status=EnterpriseNotice.Status.DRAFT).first()
        if draft is None:
            latest = EnterpriseNotice.objects.aggregate(latest=Max("version"))["latest"] or 0
            draft = EnterpriseNotice(version=latest + 1, created_by=actor)
        for field, value in values.items():
            setattr(draft, field, value)
        try:
            with transaction.atomic():
                draft.save()
        except IntegrityError as error:  # another admin created the draft at the same moment
            raise ValidationError(
                {"summary_zh": [_("Someone else is editing the draft; reload and try again.")]}
            ) from error
        draft.items.all().delete()
        for item in clean_items:
            item.notice = draft
        NoticeItem.objects.bulk_create(clean_items)
    return draft


def notice_draft_discard(*, enterprise: Enterprise) -> bool:
    with enterprise_schema(enterprise), transaction.atomic():
        deleted, _rows = EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.DRAFT).delete()
    return bool(deleted)


def notice_publish(*, enterprise: Enterprise, actor: Membership | None, notice: EnterpriseNotice) -> EnterpriseNotice:
    """Publish the draft: it becomes the current version at once, every active member must
    acknowledge it on their next visit, and each is told in the inbox. Writes a ledger entry."""

    with enterprise_schema(enterprise), transaction.atomic():
        locked = EnterpriseNotice.objects.select_for_update().filter(pk=notice.pk).first()
        if locked is None or locked.status != EnterpriseNotice.Status.DRAFT:
            raise ValidationError({"notice": [_("Only the draft can be published.")]})
        if not locked.items.exists():
            raise ValidationError({"items": [_("List at least one category of data the enterprise collects.")]})
        locked.status = EnterpriseNotice.Status.PUBLISHED
        locked.published_at = timezone.now()
        locked.published_by = actor
        locked.save(update_fields=["status", "published_at", "published_by"])
        Enterprise.objects.filter(pk=enterprise.pk).update(notice_version=locked.version)
        enterprise.notice_version = locked.version
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=PUBLISH,
            category=Category.CONSENT,
            obj=locked,
            details={"version": locked.version},
        )
        accounts = (
            Membership.objects.filter(status=Membership.Status.ACTIVE, account__isnull=False)
            .values_list("account_id", flat=True)
            .order_by("account_id")
        )
        title = Message(
            gettext_noop("%(enterprise)s published a new notice about your personal data"),
            {"enterprise": enterprise.name},
        )
        notify_many(
            account_ids=list(accounts), kind=NOTICE_KIND, title=title, url="/me/notice/", enterprise_id=enterprise.pk
        )
    return locked


def notice_acknowledge(
    *, enterprise: Enterprise, membership: Membership, version: Any, channel: str = NoticeAcknowledgement.Channel.WEB
) -> NoticeAcknowledgement:
    """Record that `membership` acknowledged the current notice. `version` must be the current
    version's number (field error with code "stale_notice" otherwise: the member may have read an
    older one). Acknowledging twice returns the first record."""
    try:
        number = int(str(version))
    except (TypeError, ValueError):
        number = -1
    if channel not in NoticeAcknowledgement.Channel.values:
        raise ValidationError({"channel": [_("Unknown channel.")]})
    with enterprise_schema(enterprise), transaction.atomic():
        current = EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED).order_by("-version").first()
        if current is None or current.version != number:
            raise ValidationError(
                {
                    "version": [
                        ValidationError(
                            _(
                                "This is not the enterprise's current notice; "
                                "read the current version and acknowledge that."
                            ),
                            code=STALE_NOTICE,
                        )
                    ]
                }
            )
        ack, _created = NoticeAcknowledgement.objects.get_or_create(
            membership=membership,
            notice=current,
            defaults={"acknowledged_at": timezone.now(), "channel": channel},
        )
        Membership.objects.filter(pk=membership.pk, notice_acknowledged__lt=number).update(notice_acknowledged=number)
        membership.notice_acknowledged = max(membership.notice_acknowledged, number)
    return ack


# A starting point for an enterprise's first draft (the console pre-fills it; the demo and the
# tests publish it): every category the portal can collect, a plain purpose, and a retention.
DEFAULT_ITEMS = (
    NoticeItemInput(
        NoticeCategory.DIRECTORY, "员工通讯录与人事管理。", "The staff directory and personnel management.", 1095
    ),
    NoticeItemInput(NoticeCategory.ATTENDANCE, "考勤记录与异常处理。", "Attendance records and exceptions.", 730),
    NoticeItemInput(
        NoticeCategory.PRECISE_LOCATION,
        "打卡时核对是否在办公地点范围内。",
        "Checking at clock-in whether you are at an office.",
        30,
    ),
    NoticeItemInput(
        NoticeCategory.HEALTH, "每日健康上报与疫情防控。", "Daily health reports and epidemic prevention.", 30
    ),
    NoticeItemInput(
        NoticeCategory.BIOMETRICS, "人脸或指纹考勤与门禁。", "Face or fingerprint attendance and door access.", 365
    ),
    NoticeItemInput(
        NoticeCategory.ID_DOCUMENTS, "劳动合同与社会保险手续。", "Employment contracts and social insurance.", 1095
    ),
    NoticeItemInput(
        NoticeCategory.CONTACTS,
        "在您的通讯录中找到同事；号码摘要用后即弃，不作保存。",
        "Finding colleagues among your contacts; the digests are discarded, never kept.",
        1,
    ),
)
DEFAULT_SUMMARY_ZH = (
    "本企业作为个人信息处理者，仅为下列目的、在所列期限内处理您的个人信息。敏感个人信息须经您单独同意。"
)
DEFAULT_SUMMARY_EN = (
    "As the controller of your personal data, the enterprise processes it only for the purposes "
    "and periods below. Sensitive personal data needs your separate consent."
)


def notice_publish_default(*, enterprise: Enterprise, actor: Membership | None, contact: str) -> EnterpriseNotice:
    """Save the platform's template as the draft and publish it (the demo data and the tests)."""
    draft = notice_draft_save(
        enterprise=enterprise,
        actor=actor,
        summary_zh=DEFAULT_SUMMARY_ZH,
        summary_en=DEFAULT_SUMMARY_EN,
        contact=contact,
        items=notice_default_items(enterprise=enterprise),
    )
    return notice_publish(enterprise=enterprise, actor=actor, notice=draft)


def notice_default_items(*, enterprise: Enterprise) -> list[NoticeItemInput]:
    """The platform template with the enterprise's own retention periods."""
    days = notice_retention_days(enterprise=enterprise)
    return [
        NoticeItemInput(item.category, item.purpose_zh, item.purpose_en, days.get(item.category, item.retention_days))
        for item in DEFAULT_ITEMS
    ]
