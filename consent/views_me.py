"""Members' side of the enterprise notice and the separate consents (CON-3, CON-4, CON-6).

- `/notice/` and `/notice/<version>/` (open to anyone on the enterprise host, signed in or not:
  the invitation pages link here): the current or a published version; drafts are 404.
- `/me/notice/`: the same for a member, with the "I have read it" form while the current version
  is not acknowledged (consent.middleware.NoticeInterstitialMiddleware sends them here).
- `/me/consents/`: one row per (sensitive category, purpose) with the member's consent and the
  legal bases the enterprise recorded; Give / Withdraw.
- `/me/consents/<record id>/withdraw/`: what withdrawing would delete, and the confirmation.

The rules are the services' (consent.services.notices, consent.services.consents); the small
selectors below fetch what the pages show and authorize it (a record that is not the member's
own active consent is the same 404 as a missing one). The API (consent/apis_me.py) uses them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from consent.models import (
    ConsentPurpose,
    ConsentRecord,
    EnterpriseNotice,
    NoticeAcknowledgement,
    NoticeCategory,
    NoticeItem,
    SensitiveCategory,
)
from consent.services.consents import ConsentLine, consent_give, consent_lines, consent_withdraw, withdrawal_preview
from consent.services.notices import notice_acknowledge
from core.models import Membership
from core.views import EnterpriseMemberView
from tenants.access import Public, SelfService
from tenants.models import Enterprise
from tenants.views import apply_service_errors, in_chinese, safe_next

# --- selectors (reads for these pages and the API; the acting member is an argument) -----------




def localized(zh: str, en: str) -> str:
    """The text in the active language, falling back to the other one when it is empty."""
    return (zh or en) if in_chinese() else (en or zh)


@dataclass(frozen=True)
class NoticeItemView:
    category: str
    category_label: str
    purpose: str
    retention_days: int


def notice_items(notice: EnterpriseNotice) -> list[NoticeItemView]:
    """The notice's lines in the active language (items must be prefetched: no query)."""
    return [NoticeItemView(category=item.category, category_label=str(NoticeCategory(item.category).label),
                           purpose=localized(item.purpose_zh, item.purpose_en), retention_days=item.retention_days)
            for item in notice.items.all()]


def notice_versions_published() -> list[EnterpriseNotice]:
    """Every published version of the current enterprise's notice, newest first (one query)."""
    return list(EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED)
                .only("version", "published_at", "status").order_by("-version"))


def notice_published(*, version: int | None) -> EnterpriseNotice | None:
    """A published version with its items (two queries), the newest when `version` is None;
    None for a draft or an unknown number."""
    rows = EnterpriseNotice.objects.filter(status=EnterpriseNotice.Status.PUBLISHED).prefetch_related("items")
    if version is not None:
        rows = rows.filter(version=version)
    return rows.order_by("-version").first()


def notice_acknowledgement_of(*, membership: Membership, notice: EnterpriseNotice) -> NoticeAcknowledgement | None:
    return NoticeAcknowledgement.objects.filter(membership=membership, notice=notice).first()


def notice_categories_current(*, enterprise: Enterprise) -> set[str]:
    """The categories the current notice says the enterprise collects (one query, none before the
    first version: `Enterprise.notice_version` is loaded with the tenant)."""
    if not enterprise.notice_version:
        return set()
    return set(NoticeItem.objects.filter(notice__version=enterprise.notice_version,
                                         notice__status=EnterpriseNotice.Status.PUBLISHED)
               .values_list("category", flat=True))


def consent_of_member(*, membership: Membership, record_id: int) -> ConsentRecord:
    """Fetch-and-authorize: the member's own active consent (not a legal basis an administrator
    recorded, not another member's, not one already withdrawn), else 404."""
    record = (ConsentRecord.objects.filter(pk=record_id, membership=membership, basis=ConsentRecord.Basis.CONSENT,
                                           withdrawn_at__isnull=True).select_related("notice").first())
    if record is None:
        raise Http404("No such consent.")
    return record


