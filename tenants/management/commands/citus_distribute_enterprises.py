from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.citus import enterprises_distribute


class Command(BaseCommand):
    help = (
        "For a database moved onto Citus (issue 18 §5): make the public tables enterprises point to "
        "reference tables, then distribute every enterprise schema not distributed yet "
        "(citus_schema_distribute), one transaction each. The template stays on the coordinator; "
        "pool schemas are distributed when claimed. Rerun after a failure: it does only what is "
        "left. Does nothing on plain PostgreSQL. docs/scaling.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schema", action="append", dest="schemas", metavar="NAME", help="only these schemas (repeatable)"
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would be distributed, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = enterprises_distribute(
            schemas=options["schemas"],
            dry_run=options["dry_run"],
            say=lambda line: self.stdout.write(f"citus_distribute_enterprises: {line}"),
        )
        if not outcome.citus:
            self.stdout.write(
                "citus_distribute_enterprises: Citus is not installed in this database (no `citus` "
                "extension): nothing to distribute, nothing changed."
            )
            return
        self.stdout.write(
            f"citus_distribute_enterprises: done: {len(outcome.distributed)} distributed, "
            f"{len(outcome.plan.distributed)} distributed already, {len(outcome.failed)} failed"
            + (" (dry run: nothing changed)" if options["dry_run"] else "")
        )
        if outcome.failed:
            raise CommandError(
                f"{len(outcome.failed)} schema(s) failed: {', '.join(sorted(outcome.failed))}; fix the cause "
                "and run `manage.py citus_distribute_enterprises` again (it continues with what is left)"
            )
