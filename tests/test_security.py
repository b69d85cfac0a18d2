"""Production settings, HTTP hardening and secrets (SEC-2, SEC-6; docs/security.md)."""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from config.middleware import NoStoreMiddleware

ROOT = Path(__file__).resolve().parent.parent


def production_environment(**overrides: str) -> dict[str, str]:
    """A realistic production environment, made up for each run (what .ci/run does too)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "DATABASE_URL": f"postgres://portal:{secrets.token_hex(16)}@postgres.internal:5432/portal",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "ALLOWED_HOSTS": ".portal.example.com,portal.example.com",
        "PORTAL_PUBLIC_DOMAINS": "portal.example.com",
        "PORTAL_DOMAIN_SUFFIX": "portal.example.com",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


# --- production settings ------------------------------------------------------------------------


def test_the_deploy_check_passes_with_the_production_settings():
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_the_deploy_check_is_not_toothless():
    """The same check fails on a weak key or with HSTS switched off: it does look."""
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_environment(SECRET_KEY="too-short", SECURE_HSTS_SECONDS="0"),
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr and "security.W004" in result.stderr


def test_the_production_settings_are_hardened():
    script = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_PROXY_SSL_HEADER, s.PORTAL_TRUSTED_PROXY_COUNT)"
    )
    result = run_python(["-c", f"import django; django.setup(); {script}"], production_environment())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "False True True True True ('HTTP_X_FORWARDED_PROTO', 'https') 1"


def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts(db):
    production = {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
    }
    with override_settings(**production):
        plain = Client(HTTP_HOST="acme.localhost").get("/policy/")
        assert plain.status_code == 301
        assert plain["Location"] == "https://acme.localhost/policy/"
        secure = Client(HTTP_HOST="acme.localhost", HTTP_X_FORWARDED_PROTO="https").get("/policy/")
        assert secure.status_code == 200
        assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert secure["X-Content-Type-Options"] == "nosniff" and secure["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PORTAL_MASTER_KEY", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without_its_secrets(missing):
    result = run_python(["manage.py", "check"], production_environment(**{missing: ""}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"refuse to start without {missing} in the environment" in result.stderr


def test_production_names_every_missing_secret_at_once():
    result = run_python(["manage.py", "check"], production_environment(SECRET_KEY="", PORTAL_MASTER_KEY=""))
    assert "without SECRET_KEY, PORTAL_MASTER_KEY in the environment" in result.stderr
    assert "token_urlsafe(50)" in result.stderr  # says how to make one


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"EMAIL_HOST_USER": "portal"}, "EMAIL_HOST_PASSWORD"),
        ({"SMS_SENDER": "somewhere.RealSmsSender"}, "SMS_API_KEY and SMS_API_SECRET"),
        ({"SMS_SENDER": "somewhere.RealSmsSender", "SMS_API_KEY": "k"}, "SMS_API_KEY and SMS_API_SECRET"),
    ],
)
def test_production_refuses_messaging_without_its_credentials(overrides, message):
    result = run_python(["manage.py", "check"], production_environment(**overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


# --- no-store on pages and APIs with personal data ----------------------------------------------


def test_personal_pages_and_apis_are_not_stored(world, client_for):
    bob = client_for("acme", world.bob)
    for path in ("/me/", "/api/v1/me/"):
        response = bob.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path
    admin = client_for("acme", world.alice)
    assert "no-store" in admin.get("/console/")["Cache-Control"]
    account = client_for("public", world.oscar)
    assert "no-store" in account.get("/account/")["Cache-Control"]
    # redirects of anonymous visitors too
    anonymous = client_for("acme")
    response = anonymous.get("/me/")
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    assert "no-store" in client_for("public").get("/admin/")["Cache-Control"]


def test_public_pages_and_static_files_stay_cacheable(world, client_for):
    response = client_for("acme", world.bob).get("/policy/")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    middleware = NoStoreMiddleware(lambda request: HttpResponse("x"))
    assert not middleware(RequestFactory().get("/static/js/portal.js")).has_header("Cache-Control")
    assert "no-store" in middleware(RequestFactory().get("/api/v1/notices/"))["Cache-Control"]
    already = NoStoreMiddleware(lambda request: HttpResponse("x", headers={"Cache-Control": "no-store"}))
    assert already(RequestFactory().get("/console/"))["Cache-Control"] == "no-store"


# --- Content-Security-Policy ---------------------------------------------------------------------


def csp_nonce(response) -> str:
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    match = re.search(r"script-src 'self' 'nonce-([^']+)'", policy)
    assert match, policy
    assert f"style-src 'self' 'nonce-{match.group(1)}'" in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    return match.group(1)


def inline_elements_lack_the_nonce(html: str, nonce: str) -> list[str]:
    tags = re.findall(r"<(?:script|style)\b[^>]*>", html)
    return [tag for tag in tags if "src=" not in tag and f'nonce="{nonce}"' not in tag]


def test_pages_carry_a_policy_and_their_inline_code_its_nonce(world, client_for):
    bob = client_for("acme", world.bob)
    for path in ("/login/", "/me/", "/me/attendance/"):
        response = (client_for("acme") if path == "/login/" else bob).get(path)
        assert response.status_code == 200, path
        nonce = csp_nonce(response)
        html = response.content.decode()
        assert not inline_elements_lack_the_nonce(html, nonce), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
    assert "<script nonce=" in bob.get("/me/attendance/").content.decode()  # the clock-in script


# Templates of files the portal writes for people to download, never served as pages (so no
# CSP applies): their <style> is the file's own, inline by design (docs/export.md). They may
# hold no script and no event handler.
DOWNLOADED_DOCUMENTS = {"templates/requests/export_document.html"}


def test_no_template_has_inline_code_the_policy_would_block():
    """Every inline <script>/<style> in our templates carries the nonce, and no element has an
    inline event handler (onclick="…"): the browser would silently ignore them."""
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        html = path.read_text()
        name = path.relative_to(ROOT)
        downloaded = str(name) in DOWNLOADED_DOCUMENTS
        problems += [
            f"{name}: {tag}"
            for tag in re.findall(r"<(?:script|style)\b[^>]*>", html)
            if (downloaded and tag.startswith("<script"))
            or (not downloaded and "src=" not in tag and 'nonce="{{ request.csp_nonce }}"' not in tag)
        ]
        problems += [f"{name}: {attr}" for attr in re.findall(r"<[a-z][^>]*\s(on[a-z]+=)", html)]
    assert not problems


def test_each_response_gets_a_new_nonce(client_for):
    client = client_for("acme")
    assert csp_nonce(client.get("/login/")) != csp_nonce(client.get("/login/"))


def test_the_api_docs_work_under_the_policy(world, client_for):
    response = client_for("acme", world.alice).get("/api/docs/")
    assert response.status_code == 200
    assert not inline_elements_lack_the_nonce(response.content.decode(), csp_nonce(response))


# --- secrets (SEC-6) ----------------------------------------------------------------------------


def load_launcher():
    spec = importlib.util.spec_from_file_location("portal_launcher", ROOT / "scripts" / "launcher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_development_secrets_are_generated_once_into_the_data_dir(tmp_path):
    launcher = load_launcher()
    first = launcher.development_secrets({}, tmp_path)
    assert len(first["SECRET_KEY"]) >= 50
    assert len(base64.urlsafe_b64decode(first["PORTAL_MASTER_KEY"])) == 32
    for name in ("secret_key", "master_key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert launcher.development_secrets({}, tmp_path) == first  # reused, not regenerated
    # values from the environment win and nothing new is written
    given = launcher.development_secrets({"SECRET_KEY": "from-env", "PORTAL_MASTER_KEY": "also-env"}, tmp_path / "x")
    assert given == {"SECRET_KEY": "from-env", "PORTAL_MASTER_KEY": "also-env"}
    assert not (tmp_path / "x").exists()


SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "hard-coded SECRET_KEY": re.compile(r"""SECRET_KEY\s*[=:]\s*["'][^"'\s]{16,}["']"""),
    "hard-coded password in a URL": re.compile(
        r"(?:postgres|redis|smtp)s?://[^:/\s]+:(?!\$|\{|pw@|password@)[^@\s]{8,}@"
    ),
}


def test_no_secret_is_committed():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    found = []
    for name in filter(None, files.split("\0")):
        path = ROOT / name
        if path.suffix in {".mo", ".png", ".jpg", ".ico", ".woff2"} or not path.is_file() or "vendor" in path.parts:
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {what}" for what, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
    assert not found
    ignored = subprocess.run(
        ["git", "check-ignore", ".data/secret_key", ".data/master_key", ".env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == [".data/secret_key", ".data/master_key", ".env"]
    # nor are the development secrets copied into the Docker image
    assert {".data", ".env"} <= set((ROOT / ".dockerignore").read_text().split())
