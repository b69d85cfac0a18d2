"""The console's side navigation, rendered once per language × categories × current page and kept
in the process (`{% console_nav %}`, PERF-3, UI-1): what one admin's page put there never shows on
another's — the entries follow each reader's categories, the language each reader's, the current
marker each page's."""

from __future__ import annotations

import re

from tenants.templatetags import portal_ui

NAV = re.compile(rb'<nav class="portal-nav".*?</nav>', re.S)


def _nav(response) -> bytes:
    assert response.status_code == 200
    found = NAV.search(response.content)
    assert found is not None
    return found.group(0)


def test_the_kept_navigation_follows_each_readers_categories_language_and_page(world, client_for):
    portal_ui._NAV_CACHE.clear()
    owner = client_for("acme", world.alice)
    sam = client_for("acme", world.sam)  # scoped: not the retention nor the ledger category
    owner_nav = _nav(owner.get("/console/", HTTP_ACCEPT_LANGUAGE="en"))
    assert b'href="/console/retention/"' in owner_nav and b'href="/console/ledger/"' in owner_nav
    sam_nav = _nav(sam.get("/console/", HTTP_ACCEPT_LANGUAGE="en"))
    assert b'href="/console/retention/"' not in sam_nav and b'href="/console/ledger/"' not in sam_nav
    assert b'href="/console/members/"' in sam_nav
    # the owner's entry is still the owner's after the scoped admin's was kept
    assert _nav(owner.get("/console/", HTTP_ACCEPT_LANGUAGE="en")) == owner_nav
    # language: the same categories and page in Chinese is another entry
    owner.cookies["django_language"] = "zh-hans"
    zh = _nav(owner.get("/console/"))
    assert "概览".encode() in zh or "总览".encode() in zh
    assert b"Overview" not in zh
    # the current page: exactly one entry marked, the page shown
    members = _nav(owner.get("/console/members/"))
    assert members.count(b'aria-current="page"') == 1
    current = re.search(rb'<a class="nav-link active" href="([^"]+)" aria-current="page"', members)
    assert current is not None and current.group(1) == b"/console/members/"
    assert len(portal_ui._NAV_CACHE) == 4


def test_the_kept_navigation_is_bounded(world, client_for, monkeypatch):
    monkeypatch.setattr(portal_ui, "NAV_CACHE_SIZE", 2)
    portal_ui._NAV_CACHE.clear()
    owner = client_for("acme", world.alice)
    for path in ("/console/", "/console/members/", "/console/org/", "/console/invitations/"):
        _nav(owner.get(path))
        assert 1 <= len(portal_ui._NAV_CACHE) <= 2


def test_kept_fragments_follow_the_language_and_hold_nothing_of_a_reader(world, client_for):
    """`{% kept %}` (PERF-7): /me/'s tiles and the header's language list are rendered once per
    language and kept; each language gets its own words and its own selected option, and the kept
    fragments never carry a name, a count or a token of the reader who rendered them first."""
    portal_ui._KEPT.clear()
    bob = client_for("acme", world.bob)
    erin = client_for("acme", world.erin)
    en = bob.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="en" lang="en" selected>' in en and "Everything held about me" in en
    erin.cookies["django_language"] = "zh-hans"
    zh = erin.get("/me/").content.decode()
    assert '<option value="zh-hans" lang="zh-hans" selected>' in zh
    assert "Everything held about me" not in zh and '<option value="en" lang="en" selected>' not in zh
    kept = "".join(portal_ui._KEPT.values())
    assert {key[0] for key in portal_ui._KEPT} == {
        "_head_assets.html",
        "_shell_end.html",
        "_language_options.html",
        "_language_buttons.html",
        "requests/me_tiles/before_inbox.html",
        "requests/me_tiles/after_inbox.html",
    }
    for private in ("Bob", "Erin", "139", "csrfmiddlewaretoken", "acme"):
        assert private not in kept, private
