"""What consent does when a lower layer announces something (connected in ConsentConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.urls import reverse

from accounts.models import User
from accounts.signals import account_registered, account_security_notice
from consent.inbox.services import notify
from consent.messages import Message
from consent.models import PolicyVersion
from consent.policy.selectors import policy_current, policy_versions_forget
from consent.policy.services import policy_accept


@receiver(account_registered, dispatch_uid="consent.policy_accept_at_registration")
def policy_accept_at_registration(sender: type, *, account: User, ip: str | None, channel: str, **kwargs: Any) -> None:
    """CON-1: registering accepts the policy in force (none before the first is published), in
    the registration's transaction."""
    current = policy_current()
    if current is not None:
        policy_accept(account=account, version=current, channel=channel, ip=ip)


@receiver(post_save, sender=PolicyVersion, dispatch_uid="consent.policy_versions_forget_saved")
@receiver(post_delete, sender=PolicyVersion, dispatch_uid="consent.policy_versions_forget_deleted")
def policy_versions_changed(sender: type, **kwargs: Any) -> None:
    """A version was published, changed or deleted: the kept list is forgotten now and again when
    the transaction commits (a request between the two could have kept the old list)."""
    policy_versions_forget()
    transaction.on_commit(policy_versions_forget)


@receiver(account_security_notice, dispatch_uid="consent.account_security_notice")
def account_security_notify(
    sender: type,
    *,
    account: User,
    kind: str,
    title: str,
    body: str,
    params: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Issue 17 §2: a security notice is an inbox message with an SMS copy, linking to the
    account's security page; its title and body are msgids, read in the reader's language."""
    notify(
        account=account,
        kind=f"security_{kind}"[:32],
        title=Message(title),
        body=Message(body, params or {}),
        url=reverse("account_security", urlconf="config.urls_public"),
        channels=("sms",),
    )
