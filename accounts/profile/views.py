"""Public-host pages of the account (ACC-2, ACC-3, ENT-3): `/account/` with pending
invitations, answering invitations (by mobile number or by link), the profile with its avatar,
and real-name verification."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import User
from accounts.profile.forms import ProfileForm, RealNameForm
from accounts.profile.services import (
    VERIFIED_REFUSAL,
    account_profile_update,
    image_content_type,
    real_name_submit,
    real_name_summary,
)
from tenants.views import apply_service_errors


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
                    nickname=data["nickname"],
                    gender=data["gender"] or "",
                    birthday=data["birthday"],
                    avatar=data["avatar"],
                    avatar_clear=data["avatar_clear"],
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
        response = render(
            self.request,
            self.template_name,
            {
                "form": form,
                "summary": real_name_summary(account=user),
                "verified": user.real_name_status == User.RealNameStatus.VERIFIED,
                "verified_refusal": VERIFIED_REFUSAL,
            },
            status=status,
        )
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
                real_name_submit(
                    account=user,
                    legal_name=data["legal_name"],
                    id_number=data["id_number"],
                    id_front=data["id_front"],
                    id_back=data["id_back"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Your real-name data was submitted. An operator will check it."))
                return redirect("account_real_name")
        return self.page(form, status=400)
