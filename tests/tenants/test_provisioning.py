"""Provisioning (TEN-1..TEN-3): clone equals migrate; bad input creates nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context, schema_exists

from core.models import Membership
from core.services import enterprise_create
from tenants.models import Domain, Enterprise, MembershipIndex

CATALOG_QUERIES = {
    "columns": """
        SELECT table_name, column_name,
               -- relative order: a dropped column leaves a gap in the migrated schema only
               row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position), data_type, is_nullable,
               replace(coalesce(column_default, ''), %(schema)s || '.', ''), is_identity,
               coalesce(identity_generation, ''), coalesce(character_maximum_length, 0)
        FROM information_schema.columns WHERE table_schema = %(schema)s ORDER BY 1, 3""",
    "indexes": """
        SELECT tablename, indexname, replace(indexdef, %(schema)s || '.', 'S.')
        FROM pg_indexes WHERE schemaname = %(schema)s ORDER BY 1, 2""",
    "constraints": """
        SELECT rel.relname, con.conname, con.contype, replace(pg_get_constraintdef(con.oid), %(schema)s || '.', 'S.')
        FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
        JOIN pg_namespace ns ON ns.oid = con.connamespace
        WHERE ns.nspname = %(schema)s ORDER BY 1, 2""",
    "foreign_key_targets": """
        SELECT rel.relname, con.conname, tns.nspname = 'public', tgt.relname
        FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
        JOIN pg_namespace ns ON ns.oid = con.connamespace
        JOIN pg_class tgt ON tgt.oid = con.confrelid JOIN pg_namespace tns ON tns.oid = tgt.relnamespace
        WHERE ns.nspname = %(schema)s AND con.contype = 'f' ORDER BY 1, 2""",
    "sequences": """
        SELECT sequence_name, data_type, start_value, increment
        FROM information_schema.sequences WHERE sequence_schema = %(schema)s ORDER BY 1""",
    "triggers": """
        SELECT rel.relname, tg.tgname, replace(pg_get_triggerdef(tg.oid), %(schema)s || '.', 'S.')
        FROM pg_trigger tg JOIN pg_class rel ON rel.oid = tg.tgrelid JOIN pg_namespace ns ON ns.oid = rel.relnamespace
        WHERE ns.nspname = %(schema)s AND NOT tg.tgisinternal ORDER BY 1, 2""",
    "functions": """
        SELECT p.proname, md5(p.prosrc) FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace
        WHERE ns.nspname = %(schema)s ORDER BY 1""",
    "migrations": "SELECT app, name FROM {schema}.django_migrations ORDER BY 1, 2",
}


def catalog(schema: str) -> dict[str, list[tuple]]:
    result = {}
    with connection.cursor() as cursor:
        for name, sql in CATALOG_QUERIES.items():
            cursor.execute(sql.replace("{schema}", f'"{schema}"'), {"schema": schema})
            result[name] = cursor.fetchall()
    return result


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def test_clone_yields_the_same_schema_as_migrate(world):
    """TEN-3: a cloned schema has exactly the tables, columns, indexes, constraints, sequences
    and migration records of one built by running every migration."""
    enterprise_create(name="By clone", slug="by-clone", owner=world.oscar)
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        enterprise_create(name="By migrate", slug="by-migrate", owner=world.oscar)
    cloned, migrated = catalog("by_clone"), catalog("by_migrate")
    assert cloned["columns"], "the cloned schema has no tables"
    assert {row[0] for row in cloned["columns"]} >= {"enterprise_data_membership", "django_migrations"}
    for part in CATALOG_QUERIES:
        assert cloned[part] == migrated[part], part
    assert ("enterprise_data_ledgerentry", "ledger_append_only") in {row[:2] for row in cloned["triggers"]}
    # foreign keys to accounts point at the public schema, not at a copy
    assert ("enterprise_data_membership", True, "accounts_user") in {
        (table, public, target) for table, _name, public, target in cloned["foreign_key_targets"]
    }


def test_create_records_the_creator_and_makes_them_owner(world):
    """TEN-2: the creator's details are recorded and the creator is the owner."""
    enterprise = enterprise_create(name="Hooli", slug="hooli", owner=world.oscar)
    enterprise.refresh_from_db()
    assert enterprise.created_by == world.oscar
    assert enterprise.creator_mobile == "+8613900000041"
    assert enterprise.creator_name == "Oscar Outsider"
    assert enterprise.state == Enterprise.State.ACTIVE
    assert enterprise.get_primary_domain().domain == "hooli.localhost"
    with schema_context("hooli"):
        owner = Membership.objects.get()
    assert (owner.account_id, owner.role) == (world.oscar.pk, "owner")
    assert MembershipIndex.objects.filter(account=world.oscar, enterprise=enterprise, role="owner").exists()


