"""The members' side of the enterprise notice (CON-3): `/notice/` open to anyone on the host,
`/me/notice/` with the acknowledgement, the interstitial until a new version is acknowledged,
the API, acknowledgement when joining through an invitation, and isolation between enterprises."""

from __future__ import annotations

import pytest
from django.db import connection

from consent.models import EnterpriseNotice, NoticeAcknowledgement
from consent.notices.services import (
    DEFAULT_ITEMS,
    NoticeItemInput,
    notice_draft_save,
    notice_publish,
    notice_publish_default,
)
from core.models import Membership
from invitations.models import Invitation
from invitations.services import invitation_create_by_mobile, invitation_create_link
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex

NOTICE = "/notice/"
ME_NOTICE = "/me/notice/"
API_NOTICE = "/api/v1/me/notice/"
API_ACK = "/api/v1/me/notice/acknowledge/"


def publish(
    enterprise: Enterprise,
    *,
    summary_zh: str = "新版告知",
    summary_en: str = "New notice",
    contact: str = "dpo@example.com",
    items: list[NoticeItemInput] | None = None,
) -> EnterpriseNotice:
    """Publish a new version. A fresh Enterprise object: publishing updates the one it is given,
    and the session-wide World's must keep its version."""
    fresh = Enterprise.objects.get(pk=enterprise.pk)
    draft = notice_draft_save(
        enterprise=fresh,
        actor=None,
        summary_zh=summary_zh,
        summary_en=summary_en,
        contact=contact,
        items=list(DEFAULT_ITEMS) if items is None else items,
    )
    notice = notice_publish(enterprise=fresh, actor=None, notice=draft)
    connection.set_schema_to_public()
    return notice


def acknowledgements(enterprise: Enterprise, user) -> list[tuple[int, str]]:
    with enterprise_schema(enterprise):
        rows = list(
            NoticeAcknowledgement.objects.filter(membership__account=user)
            .values_list("notice__version", "channel")
            .order_by("notice__version")
        )
    connection.set_schema_to_public()
    return rows


