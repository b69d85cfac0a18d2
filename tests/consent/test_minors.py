"""Minors (ACC-4): the age from the verified ID number or the birthday; under 14 every
enterprise-data service that collects a member's data refuses until a guardian consent is
recorded; 14-17 are flagged but not blocked; guardian consents are validated and revocable."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin import AdminSite
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import timezone
from stdnum.cn import ric

from accounts.encryption import encrypt_for_account
from accounts.models import User
from attendance.models import ClockEvent
from attendance.services import attendance_clock
from biometrics.models import BiometricTemplate
from biometrics.services import template_enroll
from consent.consents.services import legal_basis_record
from consent.minors.admin import GuardianConsentAdmin
from consent.minors.services import (
    GUARDIAN_CONSENT_REQUIRED,
    account_age,
    guardian_consent_record,
    guardian_consent_revoke,
    is_minor,
    minor_account_ids,
    needs_guardian_consent,
    require_processable,
)
from consent.models.platform import GuardianConsent
from core.models import Membership
from core.scopes import dangerously_whole_enterprise
from core.services import membership_create
from directory.services import member_card_update
from health.models import HealthReport
from health.services import health_report_submit
from invitations.services import invitation_accept, invitation_create_by_mobile
from tenants.context import enterprise_schema
from tests.conftest import consent_everything

TODAY = date(2026, 11, 24)  # for the functions that take `today`; the pages use the local day


def years_ago(years: int, *, days_later: int = 0, on: date | None = None) -> date:
    """The birthday of someone `years` old on `on` (default: the local day the test runs, so that
    ages never drift as real time passes); 29 February becomes 28 February in other years."""
    from datetime import timedelta

    on = on or timezone.localdate()
    try:
        born = on.replace(year=on.year - years)
    except ValueError:
        born = on.replace(year=on.year - years, day=28)
    return born + timedelta(days=days_later)


def id_number_born(born: date) -> str:
    body = f"110101{born:%Y%m%d}123"
    return body + ric.calc_check_digit(body + "0")  # the function ignores the last character


_next_mobile = iter(range(100, 10_000))


def account(*, birthday: date | None = None, verified_born: date | None = None) -> User:
    user = User.objects.create_user(
        f"+86137000{next(_next_mobile):05d}", "a-long-pass-42", nickname="Kid", birthday=birthday
    )
    if verified_born is not None:
        user.id_number_encrypted = encrypt_for_account(
            account=user, field="id_number", value=id_number_born(verified_born)
        )
        user.real_name_status = User.RealNameStatus.VERIFIED
        user.save(update_fields=["id_number_encrypted", "real_name_status"])
    return user


def consent_for(user: User) -> GuardianConsent:
    return guardian_consent_record(
        account=user, guardian_name="Lin Mei", relation="mother", contact="+8613700009999", recorded_by=None
    )


def refused(error: ValidationError) -> bool:
    return any(e.code == GUARDIAN_CONSENT_REQUIRED for errors in error.error_dict.values() for e in errors)


# --- age -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birthday", "age"),
    [
        (None, None),
        (years_ago(18, on=TODAY), 18),
        (years_ago(18, days_later=1, on=TODAY), 17),
        (years_ago(14, on=TODAY), 14),
        (years_ago(14, days_later=1, on=TODAY), 13),
        (years_ago(40, on=TODAY), 40),
    ],
)
def test_age_from_the_birthday(db, birthday, age):
    assert account_age(account=account(birthday=birthday), today=TODAY) == age


def test_a_verified_id_number_is_authoritative_over_the_birthday(db):
    user = account(birthday=years_ago(30, on=TODAY), verified_born=years_ago(10, on=TODAY))
    assert account_age(account=user, today=TODAY) == 10
    assert needs_guardian_consent(account=user, today=TODAY)
    # an unverified (pending) submission is not authoritative
    user.real_name_status = User.RealNameStatus.PENDING
    assert account_age(account=user, today=TODAY) == 30


@pytest.mark.parametrize(
    ("years", "minor", "needs"),
    [(10, True, True), (13, True, True), (14, True, False), (17, True, False), (18, False, False)],
)
def test_flags_by_age(db, years, minor, needs):
    user = account(birthday=years_ago(years, on=TODAY))
    assert is_minor(account=user, today=TODAY) is minor
    assert needs_guardian_consent(account=user, today=TODAY) is needs


def test_unknown_age_is_neither_flagged_nor_blocked(db):
    user = account()
    assert not is_minor(account=user) and not needs_guardian_consent(account=user)
    require_processable(user)
    require_processable(None)  # a card without an account is not checked


def test_minor_account_ids_for_the_console_badge(world, django_assert_num_queries):
    kid, teen, adult = account(birthday=years_ago(10)), account(birthday=years_ago(16)), account(birthday=years_ago(30))
    # the verified ID number wins over the birthday, both ways
    verified_teen = account(birthday=years_ago(30), verified_born=years_ago(15))
    verified_adult = account(birthday=years_ago(12), verified_born=years_ago(40))
    ids = [kid.pk, teen.pk, adult.pk, verified_teen.pk, verified_adult.pk, world.bob.pk, None]
    with django_assert_num_queries(2):  # set-based: the accounts, then the verified ones' keys
        assert minor_account_ids(account_ids=ids) == {kid.pk, teen.pk, verified_teen.pk}
    assert minor_account_ids(account_ids=[]) == set()


# --- guardian consent --------------------------------------------------------------------------------


def test_guardian_consent_lifts_the_block_and_revocation_restores_it(db):
    user = account(birthday=years_ago(10))
    with pytest.raises(ValidationError) as caught:
        require_processable(user)
    assert refused(caught.value) and "guardian" in str(caught.value)
    consent = consent_for(user)
    assert (consent.guardian_name, consent.relation, consent.revoked_at) == ("Lin Mei", "mother", None)
    assert consent.recorded_at is not None
    require_processable(user)
    assert guardian_consent_revoke(consent=consent) is True
    assert guardian_consent_revoke(consent=consent) is False
    assert consent.revoked_at is not None
    with pytest.raises(ValidationError):
        require_processable(user)


@pytest.mark.parametrize("blank", ["guardian_name", "relation", "contact"])
def test_guardian_consent_with_an_empty_field_is_refused_and_nothing_recorded(db, blank):
    user = account(birthday=years_ago(10))
    values = {"guardian_name": "Lin Mei", "relation": "mother", "contact": "+8613700009999", blank: "   "}
    with pytest.raises(ValidationError) as caught:
        guardian_consent_record(account=user, recorded_by=None, **values)
    assert list(caught.value.message_dict) == [blank]
    assert not GuardianConsent.objects.filter(account=user).exists()


def test_operators_record_and_revoke_in_the_admin(world):
    """The admin's save and action call the services (the recorder is the operator)."""
    user = account(birthday=years_ago(10))
    model_admin = GuardianConsentAdmin(GuardianConsent, AdminSite())
    request = RequestFactory().post("/admin/consent/guardianconsent/add/")
    request.user = world.olga
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    form = model_admin.get_form(request)(
        {"account": user.pk, "guardian_name": "Lin Mei", "relation": "mother", "contact": "+8613700009999"}
    )
    assert form.is_valid(), form.errors
    obj = form.save(commit=False)
    model_admin.save_model(request, obj, form, change=False)
    consent = GuardianConsent.objects.get(account=user)
    assert (obj.pk, consent.recorded_by) == (consent.pk, world.olga)
    require_processable(user)
    empty = model_admin.get_form(request)({"account": user.pk, "guardian_name": "", "relation": "", "contact": ""})
    assert not empty.is_valid() and {"guardian_name", "relation", "contact"} <= set(empty.errors)
    assert not model_admin.has_delete_permission(request, consent)
    model_admin.revoke_selected(request, GuardianConsent.objects.filter(pk=consent.pk))
    consent.refresh_from_db()
    assert consent.revoked_at is not None


