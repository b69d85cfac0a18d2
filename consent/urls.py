"""Routes of the consent app, gathered from its features for config/urls_*.py.

Public host (config/urls_public.py): `public_patterns` — the policy pages (CON-1: a stable URL per
version), `/account/inbox/`; `/account/permissions/` is consent.permissions.urls.
Enterprise hosts (config/urls_tenants.py): `tenant_patterns` at the root (policy, `/me/inbox/`,
the notifications API), `open_patterns` at the root (the notice, open to anyone),
`me_patterns` under /me/, `console_patterns` under /console/, `api_patterns` under /api/v1/."""

from consent.consents import urls as consents
from consent.inbox import urls as inbox
from consent.notices import urls as notices
from consent.permissions import urls as permissions
from consent.policy import urls as policy

public_patterns = [*policy.patterns, *inbox.public_patterns]
tenant_patterns = [*policy.patterns, *inbox.tenant_patterns]
open_patterns = [*notices.open_patterns]
me_patterns = [*notices.me_patterns, *consents.me_patterns]
console_patterns = [*notices.console_patterns, *consents.console_patterns]
api_patterns = [*permissions.api_patterns, *notices.api_patterns, *consents.api_patterns]

urlpatterns = public_patterns
