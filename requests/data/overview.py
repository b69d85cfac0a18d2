"""See everything (DSR-2): what an enterprise holds about a member, and what the platform holds
about an account, grouped by category with how long each is kept.

`data_overview` reads the same rows as the export (the selectors of `requests.selectors`)
but shows them, it does not copy them: long lists (clock events, daily records, health reports,
requests, ledger entries) are one page of `PAGE_SIZE` rows, newest first, with their count, so
the page costs the same number of queries whatever the member's history. Every section says how
long it is kept, in words, from the enterprise's retention settings (RET-1). The ID number is
decrypted and masked; biometric templates are metadata only; other people appear at most as a
kind (an administrator, the system) — as in the export.

`account_overview` is the same for the account (public schema): profile, real-name status
(masked), policy acceptances, memberships, device permissions, notifications, requests.

Both return plain JSON-ready structures (dicts, lists, dates): the pages render them and the API
serialises them with explicit serializers (requests/data/apis.py). See docs/self-service.md."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.masking import mask_id_number, mask_mobile, mask_name
from accounts.models import IdDocument, User
from accounts.profile.services import real_name_summary
from attendance.models import ClockEventLocation
from consent.models import (
    DevicePermission,
    GuardianConsent,
    Notification,
    PolicyAcceptance,
)
from core.encryption import KeyUnavailable, decrypt_for_member, decrypt_many_for_members
from core.models import Department, Membership
from core.scopes import admin_scope_for
from directory.services import ID_NUMBER_FIELD
from health.services import DETAIL_NAMES, DETAILS_FIELD
from ledger.models import LedgerEntry
from ledger.selectors import (
    action_label,
    category_label,
    detail_fields,
    details_summary,
    field_label,
    join_labels,
    purpose_label,
)
from requests.export.selectors import export_effective_state
from requests.models import Request
from requests.selectors import (
    attendance_days_of,
    card_of,
    clock_events_of,
    consents_of,
    device_permissions_of,
    enrolments_metadata_of,
    exports_of,
    health_reports_of,
    invitations_of,
    ledger_entries_about,
    notice_acknowledgements_of,
    requests_of,
)
from requests.workflow.services import request_schema
from retention.bounds import RetentionCategory
from retention.selectors import retention_days_for
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex

PAGE_SIZE = 20
# The paginated lists and the query parameter of each (`?health=2` is the second page of health
# reports); the other lists are short by nature (a few consents, templates, invitations, exports).
PAGED = ("events", "days", "health", "requests", "ledger")
MAX_PAGE = 100_000  # beyond any real history; a larger number is bad input (API) or the last page (page)
YEAR = 365


def days_in_words(days: int) -> str:
    """`730` → "2 years", `30` → "30 days" (whole years only when exact)."""
    if days >= YEAR and days % YEAR == 0:
        years = days // YEAR
        return ngettext("%(n)d year", "%(n)d years", years) % {"n": years}
    return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}


def _retention(kept: dict[str, int]) -> dict[str, str]:
    """How long each section is kept, in words, from the enterprise's settings (RET-1)."""
    words = {category: days_in_words(days) for category, days in kept.items()}
    return {
        "directory": _(
            "While you are a member. After you leave, the card is anonymised after %(departed)s "
            "(the ID number is deleted then)."
        )
        % {"departed": words[RetentionCategory.DEPARTED_PROFILES]},
        "membership": _("Part of your card: kept while you are a member, anonymised %(departed)s after you leave.")
        % {"departed": words[RetentionCategory.DEPARTED_PROFILES]},
        "attendance": _(
            "%(attendance)s, counted from the day each record is about (wage records). Raw clock-in "
            "coordinates: %(raw)s, counted from when they were received."
        )
        % {"attendance": words[RetentionCategory.ATTENDANCE], "raw": words[RetentionCategory.RAW_COORDINATES]},
        "health": _("%(health)s, counted from the day reported. Deleted at once if you leave or withdraw your consent.")
        % {"health": words[RetentionCategory.HEALTH_REPORTS]},
        "biometrics": _(
            "A template is kept while you consent and are a member: withdrawing or leaving deletes "
            "it at once. The record that a withdrawn template existed: %(days)s."
        )
        % {"days": words[RetentionCategory.BIOMETRIC_TEMPLATES]},
        "consents": _(
            "Kept with your card as the record of what you agreed to and when; after you leave, "
            "only under the card's pseudonym."
        ),
        "invitations": _("Answered or expired invitations: %(days)s, counted from the answer or the expiry.")
        % {"days": words[RetentionCategory.INVITATIONS]},
        "requests": _(
            "Kept with your card as the record of how each request was answered; after you leave, "
            "only under the card's pseudonym."
        ),
        "ledger": _("%(days)s, counted from when each entry was written (the law asks for at least three years).")
        % {"days": words[RetentionCategory.LEDGER]},
        "exports": _(
            "Files: %(days)s, counted from when they were made; each download link works once and for 24 hours."
        )
        % {"days": words[RetentionCategory.EXPORTS]},
    }


