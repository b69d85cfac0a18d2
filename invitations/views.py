"""Invitations in the administrators' console (ENT-3): the pending list, invite by mobile
number, create a link (shown once), revoke. Category: directory."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.masking import mask_mobile
from core.access import Manage, Read
from core.categories import Category
from core.models import Membership
from core.views import ConsoleView
from invitations.selectors import invitation_for_admin, invitation_list_pending
from invitations.services import (
    DAYS_VALID_MAX,
    invitation_create_by_mobile,
    invitation_create_link,
    invitation_link_url,
    invitation_new_card_check,
    invitation_revoke,
)
from tenants.views import apply_service_errors

ROLE_CHOICES = [(Membership.Role.MEMBER.value, Membership.Role.MEMBER.label),
                (Membership.Role.ADMIN.value, Membership.Role.ADMIN.label)]


class InviteLinkForm(forms.Form):
    display_name = forms.CharField(label=gettext_lazy("Name in the directory"), max_length=100, required=False)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES, initial=Membership.Role.MEMBER)
    days_valid = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1, max_value=DAYS_VALID_MAX,
                                    initial=7)
    # An existing invited card (e.g. from the directory's member page) instead of a new one.
    membership = forms.IntegerField(required=False, widget=forms.HiddenInput)


class InviteMobileForm(InviteLinkForm):
    mobile = forms.CharField(label=gettext_lazy("Mobile number"), max_length=32,
                             widget=forms.TextInput(attrs={"inputmode": "tel"}))
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
        return render(self.request, "enterprise_data/invitations/list.html", {
            "invitations": invitations, "mobile_form": mobile_form, "link_form": link_form,
        }, status=status)


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
                    enterprise=self.enterprise, actor=self.membership, mobile=data["mobile"],
                    display_name=data["display_name"], role=data["role"], days_valid=data["days_valid"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The invitation was sent to %(mobile)s.")
                                 % {"mobile": mask_mobile(form.cleaned_data["mobile"])})
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
                    enterprise=self.enterprise, actor=self.membership, display_name=data["display_name"],
                    role=data["role"], days_valid=data["days_valid"], membership=card,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                url = invitation_link_url(enterprise=self.enterprise, token=token, scheme=request.scheme or "http",
                                          port=request.get_port())
                # The token exists only in this response: never cached, never stored.
                response = render(request, "enterprise_data/invitations/link_created.html",
                                  {"invitation": invitation, "url": url})
                add_never_cache_headers(response)
                return response
        return self.render_page(InviteMobileForm(prefix="mobile"), form, status=400)


class InvitationRevokeView(ConsoleView):
    access = Manage(Category.DIRECTORY)
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        invitation = invitation_for_admin(scope=self.scope, pk=pk)
        try:
            invitation_revoke(enterprise=self.enterprise, actor=self.membership, invitation=invitation)
        except ValidationError as error:
            for errors in error.message_dict.values():
                for message in errors:
                    messages.error(request, message)
        else:
            messages.success(request, _("The invitation was revoked."))
        return redirect("console_invitations")
