"""The typed request of the portal: what the middleware attaches to every `HttpRequest`.

`PortalRequest` is for annotations only (no request is ever built from it): django-tenants'
`TenantMainMiddleware` sets `request.tenant` (the schema the host picked, the public one included)
and `core.middleware.EnterpriseAccessMiddleware` sets `request.enterprise` (None on the public host)
and a lazy `request.membership`. The membership model is in core, a layer above this one, so here
it is only what platform code asks of it (`Member`); `core.http.EnterpriseRequest` narrows all three
for the views and APIs of an enterprise host."""

from __future__ import annotations

from typing import Protocol

from django.http import HttpRequest

from tenants.models import Enterprise


class Member(Protocol):
    """What the platform layer reads of a membership (core.models.Membership)."""

    @property
    def is_admin(self) -> bool: ...


class PortalRequest(HttpRequest):
    """An `HttpRequest` once the middleware has run (see the module's docstring).

    `membership` is a lazy object (`SimpleLazyObject`) on an enterprise host: test it by truth
    (`if request.membership:`), never with `is None`."""

    tenant: Enterprise
    enterprise: Enterprise | None
    membership: Member | None
