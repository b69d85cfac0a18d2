"""Terminating an enterprise (TEN-4, RET-6).

1. An operator gives notice (`enterprise_termination_start`, from the Django admin): at least 30
   days. The enterprise becomes `terminating`: its members and administrators are notified (inbox
   and e-mail), and its host becomes read-only — pages and API answer reads (members can still see
   and copy their data) but refuse every change (tenants.middleware).
2. During the notice the operator may cancel (`enterprise_termination_cancel`): back to active.
3. When the notice has run out, beat (`retention.tasks.terminations_execute_due`) executes it
   (`enterprise_termination_execute`), in one transaction: the enterprise key is destroyed (every
   member key and so every ciphertext of the enterprise becomes unreadable, backups included), the
   schema is dropped, the public index rows of its memberships and invitations go, the enterprise
   row stays as `terminated` (its host answers 410), and a TerminationReceipt is written."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consent.inbox.services import notify_many
from consent.messages import Message
from core.encryption import enterprise_key_destroy
from tenants.context import use_public_schema
from tenants.models import Enterprise, InvitationIndex, MembershipIndex, TerminationReceipt
from tenants.storage import enterprise_files_delete

MIN_NOTICE_DAYS = 30
MAX_NOTICE_DAYS = 365
NOTIFICATION_KIND = "termination"


def _member_account_ids(enterprise: Enterprise) -> list[int]:
    return list(
        MembershipIndex.objects.filter(enterprise=enterprise)
        .order_by("account_id")
        .values_list("account_id", flat=True)
    )


def enterprise_termination_start(
    *, enterprise: Enterprise, reason: str, notice_days: int = MIN_NOTICE_DAYS, now: datetime | None = None
) -> Enterprise:
    """Give notice: field errors (nothing changed) unless the enterprise is active or suspended,
    a reason is given and the notice is 30–365 days. Every member is notified."""

    errors: dict[str, list[str]] = {}
    if enterprise.state not in (Enterprise.State.ACTIVE, Enterprise.State.SUSPENDED):
        errors["state"] = [_("Only an active or suspended enterprise can be given notice of termination.")]
    if not str(reason or "").strip():
        errors["reason"] = [_("Give the reason for the termination.")]
    if not isinstance(notice_days, int) or not MIN_NOTICE_DAYS <= notice_days <= MAX_NOTICE_DAYS:
        errors["notice_days"] = [
            _("The notice is between %(min)d and %(max)d days.") % {"min": MIN_NOTICE_DAYS, "max": MAX_NOTICE_DAYS}
        ]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    with transaction.atomic():
        Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
        enterprise.state = Enterprise.State.TERMINATING
        enterprise.state_reason = reason.strip()
        enterprise.state_changed_at = now
        enterprise.termination_notice_at = now
        enterprise.termination_effective_at = now + timedelta(days=notice_days)
        enterprise.save(
            update_fields=[
                "state",
                "state_reason",
                "state_changed_at",
                "termination_notice_at",
                "termination_effective_at",
            ]
        )
        when = timezone.localtime(enterprise.termination_effective_at).strftime("%Y-%m-%d")
        notify_many(
            account_ids=_member_account_ids(enterprise),
            kind=NOTIFICATION_KIND,
            enterprise_id=enterprise.pk,
            title=Message(
                gettext_noop("%(enterprise)s will close on %(date)s"), {"enterprise": enterprise.name, "date": when}
            ),
            body=Message(
                gettext_noop(
                    "The enterprise's use of the portal ends on %(date)s. Until then you can still see and copy "
                    "your data; nothing can be changed. Afterwards all of its data is deleted."
                ),
                {"date": when},
            ),
            url="/me/",
            channels=("email",),
        )
    return enterprise


def enterprise_termination_cancel(*, enterprise: Enterprise, reason: str = "") -> Enterprise:
    """Withdraw the notice before it runs out: the enterprise is active again."""
    if enterprise.state != Enterprise.State.TERMINATING:
        raise ValidationError({"state": [_("Only an enterprise under notice of termination can be kept.")]})
    enterprise.state = Enterprise.State.ACTIVE
    enterprise.state_reason = str(reason or "").strip()
    enterprise.state_changed_at = timezone.now()
    enterprise.termination_notice_at = None
    enterprise.termination_effective_at = None
    enterprise.save(
        update_fields=["state", "state_reason", "state_changed_at", "termination_notice_at", "termination_effective_at"]
    )
    return enterprise


def enterprise_termination_execute(*, enterprise: Enterprise, now: datetime | None = None) -> TerminationReceipt:
    """Execute a termination whose notice has run out (see the module's docstring). Refused with
    a field error before then or in any other state; never touches another enterprise."""

    now = now or timezone.now()
    with transaction.atomic():
        locked = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
        schema_name = locked.schema_name
        if locked.state != Enterprise.State.TERMINATING or locked.termination_effective_at is None:
            raise ValidationError({"state": [_("This enterprise is not under notice of termination.")]})
        if locked.termination_effective_at > now:
            raise ValidationError({"termination_effective_at": [_("The notice has not run out yet.")]})
        accounts = _member_account_ids(locked)
        key_destroyed = enterprise_key_destroy(enterprise=locked)
        use_public_schema()
        with connection.cursor() as cursor:
            # deferred foreign-key checks of rows written in this transaction must run first
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(locked.schema_name)} CASCADE")
        MembershipIndex.objects.filter(enterprise=locked).delete()
        InvitationIndex.objects.filter(enterprise=locked).delete()
        # an UPDATE, not save(): django-tenants' save() re-creates a missing schema
        Enterprise.objects.filter(pk=locked.pk).update(
            state=Enterprise.State.TERMINATED, state_changed_at=now, member_count=0
        )
        locked.state = Enterprise.State.TERMINATED
        receipt = TerminationReceipt.objects.create(
            enterprise_id=locked.pk,
            name=locked.name,
            slug=locked.slug,
            schema_name=locked.schema_name,
            notice_at=locked.termination_notice_at or now,
            effective_at=locked.termination_effective_at,
            executed_at=now,
            members=len(accounts),
            key_destroyed=key_destroyed,
            schema_dropped=True,
        )
        notify_many(
            account_ids=accounts,
            kind=NOTIFICATION_KIND,
            title=Message(
                gettext_noop("%(enterprise)s has closed and its data has been deleted"), {"enterprise": locked.name}
            ),
        )
        # its files too (member photos, exports: not encrypted), once the deletion is committed:
        # its folder under MEDIA_ROOT or its prefix in the bucket (tenants.storage)
        # (robust: the termination stands if the bucket is unreachable; the error is logged)
        transaction.on_commit(lambda: enterprise_files_delete(schema_name), robust=True)
    enterprise.state = locked.state
    return receipt


def terminations_due(*, now: datetime | None = None) -> list[Enterprise]:
    return list(
        Enterprise.objects.filter(
            state=Enterprise.State.TERMINATING, termination_effective_at__lte=now or timezone.now()
        ).order_by("pk")
    )
