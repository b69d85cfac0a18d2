"""The import's Celery task (issue 16 §5): thin, takes the import's id, runs in the schema the
task was sent from (tenant-schemas-celery's `_schema_name` header)."""

from __future__ import annotations

from typing import Any

from config.celery import app
from directory.imports.services import member_import_run as run
from tenants.tasks import current_enterprise


@app.task(name="directory.imports.tasks.member_import_run", acks_late=True)
def member_import_run(import_id: int) -> dict[str, Any]:
    enterprise = current_enterprise()
    job = run(enterprise=enterprise, import_id=import_id)
    return {"schema": enterprise.schema_name, "import_id": import_id, "state": job.state if job else "missing"}
