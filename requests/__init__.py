"""Self-service and data-subject requests (§6), the top layer below the wiring: workflow, data,
export, correction, leave, account_deletion. The package shadows the PyPI `requests` library
(docs/architecture.md)."""
