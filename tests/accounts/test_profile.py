"""The account profile and real-name verification on the public host (ACC-2), and the
operators' verification in the Django admin."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import AccountDataKey, IdDocument, User
from accounts.profile.services import real_name_summary
from tests.conftest import sign_in

ID_NUMBER = "110105199003071239"  # born 1990-03-07
LEGAL_NAME = "张伟测试"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
REFUSAL = b"A change to verified real-name data is a correction request"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def upload(data: bytes = JPEG, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def real_name_post(**overrides) -> dict:
    return {
        "legal_name": LEGAL_NAME,
        "id_number": ID_NUMBER,
        "id_front": upload(),
        "id_back": upload(PNG, "b.png"),
        **overrides,
    }


def raw_row(user: User) -> str:
    """Everything the database holds about the account's real-name data, as text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT legal_name_encrypted, id_number_encrypted FROM accounts_user WHERE id = %s", [user.pk])
        fields = cursor.fetchone()
        cursor.execute("SELECT data_encrypted FROM accounts_iddocument WHERE account_id = %s", [user.pk])
        documents = [row[0] for row in cursor.fetchall()]
    return repr([bytes(v) if v is not None else None for v in (*fields, *documents)])


# --- profile -----------------------------------------------------------------------------------


def test_profile_needs_sign_in(world, client_for):
    assert client_for("public").get("/account/profile/")["Location"].startswith("/login/")
    assert client_for("public").get("/account/real-name/")["Location"].startswith("/login/")


def test_account_page_links_to_the_profile(world, client_for):
    page = client_for("public", world.oscar).get("/account/")
    assert b"/account/profile/" in page.content and b"/account/real-name/" in page.content
    assert b"Oscar Outsider" in page.content  # what it showed before stays


def test_profile_update_with_avatar(world, client_for):
    client = client_for("public", world.oscar)
    assert client.get("/account/profile/").status_code == 200
    response = client.post(
        "/account/profile/",
        {"nickname": " Oscar O ", "gender": "male", "birthday": "1990-03-07", "avatar": upload(PNG, "me.gif")},
    )
    assert response.status_code == 302
    world.oscar.refresh_from_db()
    assert (world.oscar.nickname, world.oscar.gender, world.oscar.birthday) == (
        "Oscar O",
        "male",
        datetime.date(1990, 3, 7),
    )
    assert world.oscar.avatar.name.endswith(".png")  # named by its content, not by the upload
    avatar = client.get("/account/profile/avatar/")
    assert avatar.status_code == 200 and avatar["Content-Type"] == "image/png" and avatar.content == PNG
    response = client.post("/account/profile/", {"nickname": "Oscar O", "avatar_clear": "on"})
    world.oscar.refresh_from_db()
    assert not world.oscar.avatar
    assert client.get("/account/profile/avatar/").status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"avatar": SimpleUploadedFile("x.gif", b"GIF89a" + b"\x00" * 50)}, "avatar"),
        ({"avatar": SimpleUploadedFile("x.jpg", b"<?php echo 1; ?>")}, "avatar"),
        ({"avatar": SimpleUploadedFile("big.jpg", JPEG[:4] + b"\x00" * (2 * 1024 * 1024))}, "avatar"),
        ({"birthday": "tomorrow (local)"}, "birthday"),
        ({"birthday": "not a date"}, "birthday"),
        ({"gender": "robot"}, "gender"),
        ({"nickname": "x" * 65}, "nickname"),
    ],
)
def test_invalid_profile_changes_nothing(world, client_for, data, field):
    if data.get("birthday") == "tomorrow (local)":  # computed when the test runs, not when it is collected
        data = {"birthday": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()}
    client = client_for("public", world.oscar)
    before = User.objects.filter(pk=world.oscar.pk).values("nickname", "gender", "birthday", "avatar").get()
    response = client.post("/account/profile/", {"nickname": "Changed", **data})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert User.objects.filter(pk=world.oscar.pk).values("nickname", "gender", "birthday", "avatar").get() == before


# --- real-name verification --------------------------------------------------------------------