@dataclass(frozen=True)
class Paged:
    """One page of a long list: `count` rows in all, `pages` pages, this one's `results`."""

    count: int
    page: int
    pages: int
    results: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "page": self.page, "pages": self.pages, "results": self.results}


def _page(queryset: QuerySet[Any], number: int) -> tuple[list[Any], int, int, int]:
    """Newest first: (rows, count, page, pages). Two queries (count, slice); a page past the end
    is the last one."""
    page = Paginator(queryset, PAGE_SIZE).get_page(number)
    return list(page.object_list), page.paginator.count, page.number, page.paginator.num_pages


def _label(choices: Any, value: str) -> str:
    return str(dict(choices).get(value, value))


def _decrypt_id_number(enterprise: Enterprise, member: Membership) -> str:
    if not member.id_number_encrypted:
        return ""
    try:
        return decrypt_for_member(
            enterprise=enterprise,
            membership_id=member.pk,
            field=ID_NUMBER_FIELD,
            blob=bytes(member.id_number_encrypted),
        ).decode()
    except KeyUnavailable:
        return ""


def member_card_summary(*, enterprise: Enterprise, member: Membership) -> dict[str, Any]:
    """Every field of the directory card (ENT-2); the mobile and ID numbers masked. In the
    enterprise's schema."""
    id_number = _decrypt_id_number(enterprise, member)
    secretary = (
        Membership.objects.filter(pk=member.secretary_id).values_list("display_name", flat=True).first()
        if member.secretary_id
        else None
    )
    labels = {
        name: str(getattr(Membership._meta.get_field(name), "verbose_name", name))
        for name in Membership.EXTERNAL_FIELDS
    }
    return {
        "display_name": member.display_name,
        "has_photo": bool(member.photo),
        "gender": member.gender,
        "gender_label": member.get_gender_display(),
        "mobile": mask_mobile(member.mobile) if member.mobile else "",
        "id_number": mask_id_number(id_number) if id_number else "",
        "company": member.company,
        "invoice_title": member.invoice_title,
        "work_signature": member.work_signature,
        "landline": member.landline,
        "email": member.email,
        "position": member.position.name if member.position_id else "",  # type: ignore[union-attr]
        "rank": member.rank.name if member.rank_id else "",  # type: ignore[union-attr]
        "title": member.title,
        "departments": sorted(member.departments.values_list("name", flat=True)),
        "fax": member.fax,
        "seat": member.seat,
        "secretary": secretary or "",
        "enterprise_mailbox": member.enterprise_mailbox,
        "shown_outside_the_company": [
            {"field": name, "label": labels[name]} for name in (member.external_fields or []) if name in labels
        ],
    }


def _membership(member: Membership) -> dict[str, Any]:
    """Status, role and, for an administrator, the scope held (ENT-8): per category, the whole
    enterprise or the named departments' subtrees."""
    scopes: list[dict[str, Any]] = []
    scope = admin_scope_for(member)
    if scope is not None:
        paths = {path for category in scope.paths for path in scope.paths[category]}
        names = dict(Department.objects.filter(path__in=paths).values_list("path", "name")) if paths else {}
        for category in Category.values:
            if category in scope.whole:
                scopes.append(
                    {
                        "category": category,
                        "category_label": category_label(category),
                        "whole_enterprise": True,
                        "departments": [],
                    }
                )
            elif scope.paths.get(category):
                scopes.append(
                    {
                        "category": category,
                        "category_label": category_label(category),
                        "whole_enterprise": False,
                        "departments": sorted(names.get(path, "") for path in scope.paths[category]),
                    }
                )
    return {
        "id": member.pk,
        "status": member.status,
        "status_label": member.get_status_display(),
        "role": member.role,
        "role_label": member.get_role_display(),
        "created_at": member.created_at,
        "joined_at": member.joined_at,
        "left_at": member.left_at,
        "scopes": scopes,
    }


