"""The one decision behind every console page and API view on an enterprise host (ENT-8):
`access_scope` answers whether a member may use a view that declared its access
(tenants.access) and, for administrators, with which scope. docs/security.md, "Access declarations"."""

from __future__ import annotations

from core.models import Membership
from core.scopes import AdminScope, admin_scope_for
from tenants.access import Access, Kind, Need
from tenants.categories import ANY_CATEGORY


def access_scope(
    access: Access, membership: Membership | None, method: str, scope: AdminScope | None = None
) -> tuple[bool, AdminScope | None]:
    """(allowed, the acting admin's scope) for one request of an enterprise member. The one
    decision behind every console page and API view (ENT-8). `scope`: the member's scope if
    already resolved in this request."""
    if membership is None:
        return False, None
    part = access.for_method(method)
    if part is None:  # no handler for this method: the view answers 405
        return True, None
    access = part
    if access.kind == Kind.SELF_SERVICE:
        return True, None
    if access.kind != Kind.ADMIN:
        return False, None
    scope = scope if scope is not None and scope.membership == membership else admin_scope_for(membership)
    if scope is None:
        return False, None
    need = access.need(method)
    if need is None:  # no handler for this method: the view answers 405
        return True, scope
    assert access.category is not None
    if access.category == ANY_CATEGORY:
        return True, scope
    if need == Need.WHOLE:
        return access.category in scope.whole, scope
    return scope.has_category(access.category), scope
