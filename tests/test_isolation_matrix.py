"""The cross-enterprise isolation matrix (SEC-1, TEN-5) over every route of the enterprise hosts,
enumerated from the URL resolver, so a new route cannot escape it.

For each route, with its path parameters filled from PARAMETERS (a parameter name missing there
fails the test loudly — add a value for it):

1. another enterprise's member, signed in on this host (gina of globex on acme), is refused;
2. a session of this enterprise replayed on the other enterprise's host is not served;
3. this enterprise's owner, asking for ids that exist only in the other enterprise or are
   shared by both (ids collide across schemas), never receives the other enterprise's data and
   never a 500 — for GET and for an empty POST.

Routes open to anyone (OPEN_PATH_PREFIXES: sign-in, policy, notice, schema) are checked for (3)
only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from config import urls_tenants
from core.middleware import OPEN_PATH_PREFIXES

# Values tried for each path parameter. Ints: 1 and 2 exist in both enterprises for most tables
# (colliding ids); 7 is the membership id that exists only in globex (gwen); 999999 exists nowhere.
INT_VALUES = (1, 2, 7, 999_999)
PARAMETERS: dict[str, tuple[object, ...]] = {
    "pk": INT_VALUES,
    "version": INT_VALUES,
    "record_id": INT_VALUES,
    "member_id": INT_VALUES,
    "notification_id": INT_VALUES,
    "field": ("id_number", "mobile"),
    "token": ("x" * 43,),
}
# Text that only the other enterprise's pages contain.
GLOBEX_MARKERS = (
    b"Globex Test",
    b"Gwen Member",
    b"Gus Member",
    b"Gail Member",
    b"Gary Member",
    b"Greg Admin",
    b"Gina Owner",
)
REFUSED = (302, 401, 403, 404, 405)


@dataclass(frozen=True)
class Route:
    name: str
    regex: str
    params: tuple[str, ...]

    def paths(self) -> list[str]:
        missing = [p for p in self.params if p not in PARAMETERS]
        assert not missing, f"route {self.name!r}: add test values for {missing} to PARAMETERS"
        combos: list[dict[str, object]] = [{}]
        for param in self.params:
            combos = [{**c, param: v} for c in combos for v in PARAMETERS[param]]
        return [self.fill(values) for values in combos]

    def fill(self, values: dict[str, object]) -> str:
        path = self.regex
        for name, value in values.items():
            path = re.sub(r"<(?:\w+:)?" + name + ">", str(value), path)
        return "/" + path


def _routes(patterns, prefix: str = "") -> list[Route]:
    found: list[Route] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if route.startswith(("i18n/", "api/docs/")):
                continue
            found.append(Route(pattern.name or route, route, tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))))
    return found


ROUTES = _routes(get_resolver(urls_tenants).url_patterns)
PATHS = sorted({(route.name, path) for route in ROUTES for path in route.paths()})


def _open(path: str) -> bool:
    return path.startswith(OPEN_PATH_PREFIXES) or path.startswith("/invitations/") or path == "/"


def test_the_matrix_covers_every_route():
    assert len(ROUTES) > 50 and {name for name, _p in PATHS} == {route.name for route in ROUTES}


@pytest.fixture
def gina_on_acme(world, client_for):
    return client_for("acme", world.gina)


@pytest.fixture
def alice_on_acme(world, client_for):
    return client_for("acme", world.alice)


@pytest.mark.parametrize(("name", "path"), PATHS)
def test_another_enterprises_member_is_refused(gina_on_acme, name, path):
    if _open(path):
        pytest.skip("open to anyone")
    for method in ("get", "post"):
        response = getattr(gina_on_acme, method)(path)
        assert response.status_code in (403, 404, 405), (method, path, response.status_code)


@pytest.mark.parametrize(("name", "path"), PATHS)
def test_a_session_replayed_on_the_other_host_is_not_served(world, client_for, name, path):
    if _open(path):
        pytest.skip("open to anyone")
    client = client_for("acme", world.alice)
    client.defaults["HTTP_HOST"] = "globex.localhost"  # the acme session cookie, sent to globex
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        assert response.status_code in REFUSED, (method, path, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/login/"), (path, response["Location"])
        assert not any(marker in response.content for marker in GLOBEX_MARKERS), path


@pytest.mark.parametrize(("name", "path"), PATHS)
def test_the_owner_never_gets_the_other_enterprises_data(alice_on_acme, name, path):
    for method in ("get", "post"):
        response = getattr(alice_on_acme, method)(path)
        assert response.status_code < 500, (method, path, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        leaked = [marker for marker in GLOBEX_MARKERS if marker in body]
        assert not leaked, (method, path, leaked)


# --- inside one enterprise: the scoped administrator (ENT-8; OWASP ASVS V8.2.2) -----------------
#
# Sam administers directory, health and attendance of Sales (⊃ Sales East: Bob). Erin
# (Engineering), Alice (owner, no department) and a card without a department are outside his
# scope. For every route with an id in its path, and for every object-reference field of every
# API write (read off the OpenAPI schema), an id outside his scope must answer exactly like an id
# that exists nowhere; and no answer of any route shows anything of those members.

MISSING = 999_999
# What the int parameter of each route names. A route with an int parameter missing here fails
# the test loudly: add it. None: no object of that kind is outside a scoped admin's reach (the
# kind is enterprise-wide, or the route is not an enterprise member's).
ROUTE_KINDS: dict[str, str | None] = {
    "login_handoff": None,  # a sign-in token, not an object (tests/tenants/test_handoff.py)
    "me_consent_withdraw": "consent_record",
    "me_request": "request",
    "me_data_reveal": "member",  # the member's own card only: any other id is 404 (issue 17 §1)
    "me_export_status": "export",
    "me_export_download": "export",
    "console_member": "member",
    "console_member_edit": "member",
    "console_member_photo": "member",
    "console_member_reveal": "member",
    "console_member_scopes": "member",
    "console_invitation_revoke": "invitation",
    "console_attendance_member": "member",
    "console_attendance_calendar": "member",
    "console_clock_event_reveal": "clock_event",
    "console_geofence_edit": None,
    "console_geofence_delete": None,
    "console_health_report_reveal": "health_report",
    "biometrics_device_revoke": None,
    "biometrics_member": "member",
    "biometrics_template_revoke": "template",
    "biometrics_template_delete": "template",
    "console_notice_version": None,
    "console_member_consents": "member",
    "console_legal_basis_end": "legal_basis",
    "incident": None,  # platform incidents, per account (tests/test_incidents.py)
    "console_request": "request",
    "notice_version": None,
    "policy_version": None,
    "api_notification_read": "notification",
    "api_me_consent_withdrawal": "consent_record",
    "api_notice": None,
    "api_legal_basis_end": "legal_basis",
    "api_member": "member",
    "api_member_reveal": "member",
    "api_member_scopes": "member",
    "api_department": "department",
    "console_org_department_rename": "department",
    "console_org_department_move": "department",
    "console_org_department_delete": "department",
    "console_org_position_edit": None,  # positions and ranks are enterprise-wide
    "console_org_position_delete": None,
    "console_org_rank_edit": None,
    "console_org_rank_delete": None,
    # an import job: its author's or a whole-directory admin's, else 404 (tests/directory/test_import.py)
    "console_member_import_job": None,
    "api_invitation_revoke": "invitation",
    "api_geofence": None,
    "api_health_report_reveal": "health_report",
    "api_device_revoke": None,
    "api_member_biometrics": "member",
    "api_biometric": "template",
    "api_biometric_revoke": "template",
    "api_me_export": "export",
    "api_me_request": "request",
    "api_me_request_cancel": "request",
    "api_me_request_information": "request",
    "api_request": "request",
    "api_request_decide": "request",
}
# Integer fields of API request bodies that name an object, with the kind they name, and the
# body they are sent in (so that the other fields are valid and the reference is what decides).
REFERENCE_FIELDS: dict[tuple[str, str, str], str | None] = {
    ("post", "/api/v1/consents/legal-bases/", "member"): "member",
    ("post", "/api/v1/departments/", "parent"): "department",
    ("patch", "/api/v1/departments/{id}/", "parent"): "department",
    ("post", "/api/v1/invitations/", "membership"): "invitation_card",
    ("post", "/api/v1/members/", "position"): None,  # positions and ranks are enterprise-wide
    ("post", "/api/v1/members/", "rank"): None,
    ("post", "/api/v1/members/", "departments"): "department",
    ("post", "/api/v1/members/", "secretary"): "member",
    ("patch", "/api/v1/members/{id}/", "position"): None,
    ("patch", "/api/v1/members/{id}/", "rank"): None,
    ("patch", "/api/v1/members/{id}/", "departments"): "department",
    ("patch", "/api/v1/members/{id}/", "secretary"): "member",
    ("post", "/api/v1/members/{id}/scopes/", "department"): "department",
    ("post", "/api/v1/health/remind/", "department"): "department",  # the subtree to remind (ENT-5)
    ("post", "/api/v1/ledger/export/", "subject"): "member",  # filters of the export (an instruction)
    ("post", "/api/v1/ledger/export/", "actor"): "member",
    # a device names members of its own enterprise, not an admin's scope (tests/biometrics/test_devices.py)
    ("post", "/api/device/v1/clock/", "membership_id"): None,
    ("post", "/api/v1/me/consents/", "notice_version"): None,  # the enterprise's published notices
    ("post", "/api/v1/me/notice/acknowledge/", "version"): None,
}
# Integer body fields that are quantities, not references.
QUANTITY_FIELDS = {
    "radius_m",
    "min_group_size",
    "days_valid",
    "attendance",
    "raw_coordinates",
    "health_reports",
    "biometric_templates",
    "invitations",
    "ledger",
    "departed_profiles",
    "exports",
}
BASE_BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("post", "/api/v1/consents/legal-bases/"): {
        "category": "health",
        "purpose": "health_monitoring",
        "basis": "emergency",
        "reason": "Municipal epidemic-prevention order",
    },
    ("post", "/api/v1/members/"): {"display_name": "Probe Card"},
    ("post", "/api/v1/invitations/"): {"kind": "link"},
    ("post", "/api/v1/members/{id}/scopes/"): {"categories": ["directory"]},
    ("post", "/api/v1/departments/"): {"name": "Probe"},
}
SCOPED_MARKERS = (b"Erin Engineer", b"ERIN-PRIVATE", b"Chengdu", b"Dana Dual", b"Outside Card")
PER_RESPONSE_TOKEN = re.compile(rb"[A-Za-z0-9+/_-]{20,}={0,2}")  # CSRF tokens and CSP nonces


@pytest.fixture
def outside_sams_scope(world):
    """Objects of every kind that belong to members outside Sam's scope, by kind."""
    from attendance.models import ClockEvent
    from attendance.services import attendance_clock
    from biometrics.models import BiometricTemplate
    from biometrics.services import template_enroll
    from consent.consents.services import legal_basis_record
    from consent.inbox.services import notify
    from consent.models import ConsentRecord, Notification
    from core.models import Membership
    from core.scopes import dangerously_whole_enterprise
    from directory.services import member_card_create
    from health.models import HealthReport
    from health.services import health_report_submit
    from invitations.models import Invitation
    from invitations.services import invitation_create_link
    from requests.export.services import export_start
    from requests.models import Export, Request
    from requests.workflow.services import request_submit
    from tenants.context import enterprise_schema

    acme = world.acme
    alice, erin = world.membership(acme, world.alice), world.membership(acme, world.erin)
    health_report_submit(enterprise=acme, membership=erin, city="Chengdu", unwell=True, symptoms="ERIN-PRIVATE")
    attendance_clock(
        enterprise=acme,
        membership=erin,
        kind="in",
        source="app",
        latitude="30.5728",
        longitude="104.0668",
        accuracy_m=12,
    )
    template_enroll(
        enterprise=acme,
        actor=alice,
        membership=erin,
        modality="face",
        purpose="attendance",
        template=b"ERIN-PRIVATE-TEMPLATE",
    )
    request_submit(
        enterprise=acme,
        account=world.erin,
        membership=erin,
        kind="complaint",
        category="health",
        description="ERIN-PRIVATE complaint",
    )
    export_start(enterprise=acme, membership=erin, language="en")
    legal_basis_record(
        enterprise=acme,
        actor=alice,
        member_id=erin.pk,
        category="health",
        purpose="health_monitoring",
        basis="emergency",
        reason="Municipal epidemic-prevention order",
    )
    card = member_card_create(
        enterprise=acme, actor=None, scope=dangerously_whole_enterprise(), data={"display_name": "Outside Card"}
    )
    invitation_create_link(enterprise=acme, actor=None, membership=card)
    notify(account=world.erin, kind="test", title="ERIN-PRIVATE message")
    outside = (erin.pk, alice.pk, card.pk)
    with enterprise_schema(acme):
        kinds = {
            "member": list(outside),
            "department": [world.engineering.pk],
            "invitation": list(Invitation.objects.filter(membership_id__in=outside).values_list("pk", flat=True)),
            "invitation_card": [card.pk],
            "clock_event": list(ClockEvent.objects.filter(membership_id__in=outside).values_list("pk", flat=True)),
            "health_report": list(HealthReport.objects.filter(membership_id__in=outside).values_list("pk", flat=True)),
            "template": list(BiometricTemplate.objects.filter(membership_id__in=outside).values_list("pk", flat=True)),
            "consent_record": list(ConsentRecord.objects.filter(membership_id=erin.pk).values_list("pk", flat=True)),
            "legal_basis": list(
                ConsentRecord.objects.filter(membership_id=erin.pk)
                .exclude(basis=ConsentRecord.Basis.CONSENT)
                .values_list("pk", flat=True)
            ),
            "request": list(Request.objects.filter(membership_id=erin.pk).values_list("pk", flat=True)),
            "export": list(Export.objects.filter(membership_id=erin.pk).values_list("pk", flat=True)),
        }
        assert Membership.objects.get(pk=card.pk).departments.count() == 0
    connection.set_schema_to_public()
    kinds["notification"] = list(Notification.objects.filter(account=world.erin).values_list("pk", flat=True))
    for kind, ids in kinds.items():
        assert ids, f"the fixture made no {kind} outside Sam's scope"
    return kinds


