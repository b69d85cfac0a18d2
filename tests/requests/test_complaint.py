"""Complaints (DSR-1, DSR-3) are discoverable: `/me/` and `/account/` link "Complain to <the
enterprise>" and "Complain to the platform", which open the request form with the kind
preselected; the complaint becomes a request in the right queue (the enterprise's admins, or
the platform's operators)."""

from __future__ import annotations

from django.db import connection

from requests.models import Request
from tenants.context import enterprise_schema


def test_complain_to_the_enterprise_from_me(world, client_for):
    client = client_for("acme", world.bob)
    me = client.get("/me/").content.decode()
    assert "Complain to Acme Test" in me and 'href="/me/requests/?kind=complaint#new-request"' in me
    assert 'href="//localhost/account/requests/?kind=complaint"' in me  # and to the platform, on its host
    form = client.get("/me/requests/?kind=complaint").content.decode()
    assert '<option value="complaint" selected>' in form and 'id="new-request"' in form
    # only the form's kinds are preselected
    assert (
        "selected>"
        not in client.get("/me/requests/?kind=export&category=secrets")
        .content.decode()
        .split('name="kind"')[1]
        .split("</select>")[0]
    )
    response = client.post(
        "/me/requests/",
        {"kind": "complaint", "category": "health", "description": "My health report was shown to my team."},
    )
    assert response.status_code == 302
    with enterprise_schema(world.acme):
        row = Request.objects.get()
    connection.set_schema_to_public()
    assert (row.kind, row.category, row.status) == ("complaint", "health", "identity_verified")
    # the enterprise's admins holding health over Bob see it: Alice (owner), Sam (health of Sales)
    for admin in (world.alice, world.sam):
        assert f"/console/requests/{row.pk}/" in client_for("acme", admin).get("/console/requests/").content.decode()
    # Amy (full admin without health) does not; nor do the operators (it is the enterprise's)
    assert (
        f"/console/requests/{row.pk}/" not in client_for("acme", world.amy).get("/console/requests/").content.decode()
    )
    connection.set_schema_to_public()
    assert not Request.objects.filter(kind="complaint").exists()  # the public schema's table


def test_complain_to_the_platform_from_account(world, client_for):
    client = client_for("public", world.dana)
    account = client.get("/account/").content.decode()
    assert "Complain to the platform" in account and "/account/requests/?kind=complaint#new-request" in account
    # each enterprise of the account, on its own host
    assert "Complain to Acme Test" in account and "//acme.localhost/me/requests/?kind=complaint" in account
    form = client.get("/account/requests/?kind=complaint").content.decode()
    assert '<option value="complaint" selected>' in form
    response = client.post(
        "/account/requests/", {"kind": "complaint", "description": "The platform sent me marketing SMS."}
    )
    assert response.status_code == 302
    connection.set_schema_to_public()
    row = Request.objects.get()
    assert row.kind == "complaint" and row.membership_id is None and row.account_id == world.dana.pk
    listing = client_for("public", world.olga).get("/admin/requests/request/").content.decode()
    assert f"#{row.pk}" in listing
    with enterprise_schema(world.acme):
        assert not Request.objects.exists()
    connection.set_schema_to_public()


def test_a_complaint_needs_a_description(world, client_for):
    client = client_for("acme", world.bob)
    assert (
        client.post("/me/requests/", {"kind": "complaint", "category": "health", "description": ""}).status_code == 400
    )
    with enterprise_schema(world.acme):
        assert not Request.objects.exists()
    connection.set_schema_to_public()