# --- /notice/ (open) --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [None, "oscar", "bob", "gus"])
def test_the_current_notice_is_open_to_anyone_on_the_host(world, client_for, who):
    """Signed out, a signed-in outsider, a member, another enterprise's member (on acme)."""
    client = client_for("acme", getattr(world, who) if who else None)
    response = client.get(NOTICE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Acme Test: notice about your personal data" in content
    assert "As the controller of your personal data" in content  # the English summary
    assert "Daily health reports and epidemic prevention." in content and "30 days" in content
    assert "Health" in content and "privacy@example.com" in content
    assert client.get(f"{NOTICE}1/", HTTP_ACCEPT_LANGUAGE="en").status_code == 200


def test_the_notice_page_is_in_the_request_language_with_a_fallback(world, client_for):
    client = client_for("acme")
    zh = client.get(NOTICE, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in zh
    assert "本企业作为个人信息处理者" in zh and "每日健康上报与疫情防控。" in zh
    assert "As the controller" not in zh
    en = client.get(NOTICE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "本企业作为个人信息处理者" not in en
    # A version written in Chinese only is shown in Chinese to an English reader.
    publish(
        world.acme, summary_zh="仅有中文的告知", summary_en="", items=[NoticeItemInput("health", "仅中文目的", "", 7)]
    )
    en = client.get(NOTICE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "仅有中文的告知" in en and "仅中文目的" in en and "7 days" in en


def test_older_versions_stay_readable_and_drafts_are_404(world, client_for):
    publish(world.acme, summary_en="Second version text")
    notice_draft_save(
        enterprise=world.acme,
        actor=None,
        summary_zh="草稿",
        summary_en="Secret draft text",
        contact="x@example.com",
        items=list(DEFAULT_ITEMS),
    )
    connection.set_schema_to_public()
    client = client_for("acme")
    current = client.get(NOTICE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Second version text" in current and "Secret draft text" not in current
    assert 'href="/notice/1/"' in current and 'href="/notice/2/"' in current and "/notice/3/" not in current
    old = client.get(f"{NOTICE}1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "As the controller" in old and "replaced by a newer version" in old
    assert client.get(f"{NOTICE}3/").status_code == 404  # the draft
    assert client.get(f"{NOTICE}99/").status_code == 404
    assert client.get(f"{NOTICE}abc/").status_code == 404


@pytest.mark.parametrize("versions", [1, 4])
def test_the_notice_pages_run_a_constant_number_of_queries(world, client_for, versions):
    from django.test.utils import CaptureQueriesContext

    for _ in range(versions - 1):
        publish(world.acme)
    client = client_for("acme", world.bob)
    client.post(API_ACK, {"version": versions}, content_type="application/json")
    # 1 SET search_path public, 2 domain -> tenant, 3 SET search_path acme, 4 session, 5 account,
    # 6 membership, 7 the notice, 8 its items, 9 the published versions; /me/notice/ adds
    # 10 the member's acknowledgement.
    with CaptureQueriesContext(connection) as open_page:
        assert client.get(NOTICE).status_code == 200
    with CaptureQueriesContext(connection) as own_page:
        assert client.get(ME_NOTICE).status_code == 200
    assert (len(open_page), len(own_page)) == (10, 11)  # +1 each: the app shell's header (UI-1)


def test_an_enterprise_without_a_notice_says_so(world, client_for):
    with enterprise_schema(world.globex):
        EnterpriseNotice.objects.all().update(status=EnterpriseNotice.Status.DRAFT)  # as before the first
    connection.set_schema_to_public()
    response = client_for("globex").get(NOTICE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and b"has not published a notice yet" in response.content
    assert client_for("globex").get(f"{NOTICE}1/").status_code == 404


def test_the_globex_notice_is_not_shown_on_acme(world, client_for):
    publish(world.globex, summary_en="Globex only notice", contact="privacy@globex.example")
    acme = client_for("acme", world.dana)
    page = acme.get(NOTICE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Globex only notice" not in page and "privacy@globex.example" not in page
    assert acme.get(f"{NOTICE}2/").status_code == 404
    assert acme.get("/me/").status_code == 200  # acme's version did not change: no interstitial
    assert acme.get(API_NOTICE).json()["notice"]["version"] == 1
    globex = client_for("globex", world.dana)
    assert globex.get("/me/")["Location"] == "/me/notice/?next=/me/"
    # the public notice pages stay readable before acknowledging (older versions too)
    assert "Globex only notice" in globex.get(NOTICE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert globex.get(f"{NOTICE}1/").status_code == 200
    assert "Globex only notice" in globex.get(ME_NOTICE, HTTP_ACCEPT_LANGUAGE="en").content.decode()


# --- /me/notice/ and the interstitial ---------------------------------------------------------------------


def test_an_acknowledged_notice_shows_when(world, client_for):
    response = client_for("acme", world.bob).get(ME_NOTICE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"You acknowledged this version on" in response.content and b"I have read it" not in response.content
    zh = client_for("acme", world.bob).get(ME_NOTICE, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 200 and "本企业作为个人信息处理者".encode() in zh.content


def test_me_notice_needs_sign_in_and_membership(world, client_for):
    assert client_for("acme").get(ME_NOTICE)["Location"].startswith("/login/")
    assert client_for("acme", world.oscar).get(ME_NOTICE).status_code == 403
    assert client_for("acme").get(API_NOTICE).status_code in (401, 403)


def test_a_new_version_stops_the_member_until_acknowledged_on_the_page(world, client_for):
    publish(world.acme, summary_en="Version two for everyone")
    client = client_for("acme", world.bob)
    assert client.get("/me/")["Location"] == "/me/notice/?next=/me/"
    assert client.get("/me/consents/")["Location"] == "/me/notice/?next=/me/consents/"
    api = client.get("/api/v1/me/")
    assert api.status_code == 403 and api.json()["code"] == "notice_acknowledgement_required"
    page = client.get("/me/notice/?next=/me/consents/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Version two for everyone" in content and "I have read it" in content
    assert 'name="version" value="2"' in content and 'name="next" value="/me/consents/"' in content
    # The version shown was replaced meanwhile (or forged): 400 with the field error, nothing written.
    stale = client.post(ME_NOTICE, {"version": "1", "next": "/me/consents/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert stale.status_code == 400 and b"This is not the enterprise&#x27;s current notice" in stale.content
    assert client.post(ME_NOTICE, {"version": "two"}).status_code == 400
    assert client.post(ME_NOTICE, {}).status_code == 400
    assert acknowledgements(world.acme, world.bob) == [(1, "web")]
    assert client.get("/me/").status_code == 302
    done = client.post(ME_NOTICE, {"version": "2", "next": "/me/consents/"})
    assert done.status_code == 302 and done["Location"] == "/me/consents/"
    assert (2, "web") in acknowledgements(world.acme, world.bob)
    assert client.get("/me/").status_code == 200 and client.get("/api/v1/me/").status_code == 200
    again = client.get(ME_NOTICE, HTTP_ACCEPT_LANGUAGE="en")
    assert b"You acknowledged this version on" in again.content
    # Erin has not acknowledged: still stopped (the acknowledgement is per member).
    assert client_for("acme", world.erin).get("/me/").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "http://acme.localhost.evil/", "javascript:alert(1)", ""]
)
def test_acknowledging_ignores_an_unsafe_next(world, client_for, target):
    publish(world.acme)
    client = client_for("acme", world.bob)
    page = client.get(f"{ME_NOTICE}?next={target}")
    assert b'<input type="hidden" name="next"' not in page.content  # not carried into the form
    response = client.post(ME_NOTICE, {"version": "2", "next": target})
    assert response.status_code == 302 and response["Location"] == "/me/"


def test_acknowledging_through_the_api(world, client_for):
    publish(world.acme, summary_en="API version two")
    client = client_for("acme", world.bob)
    assert client.get("/api/v1/me/").json()["code"] == "notice_acknowledgement_required"
    state = client.get(API_NOTICE, HTTP_ACCEPT_LANGUAGE="en").json()
    assert state["acknowledged"] is False and state["acknowledged_at"] is None
    assert state["notice"]["version"] == 2 and state["notice"]["summary"] == "API version two"
    assert state["notice"]["summary_zh"] == "新版告知" and state["notice"]["contact"] == "dpo@example.com"
    assert {
        "category": "health",
        "category_label": "Health",
        "purpose": "Daily health reports and epidemic prevention.",
        "retention_days": 30,
    } in state["notice"]["items"]
    assert client.get(API_NOTICE, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["notice"]["summary"] == "新版告知"
    for payload in ({"version": 1}, {"version": 3}, {"version": "x"}, {}):
        response = client.post(API_ACK, payload, content_type="application/json")
        assert response.status_code == 400 and set(response.json()) == {"version"}, payload
    assert acknowledgements(world.acme, world.bob) == [(1, "web")]
    response = client.post(API_ACK, {"version": 2}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["version"] == 2 and response.json()["channel"] == "api"
    assert (2, "api") in acknowledgements(world.acme, world.bob)
    assert client.get("/api/v1/me/").status_code == 200
    state = client.get(API_NOTICE).json()
    assert state["acknowledged"] is True and state["acknowledged_at"]
    # Acknowledging twice keeps the first record.
    assert client.post(API_ACK, {"version": 2}, content_type="application/json").json()["channel"] == "api"


def test_the_api_on_another_enterprise_host_is_refused(world, client_for):
    client = client_for("acme", world.bob)
    client.defaults["HTTP_HOST"] = "globex.localhost"
    assert client.get(API_NOTICE).status_code in (401, 403)
    assert client.post(API_ACK, {"version": 1}, content_type="application/json").status_code in (401, 403)


# --- joining through an invitation acknowledges the notice shown --------------------------------------


def _invite(enterprise, user) -> Invitation:
    invitation = invitation_create_by_mobile(
        enterprise=enterprise, actor=None, mobile=user.mobile.as_e164, display_name="Oscar Invited"
    )
    connection.set_schema_to_public()
    return invitation


def _is_member(enterprise, user) -> bool:
    with enterprise_schema(enterprise):
        member = Membership.objects.filter(account=user, status=Membership.Status.ACTIVE).exists()
    connection.set_schema_to_public()
    return member


def test_the_account_page_links_the_notice_and_acceptance_acknowledges_the_version_shown(world, client_for):
    invitation = _invite(world.acme, world.oscar)
    client = client_for("public", world.oscar)
    page = client.get("/account/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="http://acme.localhost/notice/"' in page
    assert 'name="notice_version" value="1"' in page
    url = f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/"
    response = client.post(url, {"notice_version": "1"})
    assert response.status_code == 302 and _is_member(world.acme, world.oscar)
    assert acknowledgements(world.acme, world.oscar) == [(1, "invitation")]
    assert client_for("acme", world.oscar).get("/me/").status_code == 200  # no interstitial after joining


def test_accepting_after_a_newer_notice_was_published_is_refused(world, client_for):
    invitation = _invite(world.acme, world.oscar)
    client = client_for("public", world.oscar)
    assert 'name="notice_version" value="1"' in client.get("/account/").content.decode()
    publish(world.acme)  # version 2 while the invitee was reading version 1
    url = f"/account/invitations/{world.acme.pk}/{invitation.pk}/accept/"
    for shown in ("1", "0", "junk"):
        response = client.post(url, {"notice_version": shown}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400 and b"current notice" in response.content
    assert not _is_member(world.acme, world.oscar)
    assert not MembershipIndex.objects.filter(account=world.oscar, enterprise=world.acme).exists()
    assert 'name="notice_version" value="2"' in response.content.decode()  # the page now shows version 2
    assert client.post(url, {"notice_version": "2"}).status_code == 302
    assert acknowledgements(world.acme, world.oscar) == [(2, "invitation")]


def test_the_link_invitation_page_links_the_notice_and_passes_its_version(world, client_for):
    invitation, token = invitation_create_link(enterprise=world.globex, actor=None)
    connection.set_schema_to_public()
    url = f"/invitations/globex/{token}/"
    anonymous = client_for("public").get(url).content.decode()
    assert 'href="http://globex.localhost/notice/"' in anonymous
    client = client_for("public", world.oscar)
    page = client.get(url).content.decode()
    assert 'name="notice_version" value="1"' in page
    publish(world.globex)
    stale = client.post(url, {"answer": "accept", "notice_version": "1"})
    assert stale.status_code == 400 and not _is_member(world.globex, world.oscar)
    assert client.post(url, {"answer": "accept", "notice_version": "2"}).status_code == 302
    assert acknowledgements(world.globex, world.oscar) == [(2, "invitation")]
    with enterprise_schema(world.globex):
        assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.ACCEPTED
    connection.set_schema_to_public()


def test_the_notice_linked_from_the_invitation_is_readable_before_joining(world, client_for):
    notice_publish_default(
        enterprise=Enterprise.objects.get(pk=world.globex.pk), actor=None, contact="joining@globex.example"
    )
    connection.set_schema_to_public()
    response = client_for("globex", world.oscar).get(NOTICE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and b"joining@globex.example" in response.content
