"""The API base of every enterprise host (`/api/v1/`): each view derives from EnterpriseApiView
and declares its access (core.access); `DeclaredAccess` checks it on every request."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from core.access import access_scope
from core.models import Membership
from core.scopes import AdminScope
from tenants.access import Access, Kind, declared_access
from tenants.http import PortalRequest
from tenants.models import Enterprise
from tenants.throttling import ThrottledInOneTrip


class IsEnterpriseMember(BasePermission):
    message = "You are not a member of this enterprise."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request, "membership", None))


class DeclaredAccess(BasePermission):
    """The view's access declaration for this request's method (ENT-8): core.access
    decides; an admin view gets `view.scope`."""

    message = "Your administrator scope does not include this data category."

    def has_permission(self, request: Any, view: Any) -> bool:
        allowed, scope = access_scope(view.access, getattr(request, "membership", None) or None, request.method)
        if scope is not None:
            view.scope = scope
        return allowed


class EnterpriseApiView(ThrottledInOneTrip, APIView):
    """Base of every API view on an enterprise host: resolves the enterprise and the acting
    member and refuses everyone else (SEC-1). Every subclass declares its `access`
    (core.access: SelfService(), Read(category), Manage(category), ByMethod(…)); a
    route to a class that declares nothing fails when the URLs load. Admin views get
    `self.scope` (like ConsoleView)."""

    permission_classes = [IsEnterpriseMember, DeclaredAccess]
    allowed_kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.SELF_SERVICE, Kind.ADMIN})
    access: Access
    enterprise: Enterprise
    membership: Membership
    scope: AdminScope

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        declared_access(cls, allowed=cls.allowed_kinds)
        return super().as_view(**initkwargs)

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        # DRF's Request (untyped here) wraps the Django request the middleware annotated
        django_request: PortalRequest = request._request
        enterprise: Enterprise | None = getattr(django_request, "enterprise", None)
        if enterprise is None:
            raise NotFound("Not an enterprise host.")
        self.enterprise = enterprise
        # IsEnterpriseMember (run by super().initial) refuses a request without one
        self.membership = cast(Membership, django_request.membership)
        super().initial(request, *args, **kwargs)
