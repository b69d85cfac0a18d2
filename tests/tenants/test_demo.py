"""Demo data (RUN-3): seeding twice gives the same result, with no duplicates, and the demo
holds what the spec lists: departments, scoped admins, attendance, health reports, devices
with enrolled templates (and a pending invitation for /account/)."""

from __future__ import annotations

from django.core.management import call_command

from accounts.models import User
from attendance.models import AttendanceDay, ClockEvent
from biometrics.models import BiometricTemplate, Device
from consent.models import PolicyAcceptance, PolicyVersion
from core.models import Department, Membership
from core.scopes import admin_scope_for
from demo.seed import DEMO_ENTERPRISES, DEMO_PASSWORD
from health.models import HealthReport
from invitations.models import Invitation
from ledger.models import LedgerEntry
from tenants.context import enterprise_schema
from tenants.models import Domain, Enterprise, InvitationIndex, MembershipIndex

COUNTED = (Department, ClockEvent, AttendanceDay, HealthReport, Device, BiometricTemplate, Invitation, LedgerEntry)


def snapshot() -> dict:
    counts = {
        "accounts": User.objects.count(),
        "enterprises": Enterprise.objects.count(),
        "domains": Domain.objects.count(),
        "index": MembershipIndex.objects.count(),
        "invitation_index": InvitationIndex.objects.count(),
        "policy_versions": PolicyVersion.objects.count(),
        "policy_acceptances": PolicyAcceptance.objects.count(),
    }
    for slug in DEMO_ENTERPRISES:
        with enterprise_schema(Enterprise.objects.get(slug=slug)):
            counts[slug] = sorted(Membership.objects.values_list("display_name", "role"))
            for model in COUNTED:
                counts[f"{slug}.{model.__name__}"] = model.objects.count()
    return counts


def test_seed_demo_runs_twice_without_duplicates(db, capsys):
    # the test world already holds enterprises called acme and globex; the demo extends them
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and "+8613800000103" in out and "device key" in out
    assert ("Chen Jing", "member") in first["acme"]
    operator = User.objects.get(mobile="+8613800000000")
    assert operator.is_staff and operator.check_password(DEMO_PASSWORD)
    for model in COUNTED:
        if model is not Invitation:
            assert first[f"acme.{model.__name__}"] > 0, model.__name__
    assert first["globex.Invitation"] > 0
    acme = Enterprise.objects.get(slug="acme")
    with enterprise_schema(acme):
        zhao = Membership.objects.get(display_name="Zhao Lei")
        scope = admin_scope_for(zhao)
        assert scope is not None and scope.has_category("health") and "health" not in scope.whole
        names = set(scope.members("health").values_list("display_name", flat=True))
        assert "Chen Jing" in names and "Sun Li" not in names  # Sales East is under Sales; Engineering is not
        assert AttendanceDay.objects.filter(exceptions__contains=["late"]).exists()
    assert InvitationIndex.objects.filter(mobile="+8613800000103").exists()
    assert PolicyAcceptance.objects.filter(version__version="1.0", account=operator).exists()
