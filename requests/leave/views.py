"""`/me/leave/` on the enterprise host (DSR-5): the plan first, then leaving on confirmation with
the account password. The rules are in requests.leave.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.views import EnterpriseMemberView
from requests.leave.selectors import leave_plan
from requests.leave.services import member_leave
from tenants.access import SelfService


class LeaveForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"), widget=forms.PasswordInput, max_length=128, strip=False
    )


class MeLeaveView(EnterpriseMemberView):
    access = SelfService()
    template_name = "requests/leave.html"

    def _render(self, request: HttpRequest, form: LeaveForm, status: int = 200) -> HttpResponse:
        context: dict[str, Any] = {
            "plan": leave_plan(enterprise=self.enterprise, membership=self.membership),
            "form": form,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, LeaveForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LeaveForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        user: User = request.user  # type: ignore[assignment]
        try:
            result = member_leave(
                enterprise=self.enterprise,
                membership=self.membership,
                account=user,
                password=form.cleaned_data["password"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error.messages)
            return self._render(request, form, status=400)
        enterprise = self.enterprise
        logout(request)  # access to this enterprise has ended: this host's session goes too
        return render(request, "requests/leave_done.html", {"result": result, "left_enterprise": enterprise})
