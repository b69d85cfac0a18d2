"""Demo data for `make run` (RUN-3): idempotent, so it runs on every start. Everything is made
through the real services (so the ledger, encryption and indexes are as in real use)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from accounts.models import User
from attendance.models import ClockEvent, Geofence
from attendance.services import attendance_clock, geofence_create, is_working_day
from biometrics.models import BiometricTemplate, Device
from biometrics.services import device_register, template_enroll
from consent.consents.services import consent_give
from consent.models import PURPOSES, PolicyAcceptance, PolicyVersion
from consent.notices.services import notice_acknowledge, notice_publish_default
from consent.policy.services import policy_accept, policy_version_publish
from core.models import Department, Membership
from core.scopes import dangerously_whole_enterprise
from core.services import CreatorDetails, department_root, enterprise_create, membership_create
from directory.org import department_create, scope_grant
from directory.services import member_card_update
from health.models import HealthReport
from health.services import health_report_submit
from invitations.models import Invitation
from invitations.services import invitation_create_by_mobile
from tenants.categories import Category
from tenants.context import enterprise_schema, use_public_schema
from tenants.models import Enterprise

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoPerson:
    mobile: str
    name: str
    role: str  # "operator" or an enterprise role
    department: str = ""  # "Sales/Sales East"
    note: str = ""


OPERATOR = DemoPerson("+8613800000000", "Platform Operator", "operator")
DEMO_ENTERPRISES: dict[str, tuple[str, list[DemoPerson]]] = {
    "acme": (
        "Acme Corporation",
        [
            DemoPerson("+8613800000101", "Wang Fang", "owner"),
            DemoPerson("+8613800000102", "Li Na", "admin", "HR"),
            DemoPerson("+8613800000103", "Chen Jing", "member", "Sales/Sales East"),
            DemoPerson("+8613800000104", "Zhao Lei", "scoped_admin", "Sales", "health admin of Sales"),
            DemoPerson("+8613800000105", "Sun Li", "member", "Engineering"),
        ],
    ),
    "globex": (
        "Globex Inc.",
        [
            DemoPerson("+8613800000201", "Zhou Min", "owner"),
            DemoPerson("+8613800000202", "Wu Qiang", "admin", "Operations"),
            DemoPerson("+8613800000203", "Xu Yan", "member", "Operations"),
            DemoPerson("+8613800000204", "Ma Chao", "member", "R&D"),
        ],
    ),
}
# Scoped administrators: (enterprise, person's mobile, department, categories).
DEMO_SCOPES: list[tuple[str, str, str, list[str]]] = [
    ("acme", "+8613800000104", "Sales", [Category.HEALTH, Category.DIRECTORY, Category.ATTENDANCE])
]
OFFICES = {"acme": ("Shanghai office", 31.230416, 121.473701), "globex": ("Shenzhen office", 22.543099, 114.057868)}
CITIES = {"acme": "Shanghai", "globex": "Shenzhen"}
# A pending invitation: Chen Jing (acme) is invited to globex, so /account/ shows it.
DEMO_INVITATIONS = [("globex", "+8613800000103", "Chen Jing")]


def _account(person: DemoPerson) -> User:
    user = User.objects.filter(mobile=person.mobile).first()
    if user is None:
        user = User.objects.create_user(
            person.mobile,
            DEMO_PASSWORD,
            nickname=person.name,
            is_staff=person.role == "operator",
            is_superuser=person.role == "operator",
        )
    return user


def _department(enterprise: Enterprise, path: str) -> Department:
    parent = department_root(enterprise=enterprise)
    for name in path.split("/"):
        with enterprise_schema(enterprise):
            found = Department.objects.filter(parent=parent, name=name).first()
        parent = found or department_create(enterprise=enterprise, actor=None, name=name, parent=parent)
    return parent


def _id_number(rng: random.Random) -> str:
    born = datetime(1980, 1, 1) + timedelta(days=rng.randrange(0, 25 * 365))
    body = f"110105{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18 characters


def _seed_attendance(enterprise: Enterprise, members: list[Membership], rng: random.Random) -> None:
    """30 days of clock-ins and -outs on working days, some late, some out of range."""
    name, latitude, longitude = OFFICES[enterprise.slug]
    today = timezone.localdate()
    for member in members:
        with enterprise_schema(enterprise):
            if ClockEvent.objects.filter(membership=member).exists():
                continue
        for days_ago in range(30, 0, -1):
            day = today - timedelta(days=days_ago)
            if not is_working_day(day):
                continue
            arrive = timezone.make_aware(datetime.combine(day, time(8, 40)) + timedelta(minutes=rng.randrange(0, 40)))
            leave = timezone.make_aware(datetime.combine(day, time(18, 0)) + timedelta(minutes=rng.randrange(0, 60)))
            away = rng.random() < 0.05  # now and then, clocked in from outside the office
            offset = 0.05 if away else rng.uniform(-0.0005, 0.0005)
            attendance_clock(
                enterprise=enterprise,
                membership=member,
                kind=ClockEvent.Kind.IN,
                source=ClockEvent.Source.APP,
                occurred_at=arrive,
                latitude=latitude + offset,
                longitude=longitude + offset,
                accuracy_m=rng.randrange(5, 40),
            )
            attendance_clock(
                enterprise=enterprise,
                membership=member,
                kind=ClockEvent.Kind.OUT,
                source=ClockEvent.Source.APP,
                occurred_at=leave,
                latitude=latitude,
                longitude=longitude,
                accuracy_m=rng.randrange(5, 40),
            )


def _seed_health(enterprise: Enterprise, members: list[Membership], rng: random.Random) -> None:
    today = timezone.localdate()
    for member in members:
        for days_ago in range(6, -1, -1):
            day = today - timedelta(days=days_ago)
            with enterprise_schema(enterprise):
                if HealthReport.objects.filter(membership=member, date=day).exists():
                    continue
            unwell = rng.random() < 0.1
            health_report_submit(
                enterprise=enterprise,
                membership=member,
                date=day,
                city=CITIES[enterprise.slug],
                unwell=unwell,
                symptoms="Cough, mild fever" if unwell else "",
            )


def _seed_biometrics(
    enterprise: Enterprise, owner: Membership, members: list[Membership], rng: random.Random
) -> list[str]:
    """Two devices (keys printed once, when created) and a face template for two members."""
    lines = []
    for name, kind, purpose in (
        ("Lobby attendance machine", Device.Kind.ATTENDANCE_MACHINE, "attendance"),
        ("Front door", Device.Kind.DOOR_CONTROLLER, "door_access"),
    ):
        with enterprise_schema(enterprise):
            exists = Device.objects.filter(name=name).exists()
        if not exists:
            _device, key = device_register(enterprise=enterprise, actor=owner, name=name, kind=kind, purpose=purpose)
            lines.append(f"  device key for {enterprise.slug} / {name} (shown once): {key}")
    for member in members[:2]:
        with enterprise_schema(enterprise):
            enrolled = BiometricTemplate.objects.filter(membership=member).exists()
        if not enrolled:
            for purpose in ("attendance", "door_access"):
                template_enroll(
                    enterprise=enterprise,
                    actor=owner,
                    membership=member,
                    modality="face",
                    purpose=purpose,
                    template=rng.randbytes(512),
                )
    return lines


DEMO_POLICY = {
    "version": "1.0",
    "title_en": "Privacy policy of the personal-data portal",
    "title_zh": "个人信息门户隐私政策",
    "body_en": (
        "Each enterprise on this platform is the controller of its members' personal data; the platform "
        "processes that data only on the enterprise's recorded instructions.\n\n"
        "We collect your mobile number to identify your account, and what your enterprises record about you "
        "(directory card, attendance, health reports, biometric templates) with your separate consent where "
        "the law requires it. Sensitive data is encrypted with a key of your own, which is destroyed when the "
        "data must be erased.\n\n"
        "You can see, export and correct your data, withdraw consents, leave an enterprise and delete your "
        "account on the self-service pages."
    ),
    "body_zh": (
        "平台上的每家企业是其成员个人信息的处理者；平台仅按企业记录在案的指示处理这些信息。\n\n"
        "我们收集您的手机号以识别您的账号，并在法律要求时经您单独同意，处理企业为您记录的信息（通讯录名片、考勤、"
        "健康申报、生物识别模板）。敏感个人信息以您专属的密钥加密，须删除时该密钥即被销毁。\n\n"
        "您可以在自助页面查看、导出和更正您的信息，撤回同意，退出企业以及注销账号。"
    ),
}


def _seed_policy() -> None:
    """A published policy 1.0, accepted by the demo accounts (an operator can publish a major
    2.0 in the admin to see the interstitial)."""

    version = PolicyVersion.objects.filter(version=DEMO_POLICY["version"]).first()
    if version is None:
        version = PolicyVersion.objects.create(level=PolicyVersion.Level.MINOR, **DEMO_POLICY)
        policy_version_publish(version=version, actor=None)
    if version.status != PolicyVersion.Status.PUBLISHED:
        return
    accepted = set(PolicyAcceptance.objects.filter(version=version).values_list("account_id", flat=True))
    for account in User.objects.filter(mobile__startswith="+86138000").exclude(pk__in=accepted):
        policy_accept(account=account, version=version, channel=PolicyAcceptance.Channel.WEB)


def consent_everything(enterprise: Enterprise, membership: Membership) -> None:
    """`membership` acknowledges the current notice and gives every separate consent (CON-3, CON-4):
    the demo members, and the tests' World."""
    if membership.notice_acknowledged < enterprise.notice_version:
        notice_acknowledge(enterprise=enterprise, membership=membership, version=enterprise.notice_version)
    for category, purposes in PURPOSES.items():
        for purpose in purposes:
            consent_give(
                enterprise=enterprise,
                membership=membership,
                category=category,
                purpose=purpose,
                notice_version=enterprise.notice_version,
            )


