"""Security incidents (SEC-4): publishing notifies exactly the affected accounts (inbox, SMS and
e-mail, through the notification service, SEC-5) and, in their inbox, the administrators of the
affected enterprises. Recipients are computed with set-based queries."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from consent.inbox.services import notify_many
from consent.messages import Texts
from incidents.models import SecurityIncident
from tenants.models import Enterprise, MembershipIndex

TEXT_FIELDS = (
    "title_zh",
    "title_en",
    "what_happened_zh",
    "what_happened_en",
    "scope_zh",
    "scope_en",
    "measures_zh",
    "measures_en",
    "advice_zh",
    "advice_en",
)
ADMIN_ROLES = ("owner", "admin")
AFFECTED_KIND = "incident"
ADMIN_KIND = "incident_admin"


def incident_affected_account_ids(*, incident: SecurityIncident) -> set[int]:
    """The listed accounts, plus every member of the affected enterprises when the incident says
    all their members are affected (two queries)."""
    ids = set(incident.affected_accounts.filter(is_active=True).values_list("pk", flat=True))
    if incident.all_members_affected:
        ids |= set(
            MembershipIndex.objects.filter(
                enterprise__in=incident.affected_enterprises.all(), account__is_active=True
            ).values_list("account_id", flat=True)
        )
    return ids


def _admin_ids_by_enterprise(*, incident: SecurityIncident) -> dict[int, list[int]]:
    pairs = MembershipIndex.objects.filter(
        enterprise__in=incident.affected_enterprises.all(), role__in=ADMIN_ROLES
    ).values_list("enterprise_id", "account_id")
    grouped: dict[int, list[int]] = {}
    for enterprise_id, account_id in pairs:
        grouped.setdefault(enterprise_id, []).append(account_id)
    return grouped


def incident_publish(*, incident: SecurityIncident, actor: User | None = None) -> SecurityIncident:
    """Publish a draft: field errors (nothing changed, nobody notified) when a text is missing in
    either language or nobody is affected; otherwise it is published and the notifications are
    written in the same transaction (SMS and e-mail leave after the commit)."""
    with transaction.atomic():
        locked = SecurityIncident.objects.select_for_update().get(pk=incident.pk)
        errors: dict[str, list[str]] = {}
        if locked.status != SecurityIncident.Status.DRAFT:
            errors["status"] = [_("This incident has already been published.")]
        for field in TEXT_FIELDS:
            if not str(getattr(locked, field) or "").strip():
                errors[field] = [_("Fill this in, in both languages: affected people read it.")]
        affected = incident_affected_account_ids(incident=locked)
        admins = _admin_ids_by_enterprise(incident=locked)
        if not affected and not admins:
            errors["affected_accounts"] = [_("Name the affected enterprises or accounts.")]
        if errors:
            raise ValidationError(errors)
        locked.status = SecurityIncident.Status.PUBLISHED
        locked.published_at = timezone.now()
        locked.notified_accounts = len(affected)
        locked.save(update_fields=["status", "published_at", "notified_accounts"])
        # written by the operator in both languages: each reader gets theirs (consent.messages)
        title = Texts({"zh-hans": locked.title_zh, "en": locked.title_en})
        body = Texts(
            {
                "zh-hans": "\n\n".join((locked.what_happened_zh, locked.advice_zh)),
                "en": "\n\n".join((locked.what_happened_en, locked.advice_en)),
            },
            separator="\n\n",
        )
        notify_many(
            account_ids=sorted(affected),
            kind=AFFECTED_KIND,
            title=title,
            body=body,
            url=f"/incidents/{locked.pk}/",
            channels=("sms", "email"),
        )
        for enterprise_id, account_ids in admins.items():
            notify_many(
                account_ids=sorted(account_ids),
                kind=ADMIN_KIND,
                title=title,
                body=body,
                url="/console/incidents/",
                enterprise_id=enterprise_id,
            )
    incident.status, incident.published_at = locked.status, locked.published_at
    incident.notified_accounts = locked.notified_accounts
    return locked


def incident_regulator_update(
    *, incident: SecurityIncident, status: str, reported_at: datetime | None = None, reference: str = ""
) -> SecurityIncident:
    """Record where the report to the regulator stands (also after publication)."""
    errors: dict[str, list[str]] = {}
    if status not in SecurityIncident.Regulator.values:
        errors["regulator_status"] = [_("Choose a known status.")]
    if status == SecurityIncident.Regulator.REPORTED and reported_at is None:
        errors["regulator_reported_at"] = [_("Say when it was reported.")]
    if len(reference) > 100:
        errors["regulator_reference"] = [_("At most %(n)d characters.") % {"n": 100}]
    if errors:
        raise ValidationError(errors)
    SecurityIncident.objects.filter(pk=incident.pk).update(
        regulator_status=status, regulator_reported_at=reported_at, regulator_reference=reference
    )
    incident.refresh_from_db()
    return incident


def incidents_for_enterprise(*, enterprise: Enterprise) -> QuerySet[SecurityIncident]:
    """Published incidents that concern `enterprise` (the console's list)."""
    return SecurityIncident.objects.filter(
        status=SecurityIncident.Status.PUBLISHED, affected_enterprises=enterprise
    ).order_by("-published_at")


def incidents_for_account(*, account: User) -> QuerySet[SecurityIncident]:
    """Published incidents that affect `account`: listed by name, or all members of one of its
    enterprises affected (its own incident pages)."""
    enterprise_ids = MembershipIndex.objects.filter(account=account).values("enterprise_id")
    return (
        SecurityIncident.objects.filter(status=SecurityIncident.Status.PUBLISHED)
        .filter(Q(affected_accounts=account) | Q(all_members_affected=True, affected_enterprises__in=enterprise_ids))
        .distinct()
        .order_by("-published_at")
    )
