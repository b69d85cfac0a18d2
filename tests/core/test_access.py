"""Authorization inside an enterprise by structure (ENT-8; OWASP ASVS V8.2.2).

1. Every view and API on an enterprise host declares its access, and the base classes refuse a
   class that declares nothing (or declares read-only access and handles writes).
2. Scoped admin Sam (directory, health, attendance of Sales) cannot reference or move anything
   outside his scope through a write: an out-of-scope id is refused exactly like a missing one.
3. Services that change scopes check the acting admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver

from config import urls_tenants
from core.apis import EnterpriseApiView
from core.models import Department, Membership
from core.scopes import admin_scope_for
from core.views import ConsoleView, EnterpriseMemberView
from tenants.access import Access, Kind, Manage, Read, SelfService
from tenants.categories import Category
from tenants.context import enterprise_schema

MISSING = 999_999

# Third-party views on the enterprise hosts: the OpenAPI schema and its page, the language switch.
THIRD_PARTY = {"drf_spectacular.views", "django.views.i18n"}


def _view_classes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _view_classes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            callback = pattern.callback
            view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            yield prefix + str(pattern.pattern), view_class, callback


def test_every_route_on_an_enterprise_host_declares_its_access():
    undeclared = []
    kinds = set()
    for route, view_class, callback in _view_classes(get_resolver(urls_tenants).url_patterns):
        if callback.__module__ in THIRD_PARTY or (view_class is not None and view_class.__module__ in THIRD_PARTY):
            continue
        access = getattr(view_class, "access", None)
        if not isinstance(access, Access):
            undeclared.append(route)
            continue
        kinds.add(access.kind)
        if issubclass(view_class, EnterpriseMemberView | EnterpriseApiView):
            assert access.kind in (Kind.SELF_SERVICE, Kind.ADMIN, Kind.BY_METHOD), route
    assert not undeclared, f"routes without an access declaration: {undeclared}"
    assert {Kind.SELF_SERVICE, Kind.ADMIN, Kind.PUBLIC, Kind.DEVICE, Kind.ACCOUNT} <= kinds


def test_the_base_classes_refuse_a_class_that_declares_nothing():
    class Undeclared(ConsoleView):
        def get(self, request):
            raise AssertionError

    class UndeclaredApi(EnterpriseApiView):
        def get(self, request):
            raise AssertionError

    class UndeclaredPage(EnterpriseMemberView):
        def get(self, request):
            raise AssertionError

    for view in (Undeclared, UndeclaredApi, UndeclaredPage):
        with pytest.raises(ImproperlyConfigured, match="must declare its access"):
            view.as_view()


def test_read_access_cannot_handle_writes_and_the_console_serves_admins_only():
    class ReadsButWrites(EnterpriseApiView):
        access = Read(Category.DIRECTORY)

        def post(self, request):
            raise AssertionError

    class MemberPageInConsole(ConsoleView):
        access = SelfService()

        def get(self, request):
            raise AssertionError

    with pytest.raises(ImproperlyConfigured, match="declare Manage"):
        ReadsButWrites.as_view()
    with pytest.raises(ImproperlyConfigured, match="not served"):
        MemberPageInConsole.as_view()
    with pytest.raises(ImproperlyConfigured):
        Read("no-such-category")

    class Fine(ConsoleView):
        access = Manage(Category.DIRECTORY)

        def post(self, request):
            raise AssertionError

    assert callable(Fine.as_view())


# --- the reproductions of issue 14 §2, through the API and the console --------------------------


@pytest.fixture
def sam(world, client_for):
    return client_for("acme", world.sam)


def _ids(world):
    with enterprise_schema(world.acme):
        return {
            "bob": Membership.objects.get(account=world.bob).pk,
            "erin": Membership.objects.get(account=world.erin).pk,
            "alice": Membership.objects.get(account=world.alice).pk,
            "sam": Membership.objects.get(account=world.sam).pk,
        }


def _patch(client, pk, data):
    return client.patch(f"/api/v1/members/{pk}/", data, content_type="application/json")


def test_a_secretary_outside_the_scope_is_refused_like_a_missing_one(world, sam):
    ids = _ids(world)
    outside = _patch(sam, ids["bob"], {"secretary": ids["erin"]})
    missing = _patch(sam, ids["bob"], {"secretary": MISSING})
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json() == {"secretary": ["Choose an active member of this enterprise."]}
    with enterprise_schema(world.acme):
        assert Membership.objects.get(pk=ids["bob"]).secretary_id is None
    assert _patch(sam, ids["bob"], {"secretary": ids["sam"]}).json()["secretary"] == ids["sam"]


def test_a_scoped_admin_cannot_create_or_move_a_card_out_of_his_scope(world, sam):
    ids = _ids(world)
    created = sam.post(
        "/api/v1/members/",
        {"display_name": "Out Of Scope", "departments": [world.engineering.pk]},
        content_type="application/json",
    )
    missing = sam.post(
        "/api/v1/members/", {"display_name": "Out Of Scope", "departments": [MISSING]}, content_type="application/json"
    )
    assert created.status_code == missing.status_code == 400
    assert created.json() == missing.json()
    nowhere = sam.post("/api/v1/members/", {"display_name": "Out Of Scope"}, content_type="application/json")
    assert nowhere.status_code == 400 and "departments" in nowhere.json()
    moved = _patch(sam, ids["bob"], {"departments": [world.engineering.pk]})
    assert moved.status_code == 400 and moved.json() == _patch(sam, ids["bob"], {"departments": [MISSING]}).json()
    assert _patch(sam, ids["bob"], {"departments": []}).status_code == 400
    with enterprise_schema(world.acme):
        assert not Membership.objects.filter(display_name="Out Of Scope").exists()
        assert list(Department.objects.filter(members__pk=ids["bob"])) == [world.sales_east]
    # within the scope: a new card in Sales, and Bob moved to Sales
    assert (
        sam.post(
            "/api/v1/members/",
            {"display_name": "In Scope", "departments": [world.sales.pk]},
            content_type="application/json",
        ).status_code
        == 201
    )
    assert _patch(sam, ids["bob"], {"departments": [world.sales.pk]}).json()["departments"] == [world.sales.pk]


def test_departments_outside_the_scope_that_a_card_has_are_kept(world, sam):
    """Sam sets the part of a card he administers; the card's other departments stay."""
    with enterprise_schema(world.acme):
        bob = Membership.objects.get(account=world.bob)
        bob.departments.add(world.engineering)
    response = _patch(sam, bob.pk, {"departments": [world.sales.pk]})
    assert response.status_code == 200
    assert sorted(response.json()["departments"]) == sorted([world.sales.pk, world.engineering.pk])


