"""`manage.py verify_ledger [--schema NAME]`: recompute every enterprise's ledger hash chain (ENT-10).

One line per enterprise; exits non-zero (CommandError) when any chain is broken, so it can run
from cron or CI and alert."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from enterprise_data.services.ledger import ledger_verify
from tenants.models import Enterprise
from tenants.selectors import enterprise_list

STATES = (Enterprise.State.ACTIVE, Enterprise.State.SUSPENDED, Enterprise.State.TERMINATING)


class Command(BaseCommand):
    help = (
        "Verify the instruction ledger's hash chain of every active, suspended or terminating "
        "enterprise (or of one, --schema). Fails when any chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", help="Verify only this enterprise (its schema name).")

    def handle(self, *args: Any, **options: Any) -> None:
        schema = options.get("schema")
        if schema:
            enterprise = (Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
                          .filter(schema_name=schema).first())
            if enterprise is None:
                raise CommandError(f"No enterprise with schema {schema!r}.")
            enterprises = [enterprise]
        else:
            enterprises = list(enterprise_list(states=STATES).order_by("schema_name"))
        broken = []
        for enterprise in enterprises:
            result = ledger_verify(enterprise=enterprise)
            if result.ok:
                self.stdout.write(f"{result.schema}: {result.entries} entries, chain intact")
            else:
                line = f"{result.schema}: BROKEN at entry #{result.first_broken_id}: {result.reason}"
                self.stdout.write(line)
                broken.append(line)
        if broken:
            raise CommandError("Ledger chain broken: " + "; ".join(broken))
