"""SEC-3: crafted requests after the schemathesis run (scripts/fuzz.py runs this with the fuzzing
virtualenv's Python, outside the project: `requests` here is the PyPI library).

    fuzz_crafted.py <base url> <path regex or ""> <body limit in bytes> -H "Name: value" ...

For every operation of the served schema (`/api/schema/`) whose path matches the regex, with
its path parameters set to 1:
- each query parameter it documents, in turn, set to a value with NUL, one with another C0
  control (ESC), one with DEL/C1, and a 3,000-character string (a 10,000-character one is
  answered 414 by gunicorn, whose request line is at most 4,094 bytes: checked once per
  operation);
- for a method with a JSON body: each top-level property of its body schema set to the same
  values, a key with a control character, and a body one byte larger than the limit.
Checked: never a 5xx; every error (4xx) is a JSON object; a control character is refused
with 400 (before authentication: whoever asks); a body larger than the limit is 413.
Exit status 1 on any failure, each printed with its request."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import requests

CONTROL_VALUES = {"nul": "a\x00b", "esc": "a\x1b[2Jb", "c1": "a\x85b\x7f"}
LONG = "x" * 10_000
# gunicorn refuses a request line longer than 4,094 bytes (its limit_request_line) with its own
# HTML 414 before the portal sees it: a query value this long still reaches the portal
LONG_QUERY = "x" * 3_000
METHODS = ("get", "post", "put", "patch", "delete")


def parse_args(argv: list[str]) -> tuple[str, str, int, dict[str, str]]:
    base, regex, limit = argv[0], argv[1], int(argv[2])
    headers: dict[str, str] = {}
    rest = argv[3:]
    for flag, header in zip(rest[::2], rest[1::2], strict=True):
        assert flag == "-H", flag
        name, _sep, value = header.partition(": ")
        headers[name] = value
    return base, regex, limit, headers


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def body_properties(schema: dict[str, Any], operation: dict[str, Any]) -> list[str] | None:
    """The top-level properties of the operation's JSON body, or None when it takes none."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    body = resolve(schema, content["application/json"].get("schema", {}))
    return list(body.get("properties", {}))


def main(argv: list[str]) -> int:
    base, regex, limit, headers = parse_args(argv)
    session = requests.Session()
    session.headers.update(headers)
    schema = session.get(f"{base}/api/schema/?format=json", timeout=60).json()
    failures: list[str] = []
    sent = 0

    def check(method: str, url: str, response: requests.Response, what: str, expect: int | None = None) -> None:
        nonlocal sent
        sent += 1
        problem = ""
        if response.status_code >= 500:
            problem = f"server error {response.status_code}"
        elif expect == 414 and response.status_code == 414:  # gunicorn's own page (see LONG_QUERY)
            pass
        elif expect is not None and response.status_code != expect:
            problem = f"{response.status_code}, expected {expect}"
        elif response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            is_json = response.headers.get("Content-Type", "").startswith("application/json")
            if not is_json or not isinstance(body, dict):
                problem = f"{response.status_code} is not a JSON object ({response.headers.get('Content-Type')})"
        if problem:
            failures.append(f"{method.upper()} {url} [{what}]: {problem}: {response.text[:200]!r}")

    for path, operations in schema["paths"].items():
        if regex and not re.search(regex, path):
            continue
        url = base + re.sub(r"\{[^}]+\}", "1", path)
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for name in query:
                for what, value in {**CONTROL_VALUES, "long": LONG_QUERY}.items():
                    response = session.request(method, url, params={name: value}, timeout=60)
                    check(method, url, response, f"query {name}={what}", 400 if what != "long" else None)
            if query:
                response = session.request(method, url, params={query[0]: LONG}, timeout=60)
                check(method, url, response, f"query {query[0]}=10,000 characters", 414)
            properties = body_properties(schema, operation)
            if properties is None:
                continue
            for name in properties:
                for what, value in {**CONTROL_VALUES, "long": LONG}.items():
                    response = session.request(method, url, json={name: value}, timeout=60)
                    check(method, url, response, f"body {name}={what}", 400 if what != "long" else None)
            response = session.request(method, url, json={"a\x00b": 1}, timeout=60)
            check(method, url, response, "a key with NUL", 400)
            padding = "x" * (limit + 1)
            response = session.request(
                method, url, data=json.dumps({"x": padding}), headers={"Content-Type": "application/json"}, timeout=120
            )
            check(method, url, response, f"a body over {limit} bytes", 413)
    print(f"crafted requests: {sent} sent, {len(failures)} failed")
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
