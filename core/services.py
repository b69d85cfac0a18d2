"""Services for enterprise-schema data. Every function runs in the schema of the enterprise it
is given (tenants.context.enterprise_schema) and never trusts the connection's current one.

Org structure (ENT-1) and administrator scopes (ENT-8)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.models import Department, Membership
from core.selectors import membership_count
from tenants.context import enterprise_schema, use_public_schema
from tenants.models import Domain, Enterprise, MembershipIndex
from tenants.services import enterprise_validate_new, slug_to_schema, template_schema_check


def membership_create(*, enterprise: Enterprise, account: User, role: str, display_name: str = "") -> Membership:
    """Make `account` a member of `enterprise` (ACC-3). Idempotent: an existing membership is
    reactivated and given `role`. Writes the public MembershipIndex row in the same transaction."""
    name = display_name or account.display_name
    with transaction.atomic(), enterprise_schema(enterprise):
        membership, created = Membership.objects.get_or_create(
            account=account,
            defaults={"role": role, "display_name": name, "mobile": str(account.mobile), "joined_at": timezone.now()},
        )
        joined_at = membership.joined_at or timezone.now()
        if not created and (membership.role != role or not membership.is_active):
            membership.role = role
            membership.status = Membership.Status.ACTIVE
            membership.joined_at = joined_at
            membership.save(update_fields=["role", "status", "joined_at"])
        MembershipIndex.objects.update_or_create(
            account=account, enterprise=enterprise, defaults={"role": role, "joined_at": joined_at}
        )
    return membership


def enterprise_refresh_member_count(*, enterprise: Enterprise) -> int:
    """Store the enterprise's active member count in the public Enterprise row."""
    count = membership_count(enterprise=enterprise)
    Enterprise.objects.filter(pk=enterprise.pk).update(member_count=count, member_count_at=timezone.now())
    return count


def department_root(*, enterprise: Enterprise) -> Department:
    """The root department (the enterprise itself), created on first use."""
    with enterprise_schema(enterprise), transaction.atomic():
        root = Department.objects.filter(parent__isnull=True).order_by("id").first()
        if root is None:
            root = Department.objects.create(name=enterprise.name[:100], path="/pending/")
            root.path = f"/{root.pk}/"
            root.save(update_fields=["path"])
        return root


@dataclass(frozen=True)
class CreatorDetails:
    """What sign-up records about the person creating an enterprise (TEN-2)."""

    name: str
    email: str = ""


def enterprise_create(
    *,
    name: str,
    slug: str,
    owner: User,
    creator: CreatorDetails | None = None,
    domain: str | None = None,
) -> Enterprise:
    """Provision an enterprise: its schema (cloned from the template, TEN-3), its domain, and
    `owner` as its first member with the owner role (TEN-2). All or nothing: on any error the
    schema, rows and domain are rolled back together (PostgreSQL DDL is transactional)."""

    host = enterprise_validate_new(name=name, slug=slug, domain=domain)
    if settings.TENANT_CREATION_FAKES_MIGRATIONS:
        template_schema_check()
    creator = creator or CreatorDetails(name=owner.display_name, email=owner.email)
    with transaction.atomic():
        enterprise = Enterprise(
            name=name.strip(),
            slug=slug,
            schema_name=slug_to_schema(slug),
            created_by=owner,
            creator_name=creator.name,
            creator_mobile=str(owner.mobile),
            creator_email=creator.email,
            state_changed_at=timezone.now(),
        )
        enterprise.save(verbosity=0)  # creates the schema: Enterprise.create_schema
        Domain.objects.create(domain=host, tenant=enterprise, is_primary=True)
        membership_create(
            enterprise=enterprise, account=owner, role="owner", display_name=creator.name or owner.display_name
        )
    use_public_schema()
    return enterprise
