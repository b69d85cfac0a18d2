"""Base views of every enterprise page: `EnterpriseMemberView` for members (`/me/`) and
`ConsoleView` for administrators (`/console/`); each declares its access (core.access), checked
in `as_view()` and on every request."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views import View
from django.views.generic import FormView

from accounts.http import AccountRequest
from accounts.views import LoginView
from core.access import access_scope
from core.forms import EnterpriseLoginForm, EnterpriseSignupForm
from core.http import EnterpriseRequest
from core.models import Membership
from core.scopes import AdminScope
from core.services import CreatorDetails, enterprise_create
from tenants.access import Access, Kind, declared_access
from tenants.models import Enterprise


class EnterpriseMemberView(LoginRequiredMixin, View):
    """Base of every page on an enterprise host: the enterprise and the acting member are
    resolved here (by EnterpriseAccessMiddleware) and required; nothing below may skip it.
    Every subclass declares its `access` (core.access: SelfService() for a member's
    own pages, Read/Manage(category) for the console); a route to a class that declares nothing
    fails when the URLs load, and the declaration is enforced on every request (ENT-8)."""

    request: EnterpriseRequest  # once dispatch() has checked it (core.http)
    enterprise: Enterprise
    membership: Membership
    access: Access
    scope: AdminScope
    allowed_kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.SELF_SERVICE, Kind.ADMIN})

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        declared_access(cls, allowed=cls.allowed_kinds)
        return super().as_view(**initkwargs)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "enterprise", None) is None:
            raise Http404("Not an enterprise host.")
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        # the checks above make it one (EnterpriseAccessMiddleware set `enterprise` and `membership`)
        checked = cast(EnterpriseRequest, request)
        if not checked.membership:
            return render(request, "tenants/not_member.html", {"enterprise": checked.enterprise}, status=403)
        self.enterprise = checked.enterprise
        self.membership = checked.membership
        if not self.has_role():
            return render(request, "403.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def has_role(self) -> bool:
        """The class's access declaration, for this request's method (access_scope decides)."""
        allowed, scope = access_scope(self.access, self.membership, self.request.method or "GET")
        if scope is not None:
            self.scope = scope
            self.request.admin_scope = scope  # type: ignore[attr-defined]  # for templates (context processor)
        return allowed

    def may(self, view_class: type[EnterpriseMemberView] | None = None, method: str = "POST") -> bool:
        """Whether the acting member may use `view_class` (default: this one) with `method`: the
        same decision as a request's, for showing or hiding a page's buttons."""
        access = (view_class or type(self)).access
        return access_scope(access, self.membership, method, getattr(self, "scope", None))[0]


class ConsoleView(EnterpriseMemberView):
    """Base of the administrators' console (ENT-8). Every subclass declares `access =
    Read(category)` or `Manage(category[, enterprise_wide=True])` (ANY_CATEGORY for pages any
    admin may open); an admin without that category in their scope gets 403. `self.scope` is the
    acting admin's scope: querysets start from `self.scope.members(category)` and every id named
    in a request is fetched through it."""

    allowed_kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.ADMIN})


class EnterpriseLoginView(LoginView):
    """`/login/` on an enterprise host: the platform's sign-in, for this enterprise's members."""

    form_class = EnterpriseLoginForm


class EnterpriseSignupView(LoginRequiredMixin, FormView):
    """Public host: a signed-in account creates an enterprise and becomes its owner (TEN-2)."""

    request: AccountRequest
    template_name = "tenants/enterprise_new.html"
    form_class = EnterpriseSignupForm

    def form_valid(self, form: EnterpriseSignupForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            enterprise = enterprise_create(
                name=data["name"],
                slug=data["slug"],
                owner=self.request.user,
                creator=CreatorDetails(name=data["creator_name"], email=data["creator_email"]),
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
            return self.form_invalid(form)
        port = self.request.get_port()
        suffix = "" if port in ("80", "443") else f":{port}"
        url = f"{self.request.scheme}://{enterprise.get_primary_domain()}{suffix}/login/"
        return render(self.request, "tenants/enterprise_created.html", {"enterprise": enterprise, "url": url})
