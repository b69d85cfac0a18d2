"""Pieces every benchmark module uses: output, argument types, the worker-like child process."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# Benchmark ids that printed at least one `PERF-n key=value` line in this process (bench/run.py
# counts a benchmark that printed none as failed).
PRINTED: set[str] = set()


def say(message: str = "") -> None:
    """Print a line: `PERF-n key=value` for a figure, anything else (indented) for explanations."""
    if message.startswith("PERF-"):
        PRINTED.add(message.split(" ", 1)[0])
    print(message, flush=True)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def worker_report(benchmark: str, code: str, *args: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter (like a Celery worker: its own `django.setup()`) with
    `args` after it and the scratch database's name last; its last stdout line is its JSON report."""
    from django.conf import settings

    completed = subprocess.run(
        [sys.executable, "-c", code, *args, settings.DATABASES["default"]["NAME"]],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{benchmark} worker failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- signing in like a real administrator -----------------------------------------------------


def _post(client: Any, path: str, data: dict[str, str]) -> Any:
    """A form POST with the CSRF token of the client's cookie, as a browser sends it."""
    token = client.cookies["csrftoken"].value
    return client.post(path, {**data, "csrfmiddlewaretoken": token})


def admin_client(host: str, mobile: str, password: str) -> Any:
    """A Django test client on `host` signed in as the administrator `mobile` the way a person
    is (SEC-2): the sign-in form with the password, then — sent there by the console — the
    two-factor page: the authenticator's key read off the page, a TOTP code made from it and
    confirmed (a confirmed TOTP device, a session that passed the second factor). CSRF checks
    are on, as in a browser. Raises RuntimeError at the first step that does not answer as
    expected, and checks that the console opens at the end."""
    import base64
    import html
    import re

    from django.test import Client
    from django_otp.oath import totp

    client = Client(HTTP_HOST=host, enforce_csrf_checks=True)

    def expect(response: Any, status: int, what: str) -> Any:
        if response.status_code != status:
            raise RuntimeError(
                f"signing in {mobile} on {host}: {what} answered {response.status_code}, expected {status}"
            )
        return response

    expect(client.get("/login/"), 200, "GET /login/")
    expect(_post(client, "/login/", {"username": mobile, "password": password}), 302, "POST /login/")
    gate = expect(client.get("/console/"), 302, "GET /console/ before the second factor")
    if not gate["Location"].startswith("/security/two-factor/"):
        raise RuntimeError(
            f"signing in {mobile} on {host}: the console sent to {gate['Location']!r}, not to the two-factor page"
        )
    page = expect(client.get(gate["Location"]), 200, "GET the two-factor page")
    found = re.search(r'id="totp-secret">([^<]+)<', page.content.decode())
    if found is None:
        raise RuntimeError(f"signing in {mobile} on {host}: no authenticator key on the two-factor page")
    secret = html.unescape(found.group(1)).strip()
    code = f"{totp(base64.b32decode(secret)):06d}"
    expect(
        _post(client, "/security/two-factor/", {"action": "confirm", "token": code, "next": "/console/"}),
        200,
        "confirming the authenticator",
    )
    expect(client.get("/console/"), 200, "GET /console/ after the second factor")
    return client


def median_ms(client: Any, url: str, requests: int) -> float:
    """Median latency in ms of `requests` GETs of `url` after 3 warm-up requests (each must be 200)."""
    for _ in range(3):  # warm-up
        assert client.get(url).status_code == 200, url
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return statistics.median(samples)
