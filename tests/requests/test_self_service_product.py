"""Self-service as a product (issue 17 §1, docs/self-service.md): the action tiles of /me/ and
/account/, each request's stepper with its days left (DSR-3, DSR-4), and the member showing their
own masked values, recorded in the ledger as their own access (DSR-2, ENT-10)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from core.scopes import dangerously_whole_enterprise
from directory.services import member_card_update
from ledger.models import LedgerEntry
from ledger.services import Action
from requests.models import Request
from requests.workflow.selectors import request_steps
from requests.workflow.services import Decision, request_cancel, request_decide
from tenants.context import enterprise_schema

VALID_ID = "11010519491231002X"


def _tiles(html: str) -> dict[str, str]:
    """Each tile's title → its address."""
    tiles = re.findall(
        r'<a class="portal-tile[^"]*" href="([^"]*)"[^>]*>.*?<span class="portal-tile-title">([^<]*)', html, re.S
    )
    return {title.strip(): href for href, title in tiles}


# --- tiles ------------------------------------------------------------------------------------


def test_me_is_tiles_to_every_self_service_page_and_each_link_works(world, client_for):
    client = client_for("acme", world.bob)
    page = client.get("/me/").content.decode()
    tiles = _tiles(page)
    assert tiles == {
        "Everything held about me": "/me/data/",
        "Download a copy of my data": "/me/export/",
        "Correct my data": "/me/profile/",
        "Consents and permissions": "/me/consents/",
        "My requests": "/me/requests/",
        "Inbox": "/me/inbox/",
        "Leave this enterprise": "/me/leave/",
    }
    for href in tiles.values():
        assert client.get(href).status_code == 200, href
    # what the page showed before stays reachable: complaints, the platform's deletion, the sections
    assert "/me/requests/?kind=complaint#new-request" in page and "/account/delete/" in page
    assert 'id="attendance"' in page and 'id="me-consents"' in page and 'id="me-biometrics"' in page
    assert "Bob Member" in page and "139****0003" in page  # the header: name and masked mobile


def test_account_is_tiles_with_security_and_export_once_they_exist(world, client_for):
    client = client_for("public", world.oscar)
    page = client.get("/account/").content.decode()
    tiles = _tiles(page)
    for title, href in {
        "Everything the platform holds about me": "/account/data/",
        "Edit my profile": "/account/profile/",
        "Request a correction of my account data": "/account/profile/correction/",
        "Real-name verification": "/account/real-name/",
        "Consents and permissions": "/account/permissions/",
        "Requests about my account": "/account/requests/",
        "Inbox": "/account/inbox/",
        "Delete my account": "/account/delete/",
    }.items():
        assert tiles.get(title) == href, title
        assert client.get(href).status_code == 200, href
    # the two tiles other work adds appear when their routes exist (`{% url … as %}`)
    for name, title in (("account_security", "Sign-in & security"), ("account_export", "Download my account data")):
        try:
            href = reverse(name, urlconf="config.urls_public")
        except Exception:  # noqa: BLE001 (not built yet: no tile, no error)
            assert title not in tiles
        else:
            assert tiles.get(title) == href
    assert "Oscar Outsider" in page and "/enterprises/new/" in page


def test_account_shows_roles_as_words(world, client_for):
    page = client_for("public", world.bob).get("/account/").content.decode()
    assert "<td>Member</td>" in page and "<td>member</td>" not in page


def test_inbox_tile_carries_the_unread_count(world, client_for):
    from consent.inbox.services import notify

    notify(account=world.bob, kind="test", title="One")
    notify(account=world.bob, kind="test", title="Two")
    page = client_for("acme", world.bob).get("/me/").content.decode()
    tile = re.search(r'id="me-inbox-tile".*?</a>', page, re.S).group(0)
    assert ">2</span>" in tile and "2 unread messages" in tile


# --- the stepper ------------------------------------------------------------------------------


CURRENT_STEP = re.compile(
    r'aria-current="step">\s*<span class="portal-step-dot"[^>]*>[^<]*</span>\s*'
    r'<span class="portal-step-label">(.*?)</span>\s*(?:<time|<span class="portal-step-note"|</li>)',
    re.S,
)


def _current_step(html: str) -> list[str]:
    """The label of each step marked current, without its words for screen readers."""
    return [re.sub(r"<[^>]+>|\s+\(current step\)", "", label).strip() for label in CURRENT_STEP.findall(html)]


@pytest.mark.parametrize(
    ("decisions", "current", "days_left"),
    [
        ([], "Identity verified", "15 working days left"),
        ([Decision.START_REVIEW], "In review", "15 working days left"),
        ([Decision.ASK_INFORMATION], "In review", "Paused (15 working days left)"),
        ([Decision.START_REVIEW, Decision.COMPLETE], "Completed", None),
        ([Decision.REFUSE], "Refused", None),
    ],
)
def test_each_request_shows_its_current_step_and_days_left(
    world, client_for, submit, clock, decisions, current, days_left
):
    clock(date(2026, 12, 1))  # a Tuesday: 15 working days from today, whatever the real date
    row = submit("acme", world.bob, category="directory")
    for decision in decisions:
        request_decide(
            enterprise=world.acme,
            request=row,
            actor=world.membership(world.acme, world.alice),
            action=decision,
            ground="abuse" if decision == Decision.REFUSE else "",
            note="Why?" if decision in (Decision.ASK_INFORMATION, Decision.REFUSE) else "",
        )
    client = client_for("acme", world.bob)
    for url in (f"/me/requests/{row.pk}/", "/me/requests/"):
        page = client.get(url).content.decode()
        assert _current_step(page) == [current], url
        assert page.count('aria-current="step"') == 1
        if days_left:
            assert days_left in page, url
        else:
            assert "working days left" not in page and "working day left" not in page