def _normalized(response, path: str, value: int) -> tuple[int, bytes, str]:
    """Status, body and Location with the request's own path (pages echo it, e.g. in the language
    switch) and, in JSON, the id itself replaced, and per-response tokens blanked."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for form in {path, quote(path, safe="")}:
        body = body.replace(form.encode(), b"<path>")
    body = PER_RESPONSE_TOKEN.sub(b"<token>", body)
    if response.get("Content-Type", "").startswith("application/json"):
        body = re.sub(rb"\b%d\b" % value, b"<id>", body)
    return response.status_code, body, response.get("Location", "").replace(path, "<path>")


def _difference(got: tuple, expected: tuple) -> tuple:
    """Statuses and the first differing stretch of the bodies, for a readable failure."""
    if got[0] != expected[0] or got[2] != expected[2]:
        return got[0], expected[0], got[2], expected[2]
    at = next(
        (i for i, (a, b) in enumerate(zip(got[1], expected[1], strict=False)) if a != b),
        min(len(got[1]), len(expected[1])),
    )
    return got[0], got[1][max(0, at - 60) : at + 60], expected[1][max(0, at - 60) : at + 60]


def _send(client, method: str, path: str, data: dict | None = None):
    if path.startswith("/api/"):
        return getattr(client, method)(path, data or {}, content_type="application/json")
    return getattr(client, method)(path, data or {})


def test_every_route_with_an_id_names_its_kind():
    unknown = [route.name for route in ROUTES if route.params and route.name not in ROUTE_KINDS]
    assert not unknown, f"add these routes to ROUTE_KINDS: {unknown}"


def test_a_scoped_admin_gets_the_same_answer_for_an_id_outside_his_scope_as_for_a_missing_one(
    world, client_for, outside_sams_scope
):
    sam = client_for("acme", world.sam)
    differences = []
    for route in ROUTES:
        kind = ROUTE_KINDS.get(route.name)
        if not route.params or kind is None:
            continue
        for method in ("get", "post", "patch", "delete") if route.regex.startswith("api/") else ("get", "post"):
            for outside in outside_sams_scope[kind]:
                values = {p: outside if p != "field" and p != "token" else PARAMETERS[p][0] for p in route.params}
                missing_values = {**values, **{p: MISSING for p in route.params if p not in ("field", "token")}}
                path, missing_path = route.fill(values), route.fill(missing_values)
                got = _normalized(_send(sam, method, path), path, outside)
                expected = _normalized(_send(sam, method, missing_path), missing_path, MISSING)
                if got != expected:
                    differences.append((method.upper(), path, *_difference(got, expected)))
    assert not differences, "ids outside the scope answered unlike missing ones:\n" + "\n".join(map(str, differences))


def test_no_answer_to_a_scoped_admin_shows_anything_outside_his_scope(world, client_for, outside_sams_scope):
    sam = client_for("acme", world.sam)
    ids = sorted({i for kind_ids in outside_sams_scope.values() for i in kind_ids})
    leaks = []
    for route in ROUTES:
        for path in route.paths() if route.params else [route.fill({})]:
            response = sam.get(path)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            leaked = [m for m in SCOPED_MARKERS if m in body]
            if leaked:
                leaks.append((path, leaked))
    assert ids and not leaks, leaks


def _api_reference_fields() -> list[tuple[str, str, str, bool]]:
    """(method, path, field, is_array) for every integer field of every JSON request body."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf="config.urls_tenants").get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].split("/")[-1]]
        return node

    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                if "json" not in media_type:
                    continue
                for name, prop in resolve(media["schema"]).get("properties", {}).items():
                    prop = resolve(prop)
                    items = resolve(prop.get("items", {})) if prop.get("type") == "array" else {}
                    if prop.get("type") == "integer" or items.get("type") == "integer":
                        found.append((method, path, name, prop.get("type") == "array"))
    return found


