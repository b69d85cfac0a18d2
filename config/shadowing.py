"""The top-level `requests` app shadows the PyPI `requests` library in every process started from
the project root. Libraries that import `requests` *optionally* (`try: import requests except
ImportError`) would get this app instead and break. Such modules are imported here once, first,
while `import requests` raises ImportError, so they take their "not installed" branch.
`config/__init__.py` calls this before anything else; tests/test_dependencies.py checks it."""

from __future__ import annotations

import importlib
import sys

OPTIONAL_REQUESTS_IMPORTERS = ("rest_framework.compat",)
_MISSING = object()


def import_optional_requests_importers() -> None:
    saved = sys.modules.get("requests", _MISSING)
    sys.modules["requests"] = None  # type: ignore[assignment]  # makes `import requests` fail
    try:
        for name in OPTIONAL_REQUESTS_IMPORTERS:
            importlib.import_module(name)
    finally:
        if saved is _MISSING:
            del sys.modules["requests"]
        else:
            sys.modules["requests"] = saved  # type: ignore[assignment]
