"""Platform data in the public schema: enterprises (tenants), their domains, and a public index
of memberships so that an account's enterprises are listed without visiting every schema."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name

from tenants.citus import schema_distribute
from tenants.pool import pool_claim
from tenants.provisioning import clone_template_schema
from tenants.routing import RoutingInvalidatingQuerySet


class Enterprise(TenantMixin):
    """One company, the controller of its members' data, with its own PostgreSQL schema (TEN-1)."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATING = "terminating", _("Terminating")
        TERMINATED = "terminated", _("Terminated")

    # django-tenants' field, redeclared only to give it a translated label (the same column)
    schema_name = models.CharField(
        _("schema name"), max_length=63, unique=True, db_index=True, validators=[_check_schema_name]
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=40, unique=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ACTIVE)
    state_reason = models.TextField(_("reason for the current state"), blank=True)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    # TEN-4: termination notice (at least 30 days) and when the schema may be dropped.
    termination_notice_at = models.DateTimeField(_("termination notice given at"), null=True, blank=True)
    termination_effective_at = models.DateTimeField(_("terminates at"), null=True, blank=True)
    # TEN-2: who created it, as recorded at sign-up (kept even if the account goes away).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    creator_name = models.CharField(_("creator's name"), max_length=100, blank=True)
    creator_mobile = models.CharField(_("creator's mobile"), max_length=20, blank=True)
    creator_email = models.EmailField(_("creator's email"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Kept by the periodic task core.tasks.enterprise_refresh_member_count.
    # The enterprise's published notice version (CON-3), 0 before the first; kept here so the
    # acknowledgement check costs no query (consent.notices.middleware).
    notice_version = models.PositiveIntegerField(_("current notice version"), default=0, editable=False)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    member_count_at = models.DateTimeField(_("members counted at"), null=True, blank=True)

    auto_create_schema = True
    # issue 18 §8: bulk writes invalidate the host -> enterprise cache (tenants/routing.py)
    objects = RoutingInvalidatingQuerySet.as_manager()
    auto_drop_schema = False  # schemas are dropped only by the termination flow

    def create_schema(self, check_if_exists: bool = False, sync_schema: bool = True, verbosity: int = 1) -> bool:
        """Provision from the template when settings ask for it — a warm pool schema renamed
        (tenants.pool), else a copy built from the template's definition
        (tenants.provisioning.clone_template_schema); otherwise django-tenants' own path (CREATE
        SCHEMA + migrate). On Citus the new schema is then distributed (tenants.citus)."""
        from django.db import connection
        from django_tenants.postgresql_backend.base import _check_schema_name
        from django_tenants.utils import schema_exists

        template = settings.TENANT_BASE_SCHEMA
        if not (sync_schema and settings.TENANT_CREATION_FAKES_MIGRATIONS and schema_exists(template)):
            return bool(super().create_schema(check_if_exists, sync_schema, verbosity))
        _check_schema_name(self.schema_name)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        tenant_connection = cast(Any, connection)  # django-tenants' wrapper; the stubs know Django's (tenants.context)
        tenant_connection.set_schema_to_public()
        # issue 18 §2: a warm pool schema when there is one (a rename), else the template's definition
        if not (settings.TENANT_POOL_SIZE and pool_claim(new=self.schema_name, template=template)):
            clone_template_schema(template=template, new=self.schema_name)
        tenant_connection.set_schema_to_public()
        # issue 18 §5: on Citus the schema, built on the coordinator, moves whole to a worker
        schema_distribute(self.schema_name)
        return True

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME


class Domain(DomainMixin):
    # django-tenants' fields, redeclared only to give them translated labels (the same columns)
    domain = models.CharField(_("domain"), max_length=253, unique=True, db_index=True)
    tenant = models.ForeignKey(
        settings.TENANT_MODEL,
        db_index=True,
        related_name="domains",
        on_delete=models.CASCADE,
        verbose_name=_("enterprise"),
    )
    is_primary = models.BooleanField(_("primary"), default=True, db_index=True)

    objects = RoutingInvalidatingQuerySet.as_manager()  # issue 18 §8: see Enterprise.objects

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return self.domain


# The roles of enterprise_data.Membership.Role (the source of truth, a layer above), with the same
# labels, so that a person reads "Member", not the code "member", on the public host's pages.
MEMBERSHIP_ROLE_CHOICES = [
    ("owner", _("Owner")),
    ("admin", _("Administrator")),
    ("scoped_admin", _("Scoped administrator")),
    ("member", _("Member")),
]


class MembershipIndex(models.Model):
    """Public mirror of `enterprise_data.Membership`: which enterprises an account belongs to.

    Written by the membership services in the same transaction as the membership itself; the
    enterprise's own schema stays the source of truth for roles and profile data."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enterprise_links", verbose_name=_("account")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="account_links", verbose_name=_("enterprise")
    )
    role = models.CharField(max_length=16, choices=MEMBERSHIP_ROLE_CHOICES, verbose_name=_("role"))
    joined_at = models.DateTimeField(verbose_name=_("joined at"))

    class Meta:
        verbose_name = _("membership index")
        verbose_name_plural = _("membership index entries")
        constraints = [
            models.UniqueConstraint(fields=["account", "enterprise"], name="membership_index_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.enterprise_id}"


class EnterpriseKey(models.Model):
    """The salt from which the enterprise key is derived (HKDF over the master key, RET-6).
    Destroying it (termination, TEN-4) makes every member key of the enterprise unwrappable."""

    enterprise = models.OneToOneField(
        Enterprise, on_delete=models.PROTECT, related_name="key", verbose_name=_("enterprise")
    )
    salt = models.BinaryField(verbose_name=_("salt"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    destroyed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("destroyed at"))

    class Meta:
        verbose_name = _("enterprise key")
        verbose_name_plural = _("enterprise keys")

    def __str__(self) -> str:
        return f"key of {self.enterprise_id}"


class InvitationIndex(models.Model):
    """Public mirror of pending mobile-number invitations (ENT-3), so an account's `/account/`
    page lists them without visiting every schema. Written with the invitation itself."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="invitation_links", verbose_name=_("enterprise")
    )
    invitation_id = models.BigIntegerField(verbose_name=_("invitation"))
    mobile = models.CharField(max_length=20, db_index=True, verbose_name=_("mobile"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))

    class Meta:
        verbose_name = _("invitation index")
        verbose_name_plural = _("invitation index entries")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "invitation_id"], name="invitation_index_unique"),
        ]


