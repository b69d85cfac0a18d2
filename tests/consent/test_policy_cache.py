"""The published privacy-policy versions /me/ reads on every request are kept in the process
(consent.policy.selectors, POLICY_CACHE_SECONDS; PERF-7): no query for them while kept, and a
version published or deleted in this process is seen at once (CON-2's notice of a minor version).
The rest of the suite runs with the cache off (tests/conftest.py)."""

from __future__ import annotations

import pytest

from consent.models import PolicyVersion
from consent.policy.selectors import policy_status, policy_versions_forget
from tests.consent.test_policy import published


@pytest.fixture
def kept(settings):
    settings.POLICY_CACHE_SECONDS = 30
    policy_versions_forget()
    yield
    policy_versions_forget()


def test_the_versions_are_read_once_while_kept(world, kept, django_assert_num_queries):
    with django_assert_num_queries(1):  # the published versions
        assert policy_status(account=world.bob).current is None
    with django_assert_num_queries(0):
        assert policy_status(account=world.bob).current is None


def test_a_version_published_here_is_seen_at_once(world, client_for, kept):
    client = client_for("acme", world.bob)
    assert "policy-notice" not in client.get("/me/").content.decode()  # the empty list is kept now
    version = published("1.1")  # a minor version: its notice shows on /me/
    page = client.get("/me/").content.decode()
    assert "policy-notice" in page and "(1.1)" in page
    status = policy_status(account=world.bob)
    assert status.current == version and status.current.body_en == "English text of 1.1."  # loaded on use
    version.delete()
    assert "policy-notice" not in client.get("/me/").content.decode()


def test_without_the_cache_every_status_reads_the_versions(world, settings, django_assert_num_queries):
    settings.POLICY_CACHE_SECONDS = 0
    for _ in range(2):
        with django_assert_num_queries(1):
            policy_status(account=world.bob)
    assert not PolicyVersion.objects.exists()