def test_steps_mark_what_a_request_went_through(world, submit):
    row = submit("acme", world.bob, category="directory")
    with enterprise_schema(world.acme):
        states = [(step.key, step.state) for step in request_steps(row)]
    assert states == [
        ("submitted", "done"),
        ("identity_verified", "current"),
        ("in_review", "upcoming"),
        ("decision", "upcoming"),
    ]
    cancelled = request_cancel(enterprise=world.acme, request=row, account=world.bob)
    assert [(step.key, step.state, step.tone) for step in request_steps(cancelled)] == [
        ("submitted", "done", ""),
        ("identity_verified", "done", ""),
        ("in_review", "skipped", ""),  # never reviewed: shown as not gone through
        ("decision", "current", "muted"),
    ]
    unverified = Request(status=Request.Status.REFUSED, kind="complaint")
    assert [step.state for step in request_steps(unverified)] == ["done", "skipped", "skipped", "current"]


def test_account_request_pages_have_the_stepper(world, client_for, submit):
    row = submit(None, world.oscar, description="Please fix my name.")
    client = client_for("public", world.oscar)
    for url in (f"/account/requests/{row.pk}/", "/account/requests/"):
        page = client.get(url).content.decode()
        assert _current_step(page) == ["Identity verified"] and "working days left" in page


# --- the member shows their own masked values -------------------------------------------------


def _give_bob_an_id_number(world):
    bob = world.membership(world.acme, world.bob)
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=world.acme,
        actor=None,
        membership=bob,
        data={"id_number": VALID_ID},
    )
    return bob


def test_member_shows_their_own_id_number_and_the_ledger_records_it_as_their_own(world, client_for):
    bob = _give_bob_an_id_number(world)
    client = client_for("acme", world.bob)
    page = client.get("/me/data/").content.decode()
    assert VALID_ID not in page and "110***********002X" in page
    assert f"/me/data/{bob.pk}/show/id_number/" in page and f"/me/data/{bob.pk}/show/mobile/" in page
    with enterprise_schema(world.acme):
        before = LedgerEntry.objects.count()
    shown = client.post(f"/me/data/{bob.pk}/show/id_number/", HTTP_HX_REQUEST="true")
    assert shown.status_code == 200 and VALID_ID in shown.content.decode()
    assert "<html" not in shown.content.decode()  # the htmx answer is the value alone
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.count() == before + 1
        entry = LedgerEntry.objects.latest("id")
    assert (entry.action, entry.actor_kind, entry.actor_membership_id, entry.subject_membership_id) == (
        Action.VIEW_OWN,
        "member",
        bob.pk,
        bob.pk,
    )
    assert (entry.category, entry.details) == ("directory", {"field": "id_number"})
    # without JavaScript: the whole page, with the value shown
    plain = client.post(f"/me/data/{bob.pk}/show/mobile/")
    assert plain.status_code == 200 and "+8613900000003" in plain.content.decode()
    assert 'id="directory"' in plain.content.decode()
    # the member's own records list it as theirs; the console's ledger reads it as a sentence
    own_records = client.get("/me/data/").content.decode()
    records = own_records[own_records.index('id="ledger"') :]
    assert "View own data" in records and "mobile number" in records.lower() and "field: mobile" not in records
    ledger = client_for("acme", world.alice).get("/console/ledger/").content.decode()
    assert "Bob Member viewed their own ID number" in re.sub(r"<[^>]+>", "", ledger)


def test_another_members_id_is_404_as_a_missing_one_and_nothing_is_recorded(world, client_for):
    _give_bob_an_id_number(world)
    erin = world.membership(world.acme, world.erin)
    client = client_for("acme", world.bob)
    with enterprise_schema(world.acme):
        before = LedgerEntry.objects.count()
    other = client.post(f"/me/data/{erin.pk}/show/mobile/")
    missing = client.post("/me/data/999999/show/mobile/")
    assert other.status_code == missing.status_code == 404
    assert b"+8613900000005" not in other.content
    bob = world.membership(world.acme, world.bob)
    assert client.post(f"/me/data/{bob.pk}/show/display_name/").status_code == 404  # not a masked field
    assert client.get(f"/me/data/{bob.pk}/show/mobile/").status_code == 405  # showing is a POST
    assert client_for("acme").post(f"/me/data/{bob.pk}/show/mobile/").status_code == 302  # signed out
    # an administrator cannot use the member's page to read a member's value either
    assert client_for("acme", world.alice).post(f"/me/data/{bob.pk}/show/mobile/").status_code == 404
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.count() == before
