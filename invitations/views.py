"""Invitations in the administrators' console (ENT-3): the pending list, invite by mobile
number, create a link (shown once), revoke. Category: directory."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts import views as account_views
from accounts.masking import mask_mobile
from accounts.models import User
from core.models import Membership
from core.views import ConsoleView, confirmation_page
from invitations.models import Invitation
from invitations.selectors import (
    invitation_by_token,
    invitation_effective_status,
    invitation_for_admin,
    invitation_is_open,
    invitation_list_pending,
    mobile_invitation,
    pending_invitations_for_account,
)
from invitations.services import (
    DAYS_VALID_MAX,
    invitation_accept,
    invitation_create_by_mobile,
    invitation_create_link,
    invitation_decline,
    invitation_link_url,
    invitation_new_card_check,
    invitation_revoke,
)
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.models import Domain, Enterprise
from tenants.views import apply_service_errors

ROLE_CHOICES = [
    (Membership.Role.MEMBER.value, Membership.Role.MEMBER.label),
    (Membership.Role.ADMIN.value, Membership.Role.ADMIN.label),
]


class InviteLinkForm(forms.Form):
    display_name = forms.CharField(label=gettext_lazy("Name in the directory"), max_length=100, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES, initial=Membership.Role.MEMBER)
    days_valid = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"), min_value=1, max_value=DAYS_VALID_MAX, initial=7
    )
    # An existing invited card (e.g. from the directory's member page) instead of a new one.
    membership = forms.IntegerField(required=False, widget=forms.HiddenInput)


class InviteMobileForm(InviteLinkForm):
    mobile = forms.CharField(
        label=gettext_lazy("Mobile number"), max_length=32, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    display_name = forms.CharField(label=gettext_lazy("Name in the directory"), max_length=100)
    membership = None  # type: ignore[assignment]

    field_order = ["mobile", "display_name", "role", "days_valid"]


class InvitationListView(ConsoleView):
    """Open invitations with the two invite forms."""

    access = Read(Category.DIRECTORY)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(InviteMobileForm(prefix="mobile"), InviteLinkForm(prefix="link"))

    def render_page(self, mobile_form: forms.Form, link_form: forms.Form, status: int = 200) -> HttpResponse:
        invitations = list(invitation_list_pending(scope=self.scope))
        for invitation in invitations:
            invitation.masked_mobile = mask_mobile(invitation.mobile) if invitation.mobile else ""  # type: ignore[attr-defined]
        return render(
            self.request,
            "enterprise_data/invitations/list.html",
            {
                "invitations": invitations,
                "mobile_form": mobile_form,
                "link_form": link_form,
            },
            status=status,
        )


class InvitationMobileCreateView(InvitationListView):
    access = Manage(Category.DIRECTORY)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = InviteMobileForm(request.POST, prefix="mobile")
        if form.is_valid():
            data = form.cleaned_data
            try:
                invitation_new_card_check(scope=self.scope)
                invitation_create_by_mobile(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    mobile=data["mobile"],
                    display_name=data["display_name"],
                    role=data["role"],
                    days_valid=data["days_valid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("The invitation was sent to %(mobile)s.") % {"mobile": mask_mobile(form.cleaned_data["mobile"])},
                )
                return redirect("console_invitations")
        return self.render_page(form, InviteLinkForm(prefix="link"), status=400)


class InvitationLinkCreateView(InvitationListView):
    access = Manage(Category.DIRECTORY)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = InviteLinkForm(request.POST, prefix="link")
        if form.is_valid():
            data = form.cleaned_data
            card = self.scope.member_for(Category.DIRECTORY, data["membership"]) if data["membership"] else None
            try:
                if card is None:
                    invitation_new_card_check(scope=self.scope)
                invitation, token = invitation_create_link(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    display_name=data["display_name"],
                    role=data["role"],
                    days_valid=data["days_valid"],
                    membership=card,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                url = invitation_link_url(
                    enterprise=self.enterprise, token=token, scheme=request.scheme or "http", port=request.get_port()
                )
                # The token exists only in this response: never cached, never stored.
                response = render(
                    request, "enterprise_data/invitations/link_created.html", {"invitation": invitation, "url": url}
                )
                add_never_cache_headers(response)
                return response
        return self.render_page(InviteMobileForm(prefix="mobile"), form, status=400)


class InvitationRevokeView(ConsoleView):
    access = Manage(Category.DIRECTORY)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        invitation = invitation_for_admin(scope=self.scope, pk=pk)
        unconfirmed = confirmation_page(
            request,
            _("Revoke this invitation? Its link or code stops working."),
            cancel_url=reverse("console_invitations"),
        )
        if unconfirmed is not None:
            return unconfirmed
        try:
            invitation_revoke(enterprise=self.enterprise, actor=self.membership, invitation=invitation)
        except ValidationError as error:
            for errors in error.message_dict.values():
                for message in errors:
                    messages.error(request, message)
        else:
            messages.success(request, _("The invitation was revoked."))
        return redirect("console_invitations")


ANSWERS = ("accept", "decline")


def _error_messages(request: HttpRequest, error: ValidationError) -> None:
    for errors in error.message_dict.values() if hasattr(error, "error_dict") else [error.messages]:
        for message in errors:
            messages.error(request, message)


def _port_suffix(request: HttpRequest) -> str:
    """`:8000` in development, empty behind the standard ports (links to enterprise hosts)."""
    port = request.get_port()
    return "" if port in ("80", "443") else f":{port}"


def _active_enterprise(**lookup: Any) -> Enterprise:
    enterprise = (
        Enterprise.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(state=Enterprise.State.ACTIVE, **lookup)
        .first()
    )
    if enterprise is None:
        raise Http404("No such enterprise.")
    return enterprise


def _notice_version_shown(request: HttpRequest, enterprise: Enterprise) -> int | None:
    """The notice version the accept form displayed (CON-3: joining acknowledges it). Absent: None
    (the service takes the current one). A number the enterprise no longer has as its current
    version, or garbage, is passed on so that the service refuses it ("stale_notice"); 0 means the
    page showed no notice, which is fine only while there is still none."""
    raw = request.POST.get("notice_version")
    if raw is None or raw.strip() == "":
        return None
    try:
        shown = int(raw)
    except ValueError:
        return -1
    if shown == 0 and not enterprise.notice_version:
        return None
    return shown


def _answer(request: HttpRequest, *, enterprise: Enterprise, invitation: Invitation, answer: str) -> bool:
    """Accept or decline with the services; report the outcome as a message."""
    user: User = request.user  # type: ignore[assignment]
    try:
        if answer == "accept":
            invitation_accept(
                enterprise=enterprise,
                invitation=invitation,
                account=user,
                notice_version=_notice_version_shown(request, enterprise),
            )
            messages.success(
                request,
                _("You joined %(enterprise)s. Open it from your enterprises below.") % {"enterprise": enterprise.name},
            )
        else:
            invitation_decline(enterprise=enterprise, invitation=invitation, account=user)
            messages.success(
                request, _("You declined the invitation of %(enterprise)s.") % {"enterprise": enterprise.name}
            )
    except ValidationError as error:
        _error_messages(request, error)
        return False
    return True


class InvitationAnswerView(LoginRequiredMixin, View):
    """POST `/account/invitations/<enterprise id>/<invitation id>/accept|decline/`: answer a
    mobile-number invitation, in that enterprise's schema (the services switch to it)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, enterprise_id: int, invitation_id: int, answer: str) -> HttpResponse:
        if answer not in ANSWERS:
            raise Http404("No such answer.")
        enterprise = _active_enterprise(pk=enterprise_id)
        invitation = mobile_invitation(enterprise=enterprise, invitation_id=invitation_id)
        if invitation is None:
            raise Http404("No such invitation.")
        if _answer(request, enterprise=enterprise, invitation=invitation, answer=answer):
            return redirect("account")
        # Refused: the account page again, with the reason among the messages.
        page = AccountView()
        page.setup(request)
        return render(request, page.template_name, page.get_context_data(), status=400)


