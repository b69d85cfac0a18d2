"""Retention settings (RET-1): bounds, the ledger, the console page, the API, isolation, and the
operators' read-only receipts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from ledger.models import LedgerEntry
from ledger.services import Action
from retention.bounds import BOUNDS, RetentionCategory
from retention.models import RetentionSetting
from retention.selectors import retention_days_for, retention_effective
from retention.services.purge import purge_run
from retention.services.settings import retention_setting_update, retention_settings_update
from tenants.context import enterprise_schema
from tests.conftest import sign_in

DEFAULTS = {category: bounds.default for category, bounds in BOUNDS.items()}


def _stored(enterprise) -> dict[str, int]:
    with enterprise_schema(enterprise):
        return dict(RetentionSetting.objects.values_list("category", "days"))


def _retention_entries(enterprise) -> list[LedgerEntry]:
    with enterprise_schema(enterprise):
        return list(LedgerEntry.objects.filter(action=Action.RETENTION_CHANGE).order_by("id"))


# --- bounds and defaults ------------------------------------------------------------------------


def test_bounds_follow_the_documented_rules():
    assert BOUNDS["attendance"].min_days >= 2 * 365  # wage records: at least two years
    assert BOUNDS["ledger"].min_days >= 3 * 365  # PIPL art. 56: processing records three years
    assert BOUNDS["departed_profiles"].default == 30 and BOUNDS["departed_profiles"].max_days == 90  # DSR-5
    assert BOUNDS["raw_coordinates"].max_days < BOUNDS["attendance"].min_days
    assert BOUNDS["exports"].purged  # by requests.export.services.exports_purge_expired


def test_effective_periods_are_the_defaults_until_set_in_one_query(world, django_assert_num_queries):
    with enterprise_schema(world.acme), django_assert_num_queries(2):  # search_path; the settings rows
        days = retention_days_for(world.acme)
    assert days == DEFAULTS
    assert set(days) == set(RetentionCategory.values)
    retention_setting_update(enterprise=world.acme, actor=None, category="health_reports", days=7)
    rows = {row.category: row for row in retention_effective(enterprise=world.acme)}
    assert rows["health_reports"].days == 7 and not rows["health_reports"].is_default
    assert rows["attendance"].is_default
    assert retention_days_for(world.globex) == DEFAULTS  # another enterprise's setting


def test_a_setting_outside_todays_bounds_counts_as_the_nearest_bound(world):
    with enterprise_schema(world.acme):  # stored when the platform allowed it
        RetentionSetting.objects.create(category="health_reports", days=365)
        RetentionSetting.objects.create(category="attendance", days=365)
    days = retention_days_for(world.acme)
    assert days["health_reports"] == BOUNDS["health_reports"].max_days
    assert days["attendance"] == BOUNDS["attendance"].min_days


# --- the service ----------------------------------------------------------------------------------


def test_a_change_is_recorded_in_the_ledger(world):
    alice = world.membership(world.acme, world.alice)
    before = len(_retention_entries(world.acme))
    setting = retention_setting_update(enterprise=world.acme, actor=alice, category="attendance", days=1000)
    assert setting.days == 1000 and setting.updated_by_id == alice.pk
    entries = _retention_entries(world.acme)[before:]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.category == "retention" and entry.actor_membership_id == alice.pk
    assert entry.details == {"retention_category": "attendance", "from_days": 730, "to_days": 1000}
    # the same value again changes and records nothing
    retention_setting_update(enterprise=world.acme, actor=alice, category="attendance", days=1000)
    assert len(_retention_entries(world.acme)) == before + 1


@pytest.mark.parametrize(
    ("category", "days", "field"),
    [
        ("attendance", 729, "attendance"),  # below the legal minimum
        ("raw_coordinates", 91, "raw_coordinates"),  # above the minimisation maximum
        ("ledger", 0, "ledger"),
        ("health_reports", "30", "health_reports"),
        ("health_reports", True, "health_reports"),
        ("health_reports", 3.5, "health_reports"),
        ("photos", 30, "category"),
    ],
)
def test_out_of_bounds_and_malformed_values_are_field_errors_and_change_nothing(world, category, days, field):
    before = len(_retention_entries(world.acme))
    with pytest.raises(ValidationError) as caught:
        retention_setting_update(enterprise=world.acme, actor=None, category=category, days=days)
    assert field in caught.value.message_dict
    assert _stored(world.acme) == {} and len(_retention_entries(world.acme)) == before


def test_several_at_once_are_all_or_nothing(world):
    with pytest.raises(ValidationError) as caught:
        retention_settings_update(
            enterprise=world.acme, actor=None, days={"health_reports": 10, "attendance": 10, "ledger": 1}
        )
    assert set(caught.value.message_dict) == {"attendance", "ledger"}
    assert _stored(world.acme) == {}
    changed = retention_settings_update(
        enterprise=world.acme, actor=None, days={"health_reports": 10, "invitations": 90, "ledger": 1200}
    )
    assert changed == ["health_reports", "ledger"]  # invitations keeps its default and stays unset
    assert _stored(world.acme) == {"health_reports": 10, "ledger": 1200}


# --- the console --------------------------------------------------------------------------------


def test_console_page_shows_every_category_and_saves(world, client_for):
    client = client_for("acme", world.alice)
    page = client.get("/console/retention/")
    assert page.status_code == 200
    html = page.content.decode()
    for row in retention_effective(enterprise=world.acme):
        assert f'name="{row.category}"' in html
    assert 'href="/console/retention/"' in html  # the section's link in the console nav
    assert "No purge has run yet." in html
    data = dict(DEFAULTS, health_reports=14)
    response = client.post("/console/retention/", data)
    assert response.status_code == 302 and response["Location"] == "/console/retention/"
    assert _stored(world.acme) == {"health_reports": 14}
    assert client.post("/console/retention/", data).status_code == 302  # nothing changed: fine


def test_console_refuses_out_of_bounds_with_field_errors(world, client_for):
    client = client_for("acme", world.amy)  # a full admin holds the retention category
    response = client.post("/console/retention/", dict(DEFAULTS, attendance=30, health_reports=10))
    assert response.status_code == 400
    assert "between 730 and 1825" in response.content.decode()
    malformed = client.post("/console/retention/", dict(DEFAULTS, ledger="many"))
    assert malformed.status_code == 400 and "Enter a whole number." in malformed.content.decode()
    assert _stored(world.acme) == {}


def test_console_shows_the_last_purge(world, client_for):
    purge_run(enterprise=world.acme)
    html = client_for("acme", world.alice).get("/console/retention/").content.decode()
    assert "Last purge" in html and "Finished" in html


def test_console_is_for_admins_holding_the_retention_category(world, client_for):
    assert client_for("acme", world.sam).get("/console/retention/").status_code == 403  # scoped admin
    assert client_for("acme", world.bob).get("/console/retention/").status_code == 403  # member
    assert client_for("acme", world.bob).post("/console/retention/", {"health_reports": 1}).status_code == 403
    assert 'href="/console/retention/"' not in client_for("acme", world.sam).get("/console/").content.decode()
    assert _stored(world.acme) == {}


# --- the API ----------------------------------------------------------------------------------------


def test_api_lists_and_patches(world, client_for):
    client = client_for("acme", world.alice)
    listed = client.get("/api/v1/retention/")
    assert listed.status_code == 200
    rows = {row["category"]: row for row in listed.json()["results"]}
    assert set(rows) == set(RetentionCategory.values)
    assert rows["attendance"] | {"label": None, "description": None} == {
        "category": "attendance",
        "label": None,
        "description": None,
        "days": 730,
        "default": 730,
        "min_days": 730,
        "max_days": 1825,
        "is_default": True,
        "purged": True,
    }
    patched = client.patch(
        "/api/v1/retention/", {"raw_coordinates": 7, "ledger": 2000}, content_type="application/json"
    )
    assert patched.status_code == 200
    rows = {row["category"]: row for row in patched.json()["results"]}
    assert rows["raw_coordinates"]["days"] == 7 and rows["ledger"]["days"] == 2000
    assert _stored(world.acme) == {"raw_coordinates": 7, "ledger": 2000}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"attendance": 10}, "attendance"),
        ({"raw_coordinates": 7, "health_reports": 1000}, "health_reports"),
        ({"health_reports": "soon"}, "health_reports"),
        ({"photos": 30}, "photos"),
        ({"health_reports": None}, "health_reports"),
        ({"health_reports": 10**20}, "health_reports"),
        ({}, "non_field_errors"),
        ([{"health_reports": 10}], "non_field_errors"),
    ],
)
def test_api_refuses_bad_input_with_field_errors(world, client_for, body, field):
    response = client_for("acme", world.alice).patch("/api/v1/retention/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert _stored(world.acme) == {}


def test_api_is_for_admins_holding_the_retention_category(world, client_for):
    for user in (world.sam, world.bob):
        client = client_for("acme", user)
        assert client.get("/api/v1/retention/").status_code == 403
        assert (
            client.patch("/api/v1/retention/", {"health_reports": 1}, content_type="application/json").status_code
            == 403
        )
    assert _stored(world.acme) == {}


# --- isolation (SEC-1) ---------------------------------------------------------------------------------


def test_another_enterprises_admin_is_refused_and_settings_stay_apart(world, client_for):
    greg = client_for("acme", world.greg)  # globex admin on acme's host
    assert greg.get("/console/retention/").status_code == 403
    assert greg.patch("/api/v1/retention/", {"health_reports": 1}, content_type="application/json").status_code == 403
    foreign = Client(HTTP_HOST="acme.localhost")
    sign_in(foreign, world.gina, "globex")  # a globex session replayed on acme: anonymous there
    assert foreign.get("/api/v1/retention/").status_code in (401, 403)
    client_for("globex", world.gina).patch("/api/v1/retention/", {"health_reports": 3}, content_type="application/json")
    assert _stored(world.globex) == {"health_reports": 3}
    assert _stored(world.acme) == {}
    assert retention_days_for(world.acme)["health_reports"] == 30


# --- the operators' receipts ------------------------------------------------------------------------------


def test_operators_see_receipts_read_only(world):
    outcome = purge_run(enterprise=world.acme)
    client = Client(HTTP_HOST="localhost")
    sign_in(client, world.olga, "public")
    listed = client.get("/admin/tenants/purgereceipt/")
    assert listed.status_code == 200
    assert "Acme Test" in listed.content.decode() and "health_reports" in listed.content.decode()
    from tenants.models import PurgeReceipt

    receipt = PurgeReceipt.objects.filter(run_id=outcome.run_id, enterprise=world.acme).first()
    detail = client.get(f"/admin/tenants/purgereceipt/{receipt.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert client.get("/admin/tenants/purgereceipt/add/").status_code == 403
    assert client.post(f"/admin/tenants/purgereceipt/{receipt.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PurgeReceipt.objects.filter(pk=receipt.pk).exists()


def test_console_page_and_api_run_a_constant_number_of_queries(world, client_for, django_assert_num_queries):
    client = client_for("acme", world.alice)
    client.get("/console/retention/")  # warm the per-process caches (notice check, template loading)
    # search_path public; domain; search_path acme; session; account; membership; the session's
    # second factor (SEC-2); settings; last run
    with django_assert_num_queries(10):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        assert client.get("/console/retention/").status_code == 200
    purge_run(enterprise=world.acme)
    with django_assert_num_queries(11):  # … and the last run's steps
        assert client.get("/console/retention/").status_code == 200
    # search_path public; domain; search_path acme; session; account; membership; second factor; settings
    with django_assert_num_queries(8):
        assert client.get("/api/v1/retention/").status_code == 200
