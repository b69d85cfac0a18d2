"""SEC-3: the error responses of the whole API are documented (config/openapi.py), so the fuzzing
can check every status code (schemathesis' `status_code_conformance`). Real 400s, 401s, 403s and
404s, from the session API and the device API, are what the served schema documents for the
operation that answered them."""

from __future__ import annotations

import jsonschema
from django.db import connection
from django.test import Client

from biometrics.services import device_register
from tests.requests.test_account_deletion import _json_schema


def _documented(doc: dict, path: str, method: str, status: int) -> jsonschema.protocols.Validator:
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path}: {status} is not documented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator(_json_schema({**schema, "components": doc["components"]}))


def _device_key(world, kind: str = "attendance_machine", purpose: str = "attendance") -> str:
    actor = world.membership(world.acme, world.alice)
    _device, key = device_register(
        enterprise=world.acme, actor=actor, name=f"Errors {kind}", kind=kind, purpose=purpose
    )
    connection.set_schema_to_public()
    return key


def test_real_error_responses_are_what_the_schema_documents(world, client_for):
    admin = client_for("acme", world.alice)
    member = client_for("acme", world.bob)
    anonymous = client_for("acme")
    doc = admin.get("/api/schema/?format=json").json()
    clock_key = _device_key(world)
    door_key = _device_key(world, kind="door_controller", purpose="door_access")
    device = Client(HTTP_HOST="acme.localhost")
    bob_id = world.membership(world.acme, world.bob).pk

    answers = [
        # 400: field errors, nested field errors (a list's items), a body that is not JSON, a bad query
        (400, "/api/v1/departments/", "post", admin.post("/api/v1/departments/", {}, content_type="application/json")),
        (
            400,
            "/api/v1/members/",
            "post",
            admin.post("/api/v1/members/", {"departments": ["x"]}, content_type="application/json"),
        ),
        (400, "/api/v1/departments/", "post", admin.post("/api/v1/departments/", "{", content_type="application/json")),
        (
            400,
            "/api/v1/me/account-deletion/",
            "post",
            member.post("/api/v1/me/account-deletion/", "[", content_type="application/json"),
        ),
        (
            400,
            "/api/v1/ledger/",
            "get",
            admin.get("/api/v1/ledger/", {"date_from": "2026-02-01", "date_to": "2026-01-01"}),
        ),
        (
            400,
            "/api/device/v1/clock/",
            "post",
            device.post(
                "/api/device/v1/clock/",
                {"kind": "sideways"},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Device {clock_key}",
            ),
        ),
        (
            400,
            "/api/device/v1/templates/",
            "get",
            device.get("/api/device/v1/templates/", {"limit": "many"}, HTTP_AUTHORIZATION=f"Device {clock_key}"),
        ),
        # 401: the device API asks for its key
        (401, "/api/device/v1/templates/", "get", device.get("/api/device/v1/templates/")),
        (
            401,
            "/api/device/v1/clock/",
            "post",
            device.post(
                "/api/device/v1/clock/", {}, content_type="application/json", HTTP_AUTHORIZATION="Device dev_nope_nope"
            ),
        ),
        # 403: not signed in, not an admin, not a member, no second factor (with a `code`), wrong device
        (403, "/api/v1/me/", "get", anonymous.get("/api/v1/me/")),
        (403, "/api/v1/members/", "get", member.get("/api/v1/members/")),
        (403, "/api/v1/me/", "get", client_for("acme", world.gwen).get("/api/v1/me/")),
        (
            403,
            "/api/v1/departments/",
            "post",
            client_for("acme", world.alice, two_factor=False).post(
                "/api/v1/departments/", {"name": "X"}, content_type="application/json"
            ),
        ),
        (
            403,
            "/api/device/v1/clock/",
            "post",
            device.post(
                "/api/device/v1/clock/",
                {"membership_id": bob_id, "kind": "in"},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Device {door_key}",
            ),
        ),
        # 404: an id that is not in this enterprise, one beyond any column
        (404, "/api/v1/departments/{id}/", "get", admin.get("/api/v1/departments/999999/")),
        (
            404,
            "/api/v1/members/{id}/",
            "get",
            admin.get(f"/api/v1/members/{world.membership(world.globex, world.gwen).pk}/"),
        ),
        (404, "/api/v1/me/requests/{id}/", "get", member.get(f"/api/v1/me/requests/{10**30}/")),
        (404, "/api/v1/me/requests/", "get", member.get("/api/v1/me/requests/", {"page": 0})),
        (
            404,
            "/api/v1/ledger/export/",
            "post",
            admin.post("/api/v1/ledger/export/?format=AAA", {}, content_type="application/json"),
        ),
        # an id no route accepts: the API's JSON 404 (tenants.views.not_found), not Django's page
        (404, "/api/v1/departments/{id}/", "get", admin.get("/api/v1/departments/abc/")),
    ]
    for status, path, method, response in answers:
        assert response.status_code == status, (status, method, path, response.status_code, response.content)
        _documented(doc, path, method, status).validate(response.json())
    codes = {(status, path): response.json().get("code") for status, path, _m, response in answers}
    assert codes[(403, "/api/v1/departments/")] == "two_factor_required"
    assert isinstance(answers[1][3].json()["departments"], dict)  # {"0": ["A valid integer is required."]}
    assert isinstance(answers[2][3].json()["detail"], str)  # JSON parse error


def test_every_operation_documents_its_errors(client_for):
    """400 and 403 everywhere; 413 where there is a body; 401 on the device API only; 404 with a
    path parameter; an operation's own documented error (the account deletion's 400) is kept."""
    doc = client_for("acme").get("/api/schema/?format=json").json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            where = {parameter["in"] for parameter in operation.get("parameters", [])}
            assert {"403", "410"} <= codes, (method, path)
            assert "400" in codes, (method, path)  # a control character anywhere is refused (tenants.input)
            assert ("413" in codes) == (method != "get"), (method, path)  # a body too large
            assert ("401" in codes) == path.startswith("/api/device/"), (method, path)
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert ("404" in codes) == (
                "path" in where or bool(query & {"page", "format"}) or (method, path) == ("get", "/api/v1/consents/")
            ), (method, path)
    deletion = doc["paths"]["/api/v1/me/account-deletion/"]["post"]["responses"]["400"]
    assert deletion["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AccountDeletionError"}
    assert doc["paths"]["/api/v1/me/exports/"]["post"]["responses"]["429"]


def test_a_url_no_route_matches_is_a_json_404_under_the_api_and_a_page_elsewhere(world, client_for):
    admin = client_for("acme", world.alice)
    for path in ("/api/v1/departments/abc/", "/api/v1/no-such-thing/", "/api/device/v1/x/"):
        response = admin.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert set(response.json()) == {"detail"}
    page = admin.get("/console/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    public = client_for("public").get("/api/v1/me/")
    assert public.status_code == 404 and public.json() == {"detail": public.json()["detail"]}
