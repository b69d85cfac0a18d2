"""The inbox bell of the app shell (issue 17 §1, UI-1): on every page of a signed-in account, on
the public host and on enterprise hosts, with the unread count of that account's own messages
only, in one query computed once per request."""

from __future__ import annotations

import re
from types import SimpleNamespace

from django.test import RequestFactory
from django.urls import set_urlconf

from consent.inbox.context_processors import shell
from consent.inbox.services import notify
from consent.models import Notification


def _bell(html: str) -> int | None:
    """The count the bell announces, or None without a bell."""
    found = re.search(r'id="inbox-bell".*?Inbox, (\d+) unread message', html, re.S)
    return int(found.group(1)) if found else None


def test_the_bell_counts_the_accounts_own_unread_messages_on_every_host(world, client_for):
    notify(account=world.bob, kind="test", title="Platform news for Bob")
    notify(account=world.bob, kind="test", title="From Acme", enterprise_id=world.acme.pk)
    notify(account=world.bob, kind="test", title="From Globex", enterprise_id=world.globex.pk)
    for _ in range(4):  # another account's unseen messages never count
        notify(account=world.erin, kind="test", title="For Erin", enterprise_id=world.acme.pk)
    public = client_for("public", world.bob)
    acme = client_for("acme", world.bob)
    for page in ("/account/", "/account/data/", "/account/requests/", "/policy/"):
        assert _bell(public.get(page).content.decode()) == 3, page
    # an enterprise host counts the platform's messages and its own, as its inbox shows them
    for page in ("/me/", "/me/data/", "/me/requests/", "/me/consents/", "/notice/"):
        assert _bell(acme.get(page).content.decode()) == 2, page
    assert _bell(client_for("acme", world.erin).get("/me/").content.decode()) == 4


def test_marking_read_lowers_the_count(world, client_for):
    first = notify(account=world.bob, kind="test", title="One")
    notify(account=world.bob, kind="test", title="Two")
    client = client_for("public", world.bob)
    assert _bell(client.get("/account/").content.decode()) == 2
    client.post("/account/inbox/", {"notification": first.pk})
    assert _bell(client.get("/account/").content.decode()) == 1
    client.post("/account/inbox/", {"all": "1"})
    page = client.get("/account/").content.decode()
    assert _bell(page) == 0 and "portal-bell-count" not in page  # no red badge at zero
    assert not Notification.objects.filter(account=world.bob, read_at__isnull=True).exists()


def test_no_bell_for_visitors_and_no_query(client_for, django_assert_num_queries):
    response = client_for("public").get("/login/")
    assert _bell(response.content.decode()) is None and 'id="inbox-bell"' not in response.content.decode()
    request = RequestFactory().get("/")
    request.user = SimpleNamespace(is_authenticated=False)
    with django_assert_num_queries(0):
        assert shell(request) == {}


def test_the_header_is_one_query_computed_once_per_request(world, django_assert_num_queries):
    notify(account=world.bob, kind="test", title="One")
    request = RequestFactory().get("/account/")
    request.user = world.bob
    request.tenant = SimpleNamespace(schema_name="public", pk=None)
    set_urlconf("config.urls_public")  # as the tenant middleware does for the public host
    try:
        with django_assert_num_queries(1):  # the unread count and the enterprise switcher, together
            first = shell(request)
            second = shell(request)  # a second template rendered with the same request
    finally:
        set_urlconf(None)
    assert first is second and first["shell_unread"] == 1 and first["shell_inbox_url"] == "/account/inbox/"


def test_the_headers_statement_reads_what_the_orm_reads(world):
    """consent.inbox.selectors.header_for is hand-written SQL (PERF-3): its count and its
    switcher equal the ORM's reads (notifications_for, tenants.selectors.enterprise_links) for
    an account in two enterprises, one suspended, on either host, with and without the count."""
    from consent.inbox.selectors import header_for, notifications_for
    from tenants.selectors import enterprise_links

    notify(account=world.dana, kind="test", title="Platform")
    notify(account=world.dana, kind="test", title="Acme", enterprise_id=world.acme.pk)
    notify(account=world.dana, kind="test", title="Globex", enterprise_id=world.globex.pk)
    expected_links = list(enterprise_links(account_id=world.dana.pk).values_list("link", flat=True))
    assert len(expected_links) == 2
    for enterprise_id in (None, world.acme.pk, world.globex.pk):
        unread, links = header_for(account=world.dana, enterprise_id=enterprise_id, count_unread=True)
        wanted = notifications_for(account=world.dana, enterprise_id=enterprise_id).filter(read_at__isnull=True)
        assert unread == wanted.count() and unread in (3, 2)
        assert links == expected_links
        assert header_for(account=world.dana, enterprise_id=enterprise_id, count_unread=False) == (0, links)
    assert header_for(account=world.oscar, enterprise_id=None, count_unread=True)[1] == []
