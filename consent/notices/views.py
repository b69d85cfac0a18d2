"""The enterprise notice pages (CON-3).

- `/notice/` and `/notice/<version>/` (open to anyone on the enterprise host, signed in or not:
  the invitation pages link here): the current or a published version; drafts are 404.
- `/me/notice/`: the same for a member, with the "I have read it" form while the current version
  is not acknowledged (consent.notices.middleware sends them here).
- `/console/notices/…` (category "consent"): the versions with their acknowledgement counts, the
  one draft's edit form (prefilled from the draft, else the current version, else the platform's
  template), publishing and discarding it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from consent.models import (
    EnterpriseNotice,
    NoticeAcknowledgement,
    NoticeCategory,
)
from consent.notices.forms import AcknowledgeForm, NoticeDraftForms, PublishForm
from consent.notices.selectors import (
    localized,
    notice_acknowledgement_of,
    notice_current,
    notice_draft,
    notice_items,
    notice_published,
    notice_retention_days,
    notice_version_or_404,
    notice_versions,
    notice_versions_published,
)
from consent.notices.services import (
    DEFAULT_ITEMS,
    DEFAULT_SUMMARY_EN,
    DEFAULT_SUMMARY_ZH,
    MAX_RETENTION_DAYS,
    notice_acknowledge,
    notice_draft_discard,
    notice_draft_save,
    notice_publish,
)
from core.views import ConsoleView, EnterpriseMemberView, confirmation_page
from tenants.access import Manage, Public, Read, SelfService
from tenants.categories import Category
from tenants.views import apply_service_errors, safe_next


def _draft_prefill(enterprise: Any) -> tuple[str, EnterpriseNotice | None, dict[str, Any], list[dict[str, Any]]]:
    """(source, notice, notice initial, row initials): the draft, else the current version, else
    the platform's template."""
    draft = notice_draft(enterprise=enterprise)
    source, notice = ("draft", draft) if draft is not None else ("current", notice_current(enterprise=enterprise))
    # RET-1: a new version starts from the retention settings in force; a draft keeps its edits
    periods = notice_retention_days(enterprise=enterprise) if source != "draft" or notice is None else {}
    if notice is not None:
        initial = {"summary_zh": notice.summary_zh, "summary_en": notice.summary_en, "contact": notice.contact}
        items = {item.category: item for item in notice.items.all()}
        rows = [
            {
                "category": c,
                "collected": c in items,
                "purpose_zh": items[c].purpose_zh if c in items else "",
                "purpose_en": items[c].purpose_en if c in items else "",
                "retention_days": periods.get(c, items[c].retention_days if c in items else ""),
            }
            for c in NoticeCategory.values
        ]
        return source, notice, initial, rows
    defaults = {item.category: item for item in DEFAULT_ITEMS}
    rows = [
        {
            "category": c,
            "collected": c in defaults,
            "purpose_zh": defaults[c].purpose_zh if c in defaults else "",
            "purpose_en": defaults[c].purpose_en if c in defaults else "",
            "retention_days": periods.get(c, defaults[c].retention_days if c in defaults else ""),
        }
        for c in NoticeCategory.values
    ]
    return "template", None, {"summary_zh": DEFAULT_SUMMARY_ZH, "summary_en": DEFAULT_SUMMARY_EN, "contact": ""}, rows


class NoticeConsoleView(ConsoleView):
    access = Read(Category.CONSENT)

    def render_list(self, request: HttpRequest, status: int = 200) -> HttpResponse:
        versions = list(notice_versions())
        return render(
            request,
            "consent/console_notices.html",
            {
                "versions": versions,
                "draft": next((v for v in versions if v.status == EnterpriseNotice.Status.DRAFT), None),
                "current_version": self.enterprise.notice_version,
            },
            status=status,
        )


