"""The consent pages (CON-4, CON-6): `/console/consents/…` for administrators (who has a basis for
what, recording and ending a legal basis: the services check the scope again and write the
ledger) and `/me/consents/…` for members (one row per sensitive category and purpose with their
consent and the legal bases recorded; give, and withdraw after seeing what would be deleted)."""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.consents.selectors import (
    consent_categories_held,
    consent_columns,
    consent_member_for,
    consent_members,
    consent_of_member,
    consent_rows,
    legal_basis_for,
    member_lines,
    my_consent_rows,
    other_bases_of,
    preview_lines,
    visible_categories,
    withdrawal_preview,
)
from consent.consents.services import consent_give, consent_withdraw, legal_basis_end, legal_basis_record
from consent.models import PURPOSES, ConsentPurpose, ConsentRecord, SensitiveCategory
from core.models import Department, Membership
from core.views import ConsoleView, EnterpriseMemberView, confirmation_page, is_confirmed
from tenants.access import Manage, Read, SelfService
from tenants.categories import ANY_CATEGORY
from tenants.views import apply_service_errors

PAGE_SIZE = 50


class ConsentConsoleView(ConsoleView):
    """Open to admins holding any administrator category that covers a sensitive category
    (directory, attendance, health, biometrics): `self.held` lists those they hold."""

    access = Read(ANY_CATEGORY)
    held: tuple[str, ...]

    def has_role(self) -> bool:
        if not super().has_role():
            return False
        self.held = consent_categories_held(self.scope)
        return bool(self.held)

    def render_member(
        self, request: HttpRequest, member: Membership, form: LegalBasisForm | None = None, status: int = 200
    ) -> HttpResponse:
        visible = visible_categories(member, self.held)
        return render(
            request,
            "consent/console_member_consents.html",
            {
                "member": member,
                "lines": member_lines(enterprise=self.enterprise, member=member, held=self.held),
                "form": form or LegalBasisForm(visible=visible),
                "can_record": bool(visible),
            },
            status=status,
        )


