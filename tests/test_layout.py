"""The layout's seams (issue 15, docs/architecture.md "Layers"): what lower layers reach only by
name or through a signal must exist, or a mistyped name would fail silently at run time."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

from accounts.signals import account_registered
from config.celery import app
from consent.signals import basis_ended, erasure_counted
from retention.services import purge

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "accounts",
    "consent",
    "core",
    "directory",
    "invitations",
    "attendance",
    "health",
    "biometrics",
    "ledger",
    "retention",
    "requests",
    "tenants",
    "incidents",
    "demo",
    "dashboard",
    "enterprise_data",
    "operators",
)


def _names_sent_by_services() -> set[str]:
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "task_send_on_commit"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    names.add(node.args[0].value)
    return names


def test_every_task_named_by_a_service_or_the_beat_schedule_is_registered():
    app.loader.import_default_modules()
    sent = _names_sent_by_services()
    assert {
        "consent.tasks.consent_withdrawal_erase",
        "consent.tasks.notification_deliver",
        "requests.tasks.export_build",
    } <= sent
    scheduled = set()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        scheduled.add(entry["task"])
        if "task_name" in entry.get("kwargs", {}):
            scheduled.add(entry["kwargs"]["task_name"])
    missing = sorted(name for name in sent | scheduled if name not in app.tasks)
    assert missing == []


def test_the_receivers_of_lower_layers_signals_are_connected():
    # consent announces, retention acts (enterprise_data/apps.py connects retention/receivers.py)
    assert basis_ended.has_listeners() and erasure_counted.has_listeners()
    # accounts announce a registration, consent records the policy acceptance (consent/receivers.py)
    assert account_registered.has_listeners()
    # requests registers the exports' purge with the retention engine (requests/apps.py)
    assert purge._EXPORTS_PURGE
