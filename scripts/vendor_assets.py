"""Vendored assets (SPEC UI-1, docs/frontend.md): pinned npm tarballs, verified against the
registry's `dist.integrity` (sha512), of which only the files the portal uses are kept with the
package's licence: front-end files under static/vendor/<name>/, and data the server reads (a
folder written `@path`, relative to the repository, never served as a static file: the
ip2region address-to-region database, accounts/security/ip2region/). The lock,
static/vendor/ASSETS.json, records each package's version, tarball integrity and every vendored
file with its sha256.

    python scripts/vendor_assets.py            # download the pinned versions, write files and lock
    python scripts/vendor_assets.py --check    # verify the committed files against the lock (offline)

To refresh a package: change its version in PINS, run without --check, look at the diff, run the
browser tests. Python's urllib only (the project's own `requests` package shadows the PyPI one).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "static" / "vendor"
LOCK = VENDOR / "ASSETS.json"
REGISTRY = "https://registry.npmjs.org"

MIT_FROM_BANNER = "(MIT licence from the banner of package/dist/css/tabler.min.css)"
MIT_TEXT = """MIT License

{copyright}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

ICONS = (
    "alert-triangle",
    "archive",
    "bell",
    "building",
    "checkbox",
    "chevron-down",
    "clock",
    "device-desktop",
    "file-text",
    "fingerprint",
    "heartbeat",
    "home",
    "inbox",
    "language",
    "layout-dashboard",
    "list-check",
    "logout",
    "mail",
    "map-pin",
    "menu-2",
    "settings",
    "shield-lock",
    "sitemap",
    "trash",
    "user",
    "users",
    "x",
)

# package -> (version, folder under static/vendor/, {path in the tarball: path under the folder})
PINS: dict[str, tuple[str, str, dict[str, str]]] = {
    "@tabler/core": (
        "1.6.1",
        "tabler",
        {
            "package/dist/css/tabler.min.css": "tabler.min.css",
            "package/dist/js/tabler.min.js": "tabler.min.js",
            # The tarball ships no LICENSE file: written from package.json's "MIT" and the
            # copyright lines of the CSS banner (see mit_license below).
            MIT_FROM_BANNER: "LICENSE",
        },
    ),
    "@tabler/icons": (
        "3.54.0",
        "tabler-icons",
        {
            **{f"package/icons/outline/{name}.svg": f"outline/{name}.svg" for name in ICONS},
            "package/LICENSE": "LICENSE",
        },
    ),
    "echarts": (
        "6.1.0",
        "echarts",
        {
            "package/dist/echarts.min.js": "echarts.min.js",
            "package/LICENSE": "LICENSE",
            "package/NOTICE": "NOTICE",
        },
    ),
    "htmx.org": (
        "2.0.11",
        "htmx",
        {"package/dist/htmx.min.js": "htmx.min.js", "package/LICENSE": "LICENSE"},
    ),
    # ip2region's IPv4 database (lionsoul2014/ip2region, Apache-2.0 data; the npm package MIT): an
    # address to "country|area|province|city|ISP", read by accounts/security/places.py.
    "ip2region": (
        "2.3.0",
        "@accounts/security/ip2region",
        {"package/data/ip2region.db": "ip2region.db", "package/LICENSE": "LICENSE"},
    ),
}


def located(relative: str) -> Path:
    """A lock entry's file: `tabler/…` under static/vendor/, `@accounts/…` under the repository."""
    return ROOT / relative[1:] if relative.startswith("@") else VENDOR / relative


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (fixed https registry)
        return json.load(response)


def fetch_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310
        return response.read()


def mit_license(archive: tarfile.TarFile) -> bytes:
    member = archive.extractfile("package/dist/css/tabler.min.css")
    assert member is not None
    banner = member.read(1000).decode()
    lines = [line.strip(" *") for line in banner.splitlines() if "Copyright" in line]
    if not lines:
        raise SystemExit("@tabler/core: no copyright line in the CSS banner")
    return MIT_TEXT.format(copyright="\n".join(lines)).encode()


def verify_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"unexpected integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"tarball integrity mismatch: {actual} != {expected}")


def vendor() -> None:
    lock: dict[str, dict] = {}
    for package, (version, folder, files) in PINS.items():
        meta = fetch_json(f"{REGISTRY}/{package.replace('/', '%2F')}/{version}")
        integrity = meta["dist"]["integrity"]
        tarball = fetch_bytes(meta["dist"]["tarball"])
        verify_integrity(tarball, integrity)
        recorded: dict[str, str] = {}
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for member_path, relative in sorted(files.items(), key=lambda item: item[1]):
                if member_path == MIT_FROM_BANNER:
                    data = mit_license(archive)
                else:
                    member = archive.extractfile(member_path)
                    if member is None:
                        raise SystemExit(f"{package}@{version}: {member_path} is not a file")
                    data = member.read()
                destination = located(f"{folder}/{relative}")
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(data)
                recorded[f"{folder}/{relative}"] = sha256(data)
        lock[package] = {
            "version": version,
            "license": meta.get("license"),
            "tarball": meta["dist"]["tarball"],
            "integrity": integrity,
            "files": recorded,
        }
        print(f"{package}@{version}: {len(recorded)} files in {located(folder).relative_to(ROOT)}/")
    LOCK.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")


def check() -> list[str]:
    """The problems found: pins that differ from the lock, files missing or changed."""
    problems: list[str] = []
    lock = json.loads(LOCK.read_text())
    for package, (version, folder, files) in PINS.items():
        entry = lock.get(package)
        if entry is None or entry["version"] != version:
            problems.append(f"{package}: pinned {version}, lock has {entry and entry['version']}")
            continue
        expected = {f"{folder}/{relative}" for relative in files.values()}
        if set(entry["files"]) != expected:
            problems.append(f"{package}: the lock's files differ from the pinned list")
        for relative, digest in entry["files"].items():
            path = located(relative)
            if not path.is_file():
                problems.append(f"{relative}: missing")
            elif sha256(path.read_bytes()) != digest:
                problems.append(f"{relative}: sha256 differs from the lock")
    for package in set(lock) - set(PINS):
        problems.append(f"{package}: in the lock but not pinned")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify the files against the lock, offline")
    if parser.parse_args().check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{LOCK.relative_to(ROOT)}: every vendored file matches")
        return 1 if problems else 0
    vendor()
    return 0


if __name__ == "__main__":
    sys.exit(main())