class DepartmentFilterForm(forms.Form):
    department = forms.TypedChoiceField(label=gettext_lazy("Department"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["department"]
        field.choices = [("", _("Everyone in my scope"))] + [
            (d.pk, "\u2003" * max(d.depth - 1, 0) + d.name) for d in departments
        ]


class ConsentOverviewView(ConsentConsoleView):
    """Members in scope × (category, purpose): ✓ consent, ⚖ legal basis, ✗ none, — not yours to
    see. A constant number of queries whatever the page size."""

    def get(self, request: HttpRequest) -> HttpResponse:
        members = consent_members(self.scope, self.held)
        departments = list(reduce(or_, (self.scope.departments(c) for c in self.held)).distinct().order_by("path"))
        form = DepartmentFilterForm(request.GET or None, departments=departments)
        selected = None
        if form.is_bound and form.is_valid() and form.cleaned_data["department"]:
            selected = next(d for d in departments if d.pk == form.cleaned_data["department"])
            members = members.filter(
                pk__in=Membership.objects.filter(departments__path__startswith=selected.path).values("pk")
            )
        page = Paginator(members.order_by("display_name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
        columns = consent_columns(self.held)
        rows = consent_rows(list(page.object_list), columns, self.held)
        return render(
            request,
            "consent/console_consents.html",
            {
                "page": page,
                "rows": rows,
                "columns": columns,
                "form": form,
                "selected": selected,
            },
            status=200 if not form.is_bound or form.is_valid() else 400,
        )


class LegalBasisForm(forms.Form):
    """Parses the record form; the scope, reason and duplicate checks are legal_basis_record's."""

    line = forms.ChoiceField(label=gettext_lazy("Category and purpose"))
    basis = forms.ChoiceField(
        label=gettext_lazy("Legal basis"),
        choices=[
            (value, label) for value, label in ConsentRecord.Basis.choices if value != ConsentRecord.Basis.CONSENT
        ],
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("10 to 200 characters; it is written to the instruction ledger."),
    )

    def __init__(self, *args: Any, visible: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every known pair parses (the service answers for the scope); only the admin's are offered.
        self.all_pairs = [
            (f"{c}:{p}", f"{SensitiveCategory(c).label} — {ConsentPurpose(p).label}")
            for c, purposes in PURPOSES.items()
            for p in purposes
        ]
        field: Any = self.fields["line"]
        field.choices = self.all_pairs
        self.offered = [(value, label) for value, label in self.all_pairs if value.split(":")[0] in visible]
        field.widget.choices = self.offered

    def pair(self) -> tuple[str, str]:
        category, purpose = self.cleaned_data["line"].split(":")
        return category, purpose


class MemberConsentsView(ConsentConsoleView):
    """One member's lines (the categories the admin holds over them), the legal bases with reason
    and who recorded them, an End button each, and the form to record a legal basis (POST)."""

    access = Manage(ANY_CATEGORY)

    def get(self, request: HttpRequest, member_id: int) -> HttpResponse:
        return self.render_member(request, consent_member_for(self.scope, self.held, member_id))

    def post(self, request: HttpRequest, member_id: int) -> HttpResponse:
        member = consent_member_for(self.scope, self.held, member_id)
        form = LegalBasisForm(request.POST, visible=visible_categories(member, self.held))
        if form.is_valid():
            category, purpose = form.pair()
            try:
                legal_basis_record(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    member_id=member.pk,
                    category=category,
                    purpose=purpose,
                    basis=form.cleaned_data["basis"],
                    reason=form.cleaned_data["reason"],
                )
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The legal basis was recorded in the instruction ledger."))
                return redirect("console_member_consents", member_id=member.pk)
        return self.render_member(request, member, form, status=400)


class LegalBasisEndView(ConsentConsoleView):
    """POST only: end one legal basis (404 when missing, already ended or outside the scope)."""

    access = Manage(ANY_CATEGORY)

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = legal_basis_for(self.scope, pk)
        unconfirmed = confirmation_page(
            request,
            _(
                "End this legal basis? Processing on it stops at once; unless the member has consented, "
                "their data of this category and purpose is deleted."
            ),
            cancel_url=reverse("console_member_consents", kwargs={"member_id": record.membership_id}),
        )
        if unconfirmed is not None:
            return unconfirmed
        try:
            legal_basis_end(enterprise=self.enterprise, actor=self.membership, record_id=record.pk)
        except PermissionDenied:
            return render(request, "403.html", status=403)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            member = consent_member_for(self.scope, self.held, record.membership_id)
            return self.render_member(request, member, status=400)
        messages.success(
            request,
            _(
                "The legal basis was ended. Unless the member's consent covers it, their data "
                "of this category is deleted."
            ),
        )
        return redirect("console_member_consents", member_id=record.membership_id)


class GiveForm(forms.Form):
    category = forms.CharField(widget=forms.HiddenInput, label=gettext_lazy("Category"))
    purpose = forms.CharField(widget=forms.HiddenInput, label=gettext_lazy("Purpose"))
    notice_version = forms.IntegerField(widget=forms.HiddenInput, label=gettext_lazy("Notice version"))


class MeConsentsView(EnterpriseMemberView):
    """`/me/consents/`: every (category, purpose) pair with its status; POST gives a consent under
    the notice version shown (field errors: unknown category, a purpose not of that category, a
    stale version, a category the notice does not list)."""

    access = SelfService()

    template_name = "consent/me_consents.html"

    def _render(self, request: HttpRequest, form: GiveForm | None = None, status: int = 200) -> HttpResponse:
        return render(
            request,
            self.template_name,
            {
                "rows": my_consent_rows(enterprise=self.enterprise, membership=self.membership),
                "notice_version": self.enterprise.notice_version,
                "form": form,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = GiveForm(request.POST)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        data = form.cleaned_data
        try:
            record = consent_give(
                enterprise=self.enterprise,
                membership=self.membership,
                category=data["category"],
                purpose=data["purpose"],
                notice_version=data["notice_version"],
                channel=ConsentRecord.Channel.WEB,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(request, form=form, status=400)
        messages.success(
            request,
            _("You gave your consent: %(category)s for %(purpose)s.")
            % {"category": SensitiveCategory(record.category).label, "purpose": ConsentPurpose(record.purpose).label},
        )
        return redirect("me_consents")


class MeConsentWithdrawView(EnterpriseMemberView):
    """`/me/consents/<record id>/withdraw/`: GET shows what would be deleted (nothing when a legal
    basis the enterprise recorded still covers the data) and asks for confirmation; POST withdraws
    at once and schedules the deletion. Another member's record, a legal basis or a withdrawn
    consent is 404."""

    access = SelfService()

    template_name = "consent/me_consent_withdraw.html"

    def _render(
        self, request: HttpRequest, record: ConsentRecord, errors: list[str] | None = None, status: int = 200
    ) -> HttpResponse:
        others = other_bases_of(record)
        counts = withdrawal_preview(enterprise=self.enterprise, record=record)
        return render(
            request,
            self.template_name,
            {
                "record": record,
                "category_label": SensitiveCategory(record.category).label,
                "purpose_label": ConsentPurpose(record.purpose).label,
                "deletes": preview_lines(counts),
                "deletes_anything": any(counts.values()),
                "other_bases": others,
                "errors": errors or [],
            },
            status=status,
        )

    def get(self, request: HttpRequest, record_id: int) -> HttpResponse:
        return self._render(request, consent_of_member(membership=self.membership, record_id=record_id))

    def post(self, request: HttpRequest, record_id: int) -> HttpResponse:
        record = consent_of_member(membership=self.membership, record_id=record_id)
        if not is_confirmed(request):  # issue 16 §1: this page is the confirmation; nothing changes
            return self._render(request, record)
        try:
            closed = consent_withdraw(enterprise=self.enterprise, membership=self.membership, record_id=record.pk)
        except ValidationError as error:
            return self._render(request, record, errors=error.messages, status=400)
        labels = {"category": SensitiveCategory(closed.category).label, "purpose": ConsentPurpose(closed.purpose).label}
        if closed.erasure == ConsentRecord.Erasure.SCHEDULED:
            messages.success(
                request,
                _(
                    "You withdrew your consent to %(category)s for %(purpose)s. It takes effect "
                    "at once; deletion of the data collected on it has been scheduled."
                )
                % labels,
            )
        else:
            messages.success(
                request,
                _(
                    "You withdrew your consent to %(category)s for %(purpose)s. It takes effect "
                    "at once; the data is kept because the enterprise relies on a legal basis "
                    "it recorded."
                )
                % labels,
            )
        return redirect("me_consents")
