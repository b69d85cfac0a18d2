"""The member export's index.html is a readable document (DSR-2; issue 17 §3): headings per
section, labelled tables in the reader's language (zh-Hans and English), every timestamp in the
enterprise's local time with its offset, labels instead of codes, no JSON in <pre> blocks. Built
through HTTP and the real Celery task, as tests/requests/test_export.py does."""

from __future__ import annotations

import html as html_lib
import io
import re
import zipfile

import pytest
from django.urls import reverse

from requests.export.document import member_sections, moment
from requests.export.services import export_collect
from tenants.context import enterprise_schema
from tests.requests.test_export import (  # noqa: F401  (fixtures)
    BOB_ID,
    BOB_SYMPTOMS,
    _build,
    remove_export_files,
    seeded,
)

SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # a field name, purpose or state code
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def visible_text(document: str) -> str:
    """What a reader sees: the document without its style block, tags and attributes."""
    body = re.sub(r"<style>.*?</style>", " ", document, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def _index_html(world, client_for, language: str) -> str:
    client = client_for("acme", world.bob)
    response = client.post(reverse("api_me_exports"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 201, response.content
    _build(world)
    download = client.get(response.json()["download_url"])
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert set(archive.namelist()) == {"data.json", "index.html"}  # the JSON stays beside it
    return archive.read("index.html").decode()


def _headings(document: str, level: int) -> list[str]:
    return [visible_text(h).split("  ")[0].strip() for h in re.findall(rf"<h{level}[^>]*>(.*?)</h{level}>", document)]


@pytest.mark.parametrize(
    "language, marker, headings, columns, words",
    [
        (
            "zh-hans",
            'lang="zh-hans"',
            ["成员资料和成员身份", "考勤", "健康申报", "权利请求", "与您有关的处理记录"],
            ["时间", "类型"],
            ["上班打卡", "是"],
        ),
        (
            "en",
            'lang="en"',
            ["Directory card and membership", "Attendance", "Health reports", "Requests"],
            ["Time", "Kind", "Symptoms", "In range"],
            ["Clock in", "Yes", "Complaint", "Sales East"],
        ),
    ],
)
def test_index_html_is_a_readable_document_in_the_readers_language(  # noqa: F811
    seeded,  # noqa: F811
    client_for,
    language,
    marker,
    headings,
    columns,
    words,
):
    world = seeded
    document = _index_html(world, client_for, language)
    assert marker in document
    text = visible_text(document)

    # a heading per section, and a table of contents linking to them
    found = _headings(document, 2)
    for heading in headings:
        assert any(h.startswith(heading) for h in found), (heading, found)
    assert 'href="#attendance"' in document and 'id="attendance"' in document
    # tables: a header row of labelled columns, one row per record
    assert "<table" in document and '<th scope="col">' in document
    for column in columns:
        assert f'<th scope="col">{column}</th>' in document, column
    for word in words:
        assert word in text, word
    # the member's own data is there, readable
    assert "Bob Member" in text and BOB_ID in text and BOB_SYMPTOMS in text

    # no JSON dump, no raw codes (field names, purposes, states), no ISO or UTC timestamps
    assert "<pre" not in document and '{"' not in text and '": ' not in text
    assert not SNAKE_CASE.findall(text), sorted(set(SNAKE_CASE.findall(text)))[:20]
    for code in ("door_access", "id_number", "identity_verified", "occurred_at", "in_review", "sales_east"):
        assert code not in text, code
    assert not ISO.search(text) and "+00:00" not in document
    # every timestamp shown is local time with its offset; <time> keeps the ISO form
    shown = re.findall(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", document)
    assert len(shown) >= 5
    for iso, words_shown in shown:
        if "T" not in iso:  # a date is a day, shown as it is
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", iso) and words_shown == iso
            continue
        assert iso.endswith("+08:00") and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00", words_shown), words_shown
    # self-contained: no script, no external resource
    assert "<script" not in document and "http://" not in document and "https://" not in document
    assert "<link" not in document and "src=" not in document


def test_the_document_holds_the_same_rows_as_data_json(seeded):  # noqa: F811
    """Sections of the document count the rows data.json holds (one row per record)."""
    world = seeded
    bob = world.membership(world.acme, world.bob)
    with enterprise_schema(world.acme):
        data = export_collect(enterprise=world.acme, membership=bob)
    sections = {section.id: section for section in member_sections(data)}
    assert sections["attendance"].count == len(data["attendance"]["events"]) + len(data["attendance"]["days"])
    assert sections["health_reports"].count == len(data["health_reports"]) == 1
    assert sections["ledger"].count == len(data["ledger"]) > 0
    assert sections["requests"].count == len(data["requests"]) == 1
    assert sections["member"].count is None  # one record: a label → value table


def test_a_moment_is_shown_in_shanghai_time_whatever_offset_it_was_written_with():
    assert moment("2026-12-07T05:05:00+00:00") == ["2026-12-07 13:05 +08:00"]
    assert moment("2026-12-31T23:30:00.123456+08:00") == ["2026-12-31 23:30 +08:00"]
    assert moment("2026-12-31T23:30:00+08:00")[0].iso == "2026-12-31T23:30:00+08:00"
    assert moment(None) == ["—"]
