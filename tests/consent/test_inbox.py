"""The in-app inbox (CON-2 notifications): `/account/inbox/` on the public host, `/me/inbox/` on
enterprise hosts, `GET /api/v1/me/notifications/` and `POST …/<id>/read/`. Only the account's own
messages, ever; constant queries."""

from __future__ import annotations

import pytest

from consent.inbox.services import notify, notify_many
from consent.models import Notification


def test_pages_list_only_the_accounts_own_messages(client_for, world):
    notify(account=world.bob, kind="test", title="For Bob", url="/policy/")
    notify(account=world.erin, kind="test", title="For Erin")
    for client, url in (
        (client_for("public", world.bob), "/account/inbox/"),
        (client_for("acme", world.bob), "/me/inbox/"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert b"For Bob" in response.content and b"For Erin" not in response.content


def test_enterprise_host_shows_platform_and_own_enterprise_messages_only(client_for, world):
    notify(account=world.dana, kind="test", title="Platform news")
    notify(account=world.dana, kind="test", title="From Acme", enterprise_id=world.acme.pk)
    notify(account=world.dana, kind="test", title="From Globex", enterprise_id=world.globex.pk)
    acme = client_for("acme", world.dana).get("/me/inbox/").content
    assert b"Platform news" in acme and b"From Acme" in acme and b"From Globex" not in acme
    public = client_for("public", world.dana).get("/account/inbox/").content
    assert b"From Acme" in public and b"From Globex" in public
    data = client_for("acme", world.dana).get("/api/v1/me/notifications/").json()
    assert {row["title"] for row in data["results"]} == {"Platform news", "From Acme"}


def test_inbox_needs_a_sign_in_and_the_right_host(client_for, world):
    assert client_for("public").get("/account/inbox/").status_code == 302
    assert client_for("acme").get("/me/inbox/").status_code == 302
    assert client_for("acme", world.gina).get("/me/inbox/").status_code == 403  # not a member of acme
    assert client_for("acme", world.bob).get("/account/inbox/").status_code == 404
    assert client_for("acme").get("/api/v1/me/notifications/").status_code == 403
    assert client_for("public", world.bob).get("/api/v1/me/notifications/").status_code == 404


def test_mark_one_and_all_read_on_the_page(client_for, world):
    first = notify(account=world.bob, kind="test", title="One")
    second = notify(account=world.bob, kind="test", title="Two")
    client = client_for("public", world.bob)
    assert client.post("/account/inbox/", {"notification": first.pk}).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert client.post("/account/inbox/", {"all": "1"}).status_code == 302
    assert not Notification.objects.filter(account=world.bob, read_at__isnull=True).exists()


def test_another_accounts_notification_is_404_and_unchanged(client_for, world):
    theirs = notify(account=world.erin, kind="test", title="Erin's")
    bob_public = client_for("public", world.bob)
    bob_acme = client_for("acme", world.bob)
    assert bob_public.post("/account/inbox/", {"notification": theirs.pk}).status_code == 404
    assert bob_public.post("/account/inbox/", {"notification": "x"}).status_code == 404
    assert bob_acme.post("/me/inbox/", {"notification": theirs.pk}).status_code == 404
    assert bob_acme.post(f"/api/v1/me/notifications/{theirs.pk}/read/").status_code == 404
    bob_acme.post("/me/inbox/", {"all": "1"})
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_another_enterprises_notification_is_404_on_this_host(client_for, world):
    globex_only = notify(account=world.dana, kind="test", title="Globex", enterprise_id=world.globex.pk)
    assert client_for("acme", world.dana).post(f"/api/v1/me/notifications/{globex_only.pk}/read/").status_code == 404
    response = client_for("globex", world.dana).post(f"/api/v1/me/notifications/{globex_only.pk}/read/")
    assert response.status_code == 200 and response.json()["read_at"] is not None


def test_api_lists_newest_first_and_marks_read(client_for, world):
    older = notify(account=world.bob, kind="test", title="Older")
    newer = notify(account=world.bob, kind="test", title="Newer", body="Text", url="/policy/")
    client = client_for("acme", world.bob)
    data = client.get("/api/v1/me/notifications/").json()
    assert [row["id"] for row in data["results"]] == [newer.pk, older.pk]
    assert data["results"][0] == {
        **data["results"][0],
        "title": "Newer",
        "body": "Text",
        "url": "/policy/",
        "read_at": None,
    }
    response = client.post(f"/api/v1/me/notifications/{older.pk}/read/")
    assert response.status_code == 200 and response.json()["id"] == older.pk
    assert response.json()["read_at"] is not None


def _fill(world, rows: int) -> None:
    notify_many(account_ids=[world.bob.pk] * rows, kind="test", title="Message")
    notify_many(account_ids=[world.erin.pk] * 3, kind="test", title="Someone else's")


@pytest.mark.parametrize("rows", [5, 50])
def test_inbox_pages_and_api_run_constant_queries(client_for, world, django_assert_num_queries, rows):
    _fill(world, rows)
    public = client_for("public", world.bob)
    # 1 SET search_path public, 2 domain -> tenant, 3 SET search_path public (the public tenant's),
    # 4 session, 5 account, 6 page count, 7 page rows
    with django_assert_num_queries(8):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        assert public.get("/account/inbox/").status_code == 200
    acme = client_for("acme", world.bob)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session, 5 account,
    # 6 acting membership, 7 page count, 8 page rows
    with django_assert_num_queries(9):  # +1: the app shell's header (UI-1)
        assert acme.get("/me/inbox/").status_code == 200
    # API: 1-6 as above, 7 page count, 8 page rows
    with django_assert_num_queries(8):
        response = acme.get("/api/v1/me/notifications/")
    assert response.json()["count"] == rows