# --- every collecting service refuses an under-14 member until a guardian consent exists -------------


def _clock(world, membership):
    return attendance_clock(
        enterprise=world.acme,
        membership=membership,
        kind="in",
        source="app",
        latitude=31.2310,
        longitude=121.4740,
        accuracy_m=12,
    )


def _health(world, membership):
    return health_report_submit(enterprise=world.acme, membership=membership, city="Shanghai", unwell=False)


def _enrol(world, membership):
    return template_enroll(
        enterprise=world.acme,
        actor=None,
        membership=membership,
        modality="face",
        purpose="attendance",
        template=b"\x01\x02\x03",
    )


def _id_number(world, membership):
    return member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=world.acme,
        actor=None,
        membership=membership,
        data={"id_number": id_number_born(years_ago(10))},
    )


def _written(world, membership) -> tuple[int, ...]:
    with enterprise_schema(world.acme):
        card = Membership.objects.get(pk=membership.pk)
        return (
            ClockEvent.objects.filter(membership=membership).count(),
            HealthReport.objects.filter(membership=membership).count(),
            BiometricTemplate.objects.filter(membership=membership).count(),
            int(bool(card.id_number_encrypted)),
        )


@pytest.mark.parametrize("collect", [_clock, _health, _enrol, _id_number])
def test_collecting_services_refuse_an_under_14_member_until_guardian_consent(world, collect):
    kid = account(birthday=years_ago(12))
    membership = membership_create(enterprise=world.acme, account=kid, role=Membership.Role.MEMBER)
    consent_everything(world.acme, membership)  # CON-4 is not what this test is about
    before = _written(world, membership)
    with pytest.raises(ValidationError) as caught:
        collect(world, membership)
    assert refused(caught.value)
    assert _written(world, membership) == before
    consent_for(kid)
    collect(world, membership)
    assert _written(world, membership) != before


