"""External-contact matching (ENT-7): the salt, the match, the limits, and proof that nothing
received is stored or logged."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.models import User
from consent.permissions.services import device_permission_set
from core.models import EnterpriseSettings, Membership
from directory.contacts import contact_hash, contacts_match, contacts_salt_get
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema

SALT = "/api/v1/contacts/salt/"
MATCH = "/api/v1/contacts/match/"


@pytest.fixture(autouse=True)
def contacts_permission_granted(world):
    """Contact matching needs the `contacts` device permission (CON-5): every persona grants it
    here; tests/consent/test_permissions.py covers the refusal."""
    for account in User.objects.all():
        device_permission_set(account=account, kind="contacts", granted=True, channel="app")


def match(world, *, hashes):
    """Bob (who granted the contacts permission) asks acme."""
    return contacts_match(enterprise=world.acme, account=world.bob, hashes=hashes)


def client_digest(salt: str, e164: str) -> str:
    """Exactly what docs/contact-matching.md tells clients to compute."""
    return hmac.new(salt.encode("utf-8"), e164.encode("utf-8"), hashlib.sha256).hexdigest()


def row_counts(enterprise) -> dict[str, int]:
    """Rows of every table of the enterprise schema and of public (settings aside: the salt row)."""
    counts = {}
    with enterprise_schema(enterprise):
        for model in apps.get_models():
            if model._meta.db_table.startswith("enterprise_data_") or model._meta.app_label in (
                "consent",
                "requests",
                "guardian",
            ):
                counts[f"acme.{model._meta.db_table}"] = model.objects.count()
    connection.set_schema_to_public()
    for model in apps.get_models():
        if model._meta.app_label in ("tenants", "accounts", "sessions", "admin"):
            counts[f"public.{model._meta.db_table}"] = model.objects.count()
    return counts


def test_salt_is_created_once_and_kept(world):
    with enterprise_schema(world.acme):
        assert not EnterpriseSettings.objects.exists()
    salt = contacts_salt_get(enterprise=world.acme)
    assert len(salt) == 64 and int(salt, 16) >= 0
    assert contacts_salt_get(enterprise=world.acme) == salt
    assert contacts_salt_get(enterprise=world.globex) != salt  # one per enterprise
    with enterprise_schema(world.acme):
        assert EnterpriseSettings.objects.get(pk=1).contact_hash_salt == salt


def test_server_digest_equals_the_documented_client_digest(world):
    salt = contacts_salt_get(enterprise=world.acme)
    assert contact_hash(salt=salt, mobile="+8613900000003") == client_digest(salt, "+8613900000003")


def test_the_documented_python_example_matches_the_server(world):
    """docs/contact-matching.md's example, run as written, agrees with the server's digests."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs/contact-matching.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "contact-matching.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["digests"] == [
        contact_hash(salt=namespace["salt"], mobile=m) for m in ("+8613800138000", "+8613900000003")
    ]
    salt = contacts_salt_get(enterprise=world.acme)
    bob = namespace["contact_digest"](salt, "+8613900000003")
    assert match(world, hashes=[bob, namespace["contact_digest"](salt, "+8613800138000")]) == [bob]


def test_match_answers_only_active_members_of_this_enterprise(world):
    salt = contacts_salt_get(enterprise=world.acme)
    bob, erin, gus, stranger = (
        client_digest(salt, m) for m in ("+8613900000003", "+8613900000005", "+8613900000012", "+8613800009999")
    )
    assert match(world, hashes=[stranger, erin, gus, bob, erin]) == [erin, bob]
    with enterprise_schema(world.acme):
        Membership.objects.filter(account=world.erin).update(status=Membership.Status.LEFT)
    assert match(world, hashes=[erin, bob]) == [bob]
    # a digest under another enterprise's salt matches nothing here
    globex_salt = contacts_salt_get(enterprise=world.globex)
    assert match(world, hashes=[client_digest(globex_salt, "+8613900000003")]) == []


@pytest.mark.parametrize(
    "hashes",
    [
        ["A" * 64],  # upper case
        ["a" * 63],
        ["a" * 65],
        ["g" * 64],
        [123],
        "a" * 64,  # not a list
        ["a" * 64] * 1001,
    ],
)
def test_service_refuses_bad_input_with_field_errors(world, hashes):
    with pytest.raises(ValidationError) as caught:
        match(world, hashes=hashes)
    assert "hashes" in caught.value.message_dict


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["bob", "amy", "sam", "alice"])
def test_any_active_member_gets_the_salt_and_matches(world, client_for, persona):
    client = client_for("acme", getattr(world, persona))
    response = client.get(SALT)
    assert response.status_code == 200
    salt = response.json()["salt"]
    assert response.json()["algorithm"] == "HMAC-SHA256"
    digest = client_digest(salt, "+8613900000003")
    response = client.post(MATCH, {"hashes": [digest, "0" * 64]}, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"matches": [digest]}