class NoticeListView(NoticeConsoleView):
    """Every version with status, publication and acknowledgement count; a link to the draft."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_list(request)


class NoticeDraftView(NoticeConsoleView):
    """GET: the draft's form, prefilled. POST: save the draft (400 with field errors, nothing
    written, on bad input)."""

    access = Manage(Category.CONSENT, enterprise_wide=True)

    template_name = "consent/console_notice_draft.html"

    def _render(
        self,
        request: HttpRequest,
        forms_: NoticeDraftForms,
        *,
        status: int = 200,
        publish_form: PublishForm | None = None,
    ) -> HttpResponse:
        source, notice, _initial, _rows = _draft_prefill(self.enterprise)
        return render(
            request,
            self.template_name,
            {
                "forms": forms_,
                "source": source,
                "notice": notice,
                "draft": notice if source == "draft" else None,
                "publish_form": publish_form or PublishForm(),
                "max_retention": MAX_RETENTION_DAYS,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        _source, _notice, initial, rows = _draft_prefill(self.enterprise)
        return self._render(request, NoticeDraftForms(initial=initial, rows=rows))

    def post(self, request: HttpRequest) -> HttpResponse:
        forms_ = NoticeDraftForms(request.POST)
        if forms_.is_valid():
            data = forms_.notice.cleaned_data
            try:
                draft = notice_draft_save(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    summary_zh=data["summary_zh"],
                    summary_en=data["summary_en"],
                    contact=data["contact"],
                    items=forms_.items(),
                )
            except ValidationError as error:
                forms_.apply_service_errors(error)
            else:
                messages.success(
                    request,
                    _("The draft of version %(version)d was saved. Members see it only once it is published.")
                    % {"version": draft.version},
                )
                return redirect("console_notice_draft")
        return self._render(request, forms_, status=400)


class NoticePublishView(NoticeDraftView):
    """POST only: publish the draft after the admin confirmed that members must acknowledge it."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        draft = notice_draft(enterprise=self.enterprise)
        publish_form = PublishForm(request.POST)
        if draft is None:
            messages.error(request, _("There is no draft to publish."))
            return self.render_list(request, status=400)
        if publish_form.is_valid():
            try:
                notice = notice_publish(enterprise=self.enterprise, actor=self.membership, notice=draft)
            except ValidationError as error:
                publish_form.add_error(None, error.messages)
            else:
                messages.success(
                    request,
                    _(
                        "Version %(version)d is published. Every member is asked to acknowledge "
                        "it and was told in their inbox."
                    )
                    % {"version": notice.version},
                )
                return redirect("console_notices")
        _source, _notice, initial, rows = _draft_prefill(self.enterprise)
        return self._render(
            request, NoticeDraftForms(initial=initial, rows=rows), status=400, publish_form=publish_form
        )


class NoticeDiscardView(NoticeConsoleView):
    """POST only: delete the draft (published versions are never changed)."""

    access = Manage(Category.CONSENT, enterprise_wide=True)

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        unconfirmed = confirmation_page(
            request,
            _("Discard the draft notice? Its text is deleted; published versions do not change."),
            cancel_url=reverse("console_notice_draft"),
        )
        if unconfirmed is not None:
            return unconfirmed
        if notice_draft_discard(enterprise=self.enterprise):
            messages.success(request, _("The draft was discarded."))
        else:
            messages.info(request, _("There was no draft."))
        return redirect("console_notices")


class NoticeVersionView(NoticeConsoleView):
    """Any version, read-only."""

    def get(self, request: HttpRequest, version: int) -> HttpResponse:
        notice = notice_version_or_404(version)
        return render(
            request,
            "consent/console_notice.html",
            {
                "notice": notice,
                "items": list(notice.items.all()),
                "is_current": notice.version == self.enterprise.notice_version,
            },
        )


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
            form = AcknowledgeForm(
                initial={"version": notice.version, "next": safe_next(request, request.GET.get("next")) or ""}
            )
        return render(
            request,
            self.template_name,
            {
                **_notice_context(notice),
                "enterprise": self.enterprise,
                "acknowledged": acknowledged,
                "acknowledgement": notice_acknowledgement_of(membership=self.membership, notice=notice)
                if acknowledged and notice is not None
                else None,
                "form": form,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AcknowledgeForm(request.POST)
        if not form.is_valid():
            return self._render(request, form=form, status=400)
        try:
            ack = notice_acknowledge(
                enterprise=self.enterprise,
                membership=self.membership,
                version=form.cleaned_data["version"],
                channel=NoticeAcknowledgement.Channel.WEB,
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(request, form=form, status=400)
        messages.success(
            request, _("You acknowledged the notice, version %(version)d.") % {"version": ack.notice.version}
        )
        return redirect(safe_next(request, form.cleaned_data["next"]) or "me")