@pytest.mark.parametrize(
    ("name", "slug", "domain", "field"),
    [
        ("Public", "public", None, "slug"),
        ("WWW", "www", None, "slug"),
        ("Admin", "admin", None, "slug"),
        ("Postgres", "pg-catalog", None, "slug"),
        ("Upper", "Acme2", None, "slug"),
        ("Spaces", "has space", None, "slug"),
        ("Short", "ab", None, "slug"),
        ("Dup slug", "acme", None, "slug"),
        ("Dup schema", "globex", None, "slug"),
        ("Dup domain", "acme-two", "acme.localhost", "domain"),
        ("Public domain", "fresh", "localhost", "domain"),
        ("Bad domain", "fresh", "not a host!", "domain"),
        ("", "fresh", None, "name"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(world, name, slug, domain, field):
    before = (Enterprise.objects.count(), Domain.objects.count(), schema_names())
    with pytest.raises(ValidationError) as excinfo:
        enterprise_create(name=name, slug=slug, owner=world.oscar, domain=domain)
    assert field in excinfo.value.message_dict
    assert (Enterprise.objects.count(), Domain.objects.count(), schema_names()) == before


def test_failure_midway_leaves_no_half_made_schema(world, monkeypatch):
    """All or nothing: an error after the schema was cloned rolls the schema back too."""
    import core.services

    def explode(**kwargs):
        raise RuntimeError("membership could not be written")

    monkeypatch.setattr(core.services, "membership_create", explode)
    with pytest.raises(RuntimeError):
        enterprise_create(name="Half", slug="half-made", owner=world.oscar)
    assert not schema_exists("half_made")
    assert not Enterprise.objects.filter(slug="half-made").exists()
    assert not Domain.objects.filter(domain="half-made.localhost").exists()


def test_create_enterprise_command(world, capsys):
    call_command("create_enterprise", name="Umbrella", slug="umbrella", owner_mobile="13900000041")
    assert "umbrella.localhost" in capsys.readouterr().out
    assert schema_exists("umbrella")
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_enterprise", name="W", slug="www", owner_mobile="13900000041")
    with pytest.raises(CommandError, match="No account"):
        call_command("create_enterprise", name="N", slug="nobody", owner_mobile="13700000000")
    assert not schema_exists("nobody")


def test_signup_page_creates_an_enterprise_owned_by_the_signed_in_account(world, client_for):
    client = client_for("public", world.oscar)
    response = client.post(
        "/enterprises/new/",
        {"name": "Stark Industries", "slug": "stark", "creator_name": "Oscar O.", "creator_email": "o@stark.test"},
    )
    # TEN-2: straight on to the new host, signed in there by a hand-off (tests/tenants/test_handoff.py):
    # a page that follows the link (a redirect of a form's POST to another host breaks the CSP)
    assert response.status_code == 200
    assert response.context["url"].startswith("http://stark.localhost/login/handoff/")
    assert "data-autofollow" in response.content.decode()
    enterprise = Enterprise.objects.get(slug="stark")
    assert (enterprise.creator_name, enterprise.creator_email) == ("Oscar O.", "o@stark.test")
    with schema_context("stark"):
        assert Membership.objects.get(account=world.oscar).role == "owner"


def test_signup_page_shows_field_errors_and_creates_nothing(world, client_for):
    client = client_for("public", world.oscar)
    count = Enterprise.objects.count()
    response = client.post("/enterprises/new/", {"name": "X", "slug": "public", "creator_name": "O"})
    assert response.status_code == 200
    assert "slug" in response.context["form"].errors
    response = client.post("/enterprises/new/", {"name": "", "slug": "", "creator_name": ""})
    assert set(response.context["form"].errors) >= {"name", "slug", "creator_name"}
    assert Enterprise.objects.count() == count


def test_signup_page_requires_sign_in(client_for):
    response = client_for("public").get("/enterprises/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_template_schema_is_current_and_sync_is_idempotent(world):
    from tenants.services import template_schema_pending_migrations, template_schema_sync

    assert template_schema_pending_migrations() == []
    assert template_schema_sync() is False