@pytest.mark.parametrize("path", [SALT, MATCH])
@pytest.mark.parametrize("persona", [None, "greg", "oscar"])
def test_non_members_are_refused(world, client_for, path, persona):
    client = client_for("acme", getattr(world, persona) if persona else None)
    response = (
        client.get(path) if path == SALT else client.post(path, {"hashes": ["0" * 64]}, content_type="application/json")
    )
    assert response.status_code in (401, 403)
    assert "salt" not in response.json()


def test_globex_salt_is_globex_own(world, client_for):
    acme = client_for("acme", world.bob).get(SALT).json()["salt"]
    globex = client_for("globex", world.gus).get(SALT).json()["salt"]
    assert acme != globex
    bob_under_globex = client_digest(globex, "+8613900000003")
    response = client_for("globex", world.gus).post(
        MATCH, {"hashes": [bob_under_globex]}, content_type="application/json"
    )
    assert response.json() == {"matches": []}  # Bob is not a globex member


@pytest.mark.parametrize(
    "body",
    [
        {"hashes": ["A" * 64]},
        {"hashes": ["abc"]},
        {"hashes": ["z" * 64]},
        {"hashes": "0" * 64},
        {"hashes": [None]},
        {},
        {"hashes": ["0" * 64] * 1001},
    ],
)
def test_bad_match_input_is_400_with_field_errors(world, client_for, body):
    response = client_for("acme", world.bob).post(MATCH, body, content_type="application/json")
    assert response.status_code == 400
    assert "hashes" in response.json()


def test_exactly_1000_hashes_are_accepted(world, client_for):
    client = client_for("acme", world.bob)
    salt = client.get(SALT).json()["salt"]
    hashes = [f"{i:064x}" for i in range(999)] + [client_digest(salt, "+8613900000005")]
    response = client.post(MATCH, {"hashes": hashes}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"matches": [hashes[-1]]}


def test_nothing_received_is_stored_or_logged(world, client_for, caplog):
    """ENT-7: the digests are neither stored (every table's row count is unchanged, no ledger
    entry) nor logged (no log record at any level mentions one), for a good and a bad request."""
    client = client_for("acme", world.bob)
    salt = client.get(SALT).json()["salt"]  # creates the settings row before counting
    digests = [client_digest(salt, "+8613900000005"), client_digest(salt, "+8613800001234")]
    bad = "Z" * 64
    before = row_counts(world.acme)
    with enterprise_schema(world.acme):
        ledger_before = LedgerEntry.objects.count()
    connection.set_schema_to_public()
    caplog.set_level(logging.DEBUG)
    assert client.post(MATCH, {"hashes": digests}, content_type="application/json").status_code == 200
    assert client.post(MATCH, {"hashes": [*digests, bad]}, content_type="application/json").status_code == 400
    assert row_counts(world.acme) == before
    with enterprise_schema(world.acme):
        assert LedgerEntry.objects.count() == ledger_before
        assert not LedgerEntry.objects.filter(details__icontains=digests[0][:16]).exists()
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {getattr(r, 'request', '')!r}" for r in caplog.records)
    for value in (*digests, bad, digests[1][:16]):
        assert value not in logged
    with enterprise_schema(world.acme), connection.cursor() as cursor:  # nor in any text column anywhere
        cursor.execute(
            "SELECT count(*) FROM enterprise_data_ledgerentry WHERE details::text LIKE %s", [f"%{digests[1]}%"]
        )
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("n", [5, 50])
def test_match_runs_a_constant_number_of_queries(world, client_for, django_assert_num_queries, n):
    client = client_for("acme", world.bob)
    salt = client.get(SALT).json()["salt"]
    hashes = [client_digest(salt, f"+86138000{i:05d}") for i in range(n)]
    # 1 SET search_path public, 2 domain, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7 the contacts device permission (CON-5), 8 the member's contacts consent
    # (CON-4), 9 the salt, 10 active members' mobile numbers
    with django_assert_num_queries(10):
        assert client.post(MATCH, {"hashes": hashes}, content_type="application/json").json() == {"matches": []}


def test_openapi_schema_lists_the_contact_endpoints(client_for):
    content = client_for("acme").get("/api/schema/").content
    assert SALT.encode() in content and MATCH.encode() in content
