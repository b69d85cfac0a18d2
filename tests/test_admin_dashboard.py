"""The operators' console (issue 17 §4, docs/operators-console.md): the platform dashboard's figures
equal counts this test makes itself, the member counts are live (TEN-2), and only staff operators
reach it (SEC-2) — enterprise owners, scoped administrators and members do not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from consent.models import NotificationDelivery
from core.services import membership_create
from incidents.models import SecurityIncident
from operators.console import sidebar_navigation
from operators.selectors import platform_dashboard
from requests.models import Request
from requests.workflow.services import request_submit
from tenants.context import enterprise_schema
from tenants.models import Enterprise, MembershipIndex, PurgeReceipt
from tests.conftest import sign_in


def operator_client(world) -> Client:
    client = Client(HTTP_HOST="localhost")
    sign_in(client, world.olga, "public")
    return client


def _incident(status: str, regulator: str) -> SecurityIncident:
    texts = {
        f"{name}_{lang}": f"{name} {lang}"
        for name in ("title", "what_happened", "scope", "measures", "advice")
        for lang in ("zh", "en")
    }
    return SecurityIncident.objects.create(
        **texts, discovered_at=timezone.now(), status=status, regulator_status=regulator
    )


def _delivery(status: str, days_ago: int) -> NotificationDelivery:
    row = NotificationDelivery.objects.create(
        kind="test", channel="sms", address="+8613700000000", text="x", status=status
    )
    NotificationDelivery.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return row


@pytest.fixture
def activity(world) -> None:
    """Requests on the platform and in two enterprises (some overdue), purge receipts inside and
    outside the last 7 days, incidents and deliveries in every state."""
    today = timezone.localdate()
    platform = request_submit(enterprise=None, account=world.oscar, kind="access")
    Request.objects.filter(pk=platform.pk).update(status=Request.Status.IN_REVIEW, due_on=today - timedelta(days=2))
    request_submit(enterprise=None, account=world.dana, kind="export", verified=False)
    for enterprise, account, late in ((world.acme, world.bob, True), (world.globex, world.gus, False)):
        row = request_submit(
            enterprise=enterprise,
            account=account,
            membership=world.membership(enterprise, account),
            kind="complaint",
            category="health",
            description="Please check.",
        )
        if late:
            with enterprise_schema(enterprise):
                Request.objects.filter(pk=row.pk).update(
                    status=Request.Status.IDENTITY_VERIFIED, due_on=today - timedelta(days=1)
                )
    connection.set_schema_to_public()
    now = timezone.now()
    for days_ago, rows in ((0, 5), (3, 7), (12, 100)):
        PurgeReceipt.objects.create(
            enterprise=world.acme,
            schema_name="acme",
            run_id=days_ago,
            category="attendance",
            cutoff=now,
            rows=rows,
            retention_days=30,
            started_at=now - timedelta(days=days_ago),
            finished_at=now - timedelta(days=days_ago),
        )
    _incident(SecurityIncident.Status.DRAFT, SecurityIncident.Regulator.PENDING)
    _incident(SecurityIncident.Status.PUBLISHED, SecurityIncident.Regulator.PENDING)
    _incident(SecurityIncident.Status.PUBLISHED, SecurityIncident.Regulator.REPORTED)
    _delivery(NotificationDelivery.Status.FAILED, 1)
    _delivery(NotificationDelivery.Status.FAILED, 20)
    _delivery(NotificationDelivery.Status.SENT, 1)


def _requests_counted_here() -> tuple[dict[str, int], int]:
    """By status and overdue, counted schema by schema (the selector does one UNION ALL)."""
    today = timezone.localdate()
    by_status: dict[str, int] = {}
    overdue = 0
    querysets = [("public", Request.objects.filter(membership__isnull=True))]
    enterprises = Enterprise.objects.exclude(schema_name="public").exclude(state=Enterprise.State.TERMINATED)
    for enterprise in enterprises:
        with enterprise_schema(enterprise):
            rows = list(Request.objects.values_list("status", "due_on"))
        querysets.append((enterprise.schema_name, rows))  # type: ignore[arg-type]
    connection.set_schema_to_public()
    for _schema, rows in querysets:
        pairs = rows.values_list("status", "due_on") if hasattr(rows, "values_list") else rows
        for status, due_on in pairs:
            by_status[status] = by_status.get(status, 0) + 1
            if status in Request.RUNNING_STATUSES and due_on is not None and due_on < today:
                overdue += 1
    return by_status, overdue


def test_dashboard_figures_equal_counts_made_here(world, activity):
    figures = platform_dashboard()
    enterprises = list(Enterprise.objects.exclude(schema_name="public"))
    assert figures.enterprises == len(enterprises) == 3
    assert figures.enterprises_by_state == {
        state: sum(1 for e in enterprises if e.state == state) for state in Enterprise.State.values
    }
    assert figures.enterprises_by_state["suspended"] == 1  # Initech
    live = [e.pk for e in enterprises if e.state != Enterprise.State.TERMINATED]
    assert figures.members == MembershipIndex.objects.filter(enterprise_id__in=live).count() > 0

    by_status, overdue = _requests_counted_here()
    assert {status: n for status, n in figures.requests.by_status.items() if n} == by_status
    assert figures.requests.overdue == overdue == 2  # the platform's and Acme's
    assert figures.requests.overdue_platform == 1
    assert figures.requests.open == sum(by_status.get(status, 0) for status in Request.OPEN_STATUSES) >= 4

    assert figures.purge_receipts_7d == 2 and figures.purged_rows_7d == 12  # not the one 12 days old
    assert sum(n for _day, n in figures.purges_by_day) == 2 and len(figures.purges_by_day) == 7
    assert figures.purges_by_day[-1] == (timezone.localdate(), 1)
    assert (figures.incidents_draft, figures.incidents_report_pending, figures.incidents_open) == (1, 1, 2)
    assert (figures.deliveries_failed, figures.deliveries_failed_7d) == (2, 1)


def test_the_enterprise_form_masks_the_creators_mobile(world):
    page = operator_client(world).get(f"/admin/tenants/enterprise/{world.acme.pk}/change/").content.decode()
    assert "139****0001" in page and "13900000001" not in page


def test_member_counts_are_live_not_the_stored_figure(world, client_for):
    """A member who joins counts at once, on the dashboard and in the enterprises' list."""
    Enterprise.objects.filter(pk=world.acme.pk).update(member_count=0)
    before = platform_dashboard().members
    membership_create(enterprise=world.acme, account=world.oscar, role="member")
    connection.set_schema_to_public()
    assert platform_dashboard().members == before + 1
    acme_members = MembershipIndex.objects.filter(enterprise=world.acme).count()
    response = operator_client(world).get("/admin/tenants/enterprise/?q=Acme")
    assert response.status_code == 200
    row = response.context["cl"].result_list[0]
    assert row.live_members == acme_members == 7
    assert f">{acme_members}<" in response.content.decode()


