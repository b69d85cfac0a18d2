"""The console home dashboard (issue 16 §2; ENT-12, ENT-8): today's figures of every feature an
administrator holds a category for, each a link to the list behind it, and the setup checklist
of a new enterprise.

It reads attendance, health, invitations, requests, notices and retention purge runs, so it sits
above all of them: a layer of its own just above `requests` (pyproject.toml, docs/architecture.md
"Layers"; docs/dashboard.md says why). It only reads: selectors, views, urls."""
