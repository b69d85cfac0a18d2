"""Members' notice and consent pages (CON-3, CON-4, CON-6) on an enterprise host.

`open_patterns`: /notice/… (readable before joining: the invitation pages link to it);
`me_patterns`: /me/notice/…, /me/consents/…; `api_patterns` (under /api/v1/): me/notice/…,
me/consents/…. Mounted by config/urls_tenants.py."""

open_patterns: list = []
me_patterns: list = []
api_patterns: list = []
