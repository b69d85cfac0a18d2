"""Request API: /api/v1/me/requests/… (self-service) and /api/v1/requests/… (administrators)
(DSR-1, DSR-3, DSR-4, ENT-8, SEC-1, SEC-3)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consent.models import Notification
from ledger.models import LedgerEntry
from requests.models import Request, RequestEvent
from tenants.context import enterprise_schema

from .test_request_pages import ADMIN_LIST_QUERIES, LIST_QUERIES


def _counts(world) -> tuple[int, int, int]:
    with enterprise_schema(world.acme):
        return Request.objects.count(), RequestEvent.objects.count(), LedgerEntry.objects.count()


def test_member_creates_lists_reads_and_cancels_through_the_api(world, client_for):
    client = client_for("acme", world.bob)
    response = client.post(
        "/api/v1/me/requests/",
        {"kind": "complaint", "category": "attendance", "description": "My clock-ins are shown to everyone."},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "identity_verified" and body["days_left"] == 15 and body["overdue"] is False
    pk = body["id"]
    listing = client.get(reverse("api_me_requests")).json()
    assert [row["id"] for row in listing["results"]] == [pk]
    detail = client.get(reverse("api_me_request", args=[pk])).json()
    assert [event["action"] for event in detail["history"]] == ["submitted", "identity_verified"]
    cancelled = client.post(reverse("api_me_request_cancel", args=[pk]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/me/requests/{pk}/cancel/")
    assert again.status_code == 400 and "action" in again.json()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "complaint", "category": "health"}, "description"),
        ({"kind": "export", "category": "health", "description": "x"}, "kind"),
        ({"kind": "complaint", "category": "retention", "description": "x"}, "category"),
        ({"kind": "complaint", "description": "x"}, "category"),
        ({"kind": "complaint", "category": "health", "description": "x" * 2001}, "description"),
        ({"kind": ["complaint"], "category": "health", "description": "x"}, "kind"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_writes_nothing(world, client_for, data, field):
    before = _counts(world)
    response = client_for("acme", world.bob).post("/api/v1/me/requests/", data, content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert _counts(world) == before


def test_admin_queue_and_decisions_through_the_api(world, client_for, submit):
    request = submit("acme", world.bob, kind="correction", category="health", description="Wrong city.")
    erin = submit("acme", world.erin, category="health")
    sam = client_for("acme", world.sam)
    queue = sam.get(reverse("api_requests")).json()["results"]
    assert request.pk in [row["id"] for row in queue] and erin.pk not in [row["id"] for row in queue]
    row = next(row for row in queue if row["id"] == request.pk)
    assert row["name"] == "Bob Member" and row["days_left"] == 15
    assert client_for("acme", world.amy).get(reverse("api_requests")).status_code == 200
    assert request.pk not in [r["id"] for r in client_for("acme", world.amy).get("/api/v1/requests/").json()["results"]]
    assert client_for("acme", world.amy).get(f"/api/v1/requests/{request.pk}/").status_code == 404
    assert sam.get(reverse("api_request", args=[erin.pk])).status_code == 404
    decide = reverse("api_request_decide", args=[request.pk])
    before = _counts(world)
    for data, field in (
        ({"action": "refuse", "note": "No."}, "ground"),
        ({"action": "refuse", "ground": "sedition", "note": "No."}, "ground"),
        ({"action": "complete"}, "action"),
        ({"action": "ask_information"}, "note"),
        ({"action": "approve"}, "action"),
    ):
        response = sam.post(decide, data, content_type="application/json")
        assert response.status_code == 400 and field in response.json(), (data, response.content)
    assert _counts(world) == before
    assert sam.post(decide, {"action": "start_review"}, content_type="application/json").status_code == 200
    asked = sam.post(decide, {"action": "ask_information", "note": "Which city?"}, content_type="application/json")
    assert asked.json()["status"] == "awaiting_information"
    question = Notification.objects.filter(account=world.bob, kind="request").first()
    assert question.body == "Which city?" and question.url == f"/me/requests/{request.pk}/"
    bob = client_for("acme", world.bob)
    bad = bob.post(
        reverse("api_me_request_information", args=[request.pk]), {"note": ""}, content_type="application/json"
    )
    assert bad.status_code == 400 and "note" in bad.json()
    sent = bob.post(
        f"/api/v1/me/requests/{request.pk}/information/", {"note": "Hangzhou"}, content_type="application/json"
    )
    assert sent.status_code == 200 and sent.json()["status"] == "in_review"
    done = sam.post(decide, {"action": "complete", "note": "Corrected."}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert [event["action"] for event in done.json()["history"]] == [
        "submitted",
        "identity_verified",
        "review_started",
        "information_requested",
        "information_received",
        "completed",
    ]
    assert Notification.objects.filter(account=world.bob, kind="request").count() == 3  # review, ask, completed
    assert _counts(world)[2] == before[2] + 3  # three admin decisions in the ledger


def test_members_cannot_use_the_admin_api_or_others_requests(world, client_for, submit):
    request = submit("acme", world.bob, category="directory")
    erin = client_for("acme", world.erin)
    assert erin.get("/api/v1/requests/").status_code == 403
    assert (
        erin.post(
            f"/api/v1/requests/{request.pk}/decide/", {"action": "start_review"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert erin.get(f"/api/v1/me/requests/{request.pk}/").status_code == 404
    assert erin.post(f"/api/v1/me/requests/{request.pk}/cancel/").status_code == 404
    assert (
        erin.post(
            f"/api/v1/me/requests/{request.pk}/information/", {"note": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client_for("acme").get("/api/v1/me/requests/").status_code == 403


def test_globex_cannot_reach_acme_requests_by_id_or_host(world, client_for, submit):
    request = submit("acme", world.bob, category="directory")
    gina = client_for("globex", world.gina)
    assert gina.get(f"/api/v1/requests/{request.pk}/").status_code == 404
    assert (
        gina.post(
            f"/api/v1/requests/{request.pk}/decide/", {"action": "start_review"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert request.pk not in [row["id"] for row in gina.get("/api/v1/requests/?state=all").json()["results"]]
    assert client_for("globex", world.gus).get(f"/api/v1/me/requests/{request.pk}/").status_code == 404
    assert client_for("globex", world.bob).get("/api/v1/me/requests/").status_code == 403
    with enterprise_schema(world.acme):
        assert Request.objects.get(pk=request.pk).status == "identity_verified"


def test_queue_state_filter_is_validated(world, client_for):
    response = client_for("acme", world.alice).get("/api/v1/requests/?state=pending")
    assert response.status_code == 400 and "state" in response.json()


def test_api_lists_run_a_constant_number_of_queries(world, client_for, submit, django_assert_num_queries):
    bob, alice = client_for("acme", world.bob), client_for("acme", world.alice)
    submit("acme", world.bob, category="directory")
    with django_assert_num_queries(LIST_QUERIES):
        bob.get("/api/v1/me/requests/")
    with django_assert_num_queries(ADMIN_LIST_QUERIES):
        alice.get("/api/v1/requests/")
    for category in ("health", "attendance", "biometrics"):
        submit("acme", world.bob, category=category)
    with django_assert_num_queries(LIST_QUERIES):
        assert len(bob.get("/api/v1/me/requests/").json()["results"]) == 4
    with django_assert_num_queries(ADMIN_LIST_QUERIES):
        assert len(alice.get("/api/v1/requests/").json()["results"]) == 4


@pytest.mark.parametrize("pk", ["0", "99999999999999999999999"])
def test_absurd_ids_are_404_never_500(world, client_for, pk):
    alice = client_for("acme", world.alice)
    for path in (
        f"/me/requests/{pk}/",
        f"/console/requests/{pk}/",
        f"/api/v1/me/requests/{pk}/",
        f"/api/v1/requests/{pk}/",
    ):
        assert alice.get(path).status_code == 404, path
    for path in (f"/api/v1/me/requests/{pk}/cancel/", f"/api/v1/requests/{pk}/decide/"):
        assert alice.post(path, {"action": "start_review"}, content_type="application/json").status_code == 404, path
    assert client_for("public", world.olga).get(f"/account/requests/{pk}/").status_code == 404
