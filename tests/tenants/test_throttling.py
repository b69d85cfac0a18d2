"""The API's throttles (SEC-7, tenants/throttling.py): per account and enterprise, per device key,
per client address and, for new data-subject requests, per account and enterprise on writes.
Beyond a rate: a JSON 429 in the documented shape with `Retry-After`.

The suite's settings raise every rate (config/settings/test.py); each test here sets the real
default rate or a low one, with counters of its own (`fresh_throttle_counters`)."""

from __future__ import annotations

import jsonschema
import pytest
from django.conf import settings
from django.test import Client, override_settings

from config.settings import base as base_settings
from requests.models import Request
from tenants.context import enterprise_schema
from tests.conftest import within_one_window
from tests.requests.test_account_deletion import _json_schema
from tests.test_api_errors import _device_key

pytestmark = pytest.mark.usefixtures("fresh_throttle_counters")

DEFAULT_RATES = base_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
GENEROUS = {scope: "100000/min" for scope in DEFAULT_RATES}
ME = "/api/v1/me/"
FEED = "/api/device/v1/templates/"


def rates(**scopes: str) -> override_settings:
    """REST_FRAMEWORK with these rates, the others generous."""
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**GENEROUS, **scopes}}
    )


def from_address(client: Client, address: str) -> Client:
    client.defaults["REMOTE_ADDR"] = address
    return client


def documented_429(host: str, path: str, method: str, response) -> None:
    """The answer is the 429 the served schema documents for the operation, with Retry-After."""
    assert response.status_code == 429, (response.status_code, response.content)
    doc = Client(HTTP_HOST=host, REMOTE_ADDR="192.0.2.200").get("/api/schema/?format=json").json()
    documented = doc["paths"][path][method]["responses"]["429"]
    assert "Retry-After" in documented["headers"]
    schema = documented["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(_json_schema({**schema, "components": doc["components"]})).validate(response.json())
    body = response.json()
    assert body["code"] == "throttled" and int(response["Retry-After"]) == body["retry_after"]


def test_the_rates_are_the_documented_ones():
    """docs/security.md, "Throttles and caps"."""
    framework = base_settings.REST_FRAMEWORK
    assert framework["DEFAULT_THROTTLE_CLASSES"] == [
        "tenants.throttling.AddressRateThrottle",
        "tenants.throttling.AccountRateThrottle",
        "tenants.throttling.DeviceRateThrottle",
        "tenants.throttling.ScopedWriteRateThrottle",
    ]
    assert DEFAULT_RATES == {"address": "600/min", "account": "120/min", "device": "300/min", "requests": "10/hour"}
    assert base_settings.REQUEST_MAX_OPEN_PER_MEMBER == 10
    assert base_settings.SMS_CODE_MAX_PER_ADDRESS_PER_HOUR == 5
    assert base_settings.SMS_CODE_MAX_PER_HOUR_PLATFORM == 1000


def test_every_operation_documents_the_429_and_its_retry_after(client_for):
    doc = client_for("acme").get("/api/schema/?format=json").json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("429")
            assert answer is not None, (method, path)
            assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}, (method, path)
    assert doc["components"]["schemas"]["Throttled"]["required"] == ["code", "detail", "retry_after"]


def test_an_account_beyond_the_real_rate_gets_a_json_429_with_retry_after(world, client_for):
    """The reproduction: 200 GETs in a row were all answered. With the default rate (120 a
    minute per account and enterprise) the 121st is refused until the minute ends; the same
    account in its other enterprise, and another account from the same address, are not."""
    rate = DEFAULT_RATES["account"]
    assert rate == "120/min"
    dana = from_address(client_for("acme", world.dana), "198.51.100.61")
    with rates(account=rate, address=DEFAULT_RATES["address"]):
        within_one_window(60, needed=30)
        statuses = [dana.get(ME).status_code for _ in range(121)]
        assert statuses == [200] * 120 + [429]
        refused = dana.get(ME)
        documented_429("acme.localhost", ME, "get", refused)
        assert 1 <= refused.json()["retry_after"] <= 60
        assert "Too many requests. Try again in" in refused.json()["detail"]
        assert from_address(client_for("globex", world.dana), "198.51.100.61").get(ME).status_code == 200
        assert from_address(client_for("acme", world.bob), "198.51.100.61").get(ME).status_code == 200


