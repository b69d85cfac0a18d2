"""Public-host pages of the account (ACC-2, ACC-3, ENT-3): `/account/` with pending
invitations, answering invitations (by mobile number or by link), the profile with its avatar,
and real-name verification."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import View

from accounts import views as account_views
from accounts.models import User
from accounts.profile.forms import ProfileForm, RealNameForm
from accounts.profile.services import (
    VERIFIED_REFUSAL,
    account_profile_update,
    image_content_type,
    real_name_submit,
    real_name_summary,
)
from invitations.models import Invitation
from invitations.selectors import invitation_by_token, mobile_invitation, pending_invitations_for_account
from invitations.services import invitation_accept, invitation_decline, invitation_effective_status, invitation_is_open
from tenants.models import Domain, Enterprise
from tenants.views import apply_service_errors

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
            invitation_accept(enterprise=enterprise, invitation=invitation, account=user,
                              notice_version=_notice_version_shown(request, enterprise))
            messages.success(request, _("You joined %(enterprise)s. Open it from your enterprises below.")
                             % {"enterprise": enterprise.name})
        else:
            invitation_decline(enterprise=enterprise, invitation=invitation, account=user)
            messages.success(request, _("You declined the invitation of %(enterprise)s.")
                             % {"enterprise": enterprise.name})
    except ValidationError as error:
        _error_messages(request, error)
        return False
    return True


class AccountView(account_views.AccountView):
    """`/account/`: the account, its enterprises, its pending invitations (one query on the
    public InvitationIndex, enterprises joined) and links to the profile pages."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user: User = self.request.user  # type: ignore[assignment]
        # Each row links the enterprise's notice on its host (CON-3): the primary host name is
        # read in the same query as the invitations.
        primary_host = Domain.objects.filter(tenant_id=OuterRef("enterprise_id"), is_primary=True).order_by("id")
        invitations = pending_invitations_for_account(account=user).annotate(
            notice_host=Subquery(primary_host.values("domain")[:1]))
        return super().get_context_data(invitations=list(invitations), port_suffix=_port_suffix(self.request),
                                        **kwargs)


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
        return render(self.request, self.template_name, {
            "enterprise": self.enterprise,
            "notice_url": f"{self.request.scheme}://{host}{_port_suffix(self.request)}/notice/" if host else "",
            "invitation": self.invitation,
            "is_open": is_open,
            "effective_status": invitation_effective_status(self.invitation),
        }, status=status or (200 if is_open else 410))


class ProfileView(LoginRequiredMixin, View):
    """`/account/profile/`: nickname, avatar, gender, birthday (ACC-2)."""

    template_name = "accounts/profile.html"

    def initial(self) -> dict[str, Any]:
        user: User = self.request.user  # type: ignore[assignment]
        return {"nickname": user.nickname, "gender": user.gender, "birthday": user.birthday}

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ProfileForm(initial=self.initial())})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProfileForm(request.POST, request.FILES, initial=self.initial())
        if form.is_valid():
            data = form.cleaned_data
            try:
                account_profile_update(
                    account=request.user,  # type: ignore[arg-type]
                    nickname=data["nickname"], gender=data["gender"] or "", birthday=data["birthday"],
                    avatar=data["avatar"], avatar_clear=data["avatar_clear"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Your profile was saved."))
                return redirect("account_profile")
        return render(request, self.template_name, {"form": form}, status=400)


class AvatarView(LoginRequiredMixin, View):
    """The signed-in account's own avatar (media files are never served as static files)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        if not user.avatar:
            raise Http404("No avatar.")
        try:
            with user.avatar.open("rb") as handle:
                data = handle.read()
        except FileNotFoundError as error:
            raise Http404("No avatar.") from error
        content_type = image_content_type(data[:8]) or "application/octet-stream"
        response = HttpResponse(data, content_type=content_type)
        response["Cache-Control"] = "private, max-age=300"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class RealNameView(LoginRequiredMixin, View):
    """`/account/real-name/`: submit real-name data (ACC-2); read-only once verified."""

    template_name = "accounts/profile_real_name.html"

    def page(self, form: RealNameForm | None, status: int = 200) -> HttpResponse:
        user: User = self.request.user  # type: ignore[assignment]
        response = render(self.request, self.template_name, {
            "form": form, "summary": real_name_summary(account=user),
            "verified": user.real_name_status == User.RealNameStatus.VERIFIED,
            "verified_refusal": VERIFIED_REFUSAL,
        }, status=status)
        add_never_cache_headers(response)
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        verified = request.user.real_name_status == User.RealNameStatus.VERIFIED  # type: ignore[union-attr]
        return self.page(None if verified else RealNameForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        form = RealNameForm(request.POST, request.FILES)
        if user.real_name_status == User.RealNameStatus.VERIFIED:
            form.is_valid()
            form.add_error(None, str(VERIFIED_REFUSAL))
            return self.page(form, status=400)
        if form.is_valid():
            data = form.cleaned_data
            try:
                real_name_submit(account=user, legal_name=data["legal_name"], id_number=data["id_number"],
                                 id_front=data["id_front"], id_back=data["id_back"])
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Your real-name data was submitted. An operator will check it."))
                return redirect("account_real_name")
        return self.page(form, status=400)
