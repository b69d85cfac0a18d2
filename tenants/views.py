"""Base views for enterprise hosts, and the public pages about enterprises."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import View
from django.views.defaults import page_not_found
from django.views.generic import FormView, TemplateView

from enterprise_data.categories import ANY_CATEGORY
from enterprise_data.models import Membership
from enterprise_data.scopes import AdminScope, admin_scope_for
from tenants.forms import EnterpriseSignupForm
from tenants.models import Enterprise
from tenants.services import CreatorDetails, enterprise_create


def apply_service_errors(form: Any, error: ValidationError) -> None:
    """Show a service's ValidationError on `form`: each field's errors on that field, the rest
    (and errors about fields the form does not have, or an error tied to no field at all, e.g.
    a limit) as non-field errors."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def safe_next(request: HttpRequest, target: str | None) -> str | None:
    """`target` if it is a path on this host, else None (never an open redirect)."""
    if target and target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return None


def in_chinese() -> bool:
    """The request's language is Chinese (texts stored in both languages pick their `_zh` side)."""
    return (translation.get_language() or "").lower().startswith("zh")

class EnterpriseMemberView(LoginRequiredMixin, View):
    """Base of every page on an enterprise host: the enterprise and the acting member are
    resolved here (by EnterpriseAccessMiddleware) and required; nothing below may skip it."""

    enterprise: Enterprise
    membership: Membership

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "enterprise", None) is None:
            raise Http404("Not an enterprise host.")
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.membership:
            return render(request, "tenants/not_member.html", {"enterprise": request.enterprise}, status=403)
        self.enterprise = request.enterprise
        self.membership = request.membership
        if not self.has_role():
            return render(request, "403.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def has_role(self) -> bool:
        return True


class ConsoleView(EnterpriseMemberView):
    """Base of the administrators' console (ENT-8). Every subclass declares the data `category`
    it processes (enterprise_data.categories.Category, or ANY_CATEGORY for pages any admin may
    open); an admin without that category in their scope gets 403. `self.scope` is the acting
    admin's scope: querysets start from `self.scope.members(category)`."""

    category: str | None = None
    scope: AdminScope

    def has_role(self) -> bool:
        if self.category is None:
            raise ImproperlyConfigured(f"{type(self).__name__} must declare the category it processes.")
        scope = admin_scope_for(self.membership)
        if scope is None:
            return False
        self.scope = scope
        request = self.request
        request.admin_scope = scope  # type: ignore[attr-defined]  # for templates (context processor)
        return self.category == ANY_CATEGORY or scope.has_category(self.category)


class EnterpriseHomeView(View):
    """`/` on an enterprise host: members go to their page, others to the login form."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and request.membership:
            return redirect("console" if request.membership.is_admin else "me")
        return redirect("login")


class LandingView(TemplateView):
    template_name = "tenants/landing.html"


class EnterpriseSignupView(LoginRequiredMixin, FormView):
    """Public host: a signed-in account creates an enterprise and becomes its owner (TEN-2)."""

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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404 of every host: the API answers in JSON, as its schema documents
    (`{"detail": …}`, config/openapi.py), also for URLs no route matches (e.g. a non-numeric id);
    pages get Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)
