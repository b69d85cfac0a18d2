"""SEC-3 (issue 14 §5): no input reaches a 500, and the API's errors are always JSON.

Control characters are refused in one place (tenants.input.InputGuardMiddleware) for the path,
the query string, forms (and uploaded file names) and JSON bodies: 400 with the field named, JSON on
the API in its documented shape, a page elsewhere, nothing changed. The API answers 400, 403,
404, 413 and 500 in JSON (tenants.errors, tenants.views.not_found)."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import get_resolver

from config import urls_public, urls_tenants
from core.models import Department
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tests.test_api_errors import _documented

TOO_LARGE = 4 * 1024 * 1024 + 1  # DATA_UPLOAD_MAX_MEMORY_SIZE + 1


def _counts(world) -> tuple[int, int]:
    with enterprise_schema(world.acme):
        counts = Department.objects.count(), LedgerEntry.objects.count()
    connection.set_schema_to_public()
    return counts


def test_the_reported_nul_bytes_are_field_errors_not_500s(world, client_for):
    admin = client_for("acme", world.alice)
    doc = admin.get("/api/schema/?format=json").json()
    before = _counts(world)

    api = admin.get("/api/v1/members/?q=%00")
    assert api.status_code == 400 and api["Content-Type"] == "application/json"
    assert api.json() == {"q": ["Control characters are not allowed."]}
    _documented(doc, "/api/v1/members/", "get", 400).validate(api.json())

    page = admin.get("/console/members/?q=%00")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
    assert b"<code>q</code>" in page.content

    for export in (
        admin.get("/console/ledger/export/?purpose=a%00b"),
        admin.post("/console/ledger/export/", {"purpose": "a\x00b"}),
    ):
        assert export.status_code == 400 and b"<code>purpose</code>" in export.content
    api_export = admin.post("/api/v1/ledger/export/", {"purpose": "a\x00b"}, content_type="application/json")
    assert api_export.status_code == 400 and api_export.json() == {"purpose": ["Control characters are not allowed."]}
    assert _counts(world) == before


def test_the_refusal_is_in_the_visitors_language(world, client_for):
    admin = client_for("acme", world.alice)
    api = admin.get("/api/v1/members/?q=%00", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert api.json() == {"q": ["不允许使用控制字符。"]}
    page = admin.get("/console/members/?q=%00", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert "输入被拒绝".encode() in page.content


def test_every_kind_of_input_is_checked(world, client_for):
    admin = client_for("acme", world.alice)
    doc = admin.get("/api/schema/?format=json").json()
    before = _counts(world)
    refused = {
        # JSON: a value, a lone surrogate (UTF-8 cannot store it), a list item, a key
        "json value": admin.post("/api/v1/departments/", {"name": "Sales\x1b[2J"}, content_type="application/json"),
        "surrogate": admin.post("/api/v1/departments/", '{"name": "Sales \\ud800"}', content_type="application/json"),
        "list item": admin.post(
            "/api/v1/members/", {"name": "New", "departments": [1, "2\x00"]}, content_type="application/json"
        ),
        "key": admin.post("/api/v1/departments/", {"name": "Ok", "x\ty": 1}, content_type="application/json"),
        # a form body (url-encoded PATCH: DRF's own parsing, not Django's)
        "form": admin.patch("/api/v1/departments/1/", "name=a%07b", content_type="application/x-www-form-urlencoded"),
        # the query string: DEL and a C1 control too; a name
        "del": admin.get("/api/v1/members/?q=a%7Fb"),
        "c1": admin.get("/api/v1/members/?q=a%C2%85b"),
        "query name": admin.get("/api/v1/members/?q%01=x"),
    }
    for what, response in refused.items():
        assert response.status_code == 400 and response["Content-Type"] == "application/json", what
    bodies = {what: response.json() for what, response in refused.items()}
    assert bodies["json value"] == {"name": ["Control characters are not allowed."]}
    assert bodies["surrogate"] == {"name": ["Control characters are not allowed."]}
    assert bodies["list item"] == {"departments": {"1": ["Control characters are not allowed."]}}
    assert bodies["key"] == {"non_field_errors": ["A field name contains a control character."]}
    assert bodies["form"] == {"name": ["Control characters are not allowed."]}
    assert bodies["query name"] == {"non_field_errors": ["A field name contains a control character."]}
    _documented(doc, "/api/v1/members/", "post", 400).validate(bodies["list item"])
    _documented(doc, "/api/v1/departments/", "post", 400).validate(bodies["key"])

    # a path (a str parameter would reach the database) and an uploaded file's name
    assert admin.get("/policy/%00/").status_code == 400
    path = admin.get("/api/v1/departments/%00/")
    assert path.status_code == 400 and set(path.json()) == {"detail"}
    # a multipart form (Django's parser already drops non-printable characters from file names;
    # the guard checks them too)
    upload = admin.post(
        "/console/members/new/",
        {"name": "Bob\x00", "photo": SimpleUploadedFile("me\x07.png", b"\x89PNG\r\n\x1a\n", "image/png")},
    )
    assert upload.status_code == 400 and b"<code>name</code>" in upload.content
    assert _counts(world) == before


def test_tab_line_feed_and_carriage_return_are_text(world, client_for):
    admin = client_for("acme", world.alice)
    assert admin.get("/api/v1/members/?q=a%09b%0A%0D").status_code == 200
    created = admin.post("/api/v1/departments/", {"name": "Line\tone"}, content_type="application/json")
    assert created.status_code != 400 or "Control characters" not in str(created.json())


def test_a_body_too_large_is_413(world, client_for):
    admin = client_for("acme", world.alice)
    doc = admin.get("/api/schema/?format=json").json()
    before = _counts(world)
    body = '{"name": "' + "x" * TOO_LARGE + '"}'
    api = admin.post("/api/v1/departments/", body, content_type="application/json")
    assert api.status_code == 413 and api["Content-Type"] == "application/json"
    assert api.json() == {"detail": "The request body is too large (at most 4.0\xa0MB)."}
    _documented(doc, "/api/v1/departments/", "post", 413).validate(api.json())
    device = admin.post("/api/device/v1/clock/", body, content_type="application/json")
    assert device.status_code == 413 and set(device.json()) == {"detail"}
    page = admin.post("/console/departments/", {"name": "x" * TOO_LARGE})
    assert page.status_code == 413 and page["Content-Type"].startswith("text/html")
    assert _counts(world) == before


def test_other_bad_requests_are_json_on_the_api(world, client_for):
    """Django's own refusals (here too many query parameters: TooManyFieldsSent) go through
    handler400: JSON on the API, in the documented shape."""
    admin = client_for("acme", world.alice)
    doc = admin.get("/api/schema/?format=json").json()
    query = "&".join(f"p{n}=1" for n in range(1001))
    api = admin.get(f"/api/v1/members/?{query}")
    assert api.status_code == 400 and api.json() == {"detail": "Bad request."}
    _documented(doc, "/api/v1/members/", "get", 400).validate(api.json())
    page = admin.get(f"/console/members/?{query}")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_a_server_error_is_json_on_the_api(world, client_for):
    """A real route that fails: the ledger's table is renamed (inside a savepoint, undone)."""
    admin = client_for("acme", world.alice)
    admin.raise_request_exception = False
    answers = {}
    for path in ("/api/v1/ledger/verify/", "/console/ledger/verify/"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER TABLE "{world.acme.schema_name}".enterprise_data_ledgerentry RENAME TO gone')
            answers[path] = admin.get(path)
            transaction.set_rollback(True)
        connection.set_schema_to_public()
    api = answers["/api/v1/ledger/verify/"]
    assert api.status_code == 500 and api["Content-Type"] == "application/json"
    assert api.json() == {"detail": "A server error occurred."}
    page = answers["/console/ledger/verify/"]
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_every_host_has_the_json_handlers():
    """handler400/403/404/500 of both URL modules (public and enterprise hosts)."""
    factory = RequestFactory()
    for urls in (urls_tenants, urls_public):
        resolver = get_resolver(urls)
        for status in (400, 403, 404, 500):
            handler = resolver.resolve_error_handler(status)
            request = factory.get("/api/v1/anything/")
            response = handler(request) if status == 500 else handler(request, Exception("x"))
            assert response.status_code == status and response["Content-Type"] == "application/json", (urls, status)
            assert set(json.loads(response.content)) == {"detail"}
            page = factory.get("/console/")
            page.tenant = None
            html = handler(page) if status == 500 else handler(page, Exception("x"))
            assert html["Content-Type"].startswith("text/html"), (urls, status)
