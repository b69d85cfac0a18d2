"""Pages exist in Simplified Chinese and English (LocaleMiddleware, language switch)."""

from __future__ import annotations


def test_pages_render_in_chinese_by_accept_language(world, client_for):
    client = client_for("acme")
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert response.status_code == 200
    assert "登录".encode() in response.content
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"Sign in" in response.content


def test_language_switch_sets_the_language(world, client_for):
    client = client_for("public")
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert "登录".encode() in client.get("/").content
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert b"Sign in" in client.get("/").content


def test_every_message_is_translated():
    from pathlib import Path

    po = (Path(__file__).resolve().parents[1] / "locale/zh_Hans/LC_MESSAGES/django.po").read_text()
    entries = po.split("\n\n")[1:]
    untranslated = [e for e in entries if 'msgstr ""' in e and "msgstr[" not in e and e.rstrip().endswith('msgstr ""')]
    assert untranslated == []
    assert "#, fuzzy" not in po
