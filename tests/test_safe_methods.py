"""GET never changes anything (issue 14 §6; docs/security.md "Safe methods").

Every route of the enterprise hosts and of the public host (but its operators' /admin/),
enumerated from the URL resolvers (a new route cannot escape), is opened with GET by acme's
owner (second factor passed) on acme's host and on the public one, its path parameters filled
with ids that exist in acme (1 and 3: the owner's and a member's membership, departments,
ledger entries …) and one that exists nowhere. Before and after each GET every table of acme's
schema and of the public schema is fingerprinted (its row count and a digest of all its rows):
nothing may change but the tables in READ_ACCOUNTING, where a GET would legitimately record
that someone *looked* (none today).

The ledger is not among them: a GET records no instruction (the CSV export, which records one,
is a POST with CSRF: tests/ledger/test_ledger.py)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from config import urls_public, urls_tenants
from directory.contacts import contacts_salt_get

IDS = (1, 3, 999_999)
PARAMETERS: dict[str, tuple[object, ...]] = {
    "pk": IDS,
    "version": IDS,
    "record_id": IDS,
    "member_id": IDS,
    "notification_id": IDS,
    "field": ("id_number", "mobile"),
    "token": ("x" * 43,),
    # the public host's
    "enterprise_id": IDS,
    "invitation_id": IDS,
    "answer": ("accept", "decline"),
    "slug": ("acme",),
}
# table -> why a GET may write it
READ_ACCOUNTING: dict[str, str] = {
    # issue 17 §2: a signed-in request records when its session was last seen (the session list),
    # at most every few minutes (accounts.security.middleware)
    "public.accounts_accountsession": "the session's last seen",
}


def _routes(patterns, prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append((pattern.name or prefix + str(pattern.pattern), prefix + str(pattern.pattern)))
    return found


def _paths(route: str) -> list[str]:
    params = re.findall(r"<(?:\w+:)?(\w+)>", route)
    missing = [p for p in params if p not in PARAMETERS]
    assert not missing, f"route {route!r}: add test values for {missing} to PARAMETERS"
    paths = ["/" + route]
    for param in params:
        paths = [
            re.sub(r"<(?:\w+:)?" + param + ">", str(value), path, count=1)
            for path in paths
            for value in PARAMETERS[param]
        ]
    return paths


ROUTES = _routes(get_resolver(urls_tenants).url_patterns)
CASES = sorted({(name, path) for name, route in ROUTES for path in _paths(route)})
# the public host's too (its operators' /admin/ is Django's admin, for staff only: left out)
PUBLIC_ROUTES = [
    (name, route) for name, route in _routes(get_resolver(urls_public).url_patterns) if not route.startswith("admin/")
]
PUBLIC_CASES = sorted({(name, path) for name, route in PUBLIC_ROUTES for path in _paths(route)})


def _fingerprint(schemas: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """{schema.table: (rows, md5 of the rows)} for every table of these schemas."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            [list(schemas)],
        )
        tables = [f'"{schema}"."{table}"' for schema, table in cursor.fetchall()]
        # (S608: the names come from information_schema, not from input)
        selects = [
            f"SELECT '{name}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "  # noqa: S608
            f"FROM {name} t"
            for name in tables
        ]
        cursor.execute(" UNION ALL ".join(selects))
        return {name.replace('"', ""): (count, digest) for name, count, digest in cursor.fetchall()}


def test_the_walk_covers_every_route():
    assert len(ROUTES) > 50 and {name for name, _p in CASES} == {name for name, _r in ROUTES}
    assert len(PUBLIC_ROUTES) > 10 and {name for name, _p in PUBLIC_CASES} == {name for name, _r in PUBLIC_ROUTES}


@pytest.mark.parametrize(
    ("host", "name", "path"),
    [("acme", name, path) for name, path in CASES] + [("public", name, path) for name, path in PUBLIC_CASES],
)
def test_a_get_changes_nothing(world, client_for, host, name, path):
    # Made on first use, once: `GET contacts/salt/` creates the enterprise's contact-hash salt if
    # there is none yet (a lazily made server secret, not an instruction); made before the walk,
    # so the walk checks that no GET ever changes it.
    contacts_salt_get(enterprise=world.acme)
    client = client_for(host, world.alice)
    client.raise_request_exception = False
    schemas = (world.acme.schema_name, "public")
    before = _fingerprint(schemas)
    response = client.get(path)
    connection.set_schema_to_public()
    if response.streaming:
        b"".join(response.streaming_content)
    after = _fingerprint(schemas)
    changed = sorted(
        table
        for table in set(before) | set(after)
        if before.get(table) != after.get(table) and table not in READ_ACCOUNTING
    )
    assert not changed, (path, response.status_code, changed)
    assert response.status_code < 500, (path, response.status_code)
