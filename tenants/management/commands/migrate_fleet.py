from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.migrations_fleet import default_workers, fleet_migrate


class Command(BaseCommand):
    help = (
        "The deploy step's migrations (issue 18 §3): the public schema, then every tenant schema "
        "(enterprises, the template, pool schemas) that lacks migrations, found with one query and "
        "migrated in parallel; up-to-date schemas are skipped. Rerun after a failure or a crash to "
        "continue with what is left. docs/operations.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help=f"schemas migrated at once, each by its own process (default min(4, CPUs) = {default_workers()})",
        )
        parser.add_argument("--skip-public", action="store_true", help="do not migrate the public schema first")
        parser.add_argument(
            "--schema", action="append", dest="schemas", metavar="NAME", help="only these tenant schemas (repeatable)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        report = fleet_migrate(
            workers=options["workers"],
            verbosity=options["verbosity"],
            public=not options["skip_public"],
            schemas=options["schemas"],
            say=lambda line: self.stdout.write(f"migrate_fleet: {line}"),
        )
        self.stdout.write(
            f"migrate_fleet: done in {report.seconds:.1f} s: {len(report.up_to_date)} up to date, "
            f"{len(report.migrated)} migrated, {len(report.failed)} failed"
        )
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} schema(s) failed: {', '.join(sorted(report.failed))}; "
                "fix the cause and run `manage.py migrate_fleet` again (it continues with what is left)"
            )
