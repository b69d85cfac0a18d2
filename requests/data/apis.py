"""Self-service API twins of the data pages (DSR-2, DSR-3):

- `GET /api/v1/me/data/` — everything this enterprise holds about the member, the same structure
  as `/me/data/` (`?events=&days=&health=&requests=&ledger=` pick a page of each long list);
- `GET /api/v1/me/account/` — what the platform holds about the account (as `/account/data/`);
- `GET/PATCH /api/v1/me/profile/` — the card; PATCH changes self-editable fields only;
- `POST /api/v1/me/profile/corrections/` — a correction request for a field the enterprise keeps;
- `POST /api/v1/me/account/corrections/` — a correction request for the account's verified
  real-name data or mobile number (to the operators)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as S
from rest_framework import status
from rest_framework.response import Response

from core.apis import EnterpriseApiView
from core.models import Membership
from requests.correction.services import (
    ACCOUNT_CONTROLLED,
    CONTROLLED,
    REASON_MAX_LENGTH,
    SELF_EDITABLE,
    VALUE_MAX_LENGTH,
    account_correction_submit,
    correction_request_submit,
    member_profile_update,
)
from requests.data.overview import MAX_PAGE, PAGED, account_overview, data_overview, member_card_summary
from requests.selectors import card_of
from requests.workflow.apis import RequestOutputSerializer
from requests.workflow.selectors import with_deadlines
from tenants.access import SelfService
from tenants.apis import service_errors
from tenants.context import enterprise_schema

# --- what an enterprise holds (GET /api/v1/me/data/) ------------------------------------------


class CardSerializer(S.Serializer):
    class ExternalFieldSerializer(S.Serializer):
        field = S.CharField()
        label = S.CharField()

    display_name = S.CharField()
    has_photo = S.BooleanField()
    gender = S.CharField()
    gender_label = S.CharField()
    mobile = S.CharField(help_text="Masked, e.g. 138****1234.")
    id_number = S.CharField(help_text="Resident ID number, decrypted and masked, e.g. 110***********002X.")
    company = S.CharField()
    invoice_title = S.CharField()
    work_signature = S.CharField()
    landline = S.CharField()
    email = S.CharField()
    position = S.CharField()
    rank = S.CharField()
    title = S.CharField()
    departments = S.ListField(child=S.CharField())
    fax = S.CharField()
    seat = S.CharField()
    secretary = S.CharField()
    enterprise_mailbox = S.CharField()
    shown_outside_the_company = ExternalFieldSerializer(many=True)


class ScopeSerializer(S.Serializer):
    category = S.CharField()
    category_label = S.CharField()
    whole_enterprise = S.BooleanField()
    departments = S.ListField(child=S.CharField(), help_text="Subtrees, when not the whole enterprise.")


class MembershipSectionSerializer(S.Serializer):
    retention = S.CharField()
    id = S.IntegerField()
    status = S.ChoiceField(choices=Membership.Status.choices)
    status_label = S.CharField()
    role = S.ChoiceField(choices=Membership.Role.choices)
    role_label = S.CharField()
    created_at = S.DateTimeField()
    joined_at = S.DateTimeField(allow_null=True)
    left_at = S.DateTimeField(allow_null=True)
    scopes = ScopeSerializer(many=True, help_text="An administrator's scope (ENT-8).")


class ClockEventSerializer(S.Serializer):
    id = S.IntegerField()
    occurred_at = S.DateTimeField()
    kind = S.CharField()
    kind_label = S.CharField()
    source = S.CharField()
    source_label = S.CharField()
    within_geofence = S.BooleanField()
    geofence = S.CharField()
    location_cell = S.CharField()
    accuracy_m = S.IntegerField(allow_null=True)
    raw_location_kept_until = S.DateField(allow_null=True, help_text="Null when no raw coordinates are kept.")
    kept_until = S.DateField()


class AttendanceDaySerializer(S.Serializer):
    id = S.IntegerField()
    date = S.DateField()
    first_in = S.DateTimeField(allow_null=True)
    last_out = S.DateTimeField(allow_null=True)
    exceptions = S.ListField(child=S.CharField())
    kept_until = S.DateField()


class HealthDetailsSerializer(S.Serializer):
    symptoms = S.CharField()
    close_contacts = S.CharField()
    special_circumstances = S.CharField()


class HealthReportSerializer(S.Serializer):
    id = S.IntegerField()
    date = S.DateField()
    city = S.CharField()
    unwell = S.BooleanField()
    details = HealthDetailsSerializer(allow_null=True, help_text="Null once the data key was destroyed (RET-6).")
    kept_until = S.DateField()


class RequestRowSerializer(S.Serializer):
    id = S.IntegerField()
    kind = S.CharField()
    kind_label = S.CharField()
    status = S.CharField()
    status_label = S.CharField()
    category = S.CharField()
    category_label = S.CharField()
    submitted_at = S.DateTimeField()
    due_on = S.DateField(allow_null=True)
    closed_at = S.DateTimeField(allow_null=True)


class LedgerRowSerializer(S.Serializer):
    id = S.IntegerField()
    created_at = S.DateTimeField()
    actor_kind = S.CharField()
    actor_label = S.CharField(help_text='"You" for your own instructions, else the kind of actor.')
    action = S.CharField()
    action_label = S.CharField()
    category = S.CharField()
    category_label = S.CharField()
    purpose = S.CharField()
    details = S.CharField()
    kept_until = S.DateField()


class _PageSerializer(S.Serializer):
    """One page of a long list (20 rows, newest first); subclasses set `results`."""

    count = S.IntegerField()
    page = S.IntegerField()
    pages = S.IntegerField()


class ClockEventPageSerializer(_PageSerializer):
    results = ClockEventSerializer(many=True)


class AttendanceDayPageSerializer(_PageSerializer):
    results = AttendanceDaySerializer(many=True)


class HealthReportPageSerializer(_PageSerializer):
    results = HealthReportSerializer(many=True)


class RequestRowPageSerializer(_PageSerializer):
    results = RequestRowSerializer(many=True)


class LedgerRowPageSerializer(_PageSerializer):
    results = LedgerRowSerializer(many=True)


class AttendanceSectionSerializer(S.Serializer):
    retention = S.CharField()
    events = ClockEventPageSerializer()
    days = AttendanceDayPageSerializer()


class HealthSectionSerializer(S.Serializer):
    retention = S.CharField()
    reports = HealthReportPageSerializer()


class EnrolmentSerializer(S.Serializer):
    id = S.IntegerField()
    modality = S.CharField()
    modality_label = S.CharField()
    purpose = S.CharField()
    purpose_label = S.CharField()
    enrolled_at = S.DateTimeField()
    revoked_at = S.DateTimeField(allow_null=True)


class BiometricsSectionSerializer(S.Serializer):
    retention = S.CharField()
    enrolments = EnrolmentSerializer(many=True, help_text="Metadata only: never the template.")


class ConsentRowSerializer(S.Serializer):
    id = S.IntegerField()
    category = S.CharField()
    category_label = S.CharField()
    purpose = S.CharField()
    purpose_label = S.CharField()
    basis = S.CharField()
    basis_label = S.CharField()
    given_at = S.DateTimeField()
    withdrawn_at = S.DateTimeField(allow_null=True)
    erasure = S.CharField()
    active = S.BooleanField()


class NoticeAcknowledgementSerializer(S.Serializer):
    version = S.IntegerField()
    acknowledged_at = S.DateTimeField()
    channel = S.CharField()


class DevicePermissionSerializer(S.Serializer):
    kind = S.CharField()
    kind_label = S.CharField()
    granted = S.BooleanField()
    changed_at = S.DateTimeField()


class ConsentsSectionSerializer(S.Serializer):
    retention = S.CharField()
    consents = ConsentRowSerializer(many=True)
    notice_acknowledgements = NoticeAcknowledgementSerializer(many=True)
    device_permissions = DevicePermissionSerializer(many=True)


class InvitationRowSerializer(S.Serializer):
    id = S.IntegerField()
    kind = S.CharField()
    kind_label = S.CharField()
    mobile = S.CharField(help_text="Masked.")
    role = S.CharField()
    status = S.CharField()
    status_label = S.CharField()
    created_at = S.DateTimeField()
    expires_at = S.DateTimeField()
    responded_at = S.DateTimeField(allow_null=True)


class InvitationsSectionSerializer(S.Serializer):
    retention = S.CharField()
    invitations = InvitationRowSerializer(many=True)


class RequestsSectionSerializer(S.Serializer):
    retention = S.CharField()
    requests = RequestRowPageSerializer()


class LedgerSectionSerializer(S.Serializer):
    retention = S.CharField()
    entries = LedgerRowPageSerializer()


class ExportRowSerializer(S.Serializer):
    id = S.IntegerField()
    state = S.CharField()
    state_label = S.CharField()
    created_at = S.DateTimeField()
    expires_at = S.DateTimeField()
    downloaded_at = S.DateTimeField(allow_null=True)


class ExportsSectionSerializer(S.Serializer):
    retention = S.CharField()
    exports = ExportRowSerializer(many=True)


class DirectorySectionSerializer(S.Serializer):
    retention = S.CharField()
    card = CardSerializer()


class DataOverviewSerializer(S.Serializer):
    enterprise = S.CharField()
    membership_id = S.IntegerField()
    generated_at = S.DateTimeField()
    directory = DirectorySectionSerializer()
    membership = MembershipSectionSerializer()
    attendance = AttendanceSectionSerializer()
    health = HealthSectionSerializer()
    biometrics = BiometricsSectionSerializer()
    consents = ConsentsSectionSerializer()
    invitations = InvitationsSectionSerializer()
    requests = RequestsSectionSerializer()
    ledger = LedgerSectionSerializer()
    exports = ExportsSectionSerializer()


class PagesInputSerializer(S.Serializer):
    events = S.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    days = S.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    health = S.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    requests = S.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)
    ledger = S.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)


class MyDataApi(EnterpriseApiView):
    """Everything this enterprise holds about the signed-in member (DSR-2), by category, each with
    its retention period in words; the long lists one page (20 rows, newest first) at a time."""

    access = SelfService()

    @extend_schema(
        parameters=[OpenApiParameter(name, int, description=f"Page of `{name}` (default 1).") for name in PAGED],
        responses=DataOverviewSerializer,
    )
    def get(self, request: Any) -> Response:
        pages = PagesInputSerializer(data=request.query_params)
        pages.is_valid(raise_exception=True)
        data = data_overview(enterprise=self.enterprise, membership=self.membership, pages=pages.validated_data)
        return Response(DataOverviewSerializer(data).data)


# --- what the platform holds (GET /api/v1/me/account/) ----------------------------------------


class AccountOverviewSerializer(S.Serializer):
    class ProfileSerializer(S.Serializer):
        mobile = S.CharField(help_text="Masked.")
        nickname = S.CharField()
        email = S.CharField()
        gender = S.CharField()
        gender_label = S.CharField()
        birthday = S.DateField(allow_null=True)
        has_avatar = S.BooleanField()
        date_joined = S.DateTimeField()
        last_login = S.DateTimeField(allow_null=True)

    class RealNameSerializer(S.Serializer):
        class IdDocumentSerializer(S.Serializer):
            side = S.CharField()
            uploaded_at = S.DateTimeField()

        status = S.CharField()
        status_label = S.CharField()
        legal_name = S.CharField(help_text="Masked: the first character only.")
        id_number = S.CharField(help_text="Masked.")
        verified_at = S.DateTimeField(allow_null=True)
        id_documents = IdDocumentSerializer(many=True, help_text="Which photos are held, never the images.")

    class PolicyAcceptanceSerializer(S.Serializer):
        version = S.CharField()
        title = S.CharField()
        accepted_at = S.DateTimeField()
        channel = S.CharField()

    class MembershipLinkSerializer(S.Serializer):
        enterprise = S.CharField()
        role = S.CharField()
        role_label = S.CharField()
        joined_at = S.DateTimeField()

    class GuardianConsentSerializer(S.Serializer):
        relation = S.CharField()
        recorded_at = S.DateTimeField()
        revoked_at = S.DateTimeField(allow_null=True)

    class NotificationsSerializer(S.Serializer):
        total = S.IntegerField()
        unread = S.IntegerField()

    class AccountRequestsSerializer(S.Serializer):
        total = S.IntegerField()
        open = S.IntegerField()

    retention = S.CharField()
    profile = ProfileSerializer()
    real_name = RealNameSerializer()
    policy_acceptances = PolicyAcceptanceSerializer(many=True)
    memberships = MembershipLinkSerializer(many=True)
    device_permissions = DevicePermissionSerializer(many=True)
    guardian_consents = GuardianConsentSerializer(many=True)
    notifications = NotificationsSerializer()
    requests = AccountRequestsSerializer()


class MyAccountApi(EnterpriseApiView):
    """What the platform holds about the signed-in account (as /account/data/ on the platform's
    host): profile, real-name status (masked), policy acceptances, memberships, permissions."""

    access = SelfService()

    @extend_schema(responses=AccountOverviewSerializer)
    def get(self, request: Any) -> Response:
        return Response(AccountOverviewSerializer(account_overview(account=request.user)).data)


# --- correcting (DSR-3) -----------------------------------------------------------------------


class ProfileOutputSerializer(S.Serializer):
    work_signature = S.CharField()
    landline = S.CharField()
    email = S.CharField()
    fax = S.CharField()
    seat = S.CharField()
    external_fields = S.ListField(child=S.ChoiceField(choices=Membership.EXTERNAL_FIELDS))
    controlled = CardSerializer(
        help_text="The whole card as the enterprise keeps it; fields outside the "
        "self-editable ones are changed by a correction request."
    )


def _profile(view: EnterpriseApiView) -> dict[str, Any]:
    with enterprise_schema(view.enterprise):
        member = card_of(membership=view.membership)
        return {
            **{name: getattr(member, name) for name in SELF_EDITABLE},
            "controlled": member_card_summary(enterprise=view.enterprise, member=member),
        }


class MyProfileApi(EnterpriseApiView):
    """GET: the member's card. PATCH: change self-editable fields (work_signature, landline,
    email, fax, seat, external_fields) at once — recorded in the ledger as the member's own
    instruction. Any other field is a 400 naming it (request a correction instead)."""

    access = SelfService()

    class InputSerializer(S.Serializer):
        work_signature = S.CharField(required=False, allow_blank=True, max_length=200)
        landline = S.CharField(required=False, allow_blank=True, max_length=32)
        email = S.CharField(required=False, allow_blank=True, max_length=254)
        fax = S.CharField(required=False, allow_blank=True, max_length=32)
        seat = S.CharField(required=False, allow_blank=True, max_length=64)
        external_fields = S.ListField(child=S.CharField(), required=False)

    @extend_schema(responses=ProfileOutputSerializer)
    def get(self, request: Any) -> Response:
        return Response(ProfileOutputSerializer(_profile(self)).data)

    @extend_schema(request=InputSerializer, responses=ProfileOutputSerializer)
    def patch(self, request: Any) -> Response:
        if not isinstance(request.data, dict):
            raise S.ValidationError({"non_field_errors": ["Send a JSON object."]})
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # fields the serializer does not know (controlled ones included) are refused by the service
        extra = {key: value for key, value in request.data.items() if key not in serializer.fields}
        try:
            member_profile_update(
                enterprise=self.enterprise, membership=self.membership, data={**extra, **serializer.validated_data}
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(ProfileOutputSerializer(_profile(self)).data)


class MyProfileCorrectionsApi(EnterpriseApiView):
    """A correction request for a field the enterprise keeps (DSR-3): goes to the administrators
    holding the directory over the member; 201 with the request."""

    access = SelfService()
    throttle_scope = "requests"  # SEC-7: new requests, REST_FRAMEWORK rate "requests"

    class InputSerializer(S.Serializer):
        field = S.ChoiceField(choices=CONTROLLED)
        value = S.CharField(max_length=VALUE_MAX_LENGTH)
        reason = S.CharField(max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: RequestOutputSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            row = correction_request_submit(
                enterprise=self.enterprise,
                account=request.user,
                membership=self.membership,
                **serializer.validated_data,
            )
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(RequestOutputSerializer(with_deadlines([row])[0]).data, status=status.HTTP_201_CREATED)


class MyAccountCorrectionsApi(EnterpriseApiView):
    """A correction request for the account's verified real-name data or mobile number (DSR-3):
    an account-data request answered by the platform's operators; 201 with the request."""

    access = SelfService()
    throttle_scope = "requests"  # SEC-7: new requests, REST_FRAMEWORK rate "requests"

    class InputSerializer(S.Serializer):
        field = S.ChoiceField(choices=ACCOUNT_CONTROLLED)
        value = S.CharField(max_length=VALUE_MAX_LENGTH)
        reason = S.CharField(max_length=REASON_MAX_LENGTH, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={201: RequestOutputSerializer})
    def post(self, request: Any) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            row = account_correction_submit(account=request.user, **serializer.validated_data)
        except DjangoValidationError as error:
            raise service_errors(error) from None
        return Response(RequestOutputSerializer(with_deadlines([row])[0]).data, status=status.HTTP_201_CREATED)