def seed_demo() -> tuple[list[tuple[str, DemoPerson]], list[str]]:
    """Create whatever of the demo is missing. Returns (host, person) pairs and notes to print."""
    people: list[tuple[str, DemoPerson]] = [("localhost", OPERATOR)]
    notes: list[str] = []
    with transaction.atomic():
        _account(OPERATOR)
        for slug, (name, persons) in DEMO_ENTERPRISES.items():
            rng = random.Random(slug)
            owner_person = persons[0]
            enterprise = Enterprise.objects.filter(slug=slug).first() or enterprise_create(
                name=name, slug=slug, owner=_account(owner_person), creator=CreatorDetails(name=owner_person.name)
            )
            if not enterprise.notice_version:
                notice_publish_default(enterprise=enterprise, actor=None, contact=f"privacy@{slug}.example.com")
            members = []
            for person in persons:
                membership = membership_create(
                    enterprise=enterprise, account=_account(person), role=person.role, display_name=person.name
                )
                consent_everything(enterprise, membership)
                with enterprise_schema(enterprise):
                    if person.department and not membership.departments.exists():
                        membership.departments.add(_department(enterprise, person.department))
                    if not membership.id_number_encrypted:
                        member_card_update(
                            enterprise=enterprise,
                            actor=None,
                            scope=dangerously_whole_enterprise(),
                            membership=membership,
                            data={"id_number": _id_number(rng), "title": person.note.title()},
                        )
                members.append(membership)
                people.append((enterprise.get_primary_domain().domain, person))
            for scope_slug, mobile, department, categories in DEMO_SCOPES:
                if scope_slug == slug:
                    admin = next(m for m, p in zip(members, persons, strict=True) if p.mobile == mobile)
                    scope_grant(
                        enterprise=enterprise,
                        actor=members[0],
                        admin=admin,
                        department=_department(enterprise, department),
                        categories=categories,
                    )
            with enterprise_schema(enterprise):
                has_office = Geofence.objects.exists()
            if not has_office:
                office, latitude, longitude = OFFICES[slug]
                geofence_create(
                    enterprise=enterprise,
                    actor=members[0],
                    name=office,
                    latitude=latitude,
                    longitude=longitude,
                    radius_m=300,
                )
            _seed_attendance(enterprise, members, rng)
            _seed_health(enterprise, members, rng)
            notes += _seed_biometrics(enterprise, members[0], members[1:], rng)
            for invite_slug, mobile, display_name in DEMO_INVITATIONS:
                if invite_slug == slug:
                    with enterprise_schema(enterprise):
                        invited = Invitation.objects.filter(mobile=mobile).exists()
                    if not invited:
                        invitation_create_by_mobile(
                            enterprise=enterprise, actor=members[0], mobile=mobile, display_name=display_name
                        )
                        notes.append(f"  {display_name} has a pending invitation from {name} (see /account/)")
        use_public_schema()
        _seed_policy()
    return people, notes
