"""The administrators' side of enterprise notices (CON-3, ENT-8, ENT-10): /console/notices/… and
/api/v1/notices/…, edited and published by admins holding the "consent" category."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.models import EnterpriseNotice, NoticeCategory, Notification
from consent.notices.services import NOTICE_KIND, notice_draft_save
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tenants.models import Enterprise

PAGES = ["/console/notices/", "/console/notices/draft/", "/console/notices/1/"]
CATEGORIES = list(NoticeCategory.values)


def draft_post(**overrides) -> dict[str, str]:
    """A valid POST of the draft form: directory and health collected, the rest unchecked."""
    data = {
        "summary_zh": "我们收集以下个人信息。",
        "summary_en": "We collect the following.",
        "contact": "dpo@acme.example",
    }
    for index, category in enumerate(CATEGORIES):
        data[f"items-{index}-category"] = category
        if category in ("directory", "health"):
            data.update(
                {
                    f"items-{index}-collected": "on",
                    f"items-{index}-purpose_zh": f"{category} 用途",
                    f"items-{index}-purpose_en": f"{category} purpose",
                    f"items-{index}-retention_days": "90",
                }
            )
    data.update(overrides)
    return data


def notices(enterprise) -> list[tuple[int, str]]:
    with enterprise_schema(enterprise):
        return list(EnterpriseNotice.objects.order_by("version").values_list("version", "status"))


def draft_state(enterprise):
    with enterprise_schema(enterprise):
        draft = EnterpriseNotice.objects.filter(status="draft").first()
        if draft is None:
            return None
        return (draft.summary_zh, draft.contact, sorted(draft.items.values_list("category", "retention_days")))


# --- who may open the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("persona", ["alice", "amy"])
def test_owner_and_full_admin_open_the_notice_pages(world, client_for, path, persona):
    response = client_for("acme", getattr(world, persona)).get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("persona", ["bob", "sam"])
def test_member_and_admin_without_the_consent_category_get_403(world, client_for, path, persona):
    """Bob is a member; Sam is a scoped admin of Sales without the consent category (ENT-8)."""
    assert client_for("acme", getattr(world, persona)).get(path).status_code == 403


@pytest.mark.parametrize("persona", ["bob", "sam"])
def test_they_cannot_save_publish_or_discard_either(world, client_for, persona):
    client = client_for("acme", getattr(world, persona))
    assert client.post("/console/notices/draft/", draft_post()).status_code == 403
    notice_draft_save(
        enterprise=world.acme, actor=None, summary_zh="草稿", summary_en="", contact="x@example.com", items=[_item()]
    )
    assert client.post("/console/notices/draft/publish/", {"confirm": "on"}).status_code == 403
    assert client.post("/console/notices/draft/discard/", {"confirmed": "yes"}).status_code == 403
    assert notices(world.acme) == [(1, "published"), (2, "draft")]


def _item():
    from consent.notices.services import NoticeItemInput

    return NoticeItemInput(category="directory", purpose_zh="通讯录", retention_days=30)


def test_anonymous_is_sent_to_login(world, client_for):
    response = client_for("acme").get("/console/notices/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_nav_links(world, client_for):
    """Notices need the consent category; the consents overview any category covering a
    sensitive one (Sam has directory, health, attendance)."""
    alice = client_for("acme", world.alice).get("/console/").content
    assert b'href="/console/notices/"' in alice and b'href="/console/consents/"' in alice
    sam = client_for("acme", world.sam).get("/console/").content
    assert b'href="/console/notices/"' not in sam and b'href="/console/consents/"' in sam


# --- the list and one version --------------------------------------------------------------------


def test_list_shows_versions_and_acknowledgement_counts(world, client_for):
    response = client_for("acme", world.amy).get("/console/notices/")
    version = response.context["versions"][0]
    assert (version.version, version.status) == (1, "published")
    with enterprise_schema(world.acme):
        from consent.models import NoticeAcknowledgement

        expected = NoticeAcknowledgement.objects.filter(notice__version=1).count()
    assert expected >= 6 and version.acknowledgement_count == expected
    assert b'href="/console/notices/draft/"' in response.content


def test_list_runs_a_constant_number_of_queries(world, client_for):
    client = client_for("acme", world.alice)
    with CaptureQueriesContext(connection) as one_version:
        client.get("/console/notices/")
    from consent.notices.selectors import notice_draft
    from consent.notices.services import notice_publish

    acme = Enterprise.objects.get(pk=world.acme.pk)  # publishing updates the object: not the shared world's
    for n in range(3):
        notice_draft_save(
            enterprise=acme, actor=None, summary_zh=f"版本 {n}", summary_en="", contact="x@example.com", items=[_item()]
        )
        notice_publish(enterprise=acme, actor=None, notice=notice_draft(enterprise=acme))
    with enterprise_schema(world.acme):
        from core.models import Membership

        Membership.objects.update(notice_acknowledged=4)  # let Alice past the interstitial
    client = client_for("acme", world.alice)
    with CaptureQueriesContext(connection) as four_versions:
        response = client.get("/console/notices/")
    assert len(response.context["versions"]) == 4
    assert len(four_versions) == len(one_version)


def test_api_list_runs_a_constant_number_of_queries(world, client_for):
    """The versions with their counts (one query) and all their items (one query)."""
    from consent.notices.selectors import notice_draft
    from consent.notices.services import notice_publish

    client = client_for("acme", world.alice)
    with CaptureQueriesContext(connection) as one_version:
        assert len(client.get("/api/v1/notices/").json()) == 1
    acme = Enterprise.objects.get(pk=world.acme.pk)
    for n in range(3):
        notice_draft_save(
            enterprise=acme, actor=None, summary_zh=f"版本 {n}", summary_en="", contact="x@example.com", items=[_item()]
        )
        notice_publish(enterprise=acme, actor=None, notice=notice_draft(enterprise=acme))
    with enterprise_schema(world.acme):
        from core.models import Membership

        Membership.objects.update(notice_acknowledged=4)
    client = client_for("acme", world.alice)
    with CaptureQueriesContext(connection) as four_versions:
        assert len(client.get("/api/v1/notices/").json()) == 4
    assert len(four_versions) == len(one_version)


def test_a_version_is_readable_and_a_missing_one_is_404(world, client_for):
    client = client_for("acme", world.amy)
    response = client.get("/console/notices/1/")
    assert response.status_code == 200
    assert b"privacy@example.com" in response.content and response.context["is_current"]
    assert len(response.context["items"]) == len(CATEGORIES)
    assert client.get("/console/notices/99/").status_code == 404


# --- editing the draft ------------------------------------------------------------------------


def test_draft_form_is_prefilled_from_the_current_version_then_from_the_draft(world, client_for):
    client = client_for("acme", world.amy)
    response = client.get("/console/notices/draft/")
    assert response.context["source"] == "current"
    forms = response.context["forms"]
    assert forms.notice["contact"].value() == "privacy@example.com"
    assert all(row["collected"].value() for row in forms.rows)
    assert client.post("/console/notices/draft/", draft_post()).status_code == 302
    response = client.get("/console/notices/draft/")
    assert response.context["source"] == "draft"
    forms = response.context["forms"]
    assert forms.notice["contact"].value() == "dpo@acme.example"
    assert [row["category"].value() for row in forms.rows if row["collected"].value()] == ["directory", "health"]


def test_first_draft_is_prefilled_from_the_template(world, client_for, monkeypatch):
    """An enterprise that has published nothing yet starts from the platform's template."""
    from consent.notices import views as notice_views
    from consent.notices.services import DEFAULT_ITEMS, DEFAULT_SUMMARY_EN

    monkeypatch.setattr(notice_views, "notice_current", lambda **kwargs: None)
    response = client_for("acme", world.amy).get("/console/notices/draft/")
    assert response.context["source"] == "template"
    forms = response.context["forms"]
    assert forms.notice["summary_en"].value() == DEFAULT_SUMMARY_EN
    assert [row["category"].value() for row in forms.rows if row["collected"].value()] == [
        item.category for item in DEFAULT_ITEMS
    ]


