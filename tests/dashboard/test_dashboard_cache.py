"""The console home keeps an administrator's figures for DASHBOARD_CACHE_SECONDS (ENT-12, PERF-3;
docs/dashboard.md): a second visit within that time reads no aggregate and shows the same figures
with the time they were read; "Refresh" reads them anew; the setup checklist is always current;
another administrator, or the same one with another scope, never reads someone else's figures
(ENT-8)."""

from __future__ import annotations

import datetime
import uuid

import pytest
import time_machine
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.models import User
from biometrics.services import device_register
from core.services import membership_create
from tests.dashboard.test_dashboard import build, figure, local, working_day_after_today


@pytest.fixture
def cached(settings):
    """The real default, and cache keys of this test's own (the world's ids repeat in every test)."""
    settings.DASHBOARD_CACHE_SECONDS = 60
    default = settings.CACHES["default"]
    settings.CACHES = {
        **settings.CACHES,
        "default": {**default, "KEY_PREFIX": f"{default['KEY_PREFIX']}-{uuid.uuid4().hex[:8]}"},
    }


def _join(world, mobile: str) -> None:
    account = User.objects.create_user(mobile, "x-long-pass-1", nickname="Newcomer")
    membership_create(enterprise=world.acme, account=account, role="member")


@pytest.fixture
def morning():
    day = working_day_after_today()
    with time_machine.travel(local(day, 10, 30), tick=False) as traveller:
        yield day, traveller


def _members(client) -> str:
    return figure(client.get("/console/").content.decode(), "members")


def test_figures_are_kept_then_refreshed(world, client_for, cached, morning):
    day, traveller = morning
    build(world, day)
    client = client_for("acme", world.alice)
    first = client.get("/console/")
    before = figure(first.content.decode(), "members")
    read_at = first.context["dashboard"].computed_at
    # a new member: the kept figures stay, and say when they were read
    _join(world, "+8613900009999")
    traveller.shift(datetime.timedelta(seconds=30))
    again = client.get("/console/")
    assert figure(again.content.decode(), "members") == before
    assert again.context["dashboard"].computed_at == read_at
    assert f'data-figures-at="{timezone_iso(read_at)}"' in again.content.decode()
    # "Refresh" reads them anew …
    refreshed = client.get("/console/", {"refresh": "1"})
    assert int(figure(refreshed.content.decode(), "members")) == int(before) + 1
    # … and so does the first visit after the kept time
    _join(world, "+8613900009998")
    traveller.shift(datetime.timedelta(seconds=61))
    assert int(_members(client)) == int(before) + 2


def test_a_kept_visit_reads_fewer_queries(world, client_for, cached, morning, django_assert_max_num_queries):
    day, _traveller = morning
    build(world, day)
    client = client_for("acme", world.alice)
    client.get("/console/")
    with django_assert_max_num_queries(20) as kept:
        client.get("/console/")
    with django_assert_max_num_queries(60) as fresh:
        client.get("/console/", {"refresh": "1"})
    assert len(kept.captured_queries) < len(fresh.captured_queries) - 8


def test_the_checklist_is_always_current(world, client_for, cached, morning):
    day, _traveller = morning
    build(world, day)
    client = client_for("acme", world.alice)
    before = {i.key: i.done for i in client.get("/console/").context["dashboard"].checklist}
    assert before["device"] is False
    device_register(
        enterprise=world.acme,
        actor=world.membership(world.acme, world.alice),
        name="Front door",
        kind="attendance_machine",
        purpose="attendance",
    )
    after = {i.key: i.done for i in client.get("/console/").context["dashboard"].checklist}
    assert after == {**before, "device": True}


def test_a_scoped_admin_never_reads_the_owners_kept_figures(world, client_for, cached, morning):
    day, _traveller = morning
    build(world, day)
    owner = client_for("acme", world.alice).get("/console/").context["dashboard"]
    scoped = client_for("acme", world.sam).get("/console/").context["dashboard"]
    assert scoped.attendance.members < owner.attendance.members
    assert scoped.computed_at >= owner.computed_at and scoped.notice is None


def timezone_iso(value: datetime.datetime) -> str:
    return date_format(timezone.localtime(value), "c")


def _templates(response) -> set[str]:
    return {template.name for template in response.templates}


def test_the_figures_are_rendered_once_per_read_and_language(world, client_for, cached, morning):
    """PERF-3: the cards are rendered with the figures they show and kept beside them: a second
    visit renders no card; a refresh (new figures) renders them again; each language has its own
    rendering; the checklist, outside the kept cards, is always current."""
    day, traveller = morning
    build(world, day)
    client = client_for("acme", world.alice)
    first = client.get("/console/")
    assert "enterprise_data/dashboard/_figures.html" in _templates(first)
    traveller.shift(datetime.timedelta(seconds=10))
    again = client.get("/console/")
    assert "enterprise_data/dashboard/_figures.html" not in _templates(again)
    assert figure(again.content.decode(), "members") == figure(first.content.decode(), "members")
    chinese = client.get("/console/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "enterprise_data/dashboard/_figures.html" in _templates(chinese)  # its own language
    assert "今日考勤" in chinese.content.decode() or "考勤" in chinese.content.decode()
    _join(world, "+8613900009998")
    refreshed = client.get("/console/?refresh=1")
    assert "enterprise_data/dashboard/_figures.html" in _templates(refreshed)
    assert int(figure(refreshed.content.decode(), "members")) == int(figure(first.content.decode(), "members")) + 1
    after = client.get("/console/")  # the new read's rendering, not the first one's
    assert "enterprise_data/dashboard/_figures.html" not in _templates(after)
    assert figure(after.content.decode(), "members") == figure(refreshed.content.decode(), "members")
