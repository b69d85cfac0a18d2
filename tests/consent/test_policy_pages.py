"""Policy pages on every host (CON-1): stable URLs, drafts 404, language, acceptance on the page;
acceptance recorded at sign-up; the operators' admin (drafts only, the Publish action)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import sms
from accounts.models import User
from consent.models import Notification, PolicyAcceptance, PolicyVersion
from tests.conftest import sign_in
from tests.consent.test_policy import draft, published

NEW_MOBILE = "+8613700000888"


@pytest.fixture
def versions(world):
    old = published(
        "1.0",
        ago=timedelta(days=60),
        title_en="Old policy",
        title_zh="旧政策",
        body_en="Old English text",
        body_zh="旧的中文文本",
    )
    new = published(
        "2.0",
        ago=timedelta(days=1),
        level=PolicyVersion.Level.MAJOR,
        kinds=[PolicyVersion.MajorKind.RECIPIENTS],
        title_en="New policy",
        title_zh="新政策",
        body_en="New English text",
        body_zh="新的中文文本",
    )
    pending = draft("3.0-draft", body_en="Secret draft text")
    return old, new, pending


@pytest.mark.parametrize("host", ["public", "acme"])
def test_current_and_old_versions_stay_readable_on_every_host(client_for, versions, host):
    client = client_for(host)
    response = client.get("/policy/")
    assert response.status_code == 200
    assert b"New English text" in response.content and b"Recipients of personal data" in response.content
    assert b"/policy/1.0/" in response.content and b"/policy/2.0/" in response.content
    response = client.get("/policy/1.0/")
    assert response.status_code == 200
    assert b"Old English text" in response.content and b"superseded" in response.content
    assert b"3.0-draft" not in response.content


@pytest.mark.parametrize("host", ["public", "acme"])
def test_drafts_and_unknown_versions_are_404(client_for, versions, host):
    client = client_for(host)
    assert client.get("/policy/3.0-draft/").status_code == 404
    assert client.get("/policy/9.9/").status_code == 404
    assert b"Secret draft text" not in client.get("/policy/").content


def test_a_signed_in_outsider_reads_the_policy_on_an_enterprise_host(client_for, versions, world):
    assert client_for("acme", world.oscar).get("/policy/").status_code == 200


def test_no_version_yet(client_for, world):
    response = client_for("public").get("/policy/")
    assert response.status_code == 200
    assert b"No version of the privacy policy is in force yet." in response.content


def test_the_page_is_in_the_request_language(client_for, versions):
    client = client_for("public")
    response = client.get("/policy/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "新的中文文本" in response.content.decode() and b"New English text" not in response.content
    response = client.get("/policy/1.0/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"Old English text" in response.content and "旧的中文文本" not in response.content.decode()


def test_footer_links_the_policy(client_for, world):
    assert b'href="/policy/"' in client_for("acme", world.bob).get("/me/").content


@pytest.mark.parametrize("host", ["public", "acme"])
def test_accept_on_the_page_records_channel_and_ip(client_for, versions, world, host):
    _old, new, _pending = versions
    client = client_for(host, world.bob)
    response = client.get("/policy/")
    assert b"I accept the privacy policy 2.0" in response.content
    response = client.post("/policy/", {"action": "accept"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == "/policy/"
    acceptance = PolicyAcceptance.objects.get(account=world.bob, version=new)
    assert (acceptance.channel, acceptance.ip) == ("web", "203.0.113.9")
    assert b"You accepted this version" in client.get("/policy/").content
    client.post("/policy/", {"action": "accept"})  # idempotent
    assert PolicyAcceptance.objects.filter(account=world.bob).count() == 1


def test_accepting_needs_a_sign_in_and_a_published_version(client_for, versions, world):
    response = client_for("public").post("/policy/2.0/", {"action": "accept"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client_for("public", world.bob).post("/policy/3.0-draft/", {"action": "accept"}).status_code == 404
    assert not PolicyAcceptance.objects.exists()


def test_dismiss_the_minor_notice(client_for, world):
    published("1.1")
    client = client_for("public", world.bob)
    assert client.post("/policy/", {"action": "dismiss"}).status_code == 302
    from consent.policy.selectors import policy_status

    assert not policy_status(account=world.bob).show_notice


# --- sign-up (CON-1) ---------------------------------------------------------------------------------


@pytest.fixture
def signup_client(db):
    sms.outbox.clear()
    client = Client(HTTP_HOST="localhost")
    client.post("/signup/", {"mobile": NEW_MOBILE})
    code = re.search(r"\b(\d{6})\b", [m for m in sms.outbox if m.mobile == NEW_MOBILE][-1].text).group(1)
    return client, {
        "code": code,
        "nickname": "New",
        "password": "a-long-new-pass-42",
        "password_again": "a-long-new-pass-42",
    }


def test_signup_records_the_acceptance_with_channel_and_ip(world, versions, signup_client):
    client, data = signup_client
    page = client.get("/signup/verify/")
    assert b"accept_policy" in page.content and b"version 2.0" in page.content
    response = client.post("/signup/verify/", {**data, "accept_policy": "on"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
    user = User.objects.get(mobile=NEW_MOBILE)
    acceptance = PolicyAcceptance.objects.get(account=user)
    assert (acceptance.version.version, acceptance.channel, acceptance.ip) == ("2.0", "web", "198.51.100.7")


def test_signup_without_ticking_the_box_is_refused(world, versions, signup_client):
    client, data = signup_client
    response = client.post("/signup/verify/", data)
    assert response.status_code == 200
    assert "accept_policy" in response.context["form"].errors
    assert not User.objects.filter(mobile=NEW_MOBILE).exists()
    assert not PolicyAcceptance.objects.exists()
    # the code was not spent: ticking the box now works
    assert client.post("/signup/verify/", {**data, "accept_policy": "on"}).status_code == 302


def test_the_service_refuses_registration_without_acceptance(world, versions):
    from django.core.exceptions import ValidationError

    from accounts.services import account_register

    with pytest.raises(ValidationError) as excinfo:
        account_register(mobile=NEW_MOBILE, code="123456", password="a-long-new-pass-42", policy_accepted=False)
    assert "accept_policy" in excinfo.value.message_dict
    assert not User.objects.filter(mobile=NEW_MOBILE).exists()


def test_signup_before_any_version_records_nothing(world, signup_client):
    client, data = signup_client
    assert client.post("/signup/verify/", {**data, "accept_policy": "on"}).status_code == 302
    assert not PolicyAcceptance.objects.exists()


# --- operators' admin ----------------------------------------------------------------------------------


def operator(world) -> Client:
    client = Client(HTTP_HOST="localhost")
    sign_in(client, world.olga, "public")
    return client


FORM = {
    "version": "4.0",
    "level": "major",
    "major_kinds": ["purpose", "rights"],
    "title_en": "T",
    "title_zh": "标题",
    "body_en": "Body",
    "body_zh": "正文",
    "effective_at_0": "",
    "effective_at_1": "",
}


def test_admin_creates_and_edits_a_draft(world):
    client = operator(world)
    response = client.post("/admin/consent/policyversion/add/", FORM)
    assert response.status_code == 302, response.context["adminform"].form.errors
    item = PolicyVersion.objects.get(version="4.0")
    assert item.status == "draft" and item.major_kinds == ["purpose", "rights"]
    response = client.post(f"/admin/consent/policyversion/{item.pk}/change/", {**FORM, "body_en": "Edited"})
    assert response.status_code == 302
    assert PolicyVersion.objects.get(pk=item.pk).body_en == "Edited"


def test_admin_shows_published_versions_read_only(world):
    item = published("1.0")
    client = operator(world)
    response = client.get(f"/admin/consent/policyversion/{item.pk}/change/")
    assert response.status_code == 200 and b'name="body_en"' not in response.content
    response = client.post(
        f"/admin/consent/policyversion/{item.pk}/change/", {**FORM, "version": "1.0", "body_en": "Rewritten"}
    )
    assert response.status_code == 403
    assert PolicyVersion.objects.get(pk=item.pk).body_en == "English text of 1.0."
    assert client.post(f"/admin/consent/policyversion/{item.pk}/delete/", {"post": "yes"}).status_code == 403


def test_admin_publish_action(world):
    good = draft("5.0")
    bad = draft("6.0", level=PolicyVersion.Level.MAJOR)
    client = operator(world)
    response = client.post(
        "/admin/consent/policyversion/", {"action": "publish", "_selected_action": [bad.pk]}, follow=True
    )
    assert b"kind of major change" in response.content
    assert PolicyVersion.objects.get(pk=bad.pk).status == "draft"
    assert not Notification.objects.exists()
    response = client.post(
        "/admin/consent/policyversion/", {"action": "publish", "_selected_action": [good.pk]}, follow=True
    )
    assert b"Published 5.0" in response.content
    assert PolicyVersion.objects.get(pk=good.pk).status == "published"
    assert Notification.objects.filter(account=world.bob, url="/policy/5.0/").count() == 1


def test_admin_publish_uses_a_future_effective_date(world):
    when = timezone.now() + timedelta(days=5)
    item = draft("7.0", effective_at=when)
    operator(world).post("/admin/consent/policyversion/", {"action": "publish", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.status == "published" and item.effective_at == when


def test_admin_lists_acceptances_and_notifications_masked_and_read_only(world):
    item = published("1.0")
    PolicyAcceptance.objects.create(account=world.bob, version=item, accepted_at=timezone.now(), channel="web")
    client = operator(world)
    for url in ("/admin/consent/policyacceptance/", "/admin/consent/notification/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"139****0003" in response.content and b"+8613900000003" not in response.content
    assert client.get("/admin/consent/policyacceptance/add/").status_code == 403
    assert client.get("/admin/consent/notification/add/").status_code == 403


def test_publishing_without_a_service_call_is_impossible_from_the_add_form(world):
    operator(world).post("/admin/consent/policyversion/add/", {**FORM, "version": "8.0", "status": "published"})
    assert PolicyVersion.objects.get(version="8.0").status == "draft"


def test_a_replaced_version_offers_no_acceptance(client_for, versions, world):
    client = client_for("public", world.bob)
    response = client.get("/policy/1.0/")
    assert b"I accept" not in response.content
    response = client.post("/policy/1.0/", {"action": "accept"}, follow=True)
    assert b"has been replaced" in response.content
    assert not PolicyAcceptance.objects.filter(account=world.bob).exists()


@pytest.mark.parametrize("count", [5, 50])
def test_policy_page_runs_constant_queries(client_for, world, django_assert_num_queries, count):
    for number in range(count):
        published(f"0.{number}", ago=timedelta(days=count - number))
    client = client_for("public", world.bob)
    # 1 SET search_path public, 2 domain -> tenant, 3 SET search_path public (the public tenant's),
    # 4 session, 5 account, 6 current version, 7 this account's acceptance of it, 8 published versions
    with django_assert_num_queries(9):  # +1: the app shell's header (inbox bell and enterprise switcher, UI-1)
        assert client.get("/policy/").status_code == 200
