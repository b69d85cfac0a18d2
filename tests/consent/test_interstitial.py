"""CON-2: after a major version takes effect, every signed-in account is stopped — console,
self-service and API — until it accepts; a minor version does not block."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from consent.models import PolicyVersion
from consent.policy.services import policy_accept, policy_activate_due, policy_version_publish


def _version(number: str, level: str, **extra) -> PolicyVersion:
    return PolicyVersion.objects.create(
        version=number,
        title_en="Privacy policy",
        title_zh="隐私政策",
        body_en="Text.",
        body_zh="正文。",
        level=level,
        major_kinds=["purpose"] if level == "major" else [],
        **extra,
    )


def publish(number: str, level: str, effective_at=None) -> PolicyVersion:
    return policy_version_publish(version=_version(number, level), effective_at=effective_at, actor=None)


@pytest.fixture
def accepted_v1(world):
    """Everyone accepted version 1 (minor), as at sign-up."""
    v1 = publish("1", "minor")
    for account in User.objects.all():
        policy_accept(account=account, version=v1, channel="web")
    return v1


def test_a_major_version_stops_console_self_service_and_api_until_accepted(world, client_for, accepted_v1):
    publish("2", "major")
    alice, bob = client_for("acme", world.alice), client_for("acme", world.bob)
    response = bob.get("/me/")
    assert response.status_code == 302 and response["Location"] == "/policy/?next=/me/"
    assert alice.get("/console/members/")["Location"].startswith("/policy/?next=")
    api = bob.get("/api/v1/me/")
    assert (api.status_code, api.json()["code"]) == (403, "policy_acceptance_required")
    assert client_for("public", world.oscar).get("/account/")["Location"].startswith("/policy/")
    # the policy page itself, and signing out, stay reachable
    assert bob.get("/policy/").status_code == 200
    # accepting ends it at once, and returns to where the member was going
    accepted = bob.post("/policy/", {"action": "accept", "next": "/me/"})
    assert accepted["Location"] == "/me/"
    assert bob.get("/me/").status_code == 200
    assert bob.get("/api/v1/me/").status_code == 200
    assert alice.get("/console/members/").status_code == 302  # Alice has not accepted yet


def test_a_minor_version_does_not_block(world, client_for, accepted_v1):
    publish("2", "minor")
    assert client_for("acme", world.bob).get("/me/").status_code == 200


def test_a_major_version_announced_for_later_blocks_only_once_in_force(world, client_for, accepted_v1):
    later = timezone.now() + timedelta(days=30)
    v2 = publish("2", "major", effective_at=later)
    bob = client_for("acme", world.bob)
    assert bob.get("/me/").status_code == 200
    assert policy_activate_due() == []  # not yet
    assert policy_activate_due(now=later + timedelta(minutes=1)) == [v2]
    assert bob.get("/me/").status_code == 302
    assert policy_activate_due(now=later + timedelta(minutes=2)) == []  # idempotent


def test_accepting_in_advance_means_no_interstitial(world, client_for, accepted_v1):
    later = timezone.now() + timedelta(days=30)
    v2 = publish("2", "major", effective_at=later)
    policy_accept(account=world.bob, version=v2, channel="web")
    policy_activate_due(now=later + timedelta(minutes=1))
    assert client_for("acme", world.bob).get("/me/").status_code == 200
    assert client_for("acme", world.dana).get("/me/").status_code == 302


def test_the_check_costs_no_query(world, client_for, accepted_v1, django_assert_num_queries):
    publish("2", "major")
    bob = client_for("acme", world.bob)
    # 1 SET search_path public, 2 domain -> enterprise, 3 SET search_path acme, 4 session, 5 account
    with django_assert_num_queries(5):
        assert bob.get("/me/").status_code == 302