def _until(moment: dt.datetime | dt.date | None, days: int) -> dt.date | None:
    """The day after which a row counted from `moment` is past its retention period."""
    if moment is None:
        return None
    day = timezone.localdate(moment) if isinstance(moment, dt.datetime) else moment
    return day + dt.timedelta(days=days)


def _events(member: Membership, number: int, kept: dict[str, int]) -> Paged:
    raw_at = ClockEventLocation.objects.filter(event_id=OuterRef("pk")).values("created_at")[:1]
    queryset = (
        clock_events_of(membership=member)
        .reverse()
        .select_related("geofence")
        .annotate(raw_location_at=Subquery(raw_at))
    )
    rows, count, page, pages = _page(queryset, number)
    return Paged(
        count,
        page,
        pages,
        [
            {
                "id": event.pk,
                "occurred_at": event.occurred_at,
                "kind": event.kind,
                "kind_label": event.get_kind_display(),
                "source": event.source,
                "source_label": event.get_source_display(),
                "within_geofence": event.within_geofence,
                "geofence": event.geofence.name if event.geofence_id else "",  # type: ignore[union-attr]
                "location_cell": event.location_cell,
                "accuracy_m": event.accuracy_m,
                "raw_location_kept_until": _until(event.raw_location_at, kept[RetentionCategory.RAW_COORDINATES]),
                "kept_until": _until(event.occurred_at, kept[RetentionCategory.ATTENDANCE]),
            }
            for event in rows
        ],
    )


def _days(member: Membership, number: int, kept: dict[str, int]) -> Paged:
    rows, count, page, pages = _page(attendance_days_of(membership=member).reverse(), number)
    return Paged(
        count,
        page,
        pages,
        [
            {
                "id": day.pk,
                "date": day.date,
                "first_in": day.first_in,
                "last_out": day.last_out,
                "exceptions": [str(item) for item in (day.exceptions or [])],
                "kept_until": _until(day.date, kept[RetentionCategory.ATTENDANCE]),
            }
            for day in rows
        ],
    )


def _health(enterprise: Enterprise, member: Membership, number: int, kept: dict[str, int]) -> Paged:
    rows, count, page, pages = _page(health_reports_of(membership=member).reverse(), number)
    plain = decrypt_many_for_members(
        enterprise=enterprise,
        field=DETAILS_FIELD,
        items=[(report.pk, member.pk, bytes(report.details_encrypted)) for report in rows],
    )
    results = []
    for report in rows:
        raw = plain.get(report.pk)
        values = json.loads(raw.decode()) if raw is not None else None
        results.append(
            {
                "id": report.pk,
                "date": report.date,
                "city": report.city,
                "unwell": report.unwell,
                # None once the member's data key was destroyed (RET-6)
                "details": {name: str(values.get(name, "")) for name in DETAIL_NAMES} if values is not None else None,
                "kept_until": _until(report.date, kept[RetentionCategory.HEALTH_REPORTS]),
            }
        )
    return Paged(count, page, pages, results)


def _requests(member: Membership, number: int) -> Paged:
    rows, count, page, pages = _page(requests_of(membership=member).reverse(), number)
    return Paged(
        count,
        page,
        pages,
        [
            {
                "id": row.pk,
                "kind": row.kind,
                "kind_label": row.get_kind_display(),
                "status": row.status,
                "status_label": row.get_status_display(),
                "category": row.category,
                "category_label": category_label(row.category) if row.category else "",
                "submitted_at": row.submitted_at,
                "due_on": row.due_on,
                "closed_at": row.closed_at,
            }
            for row in rows
        ],
    )


