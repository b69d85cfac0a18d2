"""Pieces every benchmark module uses: output, argument types, the worker-like child process."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def say(message: str = "") -> None:
    """Explanatory output: never on a line starting with `PERF-`."""
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
        cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{benchmark} worker failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
