"""Operators' Django admin on the public host (ACC-5, TEN-2, TEN-4)."""

from __future__ import annotations

from django.test import Client
from django_tenants.utils import schema_exists

from core.models import Membership
from tenants.context import enterprise_schema
from tenants.models import Enterprise
from tests.conftest import sign_in


def operator_client(world) -> Client:
    client = Client(HTTP_HOST="localhost")
    sign_in(client, world.olga, "public")
    return client


def test_accounts_list_masks_mobile_numbers(world):
    response = operator_client(world).get("/admin/accounts/user/")
    assert response.status_code == 200
    assert b"139****0003" in response.content
    assert b"+8613900000003" not in response.content


def test_enterprise_list_shows_state_and_domains(world):
    client = operator_client(world)
    response = client.get("/admin/tenants/enterprise/")
    assert response.status_code == 200
    assert b"Acme Test" in response.content and b"Suspended" in response.content
    assert b"Platform" not in response.content  # the public tenant is not an enterprise
    response = client.get(f"/admin/tenants/enterprise/{world.acme.pk}/change/")
    assert b"acme.localhost" in response.content


def test_operator_creates_an_enterprise_in_the_admin(world):
    client = operator_client(world)
    response = client.post(
        "/admin/tenants/enterprise/add/", {"name": "Wayne Enterprises", "slug": "wayne", "owner_mobile": "13900000041"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    enterprise = Enterprise.objects.get(slug="wayne")
    assert schema_exists("wayne")
    with enterprise_schema(enterprise):
        assert Membership.objects.get(account=world.oscar).role == "owner"


def test_admin_add_form_refuses_bad_input_and_creates_nothing(world):
    client = operator_client(world)
    count = Enterprise.objects.count()
    response = client.post("/admin/tenants/enterprise/add/", {"name": "W", "slug": "www", "owner_mobile": "123"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "slug" in errors and "owner_mobile" in errors
    assert Enterprise.objects.count() == count


def test_operator_suspends_and_reactivates(world, client_for):
    client = operator_client(world)
    url = "/admin/tenants/enterprise/"
    client.post(url, {"action": "suspend", "_selected_action": [world.globex.pk]})
    assert Enterprise.objects.get(pk=world.globex.pk).state == "suspended"
    assert client_for("globex", world.gus).get("/me/").status_code == 403
    client.post(url, {"action": "reactivate", "_selected_action": [world.globex.pk]})
    assert Enterprise.objects.get(pk=world.globex.pk).state == "active"
    assert client_for("globex", world.gus).get("/me/").status_code == 200


def test_admin_is_for_operators_only(world, client_for):
    response = client_for("public", world.alice).get("/admin/")
    assert response.status_code == 302
    assert client_for("acme", world.alice).get("/admin/").status_code == 404  # not on enterprise hosts


def test_permission_pickers_name_permissions_in_the_readers_language(world):
    """Issue 17 §5: the group and account forms' permission pickers read "账号 | 可添加", not the
    English names Django stored ("Can add account"); only the console's models are offered, and
    the chosen permissions are saved."""
    from django.contrib.auth.models import Group, Permission

    client = operator_client(world)
    client.cookies["django_language"] = "zh-hans"
    for url in ("/admin/auth/group/add/", f"/admin/accounts/user/{world.bob.pk}/change/"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "可添加" in page and "可查看" in page, url
        assert "Can add" not in page and "Scope: " not in page and "content type" not in page, url
    add_account = Permission.objects.get(content_type__app_label="accounts", codename="add_user")
    response = client.post("/admin/auth/group/add/", {"name": "Support desk", "permissions": [add_account.pk]})
    assert response.status_code == 302
    assert list(Group.objects.get(name="Support desk").permissions.all()) == [add_account]
    session = Permission.objects.get(content_type__app_label="sessions", codename="add_session")
    response = client.post("/admin/auth/group/add/", {"name": "Sessions desk", "permissions": [session.pk]})
    assert response.status_code == 200 and not Group.objects.filter(name="Sessions desk").exists()


def test_second_factor_devices_read_in_the_readers_language_and_keep_their_secrets(world):
    """Issue 17 §5: django-otp's admins with our words (operators/otp_admin.py); an existing
    authenticator's key and QR code are never shown (OTP_ADMIN_HIDE_SENSITIVE_DATA)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = operator_client(world)
    device = TOTPDevice.objects.filter(user=world.amy).first()
    assert device is not None
    listing = client.get("/admin/otp_totp/totpdevice/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "设备名称" in listing and "按账号的手机号或电子邮箱搜索" in listing
    assert "Last used at" not in listing and "QR Code" not in listing
    change = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert change.status_code == 200
    page = change.content.decode()
    assert "时间步长（秒）" in page and "Identity" not in page and "Throttling" not in page
    assert device.key not in page  # the secret never reaches the page
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    static = client.get("/admin/otp_static/staticdevice/add/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "恢复码" in static and "Token" not in static
