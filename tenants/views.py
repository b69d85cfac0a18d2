"""Base views for enterprise hosts, and the public pages about enterprises."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import FormView, TemplateView

from enterprise_data.models import Membership
from tenants.forms import EnterpriseSignupForm
from tenants.models import Enterprise
from tenants.services import CreatorDetails, enterprise_create


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
    """Base of the administrators' console: owners and admins only (ENT-8 adds scopes)."""

    def has_role(self) -> bool:
        return self.membership.is_admin


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
