"""Reads of the in-app inbox (SEC-5): an account's notifications, newest first, optionally those of
one enterprise (with the platform's own)."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.http import Http404

from accounts.models import User
from consent.models import Notification
from tenants.selectors import enterprise_links


def notifications_for(*, account: User, enterprise_id: int | None = None) -> QuerySet[Notification]:
    """`account`'s own notifications, newest first. On an enterprise host (`enterprise_id` given)
    only platform-wide ones and that enterprise's: another enterprise's messages stay on the
    public host and on their own host."""
    rows = Notification.objects.filter(account=account)
    if enterprise_id is not None:
        rows = rows.filter(Q(enterprise_id__isnull=True) | Q(enterprise_id=enterprise_id))
    return rows.order_by("-created_at", "-id")


def notification_for(*, account: User, notification_id: int, enterprise_id: int | None = None) -> Notification:
    """Fetch-and-authorize: one of `account`'s notifications visible on this host, else 404."""
    found = notifications_for(account=account, enterprise_id=enterprise_id).filter(pk=notification_id).first()
    if found is None:
        raise Http404("No such notification.")
    return found


def header_for(*, account: User, enterprise_id: int | None, count_unread: bool) -> tuple[int, list[dict[str, Any]]]:
    """The app shell's header in ONE query (UI-1): the unread count of the inbox bell (as
    `unread_count_query`; 0 when `count_unread` is false) and the enterprises of the switcher
    (`tenants.selectors.enterprise_links`), as a row of the account with two subqueries."""
    unread = (
        unread_count_query(account=account, enterprise_id=enterprise_id)
        if count_unread
        else Value(0, output_field=IntegerField())
    )
    row = (
        User.objects.filter(pk=account.pk)
        .annotate(
            shell_unread=unread,
            shell_enterprises=ArraySubquery(enterprise_links(account_id=OuterRef("pk")).values("link")),  # type: ignore[misc]  # an annotation
        )
        .values("shell_unread", "shell_enterprises")
        .first()
    )
    if row is None:
        return 0, []
    return row["shell_unread"] or 0, list(row["shell_enterprises"] or [])


def unread_count_query(*, account: User, enterprise_id: int | None) -> Subquery:
    rows = notifications_for(account=account, enterprise_id=enterprise_id).filter(read_at__isnull=True)
    return Subquery(
        rows.order_by().values("account_id").annotate(total=Count("id")).values("total")[:1],
        output_field=IntegerField(),
    )
