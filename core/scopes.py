"""Administrator scopes (ENT-8): which members' data of which category an admin may process.

A scope is a department subtree × a set of categories, held as django-guardian object
permissions `scope_<category>` on Department rows (in the enterprise's own schema). A grant on
the root department covers the whole enterprise, members without a department included.
Owners hold every category everywhere; full admins hold FULL_ADMIN_CATEGORIES everywhere (health
and biometrics only if granted); members hold nothing.

`admin_scope_for` resolves it once per request (2 queries); `AdminScope.members(category)` is
the one queryset every console page and API endpoint starts from, so lists, details, search,
exports and counts are all filtered the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import cast

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.models import UserObjectPermission

from core.models import Department, Membership
from tenants.categories import FULL_ADMIN_CATEGORIES, Category

SCOPE_PREFIX = "scope_"


@dataclass(frozen=True)
class AdminScope:
    membership: Membership | None  # None: the platform itself (dangerously_whole_enterprise)
    whole: frozenset[str] = frozenset()
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def has_category(self, category: str) -> bool:
        return category in self.whole or bool(self.paths.get(category))

    @property
    def categories(self) -> frozenset[str]:
        return self.whole | frozenset(c for c, p in self.paths.items() if p)

    def _subtree_q(self, category: str, prefix: str = "") -> Q | None:
        paths = self.paths.get(category, ())
        if not paths:
            return None
        return reduce(or_, (Q(**{f"{prefix}path__startswith": path}) for path in paths))

    def members(self, category: str, *, include_invited: bool = True) -> QuerySet[Membership]:
        """Cards this admin may see for `category` (active and, by default, invited ones)."""
        statuses = [Membership.Status.ACTIVE] + ([Membership.Status.INVITED] if include_invited else [])
        queryset = Membership.objects.filter(status__in=statuses)
        if category in self.whole:
            return queryset
        subtree = self._subtree_q(category, prefix="departments__")
        if subtree is None:
            return queryset.none()
        return queryset.filter(pk__in=Membership.objects.filter(subtree).values("pk"))

    def departments(self, category: str) -> QuerySet[Department]:
        if category in self.whole:
            return Department.objects.all()
        subtree = self._subtree_q(category)
        return Department.objects.filter(subtree) if subtree is not None else Department.objects.none()

    def member_for(self, category: str, pk: int) -> Membership:
        """Fetch-and-authorize: one member within scope, or the same 404 as a missing one."""
        member = self.members(category).filter(pk=pk).first()
        if member is None:
            raise Http404("No such member.")
        return member


def dangerously_whole_enterprise() -> AdminScope:
    """Every category over the whole enterprise, for the platform's own writes (demo data, data
    migrations, tests that set up a world). Never for a request: a view passes `self.scope`."""
    return AdminScope(None, whole=frozenset(Category.values))


def admin_scope_for(membership: Membership | None) -> AdminScope | None:
    """The scope of an acting member in the current enterprise schema (None for non-admins)."""
    if membership is None or not membership.is_admin:
        return None
    if membership.role == Membership.Role.OWNER:
        return AdminScope(membership, whole=frozenset(Category.values))
    whole: set[str] = set(FULL_ADMIN_CATEGORIES) if membership.role == Membership.Role.ADMIN else set()
    grants = list(
        UserObjectPermission.objects.filter(
            user_id=cast(int, membership.account_id),  # an administrator's membership has its account
            content_type=ContentType.objects.get_for_model(Department),
            permission__codename__startswith=SCOPE_PREFIX,
        ).values_list("permission__codename", "object_pk")
    )
    paths: dict[str, list[str]] = {}
    if grants:
        department_paths = dict(
            Department.objects.filter(pk__in={int(pk) for _c, pk in grants}).values_list("pk", "path")
        )
        for codename, pk in grants:
            path = department_paths.get(int(pk))
            if path is None:
                continue
            category = codename[len(SCOPE_PREFIX) :]
            if path.count("/") == 2:  # the root department: the whole enterprise
                whole.add(category)
            else:
                paths.setdefault(category, []).append(path)
    return AdminScope(
        membership, whole=frozenset(whole), paths={c: tuple(p) for c, p in paths.items() if c not in whole}
    )