def test_real_name_submission_is_encrypted_and_pending(world, client_for):
    client = client_for("public", world.oscar)
    assert client.get("/account/real-name/").status_code == 200
    response = client.post("/account/real-name/", real_name_post(id_number="1101 0519 9003 0712 39"))
    assert response.status_code == 302
    world.oscar.refresh_from_db()
    assert world.oscar.real_name_status == "pending"
    raw = raw_row(world.oscar)
    assert ID_NUMBER not in raw
    for secret in (ID_NUMBER.encode(), LEGAL_NAME.encode(), JPEG[:12], PNG[:8]):
        assert repr(secret)[2:-1] not in raw
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM accounts_user WHERE id = %s AND (position(%s in id_number_encrypted) > 0 "
            "OR position(%s in legal_name_encrypted) > 0)",
            [world.oscar.pk, ID_NUMBER.encode(), LEGAL_NAME.encode()],
        )
        assert cursor.fetchone()[0] == 0
    summary = real_name_summary(account=world.oscar)
    assert (summary.legal_name, summary.masked_id_number) == (LEGAL_NAME, "110***********1239")
    assert IdDocument.objects.filter(account=world.oscar).count() == 2
    page = client.get("/account/real-name/")
    assert b"110***********1239" in page.content and ID_NUMBER.encode() not in page.content


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": "110105199003071235"}, "id_number"),  # wrong check digit
        ({"id_number": "11010519900307"}, "id_number"),
        ({"id_number": "990105199003071238"}, "id_number"),  # no such region
        ({"legal_name": "   "}, "legal_name"),
        ({"id_front": SimpleUploadedFile("f.gif", b"GIF89a" + b"\x00" * 20)}, "id_front"),
        ({"id_back": SimpleUploadedFile("b.jpg", JPEG[:4] + b"\x00" * (5 * 1024 * 1024))}, "id_back"),
    ],
)
def test_invalid_real_name_submission_stores_nothing(world, client_for, overrides, field):
    client = client_for("public", world.oscar)
    keys = AccountDataKey.objects.count()
    response = client.post("/account/real-name/", real_name_post(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    world.oscar.refresh_from_db()
    assert world.oscar.real_name_status == "none"
    assert world.oscar.legal_name_encrypted is None and world.oscar.id_number_encrypted is None
    assert not IdDocument.objects.filter(account=world.oscar).exists()
    assert AccountDataKey.objects.count() == keys


def test_id_number_must_match_the_profile_birthday(world, client_for):
    User.objects.filter(pk=world.oscar.pk).update(birthday=datetime.date(1991, 1, 1))
    response = client_for("public", world.oscar).post("/account/real-name/", real_name_post())
    assert response.status_code == 400
    assert "differs from the birthday" in str(response.context["form"].errors["id_number"])


def verify(world, client_for) -> None:
    assert client_for("public", world.oscar).post("/account/real-name/", real_name_post()).status_code == 302
    response = operator().post(
        "/admin/accounts/user/", {"action": "mark_real_name_verified", "_selected_action": [world.oscar.pk]}
    )
    assert response.status_code == 302
    world.oscar.refresh_from_db()
    assert world.oscar.real_name_status == "verified" and world.oscar.real_name_verified_at is not None


def test_verified_real_name_refuses_edits_and_nothing_changes(world, client_for):
    verify(world, client_for)
    before = (
        User.objects.filter(pk=world.oscar.pk)
        .values("legal_name_encrypted", "id_number_encrypted", "real_name_status")
        .get()
    )
    documents = list(IdDocument.objects.filter(account=world.oscar).values_list("data_encrypted", flat=True))
    client = client_for("public", world.oscar)
    page = client.get("/account/real-name/")
    assert page.status_code == 200 and REFUSAL in page.content and b'<form class="stacked"' not in page.content
    response = client.post(
        "/account/real-name/", real_name_post(legal_name="Someone Else", id_number="11010519491231002X")
    )
    assert response.status_code == 400 and REFUSAL in response.content
    assert (
        User.objects.filter(pk=world.oscar.pk)
        .values("legal_name_encrypted", "id_number_encrypted", "real_name_status")
        .get()
        == before
    )
    assert list(IdDocument.objects.filter(account=world.oscar).values_list("data_encrypted", flat=True)) == documents


def test_verified_id_number_keeps_the_birthday_consistent(world, client_for):
    verify(world, client_for)
    response = client_for("public", world.oscar).post("/account/profile/", {"birthday": "1991-01-01"})
    assert response.status_code == 400 and "birthday" in response.context["form"].errors


# --- operators ---------------------------------------------------------------------------------


def operator() -> Client:
    client = Client(HTTP_HOST="localhost")
    sign_in(client, User.objects.get(mobile="+8613900000051"), "public")
    return client


def test_admin_shows_only_the_masked_id_number(world, client_for):
    client_for("public", world.oscar).post("/account/real-name/", real_name_post())
    client = operator()
    listing = client.get("/admin/accounts/user/?real_name_status=pending")
    assert listing.status_code == 200
    assert b"110***********1239" in listing.content and ID_NUMBER.encode() not in listing.content
    assert LEGAL_NAME.encode() not in listing.content
    detail = client.get(f"/admin/accounts/user/{world.oscar.pk}/change/")
    assert detail.status_code == 200
    assert b"110***********1239" in detail.content and ID_NUMBER.encode() not in detail.content
    photo = client.get(f"/admin/accounts/user/{world.oscar.pk}/id-document/front/")
    assert photo.status_code == 200 and photo.content == JPEG and photo["Content-Type"] == "image/jpeg"
    assert "no-cache" in photo["Cache-Control"] or "no-store" in photo["Cache-Control"]
    assert client.get(f"/admin/accounts/user/{world.oscar.pk}/id-document/side/").status_code == 404
    assert client.get(f"/admin/accounts/user/{world.bob.pk}/id-document/front/").status_code == 404
    outsider = client_for("public", world.bob).get(f"/admin/accounts/user/{world.oscar.pk}/id-document/front/")
    assert outsider.status_code == 302 and "/admin/login/" in outsider["Location"]


def test_admin_rejects_a_submission_and_erases_it(world, client_for):
    client_for("public", world.oscar).post("/account/real-name/", real_name_post())
    response = operator().post(
        "/admin/accounts/user/",
        {"action": "reject_real_name_submission", "_selected_action": [world.oscar.pk, world.bob.pk]},
        follow=True,
    )
    assert b"1 real-name submission rejected" in response.content
    assert b"1 account was skipped" in response.content
    world.oscar.refresh_from_db()
    assert world.oscar.real_name_status == "none"
    assert world.oscar.legal_name_encrypted is None and world.oscar.id_number_encrypted is None
    assert not IdDocument.objects.filter(account=world.oscar).exists()
    assert client_for("public", world.oscar).post("/account/real-name/", real_name_post()).status_code == 302


def test_only_pending_submissions_can_be_verified(world):
    operator().post("/admin/accounts/user/", {"action": "mark_real_name_verified", "_selected_action": [world.bob.pk]})
    world.bob.refresh_from_db()
    assert world.bob.real_name_status == "none"
