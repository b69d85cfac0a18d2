"""Importing members from Excel or CSV (issue 16 §5, ENT-2, ENT-3): a template, a dry run that
writes nothing, and a Celery job that imports the good rows (docs/directory.md "Import")."""
