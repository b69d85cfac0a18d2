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

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from config import urls_tenants
from tenants.middleware import OPEN_PATH_PREFIXES

# Values tried for each path parameter. Ints: 1 and 2 exist in both enterprises for most tables
# (colliding ids); 7 is the membership id that exists only in globex (gwen); 999999 exists nowhere.
INT_VALUES = (1, 2, 7, 999_999)
PARAMETERS: dict[str, tuple[object, ...]] = {
    "pk": INT_VALUES, "version": INT_VALUES, "record_id": INT_VALUES, "member_id": INT_VALUES,
    "notification_id": INT_VALUES, "field": ("id_number", "mobile"), "token": ("x" * 43,),
}
# Text that only the other enterprise's pages contain.
GLOBEX_MARKERS = (b"Globex Test", b"Gwen Member", b"Gus Member", b"Gail Member", b"Gary Member", b"Greg Admin",
                  b"Gina Owner")
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