def _ledger(member: Membership, number: int, kept: dict[str, int]) -> Paged:
    rows, count, page, pages = _page(ledger_entries_about(membership=member).reverse(), number)
    kinds = dict(LedgerEntry.ActorKind.choices)
    return Paged(
        count,
        page,
        pages,
        [
            {
                "id": entry.pk,
                "created_at": entry.created_at,
                # who acted, as a kind only (another person's identity is not the member's data)
                "actor_kind": entry.actor_kind,
                "actor_label": _("You")
                if entry.actor_membership_id == member.pk
                else str(kinds.get(entry.actor_kind, entry.actor_kind)),
                "action": entry.action,
                "action_label": action_label(entry.action),
                "category": entry.category,
                "category_label": category_label(entry.category),
                "purpose": entry.purpose,
                "purpose_label": purpose_label(entry.purpose),
                "details_label": details_summary(entry),
                "details": ", ".join(
                    f"{key}: {_detail(value)}" for key, value in sorted((entry.details or {}).items())
                ),
                # the fields concerned as words (the page shows these, not `details`' codes)
                "fields_label": join_labels(field_label(entry.object_type, name) for name in detail_fields(entry)),
                "kept_until": _until(entry.created_at, kept[RetentionCategory.LEDGER]),
            }
            for entry in rows
        ],
    )


