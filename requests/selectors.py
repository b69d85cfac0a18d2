"""Everything held about one member in one enterprise (DSR-2), as lazy querysets.

One selector per kind of row whose subject is the member, shared by the export (which reads
them all, oldest first: `requests.export.services.export_collect`) and the "see everything"
overview (which counts them and reads one page, newest first:
`requests.data.overview.data_overview`). They run in the connection's current schema — the
caller switches to the enterprise's. Nothing here selects another member's rows."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from attendance.models import AttendanceDay, ClockEvent, ClockEventLocation
from biometrics.models import BiometricTemplate
from consent.models import ConsentRecord, DevicePermission, DevicePermissionEvent, NoticeAcknowledgement
from core.models import Membership
from health.models import HealthReport
from invitations.models import Invitation
from ledger.models import LedgerEntry
from requests.models import Export, Request, RequestEvent


def card_of(*, membership: Membership) -> Membership:
    """The member's directory card with its position and rank (one query)."""
    return Membership.objects.select_related("position", "rank").get(pk=membership.pk)


def own_card_for(*, membership: Membership, pk: int) -> Membership:
    """Fetch-and-authorize (STYLE §3): the signed-in member's own card by its id, else 404 — the
    same answer for another member's id as for one that does not exist."""
    if pk != membership.pk:
        raise Http404("No such member.")
    return membership


def clock_events_of(*, membership: Membership) -> QuerySet[ClockEvent]:
    return ClockEvent.objects.filter(membership_id=membership.pk).order_by("occurred_at", "id")


def clock_locations_of(*, membership: Membership) -> QuerySet[ClockEventLocation]:
    """The raw coordinates still kept for the member's clock events (ciphertexts)."""
    return ClockEventLocation.objects.filter(event__membership_id=membership.pk)


def attendance_days_of(*, membership: Membership) -> QuerySet[AttendanceDay]:
    return AttendanceDay.objects.filter(membership_id=membership.pk).order_by("date", "id")


def health_reports_of(*, membership: Membership) -> QuerySet[HealthReport]:
    return HealthReport.objects.filter(membership_id=membership.pk).order_by("date", "id")


def enrolments_metadata_of(*, membership: Membership) -> QuerySet[BiometricTemplate]:
    """Biometric enrolments, metadata only: the template's ciphertext is never loaded."""
    return (
        BiometricTemplate.objects.filter(membership_id=membership.pk)
        .defer("template_encrypted")
        .order_by("enrolled_at", "id")
    )


def consents_of(*, membership: Membership) -> QuerySet[ConsentRecord]:
    """Separate consents and the legal bases recorded for the member (CON-4), withdrawn ones too."""
    return ConsentRecord.objects.filter(membership_id=membership.pk).order_by("given_at", "id")


def notice_acknowledgements_of(*, membership: Membership) -> QuerySet[NoticeAcknowledgement]:
    return (
        NoticeAcknowledgement.objects.filter(membership_id=membership.pk)
        .select_related("notice")
        .order_by("acknowledged_at", "id")
    )


def device_permissions_of(*, account_id: int | None) -> QuerySet[DevicePermission]:
    """The account's device permissions (CON-5; they live in the public schema)."""
    return (
        DevicePermission.objects.filter(account_id=account_id).order_by("kind")
        if account_id
        else DevicePermission.objects.none()
    )


def device_permission_events_of(*, account_id: int | None) -> QuerySet[DevicePermissionEvent]:
    return (
        DevicePermissionEvent.objects.filter(account_id=account_id).order_by("at", "id")
        if account_id
        else DevicePermissionEvent.objects.none()
    )


def invitations_of(*, membership: Membership) -> QuerySet[Invitation]:
    """Invitations for the member's card, or accepted by their account."""
    condition = Q(membership_id=membership.pk)
    if membership.account_id:
        condition |= Q(accepted_account_id=membership.account_id)
    return Invitation.objects.filter(condition).order_by("created_at", "id")


def requests_of(*, membership: Membership) -> QuerySet[Request]:
    """The member's data-subject requests in this enterprise."""
    return Request.objects.filter(membership_id=membership.pk).order_by("submitted_at", "id")


def request_events_of(*, membership: Membership) -> QuerySet[RequestEvent]:
    return RequestEvent.objects.filter(request__membership_id=membership.pk).order_by("created_at", "id")


def ledger_entries_about(*, membership: Membership) -> QuerySet[LedgerEntry]:
    """Instruction-ledger entries whose subject is the member (ENT-10)."""
    return LedgerEntry.objects.filter(subject_membership_id=membership.pk).order_by("id")


def exports_of(*, membership: Membership) -> QuerySet[Export]:
    return Export.objects.filter(membership_id=membership.pk).order_by("created_at", "id")
