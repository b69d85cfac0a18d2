"""The top-level `requests` app shadows the PyPI `requests` library for every process started
from the project root, so nothing the portal installs may need that library."""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def runtime_requirements(dist: importlib.metadata.Distribution) -> list[str]:
    """Names `dist` needs at run time (requirements behind an extra are optional)."""
    names = []
    for line in dist.requires or []:
        requirement = Requirement(line)
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        names.append(re.sub(r"[-_.]+", "-", requirement.name).lower())
    return names


def test_no_installed_distribution_requires_pypi_requests():
    offenders = sorted(
        dist.metadata["Name"] for dist in importlib.metadata.distributions() if "requests" in runtime_requirements(dist)
    )
    assert offenders == [], f"these need the PyPI `requests`, which the `requests` app shadows: {offenders}"


def test_pypi_requests_is_not_installed_and_the_name_is_our_app():
    assert [d for d in importlib.metadata.distributions() if d.metadata["Name"].lower() == "requests"] == []
    import requests

    assert Path(requests.__file__).resolve().parent == ROOT / "requests"


def test_requirements_are_all_pinned():
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", line) for line in lines), lines
    assert any(line.startswith("Django==5.2.") for line in lines)


def test_optional_importers_took_their_without_requests_branch():
    """DRF imports `requests` optionally; config/shadowing.py makes it see "not installed"."""
    import rest_framework.compat
    import rest_framework.test  # would fail at import if it had picked up our app

    assert rest_framework.compat.requests is None
    assert sys.modules["requests"].__name__ == "requests"
    assert Path(sys.modules["requests"].__file__).resolve().parent == ROOT / "requests"
    assert rest_framework.test.APIClient is not None
