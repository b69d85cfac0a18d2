"""Request pages through HTTP: /me/requests/, /account/requests/, /console/requests/ and the
operators' admin (DSR-1, DSR-3, DSR-4, ENT-8, SEC-1, SEC-3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ledger.models import LedgerEntry
from ledger.services import Action
from requests.models import Request, RequestEvent
from requests.workflow.services import Decision, request_decide
from tenants.context import enterprise_schema
from tests.conftest import sign_in


def _count(schema_enterprise=None) -> tuple[int, int]:
    if schema_enterprise is None:
        return Request.objects.count(), RequestEvent.objects.count()
    with enterprise_schema(schema_enterprise):
        return Request.objects.count(), RequestEvent.objects.count()


def _status(enterprise, request: Request) -> str:
    with enterprise_schema(enterprise):
        return Request.objects.get(pk=request.pk).status


# --- the member -------------------------------------------------------------------------------


def test_member_submits_a_correction_and_sees_it_with_history_and_days_left(world, client_for):
    client = client_for("acme", world.bob)
    response = client.get("/me/requests/")
    assert response.status_code == 200 and b"You have not made any request yet." in response.content
    response = client.post(
        "/me/requests/", {"kind": "correction", "category": "directory", "description": "My seat number is wrong."}
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        request = Request.objects.latest("id")
    assert response["Location"] == reverse("me_request", args=[request.pk])
    assert (request.kind, request.category, request.account_id) == ("correction", "directory", world.bob.pk)
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"My seat number is wrong." in page.content and b"working days left" in page.content
    assert b"Identity verified" in page.content and b"Submitted" in page.content
    assert b"by signing in to make the request" in page.content
    listing = client.get(reverse("me_requests"))
    assert f"#{request.pk}".encode() in listing.content and b"Correction" in listing.content
    assert b"/me/requests/" in client.get("/me/").content  # linked from the member's page


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "correction", "category": "", "description": "x"},
        {"kind": "lawsuit", "category": "health", "description": "x"},
        {"kind": "complaint", "category": "ledger", "description": "x"},
        {"kind": "complaint", "category": "health", "description": "   "},
        {"kind": "complaint", "category": "health", "description": "x" * 2001},
        {},
    ],
)
def test_bad_input_on_the_member_form_is_a_400_and_writes_nothing(world, client_for, data):
    before = _count(world.acme)
    response = client_for("acme", world.bob).post("/me/requests/", data)
    assert response.status_code == 400
    assert b"errorlist" in response.content
    assert _count(world.acme) == before


def test_member_cancels_and_sends_information(world, client_for, submit):
    request = submit("acme", world.bob, category="directory")
    other = submit("acme", world.bob, category="attendance")
    request_decide(
        enterprise=world.acme,
        request=other,
        actor=world.membership(world.acme, world.alice),
        action=Decision.ASK_INFORMATION,
        note="Which day?",
    )
    client = client_for("acme", world.bob)
    page = client.get(f"/me/requests/{other.pk}/")
    assert b"Which day?" in page.content and b"Send the information" in page.content and b"Paused" in page.content
    assert client.post(f"/me/requests/{other.pk}/", {"action": "information", "note": " "}).status_code == 400
    assert _status(world.acme, other) == "awaiting_information"
    assert client.post(f"/me/requests/{other.pk}/", {"action": "information", "note": "12 May"}).status_code == 302
    assert _status(world.acme, other) == "in_review"
    assert client.post(f"/me/requests/{request.pk}/", {"action": "explode"}).status_code == 400
    assert client.post(f"/me/requests/{request.pk}/", {"confirmed": "yes", "action": "cancel"}).status_code == 302
    assert _status(world.acme, request) == "cancelled"
    response = client.post(f"/me/requests/{request.pk}/", {"confirmed": "yes", "action": "cancel"})
    assert response.status_code == 400 and b"Only an open request can be cancelled" in response.content


def test_a_member_cannot_see_or_act_on_another_members_request(world, client_for, submit):
    request = submit("acme", world.bob, category="directory")
    erin = client_for("acme", world.erin)
    assert erin.get(f"/me/requests/{request.pk}/").status_code == 404
    assert erin.post(f"/me/requests/{request.pk}/", {"confirmed": "yes", "action": "cancel"}).status_code == 404
    assert f"#{request.pk}".encode() not in erin.get("/me/requests/").content
    assert _status(world.acme, request) == "identity_verified"


# The queries of every request list, whatever its length: SET search_path (public), the domain
# and its enterprise, SET search_path (the enterprise), the session, the account, the membership,
# then the page's count, the page of requests (with their members in the console) and the
# calendar's overrides. An administrator's console and API add the session's second factor (SEC-2).
LIST_QUERIES = 9
ADMIN_LIST_QUERIES = LIST_QUERIES + 1
HEADER_QUERIES = 1  # a page (not the API) adds the app shell's header: inbox bell, enterprise switcher (UI-1)


def test_member_list_runs_a_constant_number_of_queries(world, client_for, submit, django_assert_num_queries):
    client = client_for("acme", world.bob)
    submit("acme", world.bob, category="directory")
    with django_assert_num_queries(LIST_QUERIES + HEADER_QUERIES):
        client.get("/me/requests/")
    for category in ("health", "attendance", "biometrics"):
        submit("acme", world.bob, category=category)
    with django_assert_num_queries(LIST_QUERIES + HEADER_QUERIES):
        response = client.get("/me/requests/")
    assert response.content.count(b"working days left") == 4


# --- the console ------------------------------------------------------------------------------


def test_console_queue_is_scoped_by_category_and_department(world, client_for, submit):
    bob_health = submit("acme", world.bob, category="health")
    erin_health = submit("acme", world.erin, category="health")
    bob_directory = submit("acme", world.bob, category="directory")

    def shown(user) -> set[int]:
        response = client_for("acme", user).get("/console/requests/")
        assert response.status_code == 200
        return {
            r.pk
            for r in (bob_health, erin_health, bob_directory)
            if reverse("console_request", args=[r.pk]).encode() in response.content
        }

    assert shown(world.sam) == {bob_health.pk, bob_directory.pk}  # Sales subtree: Bob, not Erin
    assert shown(world.amy) == {bob_directory.pk}  # no health category
    assert shown(world.alice) == {bob_health.pk, erin_health.pk, bob_directory.pk}
    assert client_for("acme", world.sam).get(f"/console/requests/{erin_health.pk}/").status_code == 404
    assert client_for("acme", world.amy).get(f"/console/requests/{bob_health.pk}/").status_code == 404
    assert (
        client_for("acme", world.amy)
        .post(f"/console/requests/{bob_health.pk}/", {"action": "start_review"})
        .status_code
        == 404
    )
    assert _status(world.acme, bob_health) == "identity_verified"
    assert client_for("acme", world.bob).get("/console/requests/").status_code == 403


def test_console_decisions_with_field_errors_then_success(world, client_for, submit):
    request = submit("acme", world.bob, kind="deletion", category="health", description="Delete my reports.")
    sam = client_for("acme", world.sam)
    page = sam.get(f"/console/requests/{request.pk}/")
    assert page.status_code == 200 and b"Bob Member" in page.content and b"Delete my reports." in page.content
    ledger = _ledger(world)
    response = sam.post(f"/console/requests/{request.pk}/", {"action": "refuse", "note": "No."})
    assert response.status_code == 400 and b"recognised grounds" in response.content
    response = sam.post(f"/console/requests/{request.pk}/", {"action": "complete"})
    assert response.status_code == 400 and b"not possible while the request is" in response.content
    response = sam.post(f"/console/requests/{request.pk}/", {"action": "refuse", "ground": "treason", "note": "x"})
    assert response.status_code == 400
    assert _status(world.acme, request) == "identity_verified" and _ledger(world) == ledger
    assert sam.post(f"/console/requests/{request.pk}/", {"action": "start_review"}).status_code == 302
    response = sam.post(
        f"/console/requests/{request.pk}/",
        {"action": "refuse", "ground": "public_safety", "note": "Kept during the outbreak."},
    )
    assert response.status_code == 302
    assert _status(world.acme, request) == "refused" and _ledger(world) == ledger + 2
    page = sam.get(f"/console/requests/{request.pk}/")
    assert b"Public safety or public health" in page.content and b"Sam Scoped" in page.content
    assert b"Save the decision" not in page.content  # closed


def test_console_does_not_offer_decisions_on_the_admins_own_request(world, client_for, submit):
    own = submit("acme", world.sam, category="directory")
    page = client_for("acme", world.sam).get(f"/console/requests/{own.pk}/")
    assert b"another administrator decides" in page.content
    response = client_for("acme", world.sam).post(f"/console/requests/{own.pk}/", {"action": "start_review"})
    assert response.status_code == 400 and _status(world.acme, own) == "identity_verified"


def test_console_highlights_overdue_requests(world, client_for, submit):
    late = submit("acme", world.bob, category="directory")
    with enterprise_schema(world.acme):
        Request.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=5))
    response = client_for("acme", world.amy).get("/console/requests/")
    assert b'class="bad"' in response.content and b"Overdue" in response.content
    assert b"Requests" in response.content  # the console's navigation links the queue


def test_console_state_filter_and_bad_input(world, client_for, submit):
    done = submit("acme", world.bob, category="directory")
    open_one = submit("acme", world.erin, category="directory")
    alice = world.membership(world.acme, world.alice)
    request_decide(
        enterprise=world.acme,
        request=done,
        actor=alice,
        action=Decision.REFUSE,
        ground="abuse",
        note="Fifth identical request today.",
    )
    client = client_for("acme", world.alice)
    open_page = client.get("/console/requests/").content
    assert f"/console/requests/{open_one.pk}/".encode() in open_page
    assert f"/console/requests/{done.pk}/".encode() not in open_page
    assert f"/console/requests/{done.pk}/".encode() in client.get("/console/requests/?state=closed").content
    assert client.get("/console/requests/?state=everything").status_code == 400


def test_console_queue_runs_a_constant_number_of_queries(
    world, client_for, submit, django_assert_num_queries, django_assert_max_num_queries
):
    client = client_for("acme", world.alice)  # the owner: her scope needs no query
    submit("acme", world.bob, category="directory")
    with django_assert_num_queries(ADMIN_LIST_QUERIES + HEADER_QUERIES):
        client.get("/console/requests/")
    for user in (world.erin, world.dana, world.bob):
        submit("acme", user, category="attendance")
    with django_assert_num_queries(ADMIN_LIST_QUERIES + HEADER_QUERIES):
        response = client.get("/console/requests/")
    assert response.content.count(b"working days left") == 4
    # a scoped admin: + the scope (ENT-8): Department's content type (unless cached), the grants,
    # their departments
    sam = client_for("acme", world.sam)
    with django_assert_max_num_queries(ADMIN_LIST_QUERIES + HEADER_QUERIES + 3):
        sam.get("/console/requests/")


def _ledger(world) -> int:
    with enterprise_schema(world.acme):
        return LedgerEntry.objects.filter(action=Action.ANSWER_REQUEST).count()


# --- isolation (SEC-1) ------------------------------------------------------------------------


def test_acme_requests_are_invisible_on_the_globex_host_and_by_globex_ids(world, client_for, submit):
    acme_request = submit("acme", world.bob, category="directory")
    gina = client_for("globex", world.gina)
    assert gina.get(f"/console/requests/{acme_request.pk}/").status_code == 404
    assert gina.post(f"/console/requests/{acme_request.pk}/", {"action": "start_review"}).status_code == 404
    assert f"/console/requests/{acme_request.pk}/".encode() not in gina.get("/console/requests/?state=all").content
    gus = client_for("globex", world.gus)
    assert gus.get(f"/me/requests/{acme_request.pk}/").status_code == 404
    # Bob's acme session is refused on globex; Dana (member of both) sees only globex's own
    assert client_for("globex", world.bob).get("/me/requests/").status_code == 403
    dana_acme = submit("acme", world.dana, category="directory")
    assert client_for("globex", world.dana).get(f"/me/requests/{dana_acme.pk}/").status_code == 404
    assert _status(world.acme, acme_request) == "identity_verified"


# --- the account (public host) and the operators' admin ---------------------------------------


def operator() -> Client:
    from tests.conftest import _world

    client = Client(HTTP_HOST="localhost")
    sign_in(client, _world.olga, "public")
    return client


def test_account_requests_on_the_public_host(world, client_for):
    client = client_for("public", world.oscar)
    assert client.get("/account/requests/").status_code == 200
    before = _count()
    assert client.post("/account/requests/", {"kind": "complaint", "description": ""}).status_code == 400
    assert client.post("/account/requests/", {"kind": "export", "description": "x"}).status_code == 400
    assert _count() == before
    response = client.post("/account/requests/", {"kind": "correction", "description": "Legal name misspelt."})
    assert response.status_code == 302
    request = Request.objects.latest("id")
    assert request.membership_id is None and request.category == ""
    assert response["Location"] == f"/account/requests/{request.pk}/"
    assert b"Legal name misspelt." in client.get(response["Location"]).content
    assert client_for("public", world.bob).get(f"/account/requests/{request.pk}/").status_code == 404
    assert client_for("acme", world.bob).get("/account/requests/").status_code == 404  # not on enterprise hosts
    assert b"/account/requests/" in client.get("/account/").content
    assert client_for("public").get("/account/requests/").status_code == 302  # sign in first


def test_operators_answer_account_requests_in_the_admin(world, client_for, submit):
    request = submit(None, world.oscar, kind="deletion", description="Delete my avatar.")
    waiting = Request.objects.create(kind="complaint", account=world.bob, description="unverified")
    admin = operator()
    listing = admin.get("/admin/requests/request/")
    assert listing.status_code == 200 and b"139****0041" in listing.content and b"+8613900000041" not in listing.content
    assert b"15 working days left" in listing.content  # the deadline column (DSR-4)
    response = admin.post("/admin/requests/request/", {"action": "verify_identity", "_selected_action": [waiting.pk]})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "identity_verified" and waiting.due_on is not None
    decide = f"/admin/requests/request/{request.pk}/decide/"
    assert admin.get(decide).status_code == 200
    assert b"Delete my avatar." in admin.get(f"/admin/requests/request/{request.pk}/change/").content
    response = admin.post(decide, {"action": "refuse", "note": "no ground"})
    assert response.status_code == 400 and b"recognised grounds" in response.content
    request.refresh_from_db()
    assert request.status == "identity_verified"
    assert admin.post(decide, {"action": "start_review"}).status_code == 302
    assert admin.post(decide, {"action": "complete", "note": "Avatar deleted."}).status_code == 302
    request.refresh_from_db()
    assert request.status == "completed" and request.resolution == "Avatar deleted."
    assert admin.get("/admin/requests/request/999999/decide/").status_code == 404
    assert client_for("public", world.oscar).get(decide).status_code == 302  # not an operator: to the login


def test_overdue_account_requests_stand_out_and_are_counted_on_the_admin_index(world, submit):
    late = submit(None, world.oscar)
    Request.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=2))
    admin = operator()
    index = admin.get("/admin/")
    assert index.status_code == 200 and b"1 request is overdue" in index.content
    listing = admin.get("/admin/requests/request/?deadline=overdue")
    assert f"#{late.pk}".encode() in listing.content and b"Overdue" in listing.content
    assert b"none overdue." in index.content  # no enterprise has an overdue request


def test_operators_see_how_many_enterprise_requests_are_overdue_but_nothing_else(world, submit):
    late = [
        submit("acme", world.bob, category="directory", description="Secret detail of Bob"),
        submit("acme", world.erin, category="health"),
    ]
    on_time = submit("globex", world.gus, category="directory")
    with enterprise_schema(world.acme):
        Request.objects.filter(pk__in=[r.pk for r in late]).update(due_on=timezone.localdate() - timedelta(days=1))
    index = operator().get("/admin/").content
    assert b"Acme Test: 2 overdue" in index and b"Globex Test" not in index
    assert b"Secret detail of Bob" not in index and b"Bob Member" not in index
    assert on_time.status == "identity_verified"


def test_operators_edit_working_day_overrides(world):
    admin = operator()
    response = admin.post(
        "/admin/requests/holidayoverride/add/",
        {"date": "2027-02-06", "is_working_day": "on", "note": "Spring Festival make-up day"},
    )
    assert response.status_code == 302
    listing = admin.get("/admin/requests/holidayoverride/")
    assert b"Spring Festival make-up day" in listing.content
