"""Console pages for biometrics (ENT-6, category biometrics): devices and their keys, members'
enrolments. Templates are uploaded here and never shown again, not even their size."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from biometrics.models import BiometricTemplate, Device, Purpose
from biometrics.selectors import biometric_members, device_for, device_list, enrolments_of, template_for
from biometrics.services import (
    TEMPLATE_MAX_BYTES,
    device_register,
    device_revoke,
    template_delete,
    template_enroll,
    template_revoke,
)
from core.views import ConsoleView, confirmation_page
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.views import apply_service_errors


class DeviceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Device.Kind.choices)
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=Purpose.choices)


class EnrolForm(forms.Form):
    modality = forms.ChoiceField(label=gettext_lazy("Modality"), choices=BiometricTemplate.Modality.choices)
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=Purpose.choices)
    template = forms.FileField(
        label=gettext_lazy("Template file"),
        help_text=gettext_lazy("As exported by the enrolment device; at most 64 KiB."),
    )


class DeviceListView(ConsoleView):
    """Devices, and registering one (its key is shown once, on the result page)."""

    access = Manage(Category.BIOMETRICS, enterprise_wide=True)

    def _render(self, form: DeviceForm, status: int = 200) -> HttpResponse:
        devices = device_list(enterprise=self.enterprise)
        return render(
            self.request,
            "enterprise_data/biometrics/device_list.html",
            {"devices": devices, "form": form},
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(DeviceForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = DeviceForm(request.POST)
        if form.is_valid():
            try:
                device, key = device_register(enterprise=self.enterprise, actor=self.membership, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                response = render(
                    request, "enterprise_data/biometrics/device_created.html", {"device": device, "key": key}
                )
                add_never_cache_headers(response)  # the key must not linger in any cache
                return response
        return self._render(form, status=400)


class DeviceRevokeView(ConsoleView):
    access = Manage(Category.BIOMETRICS, enterprise_wide=True)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        device = device_for(enterprise=self.enterprise, scope=self.scope, pk=pk)
        unconfirmed = confirmation_page(
            request,
            _("Revoke the key of “%(name)s”? The device can no longer sync or upload until it gets a new key.")
            % {"name": device.name},
            cancel_url=reverse("biometrics_devices"),
        )
        if unconfirmed is not None:
            return unconfirmed
        device = device_revoke(enterprise=self.enterprise, actor=self.membership, device=device)
        messages.success(request, _("The key of “%(name)s” is revoked.") % {"name": device.name})
        return redirect("biometrics_devices")


class BiometricMemberListView(ConsoleView):
    """Members within the admin's biometrics scope, with their number of active enrolments."""

    access = Read(Category.BIOMETRICS)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(
            request, "enterprise_data/biometrics/member_list.html", {"members": biometric_members(scope=self.scope)}
        )


class BiometricMemberView(ConsoleView):
    """One member's enrolments (metadata only) and enrolling a template from a file."""

    access = Manage(Category.BIOMETRICS)

    def _render(self, member: Any, form: EnrolForm, status: int = 200) -> HttpResponse:
        return render(
            self.request,
            "enterprise_data/biometrics/member_detail.html",
            {"member": member, "enrolments": enrolments_of(membership=member), "form": form},
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(self.scope.member_for(Category.BIOMETRICS, pk), EnrolForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.BIOMETRICS, pk)
        form = EnrolForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["template"]
            template = upload.read(TEMPLATE_MAX_BYTES + 1)  # bounded: a larger file fails validation
            try:
                template_enroll(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    membership=member,
                    modality=form.cleaned_data["modality"],
                    purpose=form.cleaned_data["purpose"],
                    template=template,
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The template is enrolled and sent to the devices."))
                return redirect("biometrics_member", pk=member.pk)
        return self._render(member, form, status=400)


class TemplateRevokeView(ConsoleView):
    access = Manage(Category.BIOMETRICS)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = template_for(scope=self.scope, pk=pk)
        unconfirmed = confirmation_page(
            request,
            _("Revoke this template? It stops working and is removed from the devices."),
            cancel_url=reverse("biometrics_member", kwargs={"pk": template.membership_id}),
        )
        if unconfirmed is not None:
            return unconfirmed
        template_revoke(enterprise=self.enterprise, actor=self.membership, template=template)
        messages.success(request, _("The template is revoked and removed from the devices."))
        return redirect("biometrics_member", pk=template.membership_id)


class TemplateDeleteView(ConsoleView):
    access = Manage(Category.BIOMETRICS)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        template = template_for(scope=self.scope, pk=pk)
        member_id = template.membership_id
        unconfirmed = confirmation_page(
            request,
            _("Delete this template? It is erased for good and removed from the devices."),
            cancel_url=reverse("biometrics_member", kwargs={"pk": member_id}),
        )
        if unconfirmed is not None:
            return unconfirmed
        template_delete(enterprise=self.enterprise, actor=self.membership, template=template)
        messages.success(request, _("The template is deleted and removed from the devices."))
        return redirect("biometrics_member", pk=member_id)
