"""Error pages (issue 17 §5): 403, 404 and 500 inside the app shell, with a way back (the previous
page and the home page), in Simplified Chinese and English; the 500 page reads no database."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import translation

from tenants.errors import server_error

SHELL = (b'class="navbar navbar-expand portal-header', b'id="main"', b"portal-footer")
WAYS_BACK = (b'href="/" data-history-back', b'class="btn btn-primary" href="/"')
TEXTS = {
    404: {
        "zh-hans": ("页面不存在", "返回上一页", "回到首页"),
        "en": ("Not found", "Back to the previous page", "Go to the home page"),
    },
    403: {
        "zh-hans": ("拒绝访问", "返回上一页", "回到首页"),
        "en": ("Access refused", "Back to the previous page", "Go to the home page"),
    },
    500: {
        "zh-hans": ("出错了", "错误已记录，请稍后再试。", "返回上一页"),
        "en": ("Something went wrong", "Please try again later.", "Go to the home page"),
    },
}


def _in_shell(content: bytes) -> None:
    for marker in (*SHELL, *WAYS_BACK):
        assert marker in content, marker


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("host", ["localhost", "acme.localhost"])
def test_not_found_is_in_the_shell_with_a_way_back(world, host, language):
    response = Client(HTTP_HOST=host).get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    _in_shell(response.content)
    for text in TEXTS[404][language]:
        assert text in response.content.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_access_refused_is_in_the_shell_with_a_way_back(world, client_for, language):
    response = client_for("acme", world.bob).get("/console/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    _in_shell(response.content)
    for text in TEXTS[403][language]:
        assert text in response.content.decode()


def test_the_api_still_answers_errors_in_json(world, client_for):
    response = client_for("acme", world.bob).get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_server_error_page_needs_no_database(db, language):
    request = RequestFactory(HTTP_HOST="acme.localhost").get("/me/")
    with (
        translation.override(language),
        mock.patch.object(connection, "cursor", side_effect=AssertionError("the 500 page touched the database")),
    ):
        response = server_error(request)
    assert response.status_code == 500
    _in_shell(response.content)
    for text in TEXTS[500][language]:
        assert text in response.content.decode()


def test_a_failing_view_gets_the_server_error_page(world):
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    with mock.patch("tenants.views.LandingView.get", side_effect=RuntimeError("boom")):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 500
    _in_shell(response.content)
    assert "出错了".encode() in response.content and b"boom" not in response.content


# --- the demo serves as production does (issue 17 §5) ----------------------------------------------


def test_static_files_are_served_by_whitenoise_without_debug(db, settings):
    assert settings.DEBUG is False
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
    response = Client(HTTP_HOST="acme.localhost").get("/static/js/countdown.js")
    assert response.status_code == 200
    assert b"data-countdown" in b"".join(response.streaming_content)


def test_the_demo_settings_have_debug_off_and_keep_the_localhost_hosts(monkeypatch):
    import importlib

    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    local = importlib.import_module("config.settings.local")
    local = importlib.reload(local)
    assert local.DEBUG is False
    assert ".localhost" in local.ALLOWED_HOSTS and "localhost" in local.ALLOWED_HOSTS
    assert local.STORAGES["staticfiles"]["BACKEND"].startswith("whitenoise.")


def test_seed_demo_prints_links_on_the_launchers_port(db, capsys, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("PORT", "8765")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "http://acme.localhost:8765/" in out and ":8000" not in out
