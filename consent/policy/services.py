"""The platform privacy policy (CON-1, CON-2): publishing versions, the current version,
acceptances and the minor-change notice.

A version is written as a draft in the operators' admin; `policy_version_publish` is the only way
to publish it, after which it never changes (the admin shows it read-only). Publishing puts one
message in every active account's inbox.

CON-2 enforcement: after a major policy version takes effect, every signed-in account is
stopped (an interstitial page, or a 403 with a stable code on the API) until it accepts.

The state is a flag on the account, `policy_acceptance_required`, loaded with the user on every
request anyway: the check costs no query. It is set with one set-based UPDATE when a major
version takes effect (`policy_activate_due`: at publication when effective at once, otherwise
by the beat task once `effective_at` has passed) and cleared when the account accepts the
version in force."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from consent.inbox.services import notify_many
from consent.messages import Message
from consent.models import PolicyAcceptance, PolicyNoticeDismissal, PolicyVersion
from consent.policy.selectors import policy_current

NOTIFICATION_KIND = "policy"
TEXT_FIELDS = ("title_en", "title_zh", "body_en", "body_zh")
_CLOCK_SKEW = timedelta(minutes=1)  # "now" typed in the admin a moment ago is not the past


def _publish_errors(version: PolicyVersion, effective_at: datetime, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if version.status != PolicyVersion.Status.DRAFT:
        errors["status"] = [
            _("Version %(version)s is already published; published versions never change.")
            % {"version": version.version}
        ]
        return errors
    for field in TEXT_FIELDS:
        if not (getattr(version, field) or "").strip():
            errors[field] = [_("Required in both languages before publishing.")]
    kinds = list(version.major_kinds or [])
    valid_kinds = set(PolicyVersion.MajorKind.values)
    if version.level == PolicyVersion.Level.MAJOR:
        if not kinds:
            errors["major_kinds"] = [_("A major version names at least one kind of major change.")]
        elif not set(kinds) <= valid_kinds or len(set(kinds)) != len(kinds):
            errors["major_kinds"] = [_("Choose kinds of major change from the list, each once.")]
    elif version.level == PolicyVersion.Level.MINOR:
        if kinds:
            errors["major_kinds"] = [_("A minor version names no kind of major change.")]
    else:
        errors["level"] = [_("Choose minor or major.")]
    if effective_at < now - _CLOCK_SKEW:
        errors["effective_at"] = [_("The effective date cannot be in the past.")]
    else:
        latest = (
            PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED)
            .order_by("-effective_at")
            .values_list("effective_at", flat=True)
            .first()
        )
        if latest is not None and effective_at < latest:
            errors["effective_at"] = [_("A version cannot take effect before a version already published.")]
    return errors


def policy_version_publish(
    *, version: PolicyVersion, effective_at: datetime | None = None, actor: User | None
) -> PolicyVersion:
    """Publish a draft (CON-1): effective now, or at a future `effective_at`.

    Refused with field errors, and nothing changed, when the version is already published, a title
    or text is missing in either language, a major version names no kind of change (or a minor
    one names any), or the date is in the past or before an already published version's. On
    success every active account gets one inbox message (CON-2), in the same transaction.
    `actor` is the operator (the Django admin's LogEntry records who did it)."""
    now = timezone.now()
    with transaction.atomic():
        locked = PolicyVersion.objects.select_for_update().filter(pk=version.pk).first()
        if locked is None:
            raise ValidationError({"version": [_("This version no longer exists.")]}, code="missing")
        when = effective_at or now
        errors = _publish_errors(locked, when, now)
        if errors:
            raise ValidationError(errors, code="invalid")
        locked.status = PolicyVersion.Status.PUBLISHED
        locked.effective_at = when
        locked.published_at = now
        locked.save(update_fields=["status", "effective_at", "published_at"])
        _notify_everyone(locked)
        if when <= now:  # in force at once: a major version stops every account now (interstitial)
            policy_activate_due(now=now)
    version.status, version.effective_at, version.published_at = locked.status, when, now
    return locked


def _notify_everyone(version: PolicyVersion) -> int:
    params = {"version": version.version, "date": timezone.localtime(version.effective_at).strftime("%Y-%m-%d")}
    if version.level == PolicyVersion.Level.MAJOR:
        title = Message(gettext_noop("Privacy policy %(version)s: major change — please read and accept it"), params)
        body = Message(
            gettext_noop(
                "A new version of the privacy policy (%(version)s) takes effect on %(date)s. It is a major "
                "change: you will be asked to accept it before continuing."
            ),
            params,
        )
    else:
        title = Message(gettext_noop("Privacy policy %(version)s: minor change"), params)
        body = Message(
            gettext_noop(
                "A new version of the privacy policy (%(version)s) takes effect on %(date)s. It is a minor change."
            ),
            params,
        )
    account_ids = User.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    # SEC-5: a major change also goes out by e-mail to accounts that gave an address
    channels = ("email",) if version.level == PolicyVersion.Level.MAJOR else ()
    return notify_many(
        account_ids=account_ids.iterator(chunk_size=2000),
        kind=NOTIFICATION_KIND,
        title=title,
        body=body,
        url=f"/policy/{version.version}/",
        channels=channels,
    )


def policy_accept(*, account: User, version: PolicyVersion, channel: str, ip: str | None = None) -> PolicyAcceptance:
    """Record that `account` accepted `version` (CON-1). Idempotent: accepting again returns the
    first acceptance unchanged. Only published versions can be accepted: the one in force or one
    announced for a later date, never one already replaced."""
    if version.status != PolicyVersion.Status.PUBLISHED:
        raise ValidationError({"version": [_("Only a published version can be accepted.")]}, code="draft")
    if channel not in PolicyAcceptance.Channel.values:
        raise ValidationError({"channel": [_("Unknown channel.")]}, code="invalid")
    current = policy_current()
    if (
        current is not None
        and current.effective_at is not None
        and version.effective_at is not None
        and version.effective_at < current.effective_at
    ):
        raise ValidationError(
            {
                "version": [
                    _("Version %(version)s has been replaced; accept the version in force.")
                    % {"version": version.version}
                ]
            },
            code="superseded",
        )
    existing = PolicyAcceptance.objects.filter(account=account, version=version).first()
    if existing is None:
        try:
            with transaction.atomic():
                existing = PolicyAcceptance.objects.create(
                    account=account, version=version, accepted_at=timezone.now(), channel=channel, ip=ip or None
                )
        except IntegrityError:  # a concurrent request recorded it first
            existing = PolicyAcceptance.objects.get(account=account, version=version)
    policy_acceptance_recorded(account=account, version=version)
    return existing


def policy_notice_dismiss(*, account: User, version: PolicyVersion) -> None:
    """`account` closed the notice of a minor version (CON-2). Idempotent."""
    if version.status != PolicyVersion.Status.PUBLISHED or version.level != PolicyVersion.Level.MINOR:
        raise ValidationError(
            {"version": [_("Only a published minor version has a notice to close.")]}, code="not_minor"
        )
    PolicyNoticeDismissal.objects.get_or_create(
        account=account, version=version, defaults={"dismissed_at": timezone.now()}
    )


def policy_activate_due(*, now: datetime | None = None) -> list[PolicyVersion]:
    """Let every published version whose effective time has come take effect (idempotent).
    A major one requires re-acceptance from every active account that has not accepted it."""
    now = now or timezone.now()
    activated = []
    with transaction.atomic():
        due = (
            PolicyVersion.objects.select_for_update()
            .filter(status=PolicyVersion.Status.PUBLISHED, activated_at__isnull=True, effective_at__lte=now)
            .order_by("effective_at", "id")
        )
        for version in due:
            if version.level == PolicyVersion.Level.MAJOR:
                (
                    User.objects.filter(is_active=True)
                    .exclude(policy_acceptances__version=version)
                    .update(policy_acceptance_required=True)
                )
            version.activated_at = now
            version.save(update_fields=["activated_at"])
            activated.append(version)
    return activated


def policy_acceptance_recorded(*, account: User, version: PolicyVersion) -> None:
    """Called by policy_accept: accepting the version in force (or a later announced one) ends
    the interstitial for this account."""

    current = policy_current()
    if current is None or (
        version.effective_at is not None
        and current.effective_at is not None
        and version.effective_at >= current.effective_at
    ):
        User.objects.filter(pk=account.pk, policy_acceptance_required=True).update(policy_acceptance_required=False)
        account.policy_acceptance_required = False