@pytest.mark.parametrize("collect", [_clock, _health, _enrol, _id_number])
def test_14_to_17_are_flagged_but_not_blocked(world, collect):
    teen = account(birthday=years_ago(15))
    membership = membership_create(enterprise=world.acme, account=teen, role=Membership.Role.MEMBER)
    consent_everything(world.acme, membership)
    assert is_minor(account=teen)
    collect(world, membership)


def test_an_under_14_account_cannot_accept_an_invitation_until_guardian_consent(world):
    kid = account(birthday=years_ago(9))
    invitation = invitation_create_by_mobile(
        enterprise=world.acme, actor=None, mobile=str(kid.mobile), display_name="Kid"
    )
    with pytest.raises(ValidationError) as caught:
        invitation_accept(enterprise=world.acme, invitation=invitation, account=kid)
    assert refused(caught.value)
    with enterprise_schema(world.acme):
        assert not Membership.objects.filter(account=kid).exists()
    consent_for(kid)
    membership = invitation_accept(enterprise=world.acme, invitation=invitation, account=kid)
    assert membership.status == Membership.Status.ACTIVE


def test_an_invited_card_without_an_account_is_not_checked(world):
    with enterprise_schema(world.acme):
        card = Membership.objects.create(status=Membership.Status.INVITED, display_name="Card only")
    legal_basis_record(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        member_id=card.pk,
        category="id_documents",
        purpose="hr_records",
        basis="hr_necessity",
        reason="Employment contract needs the ID number",
    )  # CON-4
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=world.acme,
        actor=None,
        membership=card,
        data={"id_number": id_number_born(years_ago(10))},
    )


def test_members_under_18_are_flagged_on_their_console_page(world, client_for):
    """ACC-4: under 18 is flagged in the console (the member page)."""
    from datetime import date

    from accounts.models import User

    bob = world.membership(world.acme, world.bob)
    client = client_for("acme", world.alice)
    assert b"Under 18" not in client.get(f"/console/members/{bob.pk}/").content
    today = timezone.localdate()
    assert b"Under 18" not in client.get("/console/members/").content
    User.objects.filter(pk=world.bob.pk).update(birthday=date(today.year - 16, 1, 1))
    assert b"Under 18" in client.get(f"/console/members/{bob.pk}/").content
    listing = client.get("/console/members/").content.decode()  # the list flags bob, and only bob
    assert listing.count("Under 18") == 1 and listing.index("Bob Member") < listing.index("Under 18")


def test_guardian_consents_are_in_the_operators_admin(world):
    from django.contrib import admin

    from consent.models import GuardianConsent

    assert admin.site.is_registered(GuardianConsent)