def _detail(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return str(value)


def _consents(member: Membership) -> dict[str, Any]:
    """Separate consents and legal bases (CON-4), acknowledged notices (CON-3) and the account's
    device permissions (CON-5)."""
    return {
        "consents": [
            {
                "id": record.pk,
                "category": record.category,
                "category_label": record.get_category_display(),
                "purpose": record.purpose,
                "purpose_label": record.get_purpose_display(),
                "basis": record.basis,
                "basis_label": record.get_basis_display(),
                "given_at": record.given_at,
                "withdrawn_at": record.withdrawn_at,
                "erasure": record.erasure,
                "active": record.is_active,
            }
            for record in consents_of(membership=member).reverse()
        ],
        "notice_acknowledgements": [
            {
                "version": ack.notice.version,
                "acknowledged_at": ack.acknowledged_at,
                "channel": ack.channel,
            }
            for ack in notice_acknowledgements_of(membership=member).reverse()
        ],
        "device_permissions": [
            {
                "kind": permission.kind,
                "kind_label": permission.get_kind_display(),
                "granted": permission.granted,
                "changed_at": permission.changed_at,
            }
            for permission in device_permissions_of(account_id=member.account_id)
        ],
    }


def _invitations(member: Membership) -> list[dict[str, Any]]:
    return [
        {
            "id": invitation.pk,
            "kind": invitation.kind,
            "kind_label": invitation.get_kind_display(),
            "mobile": mask_mobile(invitation.mobile) if invitation.mobile else "",
            "role": invitation.role,
            "status": invitation.status,
            "status_label": invitation.get_status_display(),
            "created_at": invitation.created_at,
            "expires_at": invitation.expires_at,
            "responded_at": invitation.responded_at,
        }
        for invitation in invitations_of(membership=member).reverse()
    ]


def clean_pages(values: dict[str, Any]) -> dict[str, int]:
    """The page wanted of each paged list from query parameters: a missing, non-numeric or
    non-positive value is page 1, a huge one is capped (the page view's leniency; the API
    validates the same parameters strictly)."""
    pages: dict[str, int] = {}
    for name in PAGED:
        try:
            number = int(str(values.get(name) or 1))
        except ValueError:
            number = 1
        pages[name] = min(max(number, 1), MAX_PAGE)
    return pages


def data_overview(
    *, enterprise: Enterprise, membership: Membership, pages: dict[str, int] | None = None
) -> dict[str, Any]:
    """Everything `enterprise` holds about `membership` (DSR-2), grouped by category, with the
    retention period of each; long lists one page at a time (`pages`: {list: page number})."""
    pages = {name: 1 for name in PAGED} | (pages or {})
    with enterprise_schema(enterprise):
        kept = retention_days_for(enterprise)
        retention = _retention(kept)
        member = card_of(membership=membership)
        exports = list(exports_of(membership=member).reverse()[:20])
        return {
            "enterprise": enterprise.name,
            "membership_id": member.pk,
            "generated_at": timezone.now(),
            "directory": {
                "retention": retention["directory"],
                "card": member_card_summary(enterprise=enterprise, member=member),
            },
            "membership": {"retention": retention["membership"], **_membership(member)},
            "attendance": {
                "retention": retention["attendance"],
                "events": _events(member, pages["events"], kept).as_dict(),
                "days": _days(member, pages["days"], kept).as_dict(),
            },
            "health": {
                "retention": retention["health"],
                "reports": _health(enterprise, member, pages["health"], kept).as_dict(),
            },
            "biometrics": {
                "retention": retention["biometrics"],
                "enrolments": [
                    {
                        "id": template.pk,
                        "modality": template.modality,
                        "modality_label": template.get_modality_display(),
                        "purpose": template.purpose,
                        "purpose_label": template.get_purpose_display(),
                        "enrolled_at": template.enrolled_at,
                        "revoked_at": template.revoked_at,
                    }
                    for template in enrolments_metadata_of(membership=member).reverse()
                ],
            },
            "consents": {"retention": retention["consents"], **_consents(member)},
            "invitations": {"retention": retention["invitations"], "invitations": _invitations(member)},
            "requests": {
                "retention": retention["requests"],
                "requests": _requests(member, pages["requests"]).as_dict(),
            },
            "ledger": {"retention": retention["ledger"], "entries": _ledger(member, pages["ledger"], kept).as_dict()},
            "exports": {
                "retention": retention["exports"],
                "exports": [
                    {
                        "id": export.pk,
                        "state": export_effective_state(export),
                        "state_label": _label(export.State.choices, export_effective_state(export)),
                        "created_at": export.created_at,
                        "expires_at": export.expires_at,
                        "downloaded_at": export.downloaded_at,
                    }
                    for export in exports
                ],
            },
        }


# --- the account (public schema) --------------------------------------------------------------


def account_overview(*, account: User) -> dict[str, Any]:
    """What the platform holds about the account (public schema): profile, real-name status
    (masked), policy acceptances, memberships, device permissions, guardian consents, and
    summaries of notifications and account-data requests. A fixed number of queries; read in the
    public schema even when asked on an enterprise host (requests live in both schemas)."""
    with request_schema(None):
        return _account_overview(account)


def _account_overview(account: User) -> dict[str, Any]:
    summary = real_name_summary(account=account)
    chinese = (translation.get_language() or "").lower().startswith("zh")
    notifications = Notification.objects.filter(account=account)
    account_requests = Request.objects.filter(account=account, membership__isnull=True)
    return {
        "retention": _(
            "Kept while your account exists. Deleting your account deletes or anonymises it; "
            "records the law requires are kept under a pseudonym only."
        ),
        "profile": {
            "mobile": account.masked_mobile,
            "nickname": account.nickname,
            "email": account.email,
            "gender": account.gender,
            "gender_label": account.get_gender_display(),
            "birthday": account.birthday,
            "has_avatar": bool(account.avatar),
            "date_joined": account.date_joined,
            "last_login": account.last_login,
        },
        "real_name": {
            "status": account.real_name_status,
            "status_label": account.get_real_name_status_display(),
            "legal_name": mask_name(summary.legal_name),
            "id_number": summary.masked_id_number,
            "verified_at": summary.verified_at,
            "id_documents": [
                {"side": side, "uploaded_at": uploaded_at}
                for side, uploaded_at in IdDocument.objects.filter(account=account)
                .order_by("side")
                .values_list("side", "uploaded_at")
            ],
        },
        "policy_acceptances": [
            {
                "version": acceptance.version.version,
                "title": acceptance.version.title_zh if chinese else acceptance.version.title_en,
                "accepted_at": acceptance.accepted_at,
                "channel": acceptance.channel,
            }
            for acceptance in PolicyAcceptance.objects.filter(account=account)
            .select_related("version")
            .order_by("-accepted_at", "-id")
        ],
        "memberships": [
            {
                "enterprise": link.enterprise.name,
                "role": link.role,
                "role_label": _label(Membership.Role.choices, link.role),
                "joined_at": link.joined_at,
            }
            for link in MembershipIndex.objects.filter(account=account)
            .select_related("enterprise")
            .order_by("enterprise__name")
        ],
        "device_permissions": [
            {
                "kind": permission.kind,
                "kind_label": permission.get_kind_display(),
                "granted": permission.granted,
                "changed_at": permission.changed_at,
            }
            for permission in DevicePermission.objects.filter(account=account).order_by("kind")
        ],
        "guardian_consents": [
            {
                "relation": consent.relation,
                "recorded_at": consent.recorded_at,
                "revoked_at": consent.revoked_at,
            }
            for consent in GuardianConsent.objects.filter(account=account).order_by("-recorded_at")
        ],
        "notifications": {"total": notifications.count(), "unread": notifications.filter(read_at__isnull=True).count()},
        "requests": {
            "total": account_requests.count(),
            "open": account_requests.filter(status__in=Request.OPEN_STATUSES).count(),
        },
    }