def test_saving_creates_the_draft_of_the_next_version(world, client_for):
    client = client_for("acme", world.alice)
    response = client.post("/console/notices/draft/", draft_post())
    assert response.status_code == 302 and response["Location"] == "/console/notices/draft/"
    assert notices(world.acme) == [(1, "published"), (2, "draft")]
    assert draft_state(world.acme) == (
        "我们收集以下个人信息。",
        "dpo@acme.example",
        [("directory", 90), ("health", 90)],
    )
    # saving again replaces the draft's text and items
    client.post(
        "/console/notices/draft/", draft_post(contact="privacy-team@acme.example", **{"items-3-retention_days": "30"})
    )
    assert draft_state(world.acme)[1:] == ("privacy-team@acme.example", [("directory", 90), ("health", 30)])
    assert notices(world.acme) == [(1, "published"), (2, "draft")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({f"items-{i}-collected": "" for i in range(len(CATEGORIES))}, None),  # no items
        ({"items-0-retention_days": "0"}, "retention_days"),
        ({"items-0-retention_days": "99999"}, "retention_days"),
        ({"items-0-retention_days": "ninety"}, "retention_days"),
        ({"contact": "  "}, "contact"),
        ({"items-0-category": "horoscope"}, "category"),
        ({"items-3-category": "directory"}, "category"),  # the same category twice
        ({"items-0-purpose_zh": "", "items-0-purpose_en": ""}, "purpose_zh"),
        ({"summary_zh": "", "summary_en": ""}, "summary_zh"),
    ],
)
def test_bad_input_is_a_400_with_field_errors_and_nothing_written(world, client_for, overrides, field):
    client = client_for("acme", world.amy)
    # a first save, so that "nothing written" also covers an existing draft
    assert client.post("/console/notices/draft/", draft_post()).status_code == 302
    before = draft_state(world.acme)
    data = {k: v for k, v in draft_post(**overrides).items() if v != ""}
    response = client.post("/console/notices/draft/", data)
    assert response.status_code == 400
    forms = response.context["forms"]
    if field in ("contact", "summary_zh"):
        assert forms.notice.errors[field]
    elif field is None:
        assert forms.notice.non_field_errors()
    else:
        row = forms.rows[0] if field != "category" or "items-0-category" in overrides else forms.rows[3]
        assert row.errors[field]
    assert draft_state(world.acme) == before
    assert notices(world.acme) == [(1, "published"), (2, "draft")]