def test_the_console_form_refuses_out_of_scope_departments_and_secretary(world, sam):
    ids = _ids(world)
    page = sam.get(f"/console/members/{ids['bob']}/edit/").content.decode()
    assert "Erin Engineer" not in page and "Engineering" not in page
    response = sam.post(
        f"/console/members/{ids['bob']}/edit/",
        {
            "display_name": "Bob Member",
            "departments": [world.engineering.pk],
            "secretary": ids["erin"],
        },
    )
    assert response.status_code == 400
    with enterprise_schema(world.acme):
        bob = Membership.objects.get(pk=ids["bob"])
        assert bob.secretary_id is None and list(bob.departments.all()) == [world.sales_east]


def test_position_and_rank_that_do_not_exist_are_field_errors(world, sam):
    ids = _ids(world)
    response = _patch(sam, ids["bob"], {"position": MISSING, "rank": MISSING})
    assert response.status_code == 400 and set(response.json()) == {"position", "rank"}


# --- services that change scopes check the acting admin --------------------------------------


def _scope_post(client, pk, department, categories, revoke=False):
    return client.post(
        f"/api/v1/members/{pk}/scopes/",
        {"department": department, "categories": categories, "revoke": revoke},
        content_type="application/json",
    )


def test_scope_revoke_checks_the_acting_admin(world, client_for):
    """Amy (full admin without health) could revoke Sam's health scope before; now she may only
    take back what she holds herself, as for a grant, and never her own."""
    ids = _ids(world)
    amy = client_for("acme", world.amy)
    refused = _scope_post(amy, ids["sam"], world.sales.pk, [Category.HEALTH], revoke=True)
    assert refused.status_code == 400 and "categories" in refused.json()
    with enterprise_schema(world.acme):
        amy_card = Membership.objects.get(account=world.amy)
    own = _scope_post(amy, amy_card.pk, world.sales.pk, [Category.DIRECTORY], revoke=True)
    assert own.status_code == 400 and "admin" in own.json()
    with enterprise_schema(world.acme):
        assert Category.HEALTH in admin_scope_for(Membership.objects.get(account=world.sam)).categories
    # the owner holds health everywhere: she may revoke it
    alice = client_for("acme", world.alice)
    assert _scope_post(alice, ids["sam"], world.sales.pk, [Category.HEALTH], revoke=True).status_code == 204
    with enterprise_schema(world.acme):
        assert Category.HEALTH not in admin_scope_for(Membership.objects.get(account=world.sam)).categories


def test_a_scoped_admin_cannot_grant_or_revoke_scopes(world, sam):
    ids = _ids(world)
    assert _scope_post(sam, ids["bob"], world.sales.pk, [Category.DIRECTORY]).status_code == 403
    assert _scope_post(sam, ids["bob"], world.sales.pk, [Category.DIRECTORY], revoke=True).status_code == 403
    assert (
        sam.post(
            f"/console/members/{ids['bob']}/scopes/", {"department": world.sales.pk, "categories": [Category.DIRECTORY]}
        ).status_code
        == 403
    )


def test_enterprise_wide_settings_need_the_category_over_the_whole_enterprise(world, sam):
    """Sam holds attendance and directory over Sales only: he reads geofences and departments
    but changes neither (403 from the declaration, not from a check in the view)."""
    assert sam.get("/api/v1/geofences/").status_code == 200
    assert (
        sam.post(
            "/api/v1/geofences/", {"name": "HQ", "latitude": 31.2, "longitude": 121.4}, content_type="application/json"
        ).status_code
        == 403
    )
    assert sam.get("/console/attendance/geofences/new/").status_code == 403
    assert sam.get("/api/v1/departments/").status_code == 200
    assert sam.post("/api/v1/departments/", {"name": "Shadow"}, content_type="application/json").status_code == 403
    assert sam.post("/console/org/departments/new/", {"name": "Shadow"}).status_code == 403
