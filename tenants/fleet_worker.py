"""The start of a `migrate_fleet` worker process (tenants.migrations_fleet).

Workers are spawned, and a spawned process unpickles its initializer before Django is set up:
this module therefore imports nothing of Django or of the project at the top."""

from __future__ import annotations

import os


def worker_start(settings_module: str, database_names: dict[str, str]) -> None:
    """Django set up as in the parent, on the same databases (the parent's names may have been
    changed at run time, e.g. to a test database)."""
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from tenants.context import use_public_schema

    for alias, name in database_names.items():
        settings.DATABASES[alias]["NAME"] = name
        connections[alias].close()
        connections[alias].settings_dict["NAME"] = name
    use_public_schema()
