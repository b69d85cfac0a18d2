"""`/account/permissions/` on the public host (CON-5): the account's device permissions (camera,
microphone, calendar, contacts; off unless granted), a switch for each, and their history. A
change is recorded with channel "web" and takes effect at once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.models import User
from consent.models.platform import DevicePermission, PolicyAcceptance
from consent.permissions.selectors import device_permission_history, device_permissions_for
from consent.permissions.services import device_permission_set


class PermissionForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Permission"), choices=DevicePermission.Kind.choices)
    granted = forms.TypedChoiceField(
        label=gettext_lazy("State"),
        choices=[("1", gettext_lazy("Granted")), ("0", gettext_lazy("Off"))],
        coerce=lambda value: value == "1",
    )


class PermissionsView(LoginRequiredMixin, View):
    template_name = "consent/permissions.html"

    def _render(self, request: HttpRequest, *, form: PermissionForm | None = None, status: int = 200) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        context: dict[str, Any] = {
            "permissions": device_permissions_for(account=user),
            "history": device_permission_history(account=user),
            "form": form,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user  # type: ignore[assignment]
        form = PermissionForm(request.POST)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        try:
            changed = device_permission_set(
                account=user,
                kind=form.cleaned_data["kind"],
                granted=form.cleaned_data["granted"],
                channel=PolicyAcceptance.Channel.WEB,
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self._render(request, form=form, status=400)
        label = DevicePermission.Kind(form.cleaned_data["kind"]).label
        if not changed:
            messages.info(request, _("Nothing changed."))
        elif form.cleaned_data["granted"]:
            messages.success(request, _("Permission granted: %(permission)s.") % {"permission": label})
        else:
            messages.success(
                request, _("Permission revoked: %(permission)s. It takes effect at once.") % {"permission": label}
            )
        return redirect("account_permissions")
