"""SEC-7: a member's open requests per enterprise are capped (REQUEST_MAX_OPEN_PER_MEMBER, 10 by
default; requests/workflow/services.py). One more is refused with a non-field error, 400, on
the API and on the pages, and nothing is written; closing one makes room again."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.settings import base as base_settings
from requests.models import Request
from tenants.context import enterprise_schema, public_schema

COMPLAINT = {"kind": "complaint", "category": "attendance", "description": "Please check this."}
LIMITED = "You already have 3 open requests here"


@pytest.fixture(autouse=True)
def _three_open_at_most(settings):
    settings.REQUEST_MAX_OPEN_PER_MEMBER = 3


def test_the_default_limit_is_ten():
    assert base_settings.REQUEST_MAX_OPEN_PER_MEMBER == 10


def _count(world, user) -> int:
    with enterprise_schema(world.acme):
        return Request.objects.filter(account=user).count()


def test_the_api_refuses_one_more_open_request_with_a_400(world, client_for, submit):
    assert settings.REQUEST_MAX_OPEN_PER_MEMBER == 3
    for _ in range(3):
        submit("acme", world.bob)
    client = client_for("acme", world.bob)
    before = _count(world, world.bob)
    response = client.post("/api/v1/me/requests/", COMPLAINT, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"] and LIMITED in response.json()["non_field_errors"][0]
    assert _count(world, world.bob) == before
    # a correction request is a request too
    correction = client.post(
        "/api/v1/me/profile/corrections/", {"field": "position", "value": "Lead"}, content_type="application/json"
    )
    assert correction.status_code == 400 and LIMITED in correction.json()["non_field_errors"][0]
    # another member of the same enterprise is not affected
    assert (
        client_for("acme", world.erin)
        .post("/api/v1/me/requests/", COMPLAINT, content_type="application/json")
        .status_code
        == 201
    )
    # cancelling one makes room
    pk = client.get("/api/v1/me/requests/").json()["results"][0]["id"]
    assert client.post(f"/api/v1/me/requests/{pk}/cancel/").status_code == 200
    assert client.post("/api/v1/me/requests/", COMPLAINT, content_type="application/json").status_code == 201


def test_the_page_refuses_one_more_open_request_with_the_message(world, client_for, submit):
    for _ in range(3):
        submit("acme", world.dana)
    before = _count(world, world.dana)
    client = client_for("acme", world.dana)
    response = client.post("/me/requests/", COMPLAINT)
    assert response.status_code == 400 and LIMITED in response.content.decode()
    chinese = client.post("/me/requests/", COMPLAINT, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 400 and "您在此已有 3 个未完成的请求" in chinese.content.decode()
    assert _count(world, world.dana) == before
    # Dana's requests in globex are counted apart
    assert client_for("globex", world.dana).post("/me/requests/", COMPLAINT).status_code == 302


def test_account_data_requests_are_capped_per_account(world, client_for, submit):
    for _ in range(3):
        submit(None, world.oscar)
    client = client_for("public", world.oscar)
    response = client.post("/account/requests/", {"kind": "complaint", "description": "Please check this."})
    assert response.status_code == 400 and LIMITED in response.content.decode()
    with public_schema():
        assert Request.objects.filter(account=world.oscar, membership__isnull=True).count() == 3
