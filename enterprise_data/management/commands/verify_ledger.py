"""`manage.py verify_ledger [--schema NAME]`: recompute every enterprise's ledger hash chain (ENT-10).

One line per enterprise, and one more per further entry that is not part of the verified chain
(every row of the table is either in the chain or named by id: ids <= 0, rows below the newest
purge checkpoint, removed/inserted/changed entries; at most services.ledger.MAX_REPORTED listed).
Exits non-zero (CommandError naming the entries) when any chain is broken, so it can run from
cron or CI and alert."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.services import ledger_verify
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
            enterprise = (
                Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(schema_name=schema).first()
            )
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
                first, *others = result.problems
                self.stdout.write(f"{result.schema}: BROKEN at entry #{first.id}: {first.reason}")
                for problem in others:
                    self.stdout.write(f"{result.schema}: also entry #{problem.id}: {problem.reason}")
                unlisted = result.problem_count - len(result.problems)
                if unlisted:
                    self.stdout.write(f"{result.schema}: and {unlisted} more entries not listed")
                ids = ", ".join(f"#{problem.id}" for problem in result.problems)
                broken.append(
                    f"{result.schema}: {result.problem_count} entries outside the chain or damaged "
                    f"({ids}{', …' if unlisted else ''})"
                )
        if broken:
            raise CommandError("Ledger chain broken: " + "; ".join(broken))
