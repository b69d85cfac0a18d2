"""Enterprise provisioning and lifecycle (TEN-1..TEN-4)."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists

from tenants.citus import reference_tables_ensure
from tenants.context import use_public_schema
from tenants.models import Domain, Enterprise
from tenants.pool import pool_fill
from tenants.provisioning import TemplateDefinitionUnavailable, template_definition

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# Names that would collide with PostgreSQL, the platform's own schemas or well-known hosts.
RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "admin",
        "api",
        "app",
        "static",
        "media",
        "mail",
        "smtp",
        "ftp",
        "ns1",
        "ns2",
        "localhost",
        "template",
        "enterprise-template",
        "information-schema",
        "postgres",
        "root",
        "account",
        "accounts",
        "console",
        "me",
        "login",
        "logout",
        "signup",
        "help",
        "support",
        "status",
        "platform",
        "portal",
        "operator",
        "operators",
    }
)


def slug_to_schema(slug: str) -> str:
    return slug.replace("-", "_")


def enterprise_domain_for(slug: str) -> str:
    return f"{slug}.{settings.ENTERPRISE_DOMAIN_SUFFIX}"


def enterprise_validate_new(*, name: str, slug: str, domain: str | None = None) -> str:
    """Check a new enterprise's name, short name and domain; return the domain to use.

    Raises ValidationError with field errors (`name`, `slug`, `domain`) and writes nothing."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors.setdefault("name", []).append(_("Enter the enterprise's name."))
    elif len(name.strip()) > 200:
        errors.setdefault("name", []).append(_("At most 200 characters."))
    if not SLUG_RE.match(slug):
        errors.setdefault("slug", []).append(
            _("3 to 40 characters: lower-case letters, digits and hyphens, starting with a letter.")
        )
    elif slug in RESERVED_SLUGS or slug.startswith(("pg-", "pg_")) or "--" in slug:
        errors.setdefault("slug", []).append(_("“%(slug)s” is reserved. Choose another short name.") % {"slug": slug})
    elif (
        Enterprise.objects.filter(slug=slug).exists()
        or Enterprise.objects.filter(schema_name=slug_to_schema(slug)).exists()
        or schema_exists(slug_to_schema(slug))
    ):
        errors.setdefault("slug", []).append(_("This short name is already taken."))
    host = (domain or (enterprise_domain_for(slug) if SLUG_RE.match(slug) else "")).strip().lower()
    if host:
        if not HOST_RE.match(host):
            errors.setdefault("domain", []).append(_("Enter a valid host name, e.g. acme.example.com."))
        elif host in settings.PUBLIC_DOMAINS or host.split(".")[0] in RESERVED_SLUGS:
            errors.setdefault("domain", []).append(_("This host name is reserved."))
        elif Domain.objects.filter(domain=host).exists():
            errors.setdefault("domain", []).append(_("This host name is already in use."))
    if errors:
        raise ValidationError(errors)
    return host


def enterprise_suspend(*, enterprise: Enterprise, reason: str) -> Enterprise:
    """Active -> suspended: no one can use it, its data is kept (TEN-4)."""
    if enterprise.state != Enterprise.State.ACTIVE:
        raise ValidationError({"state": _("Only an active enterprise can be suspended.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the suspension.")})
    return _enterprise_set_state(enterprise, Enterprise.State.SUSPENDED, reason)


def enterprise_reactivate(*, enterprise: Enterprise, reason: str = "") -> Enterprise:
    if enterprise.state != Enterprise.State.SUSPENDED:
        raise ValidationError({"state": _("Only a suspended enterprise can be reactivated.")})
    return _enterprise_set_state(enterprise, Enterprise.State.ACTIVE, reason)


def _enterprise_set_state(enterprise: Enterprise, state: str, reason: str) -> Enterprise:
    enterprise.state = state
    enterprise.state_reason = reason.strip()
    enterprise.state_changed_at = timezone.now()
    enterprise.save(update_fields=["state", "state_reason", "state_changed_at"])
    return enterprise


# --- the public tenant and the template schema -----------------------------------------------


def public_tenant_ensure() -> Enterprise:
    """The public schema's tenant row and its host names (settings.PUBLIC_DOMAINS)."""
    public, _created = Enterprise.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME, defaults={"name": "Platform", "slug": "public"}
    )
    for index, host in enumerate(settings.PUBLIC_DOMAINS):
        Domain.objects.get_or_create(domain=host, defaults={"tenant": public, "is_primary": index == 0})
    return public


class TemplateSchemaOutdated(RuntimeError):
    pass


_template_checked = False


def template_schema_pending_migrations() -> list[str]:
    """Migrations the template schema lacks ([] when it is current)."""
    with schema_context(settings.TENANT_BASE_SCHEMA):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def template_schema_check() -> None:
    """Refuse to clone from a missing or outdated template: the clone is then marked as fully
    migrated, so an outdated template would silently lack tables. Checked once per process."""
    global _template_checked
    if _template_checked:
        return
    if not schema_exists(settings.TENANT_BASE_SCHEMA):
        raise TemplateSchemaOutdated("The template schema is missing: run `manage.py sync_template_schema`.")
    pending = template_schema_pending_migrations()
    if pending:
        raise TemplateSchemaOutdated(
            f"The template schema lacks {', '.join(pending)}: run `manage.py sync_template_schema`."
        )
    _template_checked = True


def template_schema_sync(*, verbosity: int = 0) -> bool:
    """Create the template schema if missing and apply any pending tenant migrations to it.
    Returns True when something changed. Run after every `migrate` (make run, deployment).
    On Citus the public tables enterprise schemas point to then become reference tables
    (issue 18 §5; tenants.citus)."""
    from django.core.management import call_command

    global _template_checked
    name = settings.TENANT_BASE_SCHEMA
    created = not schema_exists(name)
    if created:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    pending = created or bool(template_schema_pending_migrations())
    if pending:
        call_command("migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=verbosity)
    use_public_schema()
    reference_tables_ensure()  # issue 18 §5: Citus only; after the template is migrated (tenants.citus)
    _template_checked = False
    template_definition_refresh()
    return pending


def template_definition_refresh() -> None:
    """Issue 18 §2: write the template's definition for its migration state now (not at the next
    sign-up), and drop the warm pool's schemas made for an older state (beat refills the pool).
    Without a usable pg_dump, provisioning falls back to clone_schema: said, not raised."""
    try:
        template_definition(settings.TENANT_BASE_SCHEMA, refresh=True)
    except TemplateDefinitionUnavailable as exc:
        logger.warning("the template's definition could not be written: %s", exc)
    pool_fill(size=0)