def test_the_admin_index_shows_the_dashboard_in_the_products_name(world, activity):
    response = operator_client(world).get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Django administration" not in page and "Django site admin" not in page
    assert "Personal-data portal" in page
    assert 'id="platform-dashboard"' in page and 'id="requests-overdue"' in page
    assert page.count('data-chart="chart-') == 3
    figures = response.context["dashboard"]
    assert figures.requests.overdue == 2
    # the sidebar groups the records; the internals sit under "Advanced", not on the home page
    groups = {str(group.get("title", "")): group for group in response.context["sidebar_navigation"]}
    assert {"Enterprises & people", "Requests & incidents", "Policies & consent", "Advanced"} <= set(groups)
    advanced = [item["link"] for item in groups["Advanced"]["items"]]
    assert "/admin/axes/accessattempt/" in advanced and "/admin/accounts/smscode/" in advanced
    assert "/admin/django_celery_beat/periodictask/" in advanced and "/admin/otp_totp/totpdevice/" in advanced
    assert "/admin/tenants/enterprise/" in [item["link"] for item in groups["Enterprises & people"]["items"]]


def test_the_admin_speaks_chinese(world):
    response = operator_client(world).get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    assert "个人信息门户" in page and "高级" in page and "企业与人员" in page
    assert "Django administration" not in page and "Django 管理" not in page


@pytest.mark.parametrize("who", ["alice", "sam", "bob", "oscar"])
def test_only_staff_operators_reach_the_dashboard(world, client_for, who):
    """Owners, scoped administrators, members and accounts without a membership are sent to the
    admin's sign-in page on the public host; enterprise hosts have no /admin/ at all."""
    account: User = getattr(world, who)
    response = client_for("public", account).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # an enterprise host has no /admin/ (404), or refuses an account that is not its member (403)
    assert client_for("acme", account).get("/admin/").status_code in (403, 404)


def test_a_staff_account_without_permissions_sees_no_links(world, client_for):
    clerk = User.objects.create_user("+8613900000061", "clerk-pass-7", nickname="Clerk", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    sign_in(client, clerk, "public")
    response = client.get("/admin/")
    assert response.status_code == 200
    request = response.wsgi_request
    items = [item for group in sidebar_navigation(request)[1:] for item in group["items"]]
    assert items and not any(item["permission"](request) for item in items)


def test_admin_pages_relax_only_script_eval_and_only_on_admin(world, client_for):
    """docs/operators-console.md, "CSP": /admin/ adds 'unsafe-eval' for Alpine.js; never
    'unsafe-inline' for scripts; other pages keep the strict policy."""
    client = operator_client(world)
    for path in ("/admin/", "/admin/tenants/enterprise/", f"/admin/tenants/enterprise/{world.acme.pk}/change/"):
        policy = client.get(path)["Content-Security-Policy"]
        script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src "))
        assert "'unsafe-eval'" in script_src and "'unsafe-inline'" not in script_src, path
        assert "'nonce-" in script_src
    assert "unsafe-eval" not in client_for("public", world.oscar).get("/account/")["Content-Security-Policy"]
    assert "unsafe-eval" not in client_for("acme", world.alice).get("/console/")["Content-Security-Policy"]


def test_every_admin_list_and_form_opens(world):
    """Our admins and the other packages' (themed by operators.admin.theme_other_admins) render."""
    client = operator_client(world)
    groups = sidebar_navigation(client.get("/admin/").wsgi_request)
    links = [item["link"] for group in groups for item in group["items"]]
    assert len(links) >= 20
    for link in links:
        assert client.get(link).status_code == 200, link
    for path in (
        "/admin/auth/group/add/",
        "/admin/django_celery_beat/periodictask/add/",
        "/admin/consent/policyversion/add/",
        "/admin/tenants/enterprise/add/",
        f"/admin/accounts/user/{world.bob.pk}/change/",
    ):
        assert client.get(path).status_code == 200, path
