"""The cached host -> enterprise lookup (issue 18 §8, PERF-7; TEN-4, TEN-5): fewer queries per
request, and no check weakened: a suspended, terminated or deleted enterprise, or a removed
domain, is refused from the very next request even though the row was cached."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import Domain, Enterprise
from tenants.routing import GENERATION_KEY, HOST_KEY, _cache, routing_cache_invalidate
from tenants.services import enterprise_reactivate, enterprise_suspend

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing_cache(settings: Any) -> None:
    """The cache also for requests served inside the test's transaction (tenants/routing.py),
    starting from a generation no earlier test's rows match."""
    settings.ROUTING_CACHE_IN_TRANSACTION = True
    routing_cache_invalidate()


def _queries(client: Any, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, [query["sql"] for query in captured.captured_queries]


def test_a_cached_host_costs_no_query_for_the_enterprise(world, client_for, routing_cache):
    client = client_for("acme", world.bob)
    first_status, first = _queries(client, "/api/v1/me/")
    second_status, second = _queries(client, "/api/v1/me/")
    assert first_status == second_status == 200
    assert any("tenants_domain" in sql for sql in first)  # the first request reads the database
    assert not any("tenants_domain" in sql for sql in second)  # the second one the cache
    assert not any(sql == 'SET search_path = "public"' for sql in second)
    assert len(second) <= len(first) - 2
    assert _cache().get(HOST_KEY.format("acme.localhost")) is not None


def test_without_the_setting_a_request_in_a_transaction_never_uses_the_cache(world, client_for, settings):
    settings.ROUTING_CACHE_IN_TRANSACTION = False
    routing_cache_invalidate()
    client = client_for("acme", world.bob)
    client.get("/api/v1/me/")
    status, queries = _queries(client, "/api/v1/me/")
    assert status == 200
    assert any("tenants_domain" in sql for sql in queries)


def test_suspension_refuses_the_next_request_despite_the_cache(world, client_for, routing_cache):
    """TEN-4: suspended at once, then open again at once after reactivation."""
    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200  # served from the cache
    acme = Enterprise.objects.get(schema_name="acme")
    enterprise_suspend(enterprise=acme, reason="unpaid")
    response = client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (403, "enterprise_suspended")
    enterprise_reactivate(enterprise=acme)
    assert client.get("/api/v1/me/").status_code == 200


def test_a_queryset_update_invalidates_too(world, client_for, routing_cache):
    """Termination writes the state with QuerySet.update() (retention/services/termination.py)."""
    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    Enterprise.objects.filter(schema_name="acme").update(state=Enterprise.State.TERMINATED)
    response = client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (410, "enterprise_terminated")


def test_a_removed_domain_is_not_found_at_once(world, client_for, routing_cache):
    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    Domain.objects.filter(domain="acme.localhost").delete()
    assert client.get("/api/v1/me/").status_code == 404


def test_a_domain_deleted_one_by_one_is_not_found_at_once(world, client_for, routing_cache):
    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    Domain.objects.get(domain="acme.localhost").delete()  # post_delete
    assert client.get("/api/v1/me/").status_code == 404


def test_a_row_read_before_a_change_is_never_served_after_it(world, client_for, routing_cache):
    """The race the generation closes: a request reads the database, the change commits and
    invalidates, then that request stores what it read. Its row carries the old generation, so
    the next request reads the database again."""
    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    key = HOST_KEY.format("acme.localhost")
    stale_generation, active = _cache().get(key)
    acme = Enterprise.objects.get(schema_name="acme")
    enterprise_suspend(enterprise=acme, reason="unpaid")
    assert active.state == Enterprise.State.ACTIVE
    _cache().set(key, (stale_generation, active), timeout=300)  # the late writer
    assert _cache().get(GENERATION_KEY) != stale_generation
    assert client.get("/api/v1/me/").status_code == 403


def test_the_generation_is_raised_again_when_the_change_commits(world, django_capture_on_commit_callbacks):
    before = _cache().get(GENERATION_KEY)
    acme = Enterprise.objects.get(schema_name="acme")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enterprise_suspend(enterprise=acme, reason="unpaid")
    after_change = _cache().get(GENERATION_KEY)
    assert after_change != before  # at once
    assert callbacks  # and once more at commit
    for callback in callbacks:
        callback()
    assert _cache().get(GENERATION_KEY) != after_change


def test_isolation_holds_with_the_cache(world, client_for, routing_cache):
    """TEN-5: a cached host still routes each host to its own enterprise and refuses
    non-members."""
    bob = client_for("acme", world.bob)
    assert bob.get("/api/v1/me/").status_code == 200
    globex = client_for("globex", world.bob)
    for _ in range(2):
        response = globex.get("/api/v1/me/")
        assert (response.status_code, response.json()["code"]) == (403, "not_member")
    gus = client_for("globex", world.gus)
    for _ in range(2):
        assert gus.get("/api/v1/me/").status_code == 200
        assert bob.get("/api/v1/me/").status_code == 200


def test_a_new_notice_version_stops_the_member_at_once_despite_the_cache(world, client_for, routing_cache):
    """CON-3: publishing writes Enterprise.notice_version with QuerySet.update(); the member is
    sent to the notice from the next request although the enterprise row was cached."""
    from tests.consent.test_me_notice import publish

    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200  # served from the cache
    publish(world.acme, summary_en="Version two")
    response = client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (403, "notice_acknowledgement_required")


def test_a_removed_member_loses_access_at_once_with_a_cached_host(world, client_for, routing_cache):
    """TEN-5 / DSR-5: the membership is still read on every request (it is not cached); with
    the host served from the cache, a removed member is refused from the next request."""
    from requests.leave.services import member_remove

    client = client_for("acme", world.erin)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200  # the host from the cache
    acme = Enterprise.objects.get(schema_name="acme")
    member_remove(enterprise=acme, actor=None, member=world.membership(acme, world.erin))
    connection.set_schema_to_public()
    response = client.get("/api/v1/me/")
    assert (response.status_code, response.json()["code"]) == (403, "not_member")