class LinkInvitationView(View):
    """`/invitations/<enterprise slug>/<token>/`: a link invitation. Anyone with the link sees
    which enterprise invites them; answering needs a signed-in account."""

    template_name = "accounts/invitation_link.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.enterprise = _active_enterprise(slug=kwargs["slug"])
        invitation = invitation_by_token(enterprise=self.enterprise, token=kwargs["token"])
        if invitation is None:
            raise Http404("No such invitation.")
        self.invitation = invitation
        response = super().dispatch(request, *args, **kwargs)
        add_never_cache_headers(response)
        response["Referrer-Policy"] = "no-referrer"  # the token is in the address
        return response

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return self.render_page()

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        answer = request.POST.get("answer", "")
        if answer not in ANSWERS:
            return self.render_page(status=400)
        if _answer(request, enterprise=self.enterprise, invitation=self.invitation, answer=answer):
            return redirect("account")
        return self.render_page(status=400)

    def render_page(self, status: int | None = None) -> HttpResponse:
        is_open = invitation_is_open(self.invitation)
        host = self.enterprise.domains.filter(is_primary=True).values_list("domain", flat=True).first()
        return render(
            self.request,
            self.template_name,
            {
                "enterprise": self.enterprise,
                "notice_url": f"{self.request.scheme}://{host}{_port_suffix(self.request)}/notice/" if host else "",
                "invitation": self.invitation,
                "is_open": is_open,
                "effective_status": invitation_effective_status(self.invitation),
            },
            status=status or (200 if is_open else 410),
        )


class AccountView(account_views.AccountView):
    """`/account/`: the account, its enterprises, its pending invitations (one query on the
    public InvitationIndex, enterprises joined) and links to the profile pages."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user: User = self.request.user  # type: ignore[assignment]
        # Each row links the enterprise's notice on its host (CON-3): the primary host name is
        # read in the same query as the invitations.
        primary_host = Domain.objects.filter(tenant_id=OuterRef("enterprise_id"), is_primary=True).order_by("id")
        invitations = pending_invitations_for_account(account=user).annotate(
            notice_host=Subquery(primary_host.values("domain")[:1])
        )
        context = super().get_context_data(
            invitations=list(invitations), port_suffix=_port_suffix(self.request), **kwargs
        )
        # the index keeps the role's code: shown as its label (issue 17, no raw codes)
        roles = dict(Membership.Role.choices)
        context["links"] = list(context["links"])
        for link in context["links"]:
            link.role_label = roles.get(link.role, link.role)
        return context