API_REFERENCE_FIELDS = _api_reference_fields()


def test_every_integer_field_of_an_api_write_is_classified():
    unknown = [
        (m, p, f)
        for m, p, f, _a in API_REFERENCE_FIELDS
        if (m, p, f) not in REFERENCE_FIELDS and f not in QUANTITY_FIELDS
    ]
    assert not unknown, f"add these body fields to REFERENCE_FIELDS (or QUANTITY_FIELDS): {unknown}"
    assert ("patch", "/api/v1/members/{id}/", "secretary") in {(m, p, f) for m, p, f, _a in API_REFERENCE_FIELDS}


def test_an_api_write_naming_an_object_outside_the_scope_answers_like_a_missing_one(
    world, client_for, outside_sams_scope
):
    sam = client_for("acme", world.sam)
    bob = world.membership(world.acme, world.bob)
    checked, differences = 0, []
    for method, path, field, is_array in API_REFERENCE_FIELDS:
        kind = REFERENCE_FIELDS.get((method, path, field))
        if kind is None:
            continue
        url = path.replace("{id}", str(bob.pk))
        base = BASE_BODIES.get((method, path), {})
        if field != "departments" and path.startswith("/api/v1/members/") and method == "post":
            base = {**base, "departments": [world.sales.pk]}
        for outside in outside_sams_scope[kind]:
            got = _normalized(
                _send(sam, method, url, {**base, field: [outside] if is_array else outside}), url, outside
            )
            expected = _normalized(
                _send(sam, method, url, {**base, field: [MISSING] if is_array else MISSING}), url, MISSING
            )
            checked += 1
            if got != expected or got[0] < 400:
                differences.append((method.upper(), url, field, outside, *_difference(got, expected)))
    assert checked >= 8 and not differences, differences
