"""Reads of the in-app inbox (SEC-5): an account's notifications, newest first, optionally those of
one enterprise (with the platform's own)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import User
from consent.models import Notification
from tenants.models import Domain, Enterprise, MembershipIndex


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


def _header_sql(*, count_unread: bool, on_enterprise: bool) -> str:
    """The header's statement, written once per variant: the ORM would compile its two subqueries
    anew on every page (about a tenth of a console page's Python time: PERF-3)."""
    notification = Notification._meta.db_table
    if not count_unread:
        unread = "0"
    else:
        host = " AND (n.enterprise_id IS NULL OR n.enterprise_id = %(enterprise)s)" if on_enterprise else ""
        unread = f"(SELECT count(*) FROM {notification} n WHERE n.account_id = %(account)s AND n.read_at IS NULL{host})"  # noqa: S608
    return (
        f"SELECT {unread}, COALESCE(("  # noqa: S608 (table names from the models)
        f"SELECT json_agg(json_build_object('id', e.id, 'name', e.name, 'state', e.state, 'domain', "
        f"(SELECT d.domain FROM {Domain._meta.db_table} d WHERE d.tenant_id = e.id AND d.is_primary LIMIT 1)) "
        f"ORDER BY e.name, i.enterprise_id) "
        f"FROM {MembershipIndex._meta.db_table} i JOIN {Enterprise._meta.db_table} e ON e.id = i.enterprise_id "
        f"WHERE i.account_id = %(account)s AND e.state <> %(terminated)s), '[]'::json)"
    )


_HEADER_SQL = {
    (count, on_enterprise): _header_sql(count_unread=count, on_enterprise=on_enterprise)
    for count in (False, True)
    for on_enterprise in (False, True)
}


def header_for(*, account: User, enterprise_id: int | None, count_unread: bool) -> tuple[int, list[dict[str, Any]]]:
    """The app shell's header in ONE query (UI-1): the unread count of the inbox bell (as
    `notifications_for(...)` unread; 0 when `count_unread` is false) and the enterprises of the
    switcher (as `tenants.selectors.enterprise_links`: id, name, state, primary domain; not
    terminated; by name). tests/consent/test_inbox_bell.py compares both with the ORM's reads."""
    sql = _HEADER_SQL[(count_unread, enterprise_id is not None)]
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"account": account.pk, "enterprise": enterprise_id, "terminated": Enterprise.State.TERMINATED.value},
        )
        unread, links = cursor.fetchone()
    return unread or 0, list(links or [])


def unread_count_query(*, account: User, enterprise_id: int | None) -> Subquery:
    rows = notifications_for(account=account, enterprise_id=enterprise_id).filter(read_at__isnull=True)
    return Subquery(
        rows.order_by().values("account_id").annotate(total=Count("id")).values("total")[:1],
        output_field=IntegerField(),
    )
