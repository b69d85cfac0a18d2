"""The vendored assets match their lock (UI-1, docs/frontend.md): every file under static/vendor/
that the pages load, and the address-to-region data the server reads
(accounts/security/ip2region/), was extracted from a tarball whose sha512 the npm registry
published, and has not changed since (scripts/vendor_assets.py --check, offline)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "vendor_assets.py"


def test_the_committed_assets_match_the_lock():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lock = json.loads((ROOT / "static" / "vendor" / "ASSETS.json").read_text())
    assert set(lock) == {"@tabler/core", "@tabler/icons", "echarts", "htmx.org", "ip2region"}
    for package, entry in lock.items():
        assert entry["integrity"].startswith("sha512-"), package
        assert any(name.endswith(("LICENSE", "LICENSE.txt")) for name in entry["files"]), package


def test_the_check_notices_a_changed_file(tmp_path):
    """A check that cannot fail is no check: a vendored copy with one byte changed is refused."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "scripts" / "vendor_assets.py").write_bytes(SCRIPT.read_bytes())
    vendor = copy / "static" / "vendor"
    shutil.copytree(ROOT / "static" / "vendor", vendor)
    shutil.copytree(ROOT / "accounts" / "security" / "ip2region", copy / "accounts" / "security" / "ip2region")
    css = vendor / "tabler" / "tabler.min.css"
    css.write_bytes(css.read_bytes() + b"/* changed */")
    result = subprocess.run(
        [sys.executable, str(copy / "scripts" / "vendor_assets.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "tabler/tabler.min.css: sha256 differs from the lock" in result.stderr


def test_the_stylesheet_loads_nothing_from_another_origin():
    """CSP: style-src and font-src are 'self'; Tabler's CSS must import no font or sheet."""
    css = (ROOT / "static" / "vendor" / "tabler" / "tabler.min.css").read_text()
    assert "@import" not in css
    for url in css.split("url(")[1:]:
        target = url.split(")", 1)[0].strip("'\"")
        assert target.startswith("data:"), target


def test_the_region_data_is_checked_too(tmp_path):
    """The server-side data is under the same lock: a changed byte is refused."""
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "scripts" / "vendor_assets.py").write_bytes(SCRIPT.read_bytes())
    shutil.copytree(ROOT / "static" / "vendor", copy / "static" / "vendor")
    data = copy / "accounts" / "security" / "ip2region"
    shutil.copytree(ROOT / "accounts" / "security" / "ip2region", data)
    database = data / "ip2region.db"
    database.write_bytes(database.read_bytes()[:-1] + b"!")
    result = subprocess.run(
        [sys.executable, str(copy / "scripts" / "vendor_assets.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "@accounts/security/ip2region/ip2region.db: sha256 differs from the lock" in result.stderr
