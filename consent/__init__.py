"""Consent (§5): the platform policy (policy), enterprise notices (notices), separate consents and
legal bases (consents), the inbox and its deliveries (inbox), device permissions (permissions),
minors (minors)."""
