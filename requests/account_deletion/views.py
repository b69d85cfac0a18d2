"""`/account/delete/` on the public host (DSR-6): the blockers first, then what deletion means,
re-authentication (an SMS code, then password and code), and during the cooling-off the only
page the account can reach, with the cancel button. The rules are in
requests.account_deletion.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import User
from accounts.views import rate_limited
from requests.account_deletion.selectors import (
    account_deletion_blockers,
    account_deletion_latest,
    account_deletion_pending,
    account_deletion_plan,
    cooling_off_days,
)
from requests.account_deletion.services import (
    account_deletion_cancel,
    account_deletion_send_code,
    account_deletion_start,
)
from tenants.throttling import RateLimited, client_ip
from tenants.views import apply_service_errors

ACTIONS = ("send_code", "start", "cancel")


class DeletionConfirmForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"), widget=forms.PasswordInput, max_length=128, strip=False, required=False
    )
    code = forms.CharField(
        label=gettext_lazy("The code sent to your mobile number"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class AccountDeletionView(LoginRequiredMixin, View):
    template_name = "requests/account_deletion.html"

    def page(self, form: DeletionConfirmForm | None = None, status: int = 200, **extra: Any) -> HttpResponse:
        user: User = self.request.user  # type: ignore[assignment]
        pending = account_deletion_pending(account=user)
        context: dict[str, Any] = {
            "pending": pending,
            "latest": account_deletion_latest(account=user),
            "cooling_off_days": cooling_off_days(),
            **extra,
        }
        if pending is None:
            blockers = account_deletion_blockers(account=user)
            context.update(
                blockers=blockers,
                plans=[] if blockers else account_deletion_plan(account=user),
                form=form or DeletionConfirmForm(),
            )
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page()

    def post(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        action = request.POST.get("action", "")
        form = DeletionConfirmForm(request.POST)
        if action not in ACTIONS:
            return self.page(status=400, action_error=_("Choose what to do."))
        try:
            if action == "send_code":
                account_deletion_send_code(account=user, ip=client_ip(request))
                messages.success(
                    request,
                    _("A code was sent to %(mobile)s. It is valid for 5 minutes.") % {"mobile": user.masked_mobile},
                )
                return redirect("account_delete")
            if action == "cancel":
                account_deletion_cancel(account=user)
                messages.success(request, _("The deletion of your account was cancelled."))
                return redirect("account")
            if not form.is_valid():  # too long; what is missing or wrong is the service's to say
                return self.page(form, status=400)
            account_deletion_start(
                account=user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                language=get_language() or "",
            )
        except ValidationError as error:
            if action == "start" and hasattr(error, "error_dict"):
                apply_service_errors(form, error)
                return self.page(form, status=400)
            # a refusal (blocked, already pending, nothing to cancel) or a code that cannot be sent yet
            return self.page(status=400, action_error=" ".join(error.messages))
        except RateLimited as limited:  # SEC-7: the SMS-code caps per address and for the platform
            return rate_limited(self.page(action_error=limited.message), limited)
        return redirect("account_delete")