def test_the_429_speaks_the_members_language(world, client_for):
    bob = from_address(client_for("acme", world.bob), "198.51.100.62")
    with rates(account="1/hour"):
        within_one_window(3600, needed=5)
        assert bob.get(ME).status_code == 200
        refused = bob.get(ME, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 429
    assert "请求过于频繁" in refused.json()["detail"]


def test_an_address_is_throttled_over_every_account(world, client_for):
    with rates(address="4/hour"):
        within_one_window(3600, needed=5)
        for user in (world.bob, world.erin, world.amy, world.dana):
            assert from_address(client_for("acme", user), "203.0.113.70").get(ME).status_code == 200
        # a fifth account from that address, even in another enterprise: refused
        refused = from_address(client_for("globex", world.gus), "203.0.113.70").get(ME)
        documented_429("globex.localhost", ME, "get", refused)
        # the same account from another address: answered
        assert from_address(client_for("globex", world.gus), "203.0.113.71").get(ME).status_code == 200


def test_the_address_behind_the_trusted_proxy_is_the_one_it_saw(world, client_for):
    """Behind PORTAL_TRUSTED_PROXY_COUNT proxies the address is what the outermost one appended to
    X-Forwarded-For (tenants.throttling.client_ip): clients behind one proxy are counted
    apart, and entries the client wrote itself change nothing."""
    with rates(address="2/hour"), override_settings(PORTAL_TRUSTED_PROXY_COUNT=1):
        within_one_window(3600, needed=5)
        proxy = "10.0.0.2"
        bob = from_address(client_for("acme", world.bob), proxy)
        for spoofed in ("1.1.1.1", "2.2.2.2"):
            assert bob.get(ME, HTTP_X_FORWARDED_FOR=f"{spoofed}, 203.0.113.80").status_code == 200
        assert bob.get(ME, HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.80").status_code == 429
        assert bob.get(ME, HTTP_X_FORWARDED_FOR="203.0.113.81").status_code == 200  # another client


def test_ipv6_addresses_are_counted_by_their_64(world, client_for):
    with rates(address="2/hour"):
        within_one_window(3600, needed=5)
        bob = client_for("acme", world.bob)
        assert from_address(bob, "2001:db8:1:2::1").get(ME).status_code == 200
        assert from_address(bob, "2001:db8:1:2:ffff::9").get(ME).status_code == 200
        assert from_address(bob, "2001:db8:1:2::abcd").get(ME).status_code == 429  # the same /64
        assert from_address(bob, "2001:db8:1:3::1").get(ME).status_code == 200  # another /64


def test_a_device_key_is_throttled_per_device(world):
    """`Authorization: Device <key>`: each device has its own count, in its enterprise."""
    first, second = _device_key(world), _device_key(world, kind="attendance_machine")
    device = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR="198.51.100.90")
    with rates(device="3/hour"):
        within_one_window(3600, needed=5)
        for _ in range(3):
            assert device.get(FEED, HTTP_AUTHORIZATION=f"Device {first}").status_code == 200
        refused = device.get(FEED, HTTP_AUTHORIZATION=f"Device {first}")
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == "throttled" and int(refused["Retry-After"]) == body["retry_after"] >= 1
        assert device.get(FEED, HTTP_AUTHORIZATION=f"Device {second}").status_code == 200
    doc = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR="192.0.2.200").get("/api/schema/?format=json").json()
    schema = doc["paths"][FEED]["get"]["responses"]["429"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(_json_schema({**schema, "components": doc["components"]})).validate(body)


def _open_requests(world, user) -> int:
    with enterprise_schema(world.acme):
        return Request.objects.filter(account=user).count()


def test_new_requests_are_throttled_at_the_real_rate(world, client_for):
    """The reproduction: 20 request creations in a row were all accepted. At the default rate
    (10 an hour per account and enterprise) the 11th is refused with 429, nothing created;
    reading the list is not a write and is not counted."""
    rate = DEFAULT_RATES["requests"]
    assert rate == "10/hour"
    bob = from_address(client_for("acme", world.bob), "198.51.100.95")
    before = _open_requests(world, world.bob)
    data = {"kind": "complaint", "category": "attendance", "description": "Too many clock-ins asked."}
    with rates(requests=rate), override_settings(REQUEST_MAX_OPEN_PER_MEMBER=100):
        within_one_window(3600, needed=30)
        statuses = [
            bob.post("/api/v1/me/requests/", data, content_type="application/json").status_code for _ in range(20)
        ]
        assert statuses == [201] * 10 + [429] * 10
        assert bob.get("/api/v1/me/requests/").status_code == 200
        refused = bob.post("/api/v1/me/requests/", data, content_type="application/json")
        documented_429("acme.localhost", "/api/v1/me/requests/", "post", refused)
        # the other ways to make a request share the count
        correction = bob.post(
            "/api/v1/me/profile/corrections/", {"field": "position", "value": "Lead"}, content_type="application/json"
        )
        assert correction.status_code == 429
    assert _open_requests(world, world.bob) == before + 10


def test_a_requests_throttles_are_counted_in_one_redis_round_trip(world, client_for, monkeypatch):
    """PERF-7 (issue 18 §8): the address and account throttles of a GET are one pipeline (a
    `SET … NX EX` and an `INCRBY` per counter), not an EXISTS and an INCR each; every throttle
    still counts the hit, and over both rates the longer wait is the Retry-After."""
    from django.core.cache.backends.redis import RedisCacheClient
    from redis.client import Pipeline

    pipelines: list[list[str]] = []
    real_execute = Pipeline.execute

    def observed(self, *args, **kwargs):
        pipelines.append([str(command[0][0]) for command in self.command_stack])
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", observed)
    incr = RedisCacheClient.incr
    monkeypatch.setattr(RedisCacheClient, "incr", lambda *a, **k: pytest.fail("a throttle used cache.incr"))
    bob = from_address(client_for("acme", world.bob), "198.51.100.90")
    with rates(account="2/min", address="3/hour"):
        within_one_window(3600, needed=90)  # more than a minute left in the address's hour
        within_one_window(60, needed=5)
        assert [bob.get(ME).status_code for _ in range(2)] == [200, 200]
        assert pipelines == [["SET", "INCRBY", "SET", "INCRBY"]] * 2
        refused = bob.get(ME)  # the account's third in the minute, the address's third in the hour
        assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
        # the address counted that refused hit too: its fourth is over 3/hour, a wait of the hour
        refused = from_address(client_for("acme", world.erin), "198.51.100.90").get(ME)
        assert refused.status_code == 429 and int(refused["Retry-After"]) > 60
    monkeypatch.setattr(RedisCacheClient, "incr", incr)