class PurgeReceipt(models.Model):
    """The operators' copy of a purge receipt (RET-5): one per (enterprise, run, category), or
    per (run, category) of the platform's own purge of the public schema.
    Written in the same transaction as the enterprise's own record of the step (its PurgeStep
    and ledger entry), never changed afterwards (read-only in the admin)."""

    # Empty for the platform's own purge of the public schema (retention.services.platform).
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purge_receipts",
    )
    schema_name = models.CharField(_("schema"), max_length=63)
    run_id = models.BigIntegerField(_("run"))
    category = models.CharField(_("category"), max_length=32)
    cutoff = models.DateTimeField(_("cut-off"))
    rows = models.BigIntegerField(_("rows"))
    retention_days = models.PositiveIntegerField(_("policy (days kept)"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    ledger_entry_id = models.BigIntegerField(_("ledger entry"), null=True, blank=True)

    class Meta:
        verbose_name = _("purge receipt")
        verbose_name_plural = _("purge receipts")
        ordering = ["-finished_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "run_id", "category"], name="purge_receipt_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} run {self.run_id} {self.category}: {self.rows}"


class TerminationReceipt(models.Model):
    """What remains in public of a terminated enterprise (TEN-4, RET-6): when notice was given, when
    it was executed, that its key was destroyed and its schema dropped. No personal data."""

    enterprise_id = models.BigIntegerField(_("enterprise id"))
    name = models.CharField(_("name"), max_length=200)
    slug = models.CharField(_("short name"), max_length=40)
    schema_name = models.CharField(_("schema"), max_length=63)
    notice_at = models.DateTimeField(_("notice given at"))
    effective_at = models.DateTimeField(_("effective at"))
    executed_at = models.DateTimeField(_("executed at"))
    members = models.PositiveIntegerField(_("members at termination"))
    key_destroyed = models.BooleanField(_("enterprise key destroyed"))
    schema_dropped = models.BooleanField(_("schema dropped"))

    class Meta:
        verbose_name = _("termination receipt")
        verbose_name_plural = _("termination receipts")
        ordering = ["-executed_at"]

    def __str__(self) -> str:
        return f"{self.slug} {self.executed_at:%Y-%m-%d}"