def other_bases_of(record: ConsentRecord) -> list[ConsentRecord]:
    """The other active bases for the same member, category and purpose (the legal bases that
    keep the data when the consent is withdrawn)."""
    return list(ConsentRecord.objects.filter(membership_id=record.membership_id, category=record.category,
                                             purpose=record.purpose, withdrawn_at__isnull=True)
                .exclude(pk=record.pk).order_by("given_at", "id"))


# What each key of withdrawal_preview / sensitive_data_counts means, for people.
PREVIEW_LABELS = {
    "templates": gettext_lazy("Biometric templates"),
    "health_reports": gettext_lazy("Health reports"),
    "raw_locations": gettext_lazy("Exact coordinates recorded at clock-in"),
    "location_cells": gettext_lazy("Approximate locations derived from them"),
    "id_numbers": gettext_lazy("ID number on your directory card"),
}


@dataclass(frozen=True)
class PreviewLine:
    kind: str
    label: str
    count: int


def preview_lines(counts: dict[str, int]) -> list[PreviewLine]:
    return [PreviewLine(kind=kind, label=str(PREVIEW_LABELS.get(kind, kind)), count=count)
            for kind, count in counts.items()]






# --- the notice -------------------------------------------------------------------------------


def _notice_context(notice: EnterpriseNotice | None) -> dict[str, Any]:
    versions = notice_versions_published()
    return {
        "notice": notice,
        "summary": localized(notice.summary_zh, notice.summary_en) if notice else "",
        "items": notice_items(notice) if notice else [],
        "versions": versions,
        "is_current": notice is not None and bool(versions) and versions[0].pk == notice.pk,
    }


class NoticeView(View):
    """`/notice/` (the current version) and `/notice/<version>/` (any published version at a
    stable address; drafts and unknown numbers are 404), open to anyone on the enterprise host."""

    access = Public()

    def get(self, request: HttpRequest, version: int | None = None) -> HttpResponse:
        enterprise = getattr(request, "enterprise", None)
        if enterprise is None:
            raise Http404("Not an enterprise host.")
        notice = notice_published(version=version)
        if notice is None and version is not None:
            raise Http404("No such notice version.")
        return render(request, "consent/notice.html", {**_notice_context(notice), "enterprise": enterprise})


class AcknowledgeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, label=gettext_lazy("Version"))
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class MeNoticeView(EnterpriseMemberView):
    """`/me/notice/`: the current notice for the member, with the acknowledgement form while it is
    not acknowledged (POST `version`, the number shown; a newer one published meanwhile is a 400
    with the field error and nothing written), or when they acknowledged it."""

    access = SelfService()

    template_name = "consent/me_notice.html"

    def _render(self, request: HttpRequest, form: AcknowledgeForm | None = None, status: int = 200) -> HttpResponse:
        notice = notice_published(version=None)
        acknowledged = notice is not None and self.membership.notice_acknowledged >= notice.version
        if form is None and notice is not None and not acknowledged:
            form = AcknowledgeForm(initial={"version": notice.version,
                                            "next": safe_next(request, request.GET.get("next")) or ""})
        return render(request, self.template_name, {
            **_notice_context(notice),
            "enterprise": self.enterprise,
            "acknowledged": acknowledged,
            "acknowledgement": notice_acknowledgement_of(membership=self.membership, notice=notice)
            if acknowledged and notice is not None else None,
            "form": form,
        }, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AcknowledgeForm(request.POST)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        try:
            ack = notice_acknowledge(enterprise=self.enterprise, membership=self.membership,
                                     version=form.cleaned_data["version"], channel=NoticeAcknowledgement.Channel.WEB)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(request, form=form, status=400)
        messages.success(request, _("You acknowledged the notice, version %(version)d.") % {
            "version": ack.notice.version})
        return redirect(safe_next(request, form.cleaned_data["next"]) or "me")


# --- consents ---------------------------------------------------------------------------------


class GiveForm(forms.Form):
    category = forms.CharField(widget=forms.HiddenInput, label=gettext_lazy("Category"))
    purpose = forms.CharField(widget=forms.HiddenInput, label=gettext_lazy("Purpose"))
    notice_version = forms.IntegerField(widget=forms.HiddenInput, label=gettext_lazy("Notice version"))


@dataclass(frozen=True)
class ConsentRow:
    line: ConsentLine
    can_give: bool


def consent_rows(*, enterprise: Enterprise, membership: Membership) -> list[ConsentRow]:
    """The consents page's rows (two queries: the member's active records, the notice's categories)."""
    listed = notice_categories_current(enterprise=enterprise)
    return [ConsentRow(line=line, can_give=line.consent is None and line.category in listed)
            for line in consent_lines(enterprise=enterprise, membership=membership)]


class MeConsentsView(EnterpriseMemberView):
    """`/me/consents/`: every (category, purpose) pair with its status; POST gives a consent under
    the notice version shown (field errors: unknown category, a purpose not of that category, a
    stale version, a category the notice does not list)."""

    access = SelfService()

    template_name = "consent/me_consents.html"

    def _render(self, request: HttpRequest, form: GiveForm | None = None, status: int = 200) -> HttpResponse:
        return render(request, self.template_name, {
            "rows": consent_rows(enterprise=self.enterprise, membership=self.membership),
            "notice_version": self.enterprise.notice_version,
            "form": form,
        }, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = GiveForm(request.POST)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        data = form.cleaned_data
        try:
            record = consent_give(enterprise=self.enterprise, membership=self.membership, category=data["category"],
                                  purpose=data["purpose"], notice_version=data["notice_version"],
                                  channel=ConsentRecord.Channel.WEB)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(request, form=form, status=400)
        messages.success(request, _("You gave your consent: %(category)s for %(purpose)s.") % {
            "category": SensitiveCategory(record.category).label, "purpose": ConsentPurpose(record.purpose).label})
        return redirect("me_consents")


class MeConsentWithdrawView(EnterpriseMemberView):
    """`/me/consents/<record id>/withdraw/`: GET shows what would be deleted (nothing when a legal
    basis the enterprise recorded still covers the data) and asks for confirmation; POST withdraws
    at once and schedules the deletion. Another member's record, a legal basis or a withdrawn
    consent is 404."""

    access = SelfService()

    template_name = "consent/me_consent_withdraw.html"

    def _render(self, request: HttpRequest, record: ConsentRecord, errors: list[str] | None = None,
                status: int = 200) -> HttpResponse:
        others = other_bases_of(record)
        counts = withdrawal_preview(enterprise=self.enterprise, record=record)
        return render(request, self.template_name, {
            "record": record,
            "category_label": SensitiveCategory(record.category).label,
            "purpose_label": ConsentPurpose(record.purpose).label,
            "deletes": preview_lines(counts),
            "deletes_anything": any(counts.values()),
            "other_bases": others,
            "errors": errors or [],
        }, status=status)

    def get(self, request: HttpRequest, record_id: int) -> HttpResponse:
        return self._render(request, consent_of_member(membership=self.membership, record_id=record_id))

    def post(self, request: HttpRequest, record_id: int) -> HttpResponse:
        record = consent_of_member(membership=self.membership, record_id=record_id)
        try:
            closed = consent_withdraw(enterprise=self.enterprise, membership=self.membership, record_id=record.pk)
        except ValidationError as error:
            return self._render(request, record, errors=error.messages, status=400)
        labels = {"category": SensitiveCategory(closed.category).label,
                  "purpose": ConsentPurpose(closed.purpose).label}
        if closed.erasure == ConsentRecord.Erasure.SCHEDULED:
            messages.success(request, _("You withdrew your consent to %(category)s for %(purpose)s. It takes effect "
                                        "at once; deletion of the data collected on it has been scheduled.") % labels)
        else:
            messages.success(request, _("You withdrew your consent to %(category)s for %(purpose)s. It takes effect "
                                        "at once; the data is kept because the enterprise relies on a legal basis "
                                        "it recorded.") % labels)
        return redirect("me_consents")
