"""`manage.py purge_retention [--schema NAME] [--batch-size N]`: run the retention purge now
(RET-2..RET-5) for every active, suspended or terminating enterprise, or for one.

The same engine as the nightly task (retention.services.purge.purge_run): the same lock,
so it skips an enterprise whose purge is running elsewhere, and the same receipts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retention.services.purge import BATCH_SIZE, PURGE_STATES, purge_run
from tenants.selectors import enterprise_list


class Command(BaseCommand):
    help = "Purge what is past its retention period, now, for every enterprise in a purged state (or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", help="Purge only this enterprise (its schema name).")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Rows per batch (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be positive.")
        schema = options.get("schema")
        enterprises = enterprise_list(states=tuple(PURGE_STATES)).order_by("schema_name")
        if schema:
            enterprises = enterprises.filter(schema_name=schema)
            if schema == settings.PUBLIC_SCHEMA_NAME or not enterprises.exists():
                raise CommandError(f"No enterprise in a purged state with schema {schema!r}.")
        for enterprise in list(enterprises):
            outcome = purge_run(enterprise=enterprise, batch_size=options["batch_size"])
            if outcome.status == "skipped":
                self.stdout.write(f"{outcome.schema}: skipped (a purge is running elsewhere)")
                continue
            rows = ", ".join(f"{category} {count}" for category, count in outcome.rows.items())
            resumed = " (resumed)" if outcome.resumed else ""
            self.stdout.write(f"{outcome.schema}: run {outcome.run_id}{resumed}: {rows}")
