"""Correcting one's own data (DSR-2, DSR-3).

- `/me/profile/` (enterprise host): the self-editable card fields, changed at once; beside them
  the fields the enterprise keeps, each with a "request a correction" link.
- `/me/profile/correction/`: a correction request for one of those fields (`?field=` preselects
  it), which goes to the administrators' queue.
- `/account/profile/correction/` (public host): a correction of the account's verified
  real-name data or mobile number, which goes to the operators.

The pages only parse input; requests.correction.services decides what may be changed how."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts.masking import mask_name
from accounts.models import User
from accounts.profile.services import real_name_summary
from core.http import EnterpriseRequest
from core.views import EnterpriseMemberView
from directory.services import member_card_masked
from requests.correction.forms import AccountCorrectionForm, CorrectionForm, SelfProfileForm
from requests.correction.services import (
    CONTROLLED,
    SELF_EDITABLE,
    account_correction_submit,
    correction_request_submit,
    field_label,
    member_profile_update,
)
from requests.models import Request
from tenants.access import SelfService
from tenants.context import enterprise_schema
from tenants.views import apply_service_errors


def _controlled_values(view: EnterpriseMemberView) -> list[dict[str, str]]:
    """The fields the enterprise keeps, with their current values (mobile and ID number masked)."""
    member = view.membership
    with enterprise_schema(view.enterprise):
        masked = member_card_masked(enterprise=view.enterprise, membership=member)
        departments = ", ".join(sorted(member.departments.values_list("name", flat=True)))
        values = {
            "display_name": member.display_name,
            "photo": _("Yes") if member.photo else "",
            "gender": member.get_gender_display() if member.gender else "",
            "mobile": masked.mobile,
            "id_number": masked.id_number,
            "company": member.company,
            "invoice_title": member.invoice_title,
            "position": member.position.name if member.position_id else "",  # type: ignore[union-attr]
            "rank": member.rank.name if member.rank_id else "",  # type: ignore[union-attr]
            "title": member.title,
            "departments": departments,
            "secretary": member.secretary.display_name if member.secretary_id else "",  # type: ignore[union-attr]
            "enterprise_mailbox": member.enterprise_mailbox,
        }
    return [{"field": name, "label": field_label(name).capitalize(), "value": values[name]} for name in CONTROLLED]


class MeProfileView(EnterpriseMemberView):
    """The member's own card: self-editable fields in a form, the others with a correction link."""

    access = SelfService()

    template_name = "requests/me_profile.html"

    def _initial(self) -> dict[str, Any]:
        return {name: getattr(self.membership, name) for name in SELF_EDITABLE}

    def _render(self, form: SelfProfileForm, status: int = 200) -> HttpResponse:
        return render(
            self.request, self.template_name, {"form": form, "controlled": _controlled_values(self)}, status=status
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(SelfProfileForm(initial=self._initial()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SelfProfileForm(request.POST, initial=self._initial())
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            changed = member_profile_update(
                enterprise=self.enterprise, membership=self.membership, data=form.cleaned_data
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(form, status=400)
        messages.success(request, _("Your card was updated.") if changed else _("Nothing was changed."))
        return redirect("me_profile")


class _CorrectionPage:
    """GET: the form (`?field=` preselects a field); POST: the request, then its page."""

    request: HttpRequest
    form_class: type[CorrectionForm] = CorrectionForm
    template_name = "requests/data_correction.html"
    back_url: str
    detail_url: str

    def submit(self, data: dict[str, Any]) -> Request:
        raise NotImplementedError

    def context(self) -> dict[str, Any]:
        return {}

    def _render(self, form: CorrectionForm, status: int = 200) -> HttpResponse:
        return render(
            self.request, self.template_name, {"form": form, "back_url": self.back_url, **self.context()}, status=status
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        field = request.GET.get("field", "")
        return self._render(self.form_class(initial={"field": field} if field in self.form_class.choices else {}))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            row = self.submit(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(form, status=400)
        messages.success(
            request,
            _("Your correction request #%(id)s was sent. It will be answered within 15 working days.") % {"id": row.pk},
        )
        return redirect(self.detail_url, pk=row.pk)


class MeCorrectionView(_CorrectionPage, EnterpriseMemberView):
    request: EnterpriseRequest  # the mixin's HttpRequest, as EnterpriseMemberView checked it
    access = SelfService()
    back_url = "me_profile"
    detail_url = "me_request"

    def context(self) -> dict[str, Any]:
        return {"controller": self.enterprise.name}

    def submit(self, data: dict[str, Any]) -> Request:
        return correction_request_submit(
            enterprise=self.enterprise,
            account=self.request.user,  # type: ignore[arg-type]
            membership=self.membership,
            **data,
        )


class AccountCorrectionView(_CorrectionPage, LoginRequiredMixin, View):
    form_class = AccountCorrectionForm
    back_url = "account_profile"
    detail_url = "account_request"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "enterprise", None) is not None:
            raise Http404("Account data is corrected on the platform's host.")
        return super().dispatch(request, *args, **kwargs)

    def context(self) -> dict[str, Any]:
        account: User = self.request.user  # type: ignore[assignment]
        summary = real_name_summary(account=account)
        return {
            "controller": None,
            "account_values": [
                {"label": field_label("legal_name").capitalize(), "value": mask_name(summary.legal_name)},
                {"label": field_label("id_number").capitalize(), "value": summary.masked_id_number},
                {"label": field_label("mobile").capitalize(), "value": account.masked_mobile},
            ],
            "verified": account.real_name_status == User.RealNameStatus.VERIFIED,
        }

    def submit(self, data: dict[str, Any]) -> Request:
        return account_correction_submit(account=self.request.user, **data)  # type: ignore[arg-type]
