"""The org structure an administrator edits (ENT-3, ENT-8): departments (create, rename, move,
delete), positions and ranks, and the scopes granted to scoped administrators. Every change is
a ledger entry (ENT-10). Positions and ranks are renamed and deleted here too; like a
department, one still in use is not deleted. The acting admin's right to grant is checked here (`may_grant_scopes`)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm, get_perms, remove_perm

from core.models import Department, Membership, Position, Rank
from core.scopes import admin_scope_for
from core.services import department_root
from ledger.services import Action, ledger_record
from tenants.categories import Category, scope_permission
from tenants.context import enterprise_schema
from tenants.models import Enterprise


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("At most 100 characters.")})
    return name


def department_create(
    *, enterprise: Enterprise, actor: Membership | None, name: str, parent: Department | None = None
) -> Department:
    name = _clean_name(name)
    with enterprise_schema(enterprise), transaction.atomic():
        parent = parent or department_root(enterprise=enterprise)
        if Department.objects.filter(parent=parent, name=name).exists():
            raise ValidationError({"name": _("A department with this name already exists here.")})
        department = Department.objects.create(name=name, parent=parent, path="/pending/")
        department.path = f"{parent.path}{department.pk}/"
        department.save(update_fields=["path"])
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CREATE,
            category=Category.DIRECTORY,
            obj=department,
            details={"parent": parent.pk},
        )
    return department


def department_rename(
    *, enterprise: Enterprise, actor: Membership | None, department: Department, name: str
) -> Department:
    name = _clean_name(name)
    with enterprise_schema(enterprise), transaction.atomic():
        if Department.objects.filter(parent=department.parent_id, name=name).exclude(pk=department.pk).exists():
            raise ValidationError({"name": _("A department with this name already exists here.")})
        department.name = name
        department.save(update_fields=["name"])
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            obj=department,
            details={"fields": ["name"]},
        )
    return department


def department_move(
    *, enterprise: Enterprise, actor: Membership | None, department: Department, new_parent: Department
) -> Department:
    """Move a subtree under `new_parent` with one UPDATE of the paths below it."""
    with enterprise_schema(enterprise), transaction.atomic():
        if department.parent_id is None:
            raise ValidationError({"parent": _("The root department cannot be moved.")})
        if new_parent.path.startswith(department.path):
            raise ValidationError({"parent": _("A department cannot move into itself or below itself.")})
        if Department.objects.filter(parent=new_parent, name=department.name).exists():
            raise ValidationError({"parent": _("The new parent already has a department with this name.")})
        old_prefix, new_prefix = department.path, f"{new_parent.path}{department.pk}/"
        Department.objects.filter(path__startswith=old_prefix).update(
            path=Concat(Value(new_prefix), Substr(F("path"), len(old_prefix) + 1))
        )
        Department.objects.filter(pk=department.pk).update(parent=new_parent)
        department.refresh_from_db()
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            obj=department,
            details={"moved_to": new_parent.pk},
        )
    return department


def department_delete(*, enterprise: Enterprise, actor: Membership | None, department: Department) -> None:
    """Only an empty department (no sub-departments, no members) can be deleted."""
    with enterprise_schema(enterprise), transaction.atomic():
        if department.parent_id is None:
            raise ValidationError({"department": _("The root department cannot be deleted.")})
        if Department.objects.filter(parent=department).exists() or department.members.exists():
            raise ValidationError(
                {
                    "department": _(
                        "Only an empty department can be deleted: move its members and sub-departments first."
                    )
                }
            )
        pk = department.pk
        department.delete()
        UserObjectPermission.objects.filter(  # scope grants on it go too
            content_type=ContentType.objects.get_for_model(Department), object_pk=str(pk)
        ).delete()
        ledger_record(
            enterprise=enterprise, actor=actor, action=Action.DELETE, category=Category.DIRECTORY, object_id=pk
        )


def position_create(*, enterprise: Enterprise, actor: Membership | None, name: str) -> Position:
    name = _clean_name(name)
    with enterprise_schema(enterprise), transaction.atomic():
        if Position.objects.filter(name=name).exists():
            raise ValidationError({"name": _("This position already exists.")})
        position = Position.objects.create(name=name)
        ledger_record(
            enterprise=enterprise, actor=actor, action=Action.CREATE, category=Category.DIRECTORY, obj=position
        )
    return position


def rank_create(*, enterprise: Enterprise, actor: Membership | None, name: str, level: int = 0) -> Rank:
    name = _clean_name(name)
    with enterprise_schema(enterprise), transaction.atomic():
        if Rank.objects.filter(name=name).exists():
            raise ValidationError({"name": _("This rank already exists.")})
        rank = Rank.objects.create(name=name, level=level)
        ledger_record(enterprise=enterprise, actor=actor, action=Action.CREATE, category=Category.DIRECTORY, obj=rank)
    return rank


def _in_use_error(kind: str) -> ValidationError:
    messages = {
        "position": _("Members hold this position: give them another position first."),
        "rank": _("Members hold this rank: give them another rank first."),
    }
    return ValidationError({"name": messages[kind]})


# members whose card still names a position or rank (departed cards lose it: SET_NULL)
_HOLDING = (Membership.Status.ACTIVE, Membership.Status.INVITED)


def position_rename(*, enterprise: Enterprise, actor: Membership | None, position: Position, name: str) -> Position:
    name = _clean_name(name)
    with enterprise_schema(enterprise), transaction.atomic():
        if Position.objects.filter(name=name).exclude(pk=position.pk).exists():
            raise ValidationError({"name": _("This position already exists.")})
        position.name = name
        position.save(update_fields=["name"])
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            obj=position,
            details={"fields": ["name"]},
        )
    return position


def position_delete(*, enterprise: Enterprise, actor: Membership | None, position: Position) -> None:
    """Only a position no active or invited member holds can be deleted (as an empty department)."""
    with enterprise_schema(enterprise), transaction.atomic():
        if position.members.filter(status__in=_HOLDING).exists():
            raise _in_use_error("position")
        ledger_record(  # before the row goes, so the entry names its type and id
            enterprise=enterprise, actor=actor, action=Action.DELETE, category=Category.DIRECTORY, obj=position
        )
        position.delete()


def rank_update(*, enterprise: Enterprise, actor: Membership | None, rank: Rank, name: str, level: int) -> Rank:
    name = _clean_name(name)
    if level < 0 or level > 32767:
        raise ValidationError({"level": _("Enter a level from 0 to 32767.")})
    with enterprise_schema(enterprise), transaction.atomic():
        if Rank.objects.filter(name=name).exclude(pk=rank.pk).exists():
            raise ValidationError({"name": _("This rank already exists.")})
        changed = [f for f, value in (("name", name), ("level", level)) if getattr(rank, f) != value]
        if not changed:
            return rank
        rank.name, rank.level = name, level
        rank.save(update_fields=changed)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.CHANGE,
            category=Category.DIRECTORY,
            obj=rank,
            details={"fields": changed},
        )
    return rank


def rank_delete(*, enterprise: Enterprise, actor: Membership | None, rank: Rank) -> None:
    """Only a rank no active or invited member holds can be deleted."""
    with enterprise_schema(enterprise), transaction.atomic():
        if rank.members.filter(status__in=_HOLDING).exists():
            raise _in_use_error("rank")
        ledger_record(  # before the row goes, so the entry names its type and id
            enterprise=enterprise, actor=actor, action=Action.DELETE, category=Category.DIRECTORY, obj=rank
        )
        rank.delete()


def may_grant_scopes(actor: Membership) -> bool:
    """Owners and full administrators change administrator scopes (ENT-8)."""
    return actor.is_active and actor.role in (Membership.Role.OWNER, Membership.Role.ADMIN)


def _check_grantor(
    *, actor: Membership | None, admin: Membership, department: Department, categories: list[str]
) -> None:
    """Least privilege (ENT-8): an administrator grants only what they hold themselves over that
    department, and never to themselves. `actor=None` is the platform itself (demo, tests)."""

    if actor is None:
        return
    if actor.pk == admin.pk:
        raise ValidationError({"admin": _("Administrators cannot change their own scope.")})
    scope = admin_scope_for(actor)
    if scope is None or not may_grant_scopes(actor):
        raise ValidationError({"admin": _("Only owners and full administrators grant scopes.")})
    lacking = [
        c
        for c in categories
        if c not in scope.whole and not any(department.path.startswith(p) for p in scope.paths.get(c, ()))
    ]
    if lacking:
        labels = ", ".join(str(Category(c).label) for c in sorted(lacking))  # translated names, not codes
        raise ValidationError(
            {
                "categories": _("You can only grant categories you hold over this department: %(categories)s.")
                % {"categories": labels}
            }
        )


def scope_grant(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    admin: Membership,
    department: Department,
    categories: list[str],
) -> None:
    """Give `admin` the categories over `department`'s subtree (django-guardian object
    permissions); a member becomes a scoped administrator."""
    unknown = set(categories) - set(Category.values)
    if not categories or unknown:
        raise ValidationError({"categories": _("Choose at least one known data category.")})
    if admin.account_id is None or not admin.is_active:
        raise ValidationError({"admin": _("Only an active member can be given an administrator scope.")})
    with enterprise_schema(enterprise):
        _check_grantor(actor=actor, admin=admin, department=department, categories=categories)
    with enterprise_schema(enterprise), transaction.atomic():
        held = set(get_perms(admin.account, department))
        missing = sorted(c for c in set(categories) if scope_permission(c) not in held)
        if not missing:
            return  # nothing changes, nothing is recorded
        if admin.role == Membership.Role.MEMBER:
            admin.role = Membership.Role.SCOPED_ADMIN
            admin.save(update_fields=["role"])
        for category in missing:
            assign_perm(f"enterprise_data.{scope_permission(category)}", admin.account, department)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.GRANT,
            category=Category.DIRECTORY,
            subject=admin,
            obj=department,
            details={"categories": missing},
        )


def scope_revoke(
    *,
    enterprise: Enterprise,
    actor: Membership | None,
    admin: Membership,
    department: Department,
    categories: list[str],
) -> None:
    """Take categories over `department`'s subtree back from `admin`. The acting admin is checked
    as for a grant (ENT-8): an owner or full administrator, never about themselves, and only
    categories they hold over that department."""
    unknown = set(categories) - set(Category.values)
    if not categories or unknown:
        raise ValidationError({"categories": _("Choose at least one known data category.")})
    if admin.account_id is None:
        raise ValidationError({"admin": _("Only an active member can be given an administrator scope.")})
    with enterprise_schema(enterprise):
        _check_grantor(actor=actor, admin=admin, department=department, categories=categories)
    with enterprise_schema(enterprise), transaction.atomic():
        for category in categories:
            remove_perm(f"enterprise_data.{scope_permission(category)}", admin.account, department)
        ledger_record(
            enterprise=enterprise,
            actor=actor,
            action=Action.REVOKE,
            category=Category.DIRECTORY,
            subject=admin,
            obj=department,
            details={"categories": sorted(categories)},
        )
