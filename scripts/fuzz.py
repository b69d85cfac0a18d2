#!/usr/bin/env python3
"""SEC-3: fuzz the enterprise API against its own OpenAPI schema with schemathesis.

`make fuzz` (or `.ci/run`) runs this through the launcher, which provides DATABASE_URL,
REDIS_URL, SECRET_KEY and PORTAL_MASTER_KEY (embedded servers when none are set). Then:

1. The fuzzing virtualenv `.data/fuzz-venv` is created from `scripts/fuzz-requirements.txt`
   if it is missing or the file changed. schemathesis needs the PyPI `requests` library, which
   the project's own `requests` app shadows: it runs only from that virtualenv, as a separate
   process, in a working directory outside the project, so the project root is never on its
   `sys.path` (checked before the run).
2. A scratch database `<database>_fuzz_<pid>` is created on the same PostgreSQL server,
   migrated and seeded with the demo data (`seed_demo`); uploads go to a scratch media folder;
   the Celery queue and the cache key prefix are this run's own (no worker runs: queued tasks are
   deleted at the end).
3. The portal is served by gunicorn on a free port of 127.0.0.1 (DEBUG off).
4. One schemathesis process per persona, in parallel (they act in different enterprises, so
   they do not disturb each other's data):
   - `admin`: Wang Fang, owner of acme, on acme.localhost, second factor passed;
   - `member`: Xu Yan, a plain member of globex, on globex.localhost, password only;
   - `device`: globex's lobby attendance machine, `Authorization: Device <key>`, device API only.
   Sessions come from `manage.py session_for` (allowed by PORTAL_ALLOW_SESSION_FOR=1).
   The API's throttles (SEC-7) run with generous rates for addresses, accounts and devices
   (API_THROTTLE_*), the real one for new requests; a 429 is a documented answer.
   Checks: no 5xx (`not_a_server_error`), every response matches the schema
   (`response_schema_conformance`) and its status code is documented (`status_code_conformance`:
   config/openapi.py documents the error responses); a fixed seed and a bounded number of examples;
   per-operation settings in scripts/fuzz-schemathesis.toml. Then scripts/fuzz_crafted.py sends
   each persona's crafted requests (control characters in every documented query parameter and
   JSON field, 10,000-character strings, a body over DATA_UPLOAD_MAX_MEMORY_SIZE): never a 5xx,
   every error JSON, controls refused with 400, the body with 413 (`--no-crafted` skips it).
5. Whatever happens (failure, Ctrl-C, SIGTERM), the schemathesis processes and the server are
   stopped, the scratch database is dropped, this run's Redis keys and media are deleted.
   Logs stay in `.data/fuzz/` (server.log, one <persona>.log each).

Exit status: 0 when every persona's run passed, 1 otherwise. See docs/security.md (SEC-3)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from launcher import group_alive, kill_group, pid_alive

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
VENV = DATA / "fuzz-venv"
REQUIREMENTS = ROOT / "scripts" / "fuzz-requirements.txt"
CONFIG = ROOT / "scripts" / "fuzz-schemathesis.toml"  # per-operation settings (see the file)
CRAFTED = ROOT / "scripts" / "fuzz_crafted.py"  # the crafted requests after schemathesis (SEC-3)
LOGS = DATA / "fuzz"
PY = sys.executable  # the app's own virtualenv (the Makefile runs the launcher with it)

SERVER_WAIT = 90.0  # seconds for gunicorn to answer
STOP_WAIT = 10.0  # seconds between SIGTERM and SIGKILL
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"
# .data/fuzz/access.log: host, method, path, status (which persona reached what)
ACCESS_LOG_FORMAT = '%({host}i)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


@dataclass(frozen=True)
class Persona:
    name: str
    host: str
    what: str
    mobile: str = ""  # a session persona (manage.py session_for)
    password_only: bool = False
    device: str = ""  # a device persona: the seeded device's name
    paths: str = ""  # --include-path-regex


PERSONAS = {
    "admin": Persona("admin", "acme.localhost", "acme's owner, second factor passed", mobile="+8613800000101"),
    "member": Persona(
        "member",
        "globex.localhost",
        "a plain member of globex, password only",
        mobile="+8613800000203",
        password_only=True,
    ),
    # not in the default run: it acts in acme beside `admin`, who may change its scope meanwhile
    "scoped": Persona(
        "scoped", "acme.localhost", "acme's health admin of Sales, second factor passed", mobile="+8613800000104"
    ),
    # globex's: the admin persona may revoke acme's devices while this one runs
    "device": Persona(
        "device",
        "globex.localhost",
        "globex's lobby attendance machine",
        device="Lobby attendance machine",
        paths="^/api/device/",
    ),
}

DEFAULT_PERSONAS = "admin,member,device"


class Stop(Exception):
    """A signal asked us to stop: unwind through the cleanup."""


def say(message: str) -> None:
    print(f"fuzz: {message}", flush=True)


def on_signal(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


# --- the fuzzing virtualenv --------------------------------------------------------------------


def fuzz_venv() -> Path:
    """`.data/fuzz-venv` with the pinned schemathesis, (re)built when the requirements change."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = VENV / ".requirements.sha256"
    python = VENV / "bin" / "python"
    if not (python.exists() and stamp.exists() and stamp.read_text().strip() == wanted):
        say(f"creating {VENV.relative_to(ROOT)} from {REQUIREMENTS.relative_to(ROOT)}")
        started = time.monotonic()
        subprocess.run([PY, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            cwd=DATA,
            capture_output=True,
            text=True,
        )
        if pip.returncode != 0:
            sys.stderr.write(pip.stdout + pip.stderr)
            raise SystemExit(f"fuzz: installing {REQUIREMENTS.name} failed (exit code {pip.returncode})")
        stamp.write_text(wanted + "\n")
        say(f"fuzzing virtualenv ready in {time.monotonic() - started:.0f}s")
    return VENV


def outside_env(run_dir: Path) -> dict[str, str]:
    """The environment of the schemathesis processes: nothing of the project on sys.path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV"))}
    env.update(
        PYTHONSAFEPATH="1",
        PYTHONNOUSERSITE="1",
        HOME=str(run_dir),
        NO_COLOR="1",
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def check_the_real_requests(run_dir: Path) -> None:
    """schemathesis must get the PyPI library, never the project's app of the same name."""
    found = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import requests, schemathesis; print(requests.__file__)"],
        cwd=run_dir,
        env=outside_env(run_dir),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    library = Path(found.strip()).resolve()
    if "site-packages" not in library.parts or VENV.resolve() not in library.parents:
        raise SystemExit(f"fuzz: schemathesis would import the wrong `requests`: {library}")


# --- the scratch database -----------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "portal"


def admin_connection(url: str):  # type: ignore[no-untyped-def]
    """A connection for CREATE/DROP DATABASE: to DATABASE_URL's database, else to `postgres`."""
    import psycopg2  # the app's virtualenv; libpq understands the launcher's socket URLs

    url = url.replace("postgres://", "postgresql://", 1)
    try:
        connection = psycopg2.connect(url)
    except psycopg2.OperationalError:
        connection = psycopg2.connect(with_database(url, "postgres"))
    connection.autocommit = True
    return connection


def drop_stale_scratch_databases(url: str) -> None:
    """Scratch databases of earlier runs whose process is gone (killed with SIGKILL)."""
    prefix = f"{database_name(url)}_fuzz_"
    with contextlib.closing(admin_connection(url)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix.replace("_", r"\_") + "%"])
        for (name,) in cursor.fetchall():
            pid = name[len(prefix) :]
            if pid.isdigit() and not pid_alive(int(pid)):
                say(f"dropping the scratch database of an earlier run: {name}")
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    name = f"{database_name(url)}_fuzz_{os.getpid()}"
    if not re.fullmatch(r"[a-z0-9_]{1,63}", name):
        raise SystemExit(f"fuzz: cannot make a scratch database name from {database_name(url)!r}")
    drop_stale_scratch_databases(url)
    with contextlib.closing(admin_connection(url)) as connection, connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    say(f"scratch database {name} created")
    try:
        yield with_database(url, name)
    finally:
        with contextlib.closing(admin_connection(url)) as connection, connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        say(f"scratch database {name} dropped")


