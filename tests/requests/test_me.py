"""Self-service `/me/` and the API's `me` (the member's own data)."""

from __future__ import annotations


def test_me_shows_the_members_own_name(world, client_for):
    response = client_for("acme", world.bob).get("/me/")
    assert response.status_code == 200
    assert b"Bob Member" in response.content
    assert b"Amy Admin" not in response.content


def test_api_me(world, client_for):
    response = client_for("globex", world.gus).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "enterprise": "Globex Test",
        "display_name": "Gus Member",
        "role": "member",
        "mobile": "139****0012",
    }


def test_home_sends_members_and_admins_to_their_pages(world, client_for):
    assert client_for("acme", world.bob).get("/")["Location"] == "/me/"
    assert client_for("acme", world.amy).get("/")["Location"] == "/console/"
    assert client_for("acme").get("/")["Location"] == "/login/"


def test_openapi_schema_is_served(client_for):
    response = client_for("acme").get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/me/" in response.content


def test_openapi_schema_generates_without_warnings_and_covers_every_api_route(client_for):
    """The schema is what fuzzing (SEC-3) and clients rely on: it must build cleanly."""
    from django.urls import get_resolver
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    from config import urls_tenants

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(urlconf=urls_tenants).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, (
        GENERATOR_STATS._warn_cache,
        GENERATOR_STATS._error_cache,
    )
    api_routes = [p for p in get_resolver(urls_tenants).url_patterns if str(p.pattern).startswith("api/v1/")]
    assert api_routes and len(schema["paths"]) >= len(urls_tenants.api_v1)


def test_api_docs_page_uses_local_assets(client_for):
    response = client_for("acme").get("/api/docs/")
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in response.content
    assert b"cdn.jsdelivr" not in response.content


def test_an_unhandled_service_validation_error_is_a_400_not_a_500():
    """The API's exception handler: bad input found by a service is a 400 with field errors."""
    from django.core.exceptions import ValidationError
    from rest_framework.exceptions import ValidationError as ApiValidationError

    from tenants.apis import exception_handler, service_errors

    response = exception_handler(ValidationError({"mobile": ["Enter a valid mobile number."]}), {})
    assert (response.status_code, response.data) == (400, {"mobile": ["Enter a valid mobile number."]})
    response = exception_handler(ValidationError("Not allowed now."), {})
    assert (response.status_code, response.data) == (400, {"non_field_errors": ["Not allowed now."]})
    assert isinstance(service_errors(ValidationError({"a": ["b"]})), ApiValidationError)
