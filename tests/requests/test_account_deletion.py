"""Account deletion (DSR-6) through HTTP and the beat task: blockers first, re-authentication with
password and SMS code, a cooling-off period in which the account can only cancel, cancelling,
and the irreversible execution across two enterprises (each left as DSR-5 does it), after which
the same mobile number registers a new account that sees nothing of the old one."""

from __future__ import annotations

import re
from datetime import date, timedelta

import jsonschema
import jsonschema.protocols
import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import sms
from accounts.encryption import encrypt_for_account
from accounts.models import AccountDataKey, AccountEvent, AccountSession, IdDocument, KnownDevice, SmsCode, User
from attendance.models import ClockEvent
from biometrics.models import BiometricTemplate
from config.celery import app
from consent.models import DevicePermission, Notification, NotificationDelivery, PolicyAcceptance
from core.models import Membership
from core.services import membership_create
from demo.seed import consent_everything
from health.models import HealthReport
from requests.account_deletion.services import account_deletions_execute_due
from requests.models import AccountDeletion, AccountExport, Request, RequestKind
from requests.tasks import account_deletions_execute
from requests.workflow.services import request_schema
from retention.models import ErasurePlan
from retention.services.erasure import erasure_plans_run_due
from retention.services.termination import enterprise_termination_start
from tenants.context import enterprise_schema, public_schema
from tenants.models import Enterprise, MembershipIndex
from tests.conftest import PASSWORD
from tests.requests.test_leave import _give_data

MOBILE = "+8613900000077"
API = "/api/v1/me/account-deletion/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def pat(world) -> User:
    """A member of acme and of globex with data in both and a full account profile."""
    user = User.objects.create_user(
        MOBILE,
        PASSWORD,
        nickname="Pat Person",
        email="pat@example.com",
        gender=User.Gender.FEMALE,
        birthday=date(1990, 3, 7),
    )
    for enterprise in (world.acme, world.globex):
        member = membership_create(enterprise=enterprise, account=user, role=Membership.Role.MEMBER)
        enterprise.refresh_from_db(fields=["notice_version"])
        consent_everything(enterprise, member)
        _give_data(enterprise, member)
    return user


def _code_sent_to(mobile: str) -> str:
    """The newest code sent to `mobile` (the outbox is emptied before each test)."""
    texts = [message.text for message in sms.outbox if message.mobile == mobile and "verification code" in message.text]
    return re.search(r"\b(\d{6})\b", texts[-1]).group(1)


def _start_on_page(client, user: User, *, password: str = PASSWORD) -> object:
    assert client.post("/account/delete/", {"action": "send_code"}).status_code == 302
    return client.post(
        "/account/delete/", {"action": "start", "password": password, "code": _code_sent_to(str(user.mobile))}
    )


def _start_by_api(client, user: User) -> object:
    assert client.post(API + "code/").status_code == 202
    return client.post(
        API, {"password": PASSWORD, "code": _code_sent_to(str(user.mobile))}, content_type="application/json"
    )


def _nothing_started(user: User) -> None:
    assert not AccountDeletion.objects.filter(account=user).exists()
    user.refresh_from_db()
    assert user.deletion_pending is False and user.is_active and user.mobile


def _recorded_request(deletion: AccountDeletion) -> tuple[Request, list[str]]:
    """The request recording the deletion and its history, read in the public schema (a client
    call may have left the test's connection in an enterprise's)."""
    with request_schema(None):
        request = Request.objects.get(pk=deletion.request_id)
        return request, [event.action for event in request.events.all()]


def _execute_at(monkeypatch, moment) -> list[int]:
    """Beat's task, run as the worker would (public schema), with the clock at `moment`."""
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return account_deletions_execute.apply().get()["executed"]


# --- links, the page, the schema ------------------------------------------------------------------


def test_account_and_me_link_the_deletion_page(world, client_for):
    assert b'href="/account/delete/"' in client_for("public", world.bob).get("/account/").content
    assert b'href="//localhost/account/delete/"' in client_for("acme", world.bob).get("/me/").content


