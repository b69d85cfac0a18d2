"""Base views of every enterprise page: `EnterpriseMemberView` for members (`/me/`) and
`ConsoleView` for administrators (`/console/`); each declares its access (core.access), checked
in `as_view()` and on every request."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView

from accounts.handoff import HandoffRefused, handoff_create, handoff_redeem
from accounts.http import AccountRequest
from accounts.views import LoginView, rate_limited
from core.access import access_scope
from core.forms import EnterpriseLoginForm, EnterpriseSignupForm
from core.http import EnterpriseRequest
from core.models import Membership
from core.scopes import AdminScope
from core.services import CreatorDetails, enterprise_create
from tenants.access import Access, Kind, Public, declared_access
from tenants.http import PortalRequest
from tenants.models import Enterprise, MembershipIndex
from tenants.throttling import Rate, RateLimited, address_key, client_ip, window_hit


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


CONFIRMED_FIELD = "confirmed"
CONFIRMED_VALUE = "yes"
# what the confirmation page does not send again (CSRF gets a fresh token; the answer is added)
_NOT_RESENT = frozenset({"csrfmiddlewaretoken", CONFIRMED_FIELD})


def is_confirmed(request: HttpRequest) -> bool:
    """Whether a destructive POST carries the explicit confirmation `confirmed=yes`."""
    return request.POST.get(CONFIRMED_FIELD) == CONFIRMED_VALUE


def confirmation_page(request: HttpRequest, message: str, *, cancel_url: str, button: str = "") -> HttpResponse | None:
    """Issue 16 §1, UI-4: a destructive action (revoke, delete, end, discard) without confirmation
    does nothing. None when the POST says `confirmed=yes` (the caller acts); otherwise a page
    (200) naming what would happen — `message` — with a form that posts the same fields again to
    the same address, plus `confirmed=yes`. With JavaScript, forms and buttons marked
    `data-confirm="…"` ask in a <dialog> first and add the field themselves (static/js/portal.js),
    so this page is what a browser without scripts (or a bare POST) sees. Call it after the
    access check and after the object was fetched, so an unknown id is still a 404."""
    if is_confirmed(request):
        return None
    fields = [(name, value) for name, values in request.POST.lists() if name not in _NOT_RESENT for value in values]
    context = {
        "message": message,
        "fields": fields,
        "action": request.get_full_path(),
        "cancel_url": cancel_url,
        "button": button or _("Yes, go ahead"),
    }
    return render(request, "confirm.html", context)


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
        # TEN-2: straight to the new host's console, signed in there by a single-use hand-off
        # (the public host's session is not carried over: sessions are host-bound). Not a redirect:
        # the CSP's form-action 'self' also covers where a form's POST is redirected, so browsers
        # refuse a redirect to the new host; the page follows the link instead (static/js/portal.js).
        token = handoff_create(account=self.request.user, enterprise=enterprise)
        port = self.request.get_port()
        suffix = "" if port in ("80", "443") else f":{port}"
        url = f"{self.request.scheme}://{enterprise.get_primary_domain()}{suffix}/login/handoff/{token}/"
        response = render(self.request, "tenants/enterprise_ready.html", {"enterprise": enterprise, "url": url})
        add_never_cache_headers(response)
        return response


def _handoff_rate_take(request: HttpRequest) -> None:
    """SEC-7: at most SIGN_IN_HANDOFF_MAX_PER_ADDRESS_PER_MINUTE redemptions from one client
    address (IPv6: its /64) per clock minute, over every host; RateLimited beyond."""
    address = address_key(client_ip(request))
    if address is None:
        return
    wait = window_hit(
        f"handoff:address:{address}", Rate(limit=settings.SIGN_IN_HANDOFF_MAX_PER_ADDRESS_PER_MINUTE, seconds=60)
    )
    if wait is not None:
        raise RateLimited(_("Too many sign-in attempts from your network. Try again in a minute."), retry_after=wait)


class EnterpriseHandoffView(View):
    """`/login/handoff/<token>/` on an enterprise host (TEN-2; accounts.handoff): GET shows a
    button (pressed by static/js/portal.js, so the creator does not notice) and changes nothing;
    POST uses the token up and signs its account in on this host — a fresh session bound to this
    schema (login() rotates the key; tenants.signals binds it) — then goes to /console/, where
    the second factor is still asked for (accounts.two_factor.middleware). Every refusal is the
    same page and signs nobody in."""

    access = Public()
    template_name = "tenants/handoff.html"

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        if getattr(request, "enterprise", None) is None:
            raise Http404("Not an enterprise host.")
        return render(request, self.template_name, {"refused": False})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        enterprise = cast(PortalRequest, request).tenant
        if getattr(request, "enterprise", None) is None:
            raise Http404("Not an enterprise host.")
        try:
            _handoff_rate_take(request)
        except RateLimited as limited:
            page = render(request, self.template_name, {"refused": True, "message": limited.message})
            return rate_limited(page, limited)
        try:
            account = handoff_redeem(token=token, enterprise=enterprise)
            if not MembershipIndex.objects.filter(account=account, enterprise=enterprise).exists():
                raise HandoffRefused
            if request.user.is_authenticated and request.user.pk != account.pk:
                raise HandoffRefused  # someone else is signed in on this host: never switch silently
        except HandoffRefused:
            return render(request, self.template_name, {"refused": True}, status=400)
        login(request, account, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("/console/")
