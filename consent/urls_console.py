"""Administrators' notice and consent pages (CON-3, CON-4): /console/notices/…,
/console/consents/… and, under /api/v1/, notices/… and consents/…. Mounted by
config/urls_tenants.py."""

console_patterns: list = []
api_patterns: list = []
