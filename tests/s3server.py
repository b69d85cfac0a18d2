"""A real S3-compatible server for the media storage tests (RUN-4, issue 18 §6): moto's server mode.

moto's server needs the PyPI `requests` library, which the project's own `requests` app shadows,
so it is installed into its own virtualenv, `.data/moto-venv`, from `scripts/moto-requirements.txt`
(built on first use and rebuilt when that file changes, as scripts/fuzz.py does for schemathesis),
and runs as a separate process started from outside the project, with nothing of the project on
its path. The portal talks to it with boto3 (botocore and urllib3: no `requests`).

`moto_server()` is a session fixture: one server per test session on a free port. If the
virtualenv cannot be built (no package index), the tests that need it are skipped, loudly."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
VENV = DATA / "moto-venv"
REQUIREMENTS = ROOT / "scripts" / "moto-requirements.txt"
START_WAIT = 30.0  # seconds for the server to answer
ACCESS_KEY, SECRET_KEY, REGION = "portal-test", "portal-test-secret", "us-east-1"


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    pid: int


def moto_venv() -> Path:
    """`.data/moto-venv` with the pinned moto, (re)built when the requirements change. A lock
    file keeps two test sessions from building it at once."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = VENV / ".requirements.sha256"
    python = VENV / "bin" / "python"
    DATA.mkdir(exist_ok=True)
    with (DATA / "moto-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
            return VENV
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            cwd=DATA,
            env=outside_env(),
            capture_output=True,
            text=True,
        )
        if pip.returncode != 0:
            raise RuntimeError(f"installing {REQUIREMENTS.name} failed ({pip.returncode}): {pip.stderr[-2000:]}")
        stamp.write_text(wanted + "\n")
    return VENV


def outside_env() -> dict[str, str]:
    """The environment of moto's processes: nothing of the project (or its settings) on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV"))}
    env.update(PYTHONSAFEPATH="1", PYTHONNOUSERSITE="1", NO_PROXY="127.0.0.1,localhost")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(address: tuple[str, int], server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"moto_server exited with {server.returncode}")
        try:
            with socket.create_connection(address, timeout=2):
                return  # listening (werkzeug binds once the app is loaded)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer within {START_WAIT:.0f}s")


@contextlib.contextmanager
def running_moto_server(run_dir: Path) -> Iterator[MotoServer]:
    """moto_server on a free port of 127.0.0.1, its own process group, stopped afterwards."""
    venv = moto_venv()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (run_dir / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        cwd=run_dir,  # not the project root: moto must get the PyPI `requests`
        env=outside_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(("127.0.0.1", port), server)
        yield MotoServer(endpoint_url=endpoint, pid=server.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # the group this fixture started, nothing else
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    run_dir = tmp_path_factory.mktemp("moto")
    try:
        context = running_moto_server(run_dir)
        server = context.__enter__()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        message = f"S3 MEDIA STORAGE TESTS SKIPPED: moto's server could not be started ({error})"
        warnings.warn(message, stacklevel=1)
        sys.stderr.write(f"\n*** {message} ***\n")
        pytest.skip(message)
    try:
        yield server
    finally:
        context.__exit__(None, None, None)