def delete_redis_keys(redis_url: str, marker: str) -> None:
    """This run's Celery queue (tasks nobody will run) and cache entries."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"*{marker}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# --- processes ---------------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"fuzz: `manage.py {' '.join(args[:1])}` failed (exit code {result.returncode})")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after STOP_WAIT."""
    if proc.poll() is None or group_alive(proc.pid):
        kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        while group_alive(proc.pid) and time.monotonic() < deadline:
            proc.poll()
            time.sleep(0.1)
        kill_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def wait_for_schema(port: int, host: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_WAIT
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/schema/", headers={"Host": host})
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status == 200:  # (S310: our own server, http only)
                return
        if server.poll() is not None:
            raise SystemExit("fuzz: the server exited before answering (see .data/fuzz/server.log)")
        if time.monotonic() > deadline:
            raise SystemExit(f"fuzz: the server did not answer within {SERVER_WAIT:.0f}s")
        time.sleep(0.5)


def device_keys(seed_output: str) -> dict[tuple[str, str], str]:
    """seed_demo prints each new device's key once: 'device key for acme / Front door (shown once): …'."""
    found = re.findall(r"device key for (\S+) / (.+?) \(shown once\): (\S+)", seed_output)
    return {(slug, name): key for slug, name, key in found}


def persona_headers(persona: Persona, env: dict[str, str], keys: dict[tuple[str, str], str]) -> list[str]:
    headers = [f"Host: {persona.host}"]
    if persona.device:
        key = keys.get((persona.host.split(".")[0], persona.device))
        if key is None:
            raise SystemExit(f"fuzz: seed_demo printed no key for the device {persona.device!r}")
        return [*headers, f"Authorization: Device {key}"]
    args = ["session_for", persona.mobile, persona.host] + (["--password-only"] if persona.password_only else [])
    session_id, csrf = manage(env, *args).split()
    return [
        *headers,
        f"Cookie: sessionid={session_id}; csrftoken={csrf}",
        f"X-CSRFToken: {csrf}",
        f"Referer: http://{persona.host}/",
    ]


def schemathesis_argv(persona: Persona, port: int, headers: list[str], args: argparse.Namespace) -> list[str]:
    argv = [
        str(VENV / "bin" / "schemathesis"),
        "--config-file",
        str(CONFIG),
        "run",
        f"http://127.0.0.1:{port}/api/schema/",
        "--checks",
        args.checks,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--warnings",
        "off",
    ]
    for header in headers:
        argv += ["-H", header]
    if persona.paths:
        argv += ["--include-path-regex", persona.paths]
    if args.phases:
        argv += ["--phases", args.phases]
    return argv


def body_limit(env: dict[str, str]) -> int:
    """DATA_UPLOAD_MAX_MEMORY_SIZE of the served settings (the shell's last line)."""
    output = manage(env, "shell", "-c", "from django.conf import settings; print(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)")
    return int(output.strip().splitlines()[-1])


def crafted_requests(
    personas: list[Persona],
    port: int,
    headers: dict[str, list[str]],
    limit: int,
    run_dir: Path,
    processes: list[subprocess.Popen[bytes]],
) -> list[str]:
    """After schemathesis, scripts/fuzz_crafted.py per persona (in parallel, with the fuzzing
    virtualenv's `requests`): control characters in every documented query parameter and JSON
    field, 10,000-character strings, a body over the limit. Returns the personas that failed."""
    runs: list[tuple[Persona, subprocess.Popen[bytes]]] = []
    for persona in personas:
        argv = [str(VENV / "bin" / "python"), str(CRAFTED), f"http://127.0.0.1:{port}", persona.paths, str(limit)]
        for header in headers[persona.name]:
            argv += ["-H", header]
        say(f"{persona.name}: crafted requests: {redact(argv)}")
        with open(LOGS / f"{persona.name}-crafted.log", "wb") as log:
            proc = subprocess.Popen(
                argv,
                cwd=run_dir / persona.name,
                env=outside_env(run_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
            )
        processes.append(proc)
        runs.append((persona, proc))
    failed: list[str] = []
    for persona, proc in runs:
        code = proc.wait()
        text = (LOGS / f"{persona.name}-crafted.log").read_text(errors="replace")
        print(f"\n---- {persona.name}: crafted requests (exit code {code}) ----\n" + text[-6000:], flush=True)
        if code:
            failed.append(f"{persona.name} (crafted)")
    return failed


def server_errors(log: str) -> list[str]:
    """Each 500 the portal logged (django.request ERROR), with its traceback."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in log.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d |\[\d{4}-", line):  # a new log record
            if current is not None:
                blocks.append("\n".join(current))
            current = [line] if "ERROR django.request" in line else None
        elif current is not None:
            current.append(line)
    if current is not None:
        blocks.append("\n".join(current))
    return blocks


def redact(argv: list[str]) -> str:
    text = " ".join(f"'{a}'" if " " in a else a for a in argv)
    return re.sub(r"(sessionid=|csrftoken=|X-CSRFToken: |Device )[\w-]+", r"\1…", text)


# --- the run -----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fuzz.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--max-examples",
        type=int,
        default=int(os.environ.get("FUZZ_MAX_EXAMPLES", "15")),
        help="examples per operation and phase (default 15, env FUZZ_MAX_EXAMPLES)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("FUZZ_SEED", "42")),
        help="schemathesis/hypothesis seed (default 42, env FUZZ_SEED)",
    )
    parser.add_argument(
        "--personas",
        default=DEFAULT_PERSONAS,
        help=f"comma-separated, of: {', '.join(PERSONAS)} (default: {DEFAULT_PERSONAS})",
    )
    parser.add_argument("--checks", default=CHECKS, help=f"schemathesis checks (default {CHECKS})")
    parser.add_argument("--phases", default="", help="schemathesis phases (default: its own: all)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument(
        "--no-crafted",
        action="store_true",
        help="skip the crafted requests after schemathesis (scripts/fuzz_crafted.py)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.personas.split(",")) - set(PERSONAS)
    if unknown:
        parser.error(f"unknown persona(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORTAL_MASTER_KEY"):
        if not os.environ.get(name):
            raise SystemExit(f"fuzz: {name} is not set (run `make fuzz`: the launcher sets it)")
    started = time.monotonic()
    DATA.mkdir(exist_ok=True)
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir()
    fuzz_venv()
    marker = f"fuzz-{os.getpid()}-{secrets.token_hex(4)}"
    run_dir = Path(tempfile.mkdtemp(prefix="fuzz-run-", dir=DATA))
    processes: list[subprocess.Popen[bytes]] = []
    server: subprocess.Popen[bytes] | None = None
    personas: list[Persona] = []
    failed: list[str] = []
    try:
        check_the_real_requests(run_dir)
        with scratch_database(os.environ["DATABASE_URL"]) as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "DJANGO_SETTINGS_MODULE": "config.settings.local",
                "DJANGO_DEBUG": "0",
                "PORTAL_ALLOW_SESSION_FOR": "1",
                "CELERY_QUEUE": marker,
                "CACHE_KEY_PREFIX": marker,
                "MEDIA_ROOT": str(run_dir / "media"),
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": "WARNING",
                # SEC-7: the personas send thousands of requests a minute, all from 127.0.0.1: the
                # address, account and device throttles run at generous rates (still counted and
                # checked); new requests keep their real rate (10 an hour), so their 429 is fuzzed
                # against the schema too.
                **{f"API_THROTTLE_{scope}": "100000/min" for scope in ("ADDRESS", "ACCOUNT", "DEVICE")},
            }
            try:
                say("migrate, sync_template_schema, seed_demo")
                manage(env, "migrate", "--noinput")
                manage(env, "sync_template_schema")
                keys = device_keys(manage(env, "seed_demo"))

                port = free_port()
                server_log = open(LOGS / "server.log", "wb")  # noqa: SIM115 (closed with the server)
                server = subprocess.Popen(
                    [
                        PY,
                        "-m",
                        "gunicorn",
                        "config.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        str(args.workers),
                        "--timeout",
                        "60",
                        "--graceful-timeout",
                        "5",
                        "--access-logfile",
                        str(LOGS / "access.log"),
                        "--access-logformat",
                        ACCESS_LOG_FORMAT,
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=server_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                )
                server_log.close()
                wait_for_schema(port, "acme.localhost", server)
                say(f"portal serving on 127.0.0.1:{port} (gunicorn, {args.workers} workers, DEBUG off)")

                limit = body_limit(env)
                personas += [PERSONAS[name] for name in args.personas.split(",")]
                runs: list[tuple[Persona, subprocess.Popen[bytes]]] = []
                headers: dict[str, list[str]] = {}
                for persona in personas:
                    headers[persona.name] = persona_headers(persona, env, keys)
                    argv_ = schemathesis_argv(persona, port, headers[persona.name], args)
                    (run_dir / persona.name).mkdir()
                    say(f"{persona.name} ({persona.what}): {redact(argv_)}")
                    with open(LOGS / f"{persona.name}.log", "wb") as log:
                        proc = subprocess.Popen(
                            argv_,
                            cwd=run_dir / persona.name,
                            env=outside_env(run_dir),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                            stdin=subprocess.DEVNULL,
                        )
                    processes.append(proc)
                    runs.append((persona, proc))
                for persona, proc in runs:
                    code = proc.wait()
                    text = (LOGS / f"{persona.name}.log").read_text(errors="replace")
                    summary = text[text.rfind("=== SUMMARY ===") :] if "=== SUMMARY ===" in text else text[-4000:]
                    print(
                        f"\n---- {persona.name}: {persona.what} (exit code {code}) ----\n"
                        + (text if code else summary),
                        flush=True,
                    )
                    if code:
                        failed.append(persona.name)
                if not args.no_crafted:
                    failed += crafted_requests(personas, port, headers, limit, run_dir, processes)
                if server.poll() is not None:
                    raise SystemExit("fuzz: the server died during the run (see .data/fuzz/server.log)")
                errors = server_errors((LOGS / "server.log").read_text(errors="replace"))
                if errors:
                    print(
                        f"---- {len(errors)} server error(s) in .data/fuzz/server.log, the first ones ----\n"
                        + "\n".join(errors[:5]),
                        flush=True,
                    )
                    failed.append("server")
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_IGN)  # the cleanup runs to its end
                for proc in processes:
                    stop_group(proc)
                if server is not None:
                    stop_group(server)
                delete_redis_keys(env["REDIS_URL"], marker)
    except Stop as stop:
        say(f"{stop} received: stopped")
        return 130 if str(stop) == "SIGINT" else 143
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    took = time.monotonic() - started
    if failed:
        say(f"FAILED for {', '.join(failed)} in {took:.0f}s (logs in .data/fuzz/)")
        return 1
    say(f"no 5xx and no schema violation for {', '.join(p.name for p in personas)} in {took:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