def test_a_row_without_a_posted_category_is_that_rows_category(world, client_for):
    """A hand-made POST may leave out the hidden category fields: row n is the n-th category."""
    data = {k: v for k, v in draft_post().items() if not k.endswith("-category")}
    assert client_for("acme", world.amy).post("/console/notices/draft/", data).status_code == 302
    assert draft_state(world.acme)[2] == [("directory", 90), ("health", 90)]


def test_bad_input_without_a_draft_creates_none(world, client_for):
    response = client_for("acme", world.amy).post("/console/notices/draft/", draft_post(contact=""))
    assert response.status_code == 400
    assert notices(world.acme) == [(1, "published")]


# --- publishing and discarding -----------------------------------------------------------------


def _publish(world, client_for, persona):
    client = client_for("acme", getattr(world, persona))
    assert client.post("/console/notices/draft/", draft_post()).status_code == 302
    response = client.get("/console/notices/draft/")
    assert "acknowledge" in response.content.decode()  # the confirmation text
    return client, client.post("/console/notices/draft/publish/", {"confirm": "on"})


@pytest.mark.parametrize("persona", ["alice", "amy"])
def test_publishing_makes_the_draft_current_and_members_must_acknowledge_it(world, client_for, persona):
    with enterprise_schema(world.acme):
        ledger_before = LedgerEntry.objects.filter(action="publish_notice").count()
    client, response = _publish(world, client_for, persona)
    assert response.status_code == 302 and response["Location"] == "/console/notices/"
    assert notices(world.acme) == [(1, "published"), (2, "published")]
    assert Enterprise.objects.get(pk=world.acme.pk).notice_version == 2
    # members (and the publishing admin) are sent to the notice until they acknowledge it
    response = client_for("acme", world.bob).get("/me/")
    assert response.status_code == 302 and response["Location"].startswith("/me/notice/")
    assert client.get("/console/notices/")["Location"].startswith("/me/notice/")
    with enterprise_schema(world.acme):
        entry = LedgerEntry.objects.filter(action="publish_notice").order_by("-id").first()
        assert LedgerEntry.objects.filter(action="publish_notice").count() == ledger_before + 1
        from core.models import Membership

        assert entry.actor_membership_id == Membership.objects.get(account=getattr(world, persona)).pk
        assert entry.details == {"version": 2}
    connection.set_schema_to_public()
    assert Notification.objects.filter(kind=NOTICE_KIND, account=world.bob, url="/me/notice/").exists()
    assert not Notification.objects.filter(kind=NOTICE_KIND, account=world.gus).exists()


