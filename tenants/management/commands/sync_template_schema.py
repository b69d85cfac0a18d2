from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.services import public_tenant_ensure, template_schema_sync


class Command(BaseCommand):
    help = (
        "Bring the platform's own schemas in step after `migrate`: the public tenant and its host "
        "names, and the template schema new enterprises are cloned from (TEN-3)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        public_tenant_ensure()
        changed = template_schema_sync(verbosity=max(0, options["verbosity"] - 1))
        state = "migrated" if changed else "already current"
        self.stdout.write(f"Template schema {settings.TENANT_BASE_SCHEMA!r} {state}.")
