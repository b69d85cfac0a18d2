"""Reads about memberships.

Fetch-and-authorize for every object an administrator names in a write (ENT-8, OWASP ASVS
V8.2.2): `get_<thing>_for(scope, …)` answers None for an id outside the acting admin's scope
exactly as for an id that does not exist, so a refusal never tells which ids exist. Callers turn
None into the same field error (a body reference) or the same 404 (a path id) for both.

Departments and members are scoped by department subtree and data category; positions and
ranks are enterprise-wide lists of the directory, so holding the directory category anywhere is
their scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.models import Department, Membership, Position, Rank
from core.scopes import AdminScope
from tenants.categories import Category
from tenants.context import enterprise_schema
from tenants.ids import object_id
from tenants.models import Enterprise


def membership_for_account(*, enterprise: Enterprise, account_id: int) -> Membership | None:
    """The account's active membership of `enterprise`, or None."""
    with enterprise_schema(enterprise):
        return (
            Membership.objects.filter(account_id=account_id, status=Membership.Status.ACTIVE)
            .select_related("account")
            .first()
        )


def get_department_for(scope: AdminScope, category: str, value: Any) -> Department | None:
    pk = object_id(value)
    return scope.departments(category).filter(pk=pk).first() if pk is not None else None


def get_departments_for(scope: AdminScope, category: str, values: Iterable[Any]) -> list[Department] | None:
    """All of them, or None if any one is missing or outside the scope."""
    parsed = [object_id(value) for value in values]
    ids = {pk for pk in parsed if pk is not None}
    if len(ids) != len(set(parsed)):
        return None
    found = list(scope.departments(category).filter(pk__in=ids))
    return found if len(found) == len(ids) else None


def get_member_for(scope: AdminScope, category: str, value: Any, *, active: bool = False) -> Membership | None:
    pk = object_id(value)
    if pk is None:
        return None
    return scope.members(category, include_invited=not active).filter(pk=pk).first()


def get_position_for(scope: AdminScope, value: Any) -> Position | None:
    pk = object_id(value)
    if pk is None or not scope.has_category(Category.DIRECTORY):
        return None
    return Position.objects.filter(pk=pk).first()


def get_rank_for(scope: AdminScope, value: Any) -> Rank | None:
    pk = object_id(value)
    if pk is None or not scope.has_category(Category.DIRECTORY):
        return None
    return Rank.objects.filter(pk=pk).first()


def membership_count(*, enterprise: Enterprise) -> int:
    with enterprise_schema(enterprise):
        return Membership.objects.filter(status=Membership.Status.ACTIVE).count()