def test_publishing_needs_the_confirmation(world, client_for):
    client = client_for("acme", world.alice)
    client.post("/console/notices/draft/", draft_post())
    response = client.post("/console/notices/draft/publish/", {})
    assert response.status_code == 400 and response.context["publish_form"].errors["confirm"]
    assert notices(world.acme) == [(1, "published"), (2, "draft")]
    assert Enterprise.objects.get(pk=world.acme.pk).notice_version == 1


def test_publishing_without_a_draft_is_a_400(world, client_for):
    response = client_for("acme", world.alice).post("/console/notices/draft/publish/", {"confirm": "on"})
    assert response.status_code == 400
    assert notices(world.acme) == [(1, "published")]


def test_publish_and_discard_are_post_only(world, client_for):
    client = client_for("acme", world.alice)
    assert client.get("/console/notices/draft/publish/").status_code == 405
    assert client.get("/console/notices/draft/discard/").status_code == 405


def test_discarding_deletes_the_draft_only(world, client_for):
    client = client_for("acme", world.amy)
    client.post("/console/notices/draft/", draft_post())
    response = client.post("/console/notices/draft/discard/", {"confirmed": "yes"})
    assert response.status_code == 302 and response["Location"] == "/console/notices/"
    assert notices(world.acme) == [(1, "published")]
    assert (
        client.post("/console/notices/draft/discard/", {"confirmed": "yes"}).status_code == 302
    )  # nothing to discard: harmless
    assert notices(world.acme) == [(1, "published")]


# --- the API -----------------------------------------------------------------------------------


def test_api_lists_published_versions_and_the_draft(world, client_for):
    client = client_for("acme", world.amy)
    client.post("/console/notices/draft/", draft_post())
    response = client.get("/api/v1/notices/")
    assert response.status_code == 200
    body = response.json()
    assert [(n["version"], n["status"]) for n in body] == [(2, "draft"), (1, "published")]
    assert body[1]["acknowledgement_count"] >= 6 and len(body[1]["items"]) == len(CATEGORIES)
    assert {i["category"] for i in body[0]["items"]} == {"directory", "health"}
    one = client.get("/api/v1/notices/1/")
    assert one.status_code == 200 and one.json()["contact"] == "privacy@example.com"
    assert client.get("/api/v1/notices/99/").status_code == 404


@pytest.mark.parametrize("persona", ["bob", "sam"])
def test_api_refuses_members_and_admins_without_the_category(world, client_for, persona):
    client = client_for("acme", getattr(world, persona))
    assert client.get("/api/v1/notices/").status_code == 403
    assert client.get("/api/v1/notices/1/").status_code == 403


# --- isolation (TEN-5) ---------------------------------------------------------------------------


def test_globex_admin_never_sees_acmes_draft(world, client_for):
    client_for("acme", world.alice).post("/console/notices/draft/", draft_post(summary_zh="ACME 机密草稿"))
    greg = client_for("globex", world.greg)
    response = greg.get("/api/v1/notices/")
    assert [(n["version"], n["status"]) for n in response.json()] == [(1, "published")]
    assert "ACME" not in response.content.decode()
    assert greg.get("/api/v1/notices/2/").status_code == 404
    assert greg.get("/console/notices/2/").status_code == 404
    assert "ACME" not in greg.get("/console/notices/draft/").content.decode()


def test_an_acme_session_is_refused_on_globex(world, client_for):
    client = client_for("acme", world.alice)
    client.defaults["HTTP_HOST"] = "globex.localhost"
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post("/console/notices/draft/", draft_post()).status_code == 302
    assert client.post("/console/notices/draft/publish/", {"confirm": "on"}).status_code == 302
    assert client.get("/api/v1/notices/").status_code == 403
    assert notices(world.globex) == [(1, "published")]


def test_a_new_version_starts_from_the_retention_settings(world, client_for):
    """CON-3 + RET-1: the notice states the periods the purges apply."""
    from retention.services.settings import retention_setting_update

    retention_setting_update(enterprise=world.acme, actor=None, category="health_reports", days=21)
    response = client_for("acme", world.alice).get("/console/notices/draft/")
    rows = {row.initial["category"]: row.initial for row in response.context["forms"].rows}
    assert rows["health"]["retention_days"] == 21
    assert rows["contacts"]["retention_days"] == 1  # nothing kept: the template's value