def test_the_page_explains_what_happens_and_asks_for_code_and_password(world, pat, client_for):
    page = client_for("public", pat).get("/account/delete/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Acme Test" in text and "Globex Test" in text
    assert "2 biometric templates" in text and "3 health reports" in text
    assert "cooling-off period of 7 days" in text
    assert 'name="code"' in text and 'name="password"' in text
    assert "139****0077" in text  # where the code goes, masked

    chinese = client_for("public", pat).get("/account/delete/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 200 and '<html lang="zh-hans">' in chinese.content.decode()

    status = client_for("acme", pat).get(API).json()
    assert status["can_delete"] is True and status["pending"] is False and status["blockers"] == []
    assert status["cooling_off_days"] == 7 and status["deletion"] is None
    assert sorted(e["enterprise"] for e in status["enterprises"]) == ["Acme Test", "Globex Test"]
    assert status["enterprises"][0]["grace_days"] == 30


def test_the_api_is_in_the_openapi_schema(world, client_for):
    schema = client_for("acme", world.bob).get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in (API, API + "code/", API + "cancel/"):
        assert path in schema
    assert "account_deletion_blocked" in schema


def _json_schema(node: object) -> object:
    """OpenAPI 3.0's `nullable: true` in JSON Schema terms (the rest is the same)."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def _documented_400(doc: dict, path: str, method: str) -> jsonschema.protocols.Validator:
    schema = doc["paths"][path][method]["responses"]["400"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator(_json_schema({**schema, "components": doc["components"]}))


def test_every_400_is_what_the_schema_documents(world, pat, client_for):
    """Found by the API fuzzing (SEC-3): a 400 is a refusal (`code` a string) or field errors (the
    input field `code` among them: a list of messages); the schema said refusal only."""
    client = client_for("acme", pat)
    doc = client.get("/api/schema/?format=json").json()
    assert client.post(API + "code/").status_code == 202
    answers = [
        (API, "post", client.post(API, {}, content_type="application/json")),  # field errors
        (API + "code/", "post", client.post(API + "code/")),  # "wait before asking again" on `code`
        (API, "delete", client.delete(API)),  # refusal: not_pending
        (API + "cancel/", "post", client.post(API + "cancel/")),
        (API + "code/", "post", client_for("acme", world.alice).post(API + "code/")),  # blocked: sole owner
    ]
    for path, method, response in answers:
        assert response.status_code == 400, (path, method, response.status_code)
        _documented_400(doc, path, method).validate(response.json())
    assert isinstance(answers[0][2].json()["code"], list) and answers[2][2].json()["code"] == "not_pending"
    assert answers[4][2].json()["code"] == "account_deletion_blocked" and answers[4][2].json()["blockers"]


def test_beat_runs_the_executor_every_few_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["account-deletions"]
    assert entry["task"] == "requests.tasks.account_deletions_execute" and entry["task"] in app.tasks
    assert entry["schedule"] <= 15 * 60


# --- blockers ---------------------------------------------------------------------------------------


def _sole_owner(world, submit):
    return world.alice, "only owner of Acme Test"


def _open_account_request(world, submit):
    request = submit(None, world.bob, description="Fix my nickname")
    return world.bob, f"request #{request.pk}"


def _open_enterprise_request(world, submit):
    request = submit("acme", world.bob, category="health")
    return world.bob, f"request #{request.pk} (Complaint) in Acme Test"


def _operator(world, submit):
    return world.olga, "platform operator"


@pytest.mark.parametrize("blocked", [_sole_owner, _open_account_request, _open_enterprise_request, _operator])
def test_each_blocker_is_listed_first_and_refuses_every_way_in(world, client_for, submit, blocked):
    user, message = blocked(world, submit)
    client = client_for("public", user)
    page = client.get("/account/delete/")
    assert page.status_code == 200
    assert message in page.content.decode()
    assert b'name="password"' not in page.content and b'name="code"' not in page.content

    sent = client.post("/account/delete/", {"action": "send_code"})
    assert sent.status_code == 400 and message in sent.content.decode()
    assert not SmsCode.objects.filter(mobile=str(user.mobile), purpose="account_deletion").exists()
    started = client.post("/account/delete/", {"action": "start", "password": PASSWORD, "code": "123456"})
    assert started.status_code == 400 and message in started.content.decode()

    host = "globex" if user == world.olga else "acme"
    if user != world.olga:  # the operator is a member of no enterprise: no enterprise API for them
        api = client_for(host, user)
        status = api.get(API).json()
        assert status["can_delete"] is False and status["enterprises"] == []
        assert any(message in blocker["message"] for blocker in status["blockers"])
        for response in (
            api.post(API + "code/"),
            api.post(API, {"password": PASSWORD, "code": "123456"}, content_type="application/json"),
        ):
            assert response.status_code == 400
            body = response.json()
            assert body["code"] == "account_deletion_blocked"
            assert any(message in error for error in body["non_field_errors"]) and body["blockers"]
    _nothing_started(user)


def test_the_open_request_blocker_links_the_request(world, client_for, submit):
    request = submit("acme", world.bob, category="health")
    public = submit(None, world.bob)
    page = client_for("public", world.bob).get("/account/delete/").content.decode()
    assert f'href="//acme.localhost/me/requests/{request.pk}/"' in page
    assert f'href="/account/requests/{public.pk}/"' in page


def test_a_sole_owner_who_hands_over_can_delete(world, client_for):
    with enterprise_schema(world.acme):
        Membership.objects.filter(account=world.amy).update(role=Membership.Role.OWNER)
    client = client_for("public", world.alice)
    assert client.get("/account/delete/").context["blockers"] == []
    assert _start_on_page(client, world.alice).status_code == 302
    assert AccountDeletion.objects.get(account=world.alice).status == AccountDeletion.Status.SCHEDULED


# --- re-authentication: bad input changes nothing -----------------------------------------------------


@pytest.mark.parametrize("where", ["page", "api"])
@pytest.mark.parametrize(
    ("password", "code", "fields"),
    [
        ("wrong-password", "right", {"password"}),
        ("", "right", {"password"}),
        (PASSWORD, "wrong", {"code"}),
        (PASSWORD, "", {"code"}),
        ("", "", {"password", "code"}),
    ],
)
def test_a_wrong_or_missing_password_or_code_is_a_field_error_and_changes_nothing(
    world, pat, client_for, where, password, code, fields
):
    client = client_for("public" if where == "page" else "acme", pat)
    if where == "page":
        assert client.post("/account/delete/", {"action": "send_code"}).status_code == 302
    else:
        assert client.post(API + "code/").status_code == 202
    sent = _code_sent_to(MOBILE)
    code = {"right": sent, "wrong": "000000" if sent != "000000" else "999999"}.get(code, code)
    if where == "page":
        response = client.post("/account/delete/", {"action": "start", "password": password, "code": code})
        assert response.status_code == 400
        assert fields <= set(response.context["form"].errors)
        assert client.get("/account/").status_code == 200  # the account is in normal use
    else:
        body = {key: value for key, value in {"password": password, "code": code}.items() if value}
        response = client.post(API, body, content_type="application/json")
        assert response.status_code == 400
        assert fields <= set(response.json())
        assert client.get("/api/v1/me/").status_code == 200
    _nothing_started(pat)


def test_a_wrong_password_uses_up_the_code(world, pat, client_for):
    """The code is checked first, so guessing the password needs fresh codes sent to the phone."""
    client = client_for("acme", pat)
    assert client.post(API + "code/").status_code == 202
    code = _code_sent_to(MOBILE)
    response = client.post(API, {"password": "wrong-password", "code": code}, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"password", "code"}
    again = client.post(API, {"password": PASSWORD, "code": code}, content_type="application/json")
    assert again.status_code == 400 and "code" in again.json()
    _nothing_started(pat)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": ["x"], "code": "1"},
        {"password": "x", "code": {"a": 1}},
        {"password": "x" * 500, "code": "123456"},
        {"password": "x", "code": "1" * 50},
    ],
)
def test_bad_api_input_is_400(world, pat, client_for, body):
    response = client_for("acme", pat).post(API, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) & {"password", "code"}
    _nothing_started(pat)


def test_an_unknown_action_or_oversized_input_on_the_page_is_400(world, pat, client_for):
    client = client_for("public", pat)
    assert client.post("/account/delete/", {"action": "explode"}).status_code == 400
    response = client.post("/account/delete/", {"action": "start", "password": "x" * 500, "code": "1" * 50})
    assert response.status_code == 400
    assert {"password", "code"} <= set(response.context["form"].errors)
    _nothing_started(pat)


def test_codes_are_rate_limited_like_every_sms_code(world, pat, client_for):
    client = client_for("acme", pat)
    assert client.post(API + "code/").status_code == 202
    again = client.post(API + "code/")
    assert again.status_code == 400 and "Wait" in again.json()["code"][0]
    page = client_for("public", pat).post("/account/delete/", {"action": "send_code"})
    assert page.status_code == 400 and "Wait" in page.content.decode()
    assert SmsCode.objects.filter(mobile=MOBILE, purpose="account_deletion").count() == 1


# --- cooling-off --------------------------------------------------------------------------------------


def test_during_the_cooling_off_the_account_reaches_only_the_cancel_page(world, pat, client_for):
    client = client_for("public", pat)
    other_session = client_for("acme", pat)
    response = _start_on_page(client, pat)
    assert response.status_code == 302 and response["Location"] == "/account/delete/"
    deletion = AccountDeletion.objects.get(account=pat)
    assert deletion.status == AccountDeletion.Status.SCHEDULED
    assert deletion.not_before - deletion.requested_at == timedelta(days=7)

    page = client.get("/account/delete/")
    assert page.status_code == 200 and b"Cancel the deletion" in page.content
    for path in ("/account/", "/account/profile/", "/account/requests/", "/account/inbox/", "/enterprises/new/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/account/delete/", path
    assert client.post("/account/profile/", {"nickname": "Changed"}).status_code == 302
    pat.refresh_from_db()
    assert pat.nickname == "Pat Person"

    # every page of an enterprise host goes to the public cancel page; the API says why
    for path in ("/", "/me/", "/me/leave/", "/me/requests/", "/me/export/"):
        response = other_session.get(path)
        assert response.status_code == 302 and response["Location"] == "//localhost/account/delete/", path
    for path in ("/api/v1/me/", "/api/v1/me/leave/", "/api/v1/me/requests/"):
        response = other_session.get(path)
        assert response.status_code == 403 and response.json()["code"] == "account_deletion_pending", path
        assert response.json()["cancel_url"] == API
    assert (
        other_session.post("/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json").status_code
        == 403
    )
    status = other_session.get(API).json()
    assert status["pending"] is True and status["deletion"]["status"] == "scheduled"

    # signing in again (on any host) leads to the cancel page only
    fresh = client_for("public")
    assert fresh.post("/login/", {"username": MOBILE, "password": PASSWORD}).status_code == 302
    assert fresh.get("/account/")["Location"] == "/account/delete/"

    [notice] = Notification.objects.filter(account=pat, kind="account_deletion")
    assert "will be deleted" in notice.title
    assert NotificationDelivery.objects.filter(notification=notice, channel="sms", address=MOBILE).exists()
    assert NotificationDelivery.objects.filter(notification=notice, channel="email").exists()


def test_an_administrator_in_cooling_off_cannot_open_the_console(world, client_for):
    with enterprise_schema(world.acme):
        Membership.objects.filter(account=world.amy).update(role=Membership.Role.OWNER)
    assert _start_by_api(client_for("acme", world.alice), world.alice).status_code == 201
    console = client_for("acme", world.alice)
    assert console.get("/console/")["Location"] == "//localhost/account/delete/"
    assert console.get("/api/v1/members/").json()["code"] == "account_deletion_pending"


def test_a_second_request_while_pending_is_refused(world, pat, client_for):
    client = client_for("acme", pat)
    assert _start_by_api(client, pat).status_code == 201
    again = client.post(API, {"password": PASSWORD, "code": "123456"}, content_type="application/json")
    assert again.status_code == 400 and again.json()["code"] == "already_pending"
    assert client.post(API + "code/").json()["code"] == "already_pending"
    assert AccountDeletion.objects.filter(account=pat).count() == 1


def test_a_pending_policy_acceptance_does_not_hide_the_cancel_page(world, pat, client_for):
    client = client_for("public", pat)
    assert _start_on_page(client, pat).status_code == 302
    User.objects.filter(pk=pat.pk).update(policy_acceptance_required=True)
    assert client.get("/account/delete/").status_code == 200
    assert client.get("/account/")["Location"].startswith("/policy/")
    assert client.get("/policy/").status_code == 200


# --- cancelling ----------------------------------------------------------------------------------------


def _untouched(world, user: User) -> None:
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            member = Membership.objects.get(account=user)
            assert member.status == Membership.Status.ACTIVE
            assert BiometricTemplate.objects.filter(membership=member).count() == 2
            assert HealthReport.objects.filter(membership=member).count() == 3
            assert not ErasurePlan.objects.filter(membership_id=member.pk).exists()
        assert MembershipIndex.objects.filter(account=user, enterprise=enterprise).exists()
    user.refresh_from_db()
    assert user.mobile == MOBILE and user.nickname == "Pat Person" and user.is_active


@pytest.mark.parametrize("how", ["page", "delete", "post"])
def test_cancelling_restores_normal_use_and_nothing_is_deleted(world, pat, client_for, monkeypatch, how):
    page = client_for("public", pat)
    api = client_for("acme", pat)
    assert _start_by_api(api, pat).status_code == 201
    assert page.get("/account/").status_code == 302

    if how == "page":
        response = page.post("/account/delete/", {"action": "cancel"})
        assert response.status_code == 302 and response["Location"] == "/account/"
    else:
        response = api.delete(API) if how == "delete" else api.post(API + "cancel/")
        assert response.status_code == 200 and response.json()["pending"] is False
        assert response.json()["deletion"]["status"] == "cancelled"

    assert page.get("/account/").status_code == 200
    assert api.get("/me/").status_code == 200
    assert api.get("/api/v1/me/").status_code == 200
    deletion = AccountDeletion.objects.get(account=pat)
    assert deletion.status == AccountDeletion.Status.CANCELLED and deletion.cancelled_at
    recorded, history = _recorded_request(deletion)
    assert recorded.kind == RequestKind.ACCOUNT_DELETION and recorded.status == Request.Status.CANCELLED
    assert history == ["submitted", "identity_verified", "cancelled"]
    assert [n.title for n in Notification.objects.filter(account=pat, kind="account_deletion")][
        0
    ] == "The deletion of your account was cancelled"

    assert api.delete(API).json()["code"] == "not_pending"

    # the cooling-off would have ended: a cancelled deletion never runs
    assert _execute_at(monkeypatch, deletion.not_before + timedelta(days=1)) == []
    _untouched(world, pat)


def test_another_account_cannot_see_or_cancel_someone_elses_deletion(world, pat, client_for):
    assert _start_by_api(client_for("acme", pat), pat).status_code == 201
    erin = client_for("acme", world.erin)
    status = erin.get(API).json()
    assert status["pending"] is False and status["deletion"] is None
    for response in (erin.delete(API), erin.post(API + "cancel/")):
        assert response.status_code == 400 and response.json()["code"] == "not_pending"
    page = client_for("public", world.erin).post("/account/delete/", {"action": "cancel"})
    assert page.status_code == 400
    assert AccountDeletion.objects.get(account=pat).status == AccountDeletion.Status.SCHEDULED
    assert User.objects.get(pk=world.erin.pk).deletion_pending is False


def test_another_enterprises_host_is_refused(world, pat, client_for):
    """SEC-1: bob (acme only) on globex's host, gus (globex only) on acme's: not members there."""
    for host, user in (("globex", world.bob), ("acme", world.gus)):
        client = client_for(host, user)
        for response in (
            client.get(API),
            client.post(API + "code/"),
            client.delete(API),
            client.post(API, {"password": PASSWORD, "code": "1"}, content_type="application/json"),
        ):
            assert response.status_code == 403 and response.json()["code"] == "not_member"
        _nothing_started(user)
    # with a deletion pending, a foreign host still says "not a member", and the session there is nothing
    assert _start_by_api(client_for("acme", world.bob), world.bob).status_code == 201
    assert client_for("globex", world.bob).get(API).json()["code"] == "not_member"
    assert client_for("globex").get(API).status_code == 403


# --- execution -----------------------------------------------------------------------------------------


def _enrich(user: User) -> None:
    """Everything an account can hold on the platform."""
    user.avatar.save("pat.png", ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32), save=False)
    user.legal_name_encrypted = encrypt_for_account(account=user, field="legal_name", value="帕特")
    user.id_number_encrypted = encrypt_for_account(account=user, field="id_number", value="11010519491231002X")
    user.real_name_status = User.RealNameStatus.VERIFIED
    user.real_name_verified_at = timezone.now()
    user.last_login = timezone.now()
    user.save()
    IdDocument.objects.create(
        account=user,
        side="front",
        content_type="image/png",
        data_encrypted=encrypt_for_account(account=user, field="id_front", value=b"img"),
    )
    DevicePermission.objects.create(account=user, kind="camera", granted=True, changed_at=timezone.now())
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


# Every column of the account row after execution, except `id` (the pseudonym), `password` (an
# unusable hash) and `date_joined` (the execution time), which are checked on their own.
TOMBSTONE = {
    "last_login": None,
    "is_superuser": False,
    "mobile": None,
    "nickname": "",
    "email": "",
    "avatar": "",
    "gender": "",
    "birthday": None,
    "real_name_status": "none",
    "legal_name_encrypted": None,
    "id_number_encrypted": None,
    "real_name_verified_at": None,
    "session_generation": 0,
    "frozen_at": None,
    "email_verified_at": None,
    "email_verification_nonce": "",
    "policy_acceptance_required": False,
    "deletion_pending": False,
    "is_staff": False,
    "is_active": False,
}


def test_execution_leaves_both_enterprises_erases_the_account_and_frees_the_number(
    world, pat, client_for, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    _enrich(pat)
    avatar = pat.avatar.name
    assert default_storage.exists(avatar)
    PolicyAcceptance.objects.filter(account=pat).update(ip="10.0.0.7")
    with public_schema():  # a copy of the account data (issue 17 §3) goes with the account
        copy_path = default_storage.save("account-exports/pat-copy.zip", ContentFile(b"zip"))
    AccountExport.objects.create(account=pat, state=AccountExport.State.READY, file_path=copy_path)
    old_session = client_for("public", pat)
    members = {e.slug: Membership.objects.none() for e in (world.acme, world.globex)}
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            members[enterprise.slug] = Membership.objects.get(account=pat)
    assert _start_by_api(client_for("globex", pat), pat).status_code == 201
    deletion = AccountDeletion.objects.get(account=pat)
    sms.outbox.clear()

    # still cooling off a day before the end: nothing happens
    assert _execute_at(monkeypatch, deletion.not_before - timedelta(days=1)) == []
    assert AccountDeletion.objects.get(pk=deletion.pk).status == AccountDeletion.Status.SCHEDULED

    executed_at = deletion.not_before + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        assert _execute_at(monkeypatch, executed_at) == [deletion.pk]

    deletion.refresh_from_db()
    assert deletion.status == AccountDeletion.Status.DONE and deletion.executed_at == executed_at
    assert not AccountExport.objects.filter(account=pat).exists()
    with public_schema():
        assert not default_storage.exists(copy_path)
    recorded, history = _recorded_request(deletion)
    assert recorded.kind == RequestKind.ACCOUNT_DELETION and recorded.status == Request.Status.COMPLETED
    assert history == ["submitted", "identity_verified", "completed"]
    assert sorted(entry["name"] for entry in deletion.enterprises_left) == ["Acme Test", "Globex Test"]

    # DSR-5 in both enterprises: left at once, templates and health reports gone, the rest scheduled
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            card = Membership.objects.get(pk=members[enterprise.slug].pk)
            assert card.status == Membership.Status.LEFT and card.left_at == executed_at
            assert not BiometricTemplate.objects.filter(membership=card).exists()
            assert not HealthReport.objects.filter(membership=card).exists()
            assert ClockEvent.objects.filter(membership=card).count() == 1  # kept for payroll
            [plan] = ErasurePlan.objects.filter(membership_id=card.pk)
            assert plan.status == ErasurePlan.Status.SCHEDULED and plan.not_before == executed_at + timedelta(days=30)
            leave = Request.objects.get(membership_id=card.pk, kind=RequestKind.LEAVE)
            assert leave.status == Request.Status.COMPLETED
        assert not MembershipIndex.objects.filter(account=pat, enterprise=enterprise).exists()

    # the account row is a tombstone: nothing identifying in any column
    row = User.objects.filter(pk=pat.pk).values().get()
    assert set(row) == {*TOMBSTONE, "id", "password", "date_joined"}, "a new column: decide what deletion does with it"
    for model in (AccountSession, KnownDevice, AccountEvent):  # addresses and user agents (issue 17 §2)
        assert not model.objects.filter(account_id=pat.pk).exists(), model
    assert {column: row[column] for column in TOMBSTONE} == TOMBSTONE
    assert row["date_joined"] == executed_at  # no trace of when the person joined
    tombstone = User.objects.get(pk=pat.pk)
    assert not tombstone.has_usable_password() and not tombstone.check_password(PASSWORD)
    assert str(tombstone) == "deleted account"
    assert not AccountDataKey.objects.filter(account_id=pat.pk).exists()  # crypto-shredding (RET-6)
    assert not IdDocument.objects.filter(account_id=pat.pk).exists()
    assert not Notification.objects.filter(account_id=pat.pk).exists()
    assert not DevicePermission.objects.filter(account_id=pat.pk).exists()
    assert not TOTPDevice.objects.filter(user_id=pat.pk).exists()
    assert list(PolicyAcceptance.objects.filter(account_id=pat.pk).values_list("ip", flat=True)) in ([], [None])
    assert not NotificationDelivery.objects.filter(address__in=[MOBILE, "pat@example.com"]).exists()
    assert not default_storage.exists(avatar)

    # the final notice went out by SMS and e-mail before the number and address were erased
    [final] = [message for message in sms.outbox if message.mobile == MOBILE]
    assert "Your account has been deleted" in final.text and "Acme Test" in final.text
    assert [mail.to for mail in mailoutbox] == [["pat@example.com"]]

    # every session of the old account is over
    assert old_session.get("/account/").status_code == 302
    assert old_session.get("/account/")["Location"].startswith("/login/")
    assert client_for("public").post("/login/", {"username": MOBILE, "password": PASSWORD}).status_code == 200

    # a second run is a no-op
    sms.outbox.clear()
    assert _execute_at(monkeypatch, executed_at + timedelta(hours=1)) == []
    assert sms.outbox == []

    # after each enterprise's grace period the cards are anonymised and the members' keys destroyed
    for enterprise in (world.acme, world.globex):
        erasure_plans_run_due(enterprise=enterprise, now=executed_at + timedelta(days=31))
        with enterprise_schema(enterprise):
            card = Membership.objects.get(pk=members[enterprise.slug].pk)
            assert card.display_name.startswith("former-") and card.account_id is None and card.mobile == ""

    # the number registers a new account, which sees none of the old data and no membership
    monkeypatch.setattr(timezone, "now", lambda: executed_at + timedelta(days=32))
    newcomer = client_for("public")
    assert newcomer.post("/signup/", {"mobile": "13900000077"}).status_code == 302
    code = _code_sent_to(MOBILE)
    created = newcomer.post(
        "/signup/verify/",
        {
            "code": code,
            "nickname": "New Pat",
            "password": "another-horse-77",
            "password_again": "another-horse-77",
            "accept_policy": "on",
        },
    )
    assert created.status_code == 302, created.content
    new_user = User.objects.get(mobile=MOBILE)
    assert new_user.pk != pat.pk and int(newcomer.session[SESSION_KEY]) == new_user.pk
    account = newcomer.get("/account/").content.decode()
    assert "Acme Test" not in account and "Globex Test" not in account and "Pat Person" not in account
    assert "not a member of any enterprise" in account
    assert "帕特" not in newcomer.get("/account/real-name/").content.decode()
    assert not Request.objects.filter(account=new_user).exists()
    assert "Account deletion" not in newcomer.get("/account/requests/").content.decode()
    assert not Notification.objects.filter(account=new_user).exclude(kind="policy").exists()
    assert client_for("acme", new_user).get("/api/v1/me/").status_code == 403
    assert not MembershipIndex.objects.filter(account=new_user).exists()


def test_an_interrupted_execution_resumes_where_it_stopped(world, pat, client_for, monkeypatch):
    assert _start_by_api(client_for("acme", pat), pat).status_code == 201
    deletion = AccountDeletion.objects.get(account=pat)
    sms.outbox.clear()
    later = deletion.not_before + timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    def crash(_deletion, step):
        if step == "erase":
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        account_deletions_execute_due(before_step=crash)
    deletion.refresh_from_db()
    assert deletion.status == AccountDeletion.Status.EXECUTING and len(deletion.enterprises_left) == 2
    assert deletion.final_notice_at is not None
    assert not MembershipIndex.objects.filter(account=pat).exists()
    assert User.objects.get(pk=pat.pk).mobile == MOBILE  # not erased yet

    assert account_deletions_execute.apply().get()["executed"] == [deletion.pk]
    deletion.refresh_from_db()
    assert deletion.status == AccountDeletion.Status.DONE and deletion.attempts == 2
    assert len(deletion.enterprises_left) == 2  # each enterprise left once
    for enterprise in (world.acme, world.globex):
        with enterprise_schema(enterprise):
            assert Request.objects.filter(account=pat, kind=RequestKind.LEAVE).count() == 1
    assert len([m for m in sms.outbox if "has been deleted" in m.text]) == 1  # one final notice


def test_an_owner_left_alone_during_the_cooling_off_stops_the_execution_before_anything(world, client_for, monkeypatch):
    with enterprise_schema(world.acme):
        Membership.objects.filter(account=world.amy).update(role=Membership.Role.OWNER)
    assert _start_by_api(client_for("acme", world.amy), world.amy).status_code == 201
    deletion = AccountDeletion.objects.get(account=world.amy)
    # alice leaves meanwhile: amy is now the only owner
    assert (
        client_for("acme", world.alice)
        .post("/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json")
        .status_code
        == 200
    )

    assert _execute_at(monkeypatch, deletion.not_before + timedelta(minutes=1)) == []
    deletion.refresh_from_db()
    assert deletion.status == AccountDeletion.Status.BLOCKED and "only owner of Acme Test" in deletion.blocked_reason
    amy = User.objects.get(pk=world.amy.pk)
    assert amy.deletion_pending is False and amy.is_active and amy.mobile
    assert world.membership(world.acme, world.amy).status == Membership.Status.ACTIVE
    [notice] = Notification.objects.filter(account=amy, title="Your account could not be deleted")
    assert notice.body.startswith("Nothing was deleted")
    page = client_for("public", amy).get("/account/delete/")
    assert page.status_code == 200 and b"stopped before anything was deleted" in page.content


# --- routes and the operators' view ---------------------------------------------------------------------


def test_the_routes_have_their_names():
    assert reverse("account_delete", urlconf="config.urls_public") == "/account/delete/"
    assert reverse("api_me_account_deletion") == API
    assert reverse("api_me_account_deletion_code") == API + "code/"
    assert reverse("api_me_account_deletion_cancel") == API + "cancel/"


def test_operators_see_deletions_read_only(world, pat, client_for, monkeypatch):
    assert _start_by_api(client_for("acme", pat), pat).status_code == 201
    operator = client_for("public", world.olga)
    listing = operator.get("/admin/requests/accountdeletion/")
    assert listing.status_code == 200
    assert b"139****0077" in listing.content and MOBILE.encode() not in listing.content
    deletion = AccountDeletion.objects.get(account=pat)
    assert operator.get(f"/admin/requests/accountdeletion/{deletion.pk}/change/").status_code == 200
    assert operator.post(f"/admin/requests/accountdeletion/{deletion.pk}/delete/").status_code == 403
    assert operator.get("/admin/requests/accountdeletion/add/").status_code == 403

    assert _execute_at(monkeypatch, deletion.not_before + timedelta(minutes=1)) == [deletion.pk]
    monkeypatch.undo()  # the operator's session must not look expired
    listing = client_for("public", world.olga).get("/admin/requests/accountdeletion/")
    assert f"#{pat.pk}".encode() in listing.content and b"Acme Test, Globex Test" in listing.content


def test_a_closing_enterprises_member_can_still_ask_for_and_cancel_the_deletion(world, pat, client_for):
    """TEN-4 makes a closing enterprise read-only; the account's own deletion is not its data."""
    # a fresh copy: the session-wide world's object must not stay "terminating" for later tests
    enterprise_termination_start(enterprise=Enterprise.objects.get(pk=world.acme.pk), reason="Closing down")
    client = client_for("acme", pat)
    assert (
        client.post("/api/v1/me/leave/", {"password": PASSWORD}, content_type="application/json").status_code == 403
    )  # read-only otherwise
    assert _start_by_api(client, pat).status_code == 201
    assert client.delete(API).status_code == 200
    assert AccountDeletion.objects.get(account=pat).status == AccountDeletion.Status.CANCELLED
