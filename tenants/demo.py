"""Demo data for `make run` (RUN-3): idempotent, so it can run on every start."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from enterprise_data.services import membership_create
from tenants.models import Enterprise
from tenants.services import CreatorDetails, enterprise_create

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoPerson:
    mobile: str
    name: str
    role: str  # "operator" or an enterprise role


OPERATOR = DemoPerson("+8613800000000", "Platform Operator", "operator")
DEMO_ENTERPRISES: dict[str, tuple[str, list[DemoPerson]]] = {
    "acme": (
        "Acme Corporation",
        [
            DemoPerson("+8613800000101", "Wang Fang", "owner"),
            DemoPerson("+8613800000102", "Li Na", "admin"),
            DemoPerson("+8613800000103", "Chen Jing", "member"),
            DemoPerson("+8613800000104", "Zhao Lei", "member"),
            DemoPerson("+8613800000105", "Sun Li", "member"),
        ],
    ),
    "globex": (
        "Globex Inc.",
        [
            DemoPerson("+8613800000201", "Zhou Min", "owner"),
            DemoPerson("+8613800000202", "Wu Qiang", "admin"),
            DemoPerson("+8613800000203", "Xu Yan", "member"),
            DemoPerson("+8613800000204", "Ma Chao", "member"),
        ],
    ),
}


def _account(person: DemoPerson) -> User:
    user = User.objects.filter(mobile=person.mobile).first()
    if user is None:
        user = User.objects.create_user(
            person.mobile, DEMO_PASSWORD, nickname=person.name, is_staff=person.role == "operator",
            is_superuser=person.role == "operator",
        )
    return user


def seed_demo() -> list[tuple[str, DemoPerson]]:
    """Create the demo operator, enterprises and members if missing. Returns (host, person)."""
    people: list[tuple[str, DemoPerson]] = [("localhost", OPERATOR)]
    with transaction.atomic():
        _account(OPERATOR)
        for slug, (name, persons) in DEMO_ENTERPRISES.items():
            owner_person = persons[0]
            owner = _account(owner_person)
            enterprise = Enterprise.objects.filter(slug=slug).first()
            if enterprise is None:
                enterprise = enterprise_create(
                    name=name, slug=slug, owner=owner, creator=CreatorDetails(name=owner_person.name)
                )
            for person in persons:
                membership_create(
                    enterprise=enterprise, account=_account(person), role=person.role, display_name=person.name
                )
                people.append((enterprise.get_primary_domain().domain, person))
    return people
