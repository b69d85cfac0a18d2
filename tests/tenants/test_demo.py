"""Demo data (RUN-3): seeding twice gives the same result, with no duplicates."""

from __future__ import annotations

from django.core.management import call_command

from accounts.models import User
from enterprise_data.models import Membership
from tenants.context import enterprise_schema
from tenants.demo import DEMO_ENTERPRISES, DEMO_PASSWORD
from tenants.models import Domain, Enterprise, MembershipIndex


def snapshot() -> dict:
    counts = {
        "accounts": User.objects.count(),
        "enterprises": Enterprise.objects.count(),
        "domains": Domain.objects.count(),
        "index": MembershipIndex.objects.count(),
    }
    for slug in DEMO_ENTERPRISES:
        with enterprise_schema(Enterprise.objects.get(slug=slug)):
            counts[slug] = sorted(Membership.objects.values_list("display_name", "role"))
    return counts


def test_seed_demo_runs_twice_without_duplicates(db, capsys):
    # the test world already holds enterprises called acme and globex; the demo reuses them
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and "+8613800000103" in out
    assert ("Chen Jing", "member") in first["acme"]
    operator = User.objects.get(mobile="+8613800000000")
    assert operator.is_staff and operator.check_password(DEMO_PASSWORD)
