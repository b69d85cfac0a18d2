"""The instruction ledger in the console (ENT-10): browse, export as CSV, verify the chain.

Only administrators whose scope holds the `ledger` category (owners, full admins) reach these
pages; ConsoleView answers 403 to everyone else."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import Membership
from core.scopes import AdminScope
from core.views import ConsoleView
from ledger.selectors import (
    ACTIONS,
    LedgerFilters,
    LedgerRow,
    action_label,
    category_label,
    join_labels,
    ledger_export_rows,
    ledger_member_choices,
    ledger_page,
)
from ledger.services import (
    REASON_BELOW_CHECKPOINT,
    REASON_CONTENT,
    REASON_ID_NOT_POSITIVE,
    REASON_LINK,
    Action,
    ledger_export_record,
    ledger_verify,
)
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.ids import object_id
from tenants.input import CONTROL_IN_NAME
from tenants.models import Enterprise

FILTER_FIELDS = ("date_from", "date_to", "action", "category", "actor", "subject", "q")


class LedgerFilterForm(forms.Form):
    """The ledger's filters (GET). Subject and actor are chosen among the members in the admin's
    ledger scope; the choices are loaded once by the view and passed in."""

    category = forms.ChoiceField(label=_("Category"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    subject = forms.TypedChoiceField(label=_("Whose data"), required=False, coerce=int, empty_value=None)
    actor = forms.TypedChoiceField(label=_("Actor"), required=False, coerce=int, empty_value=None)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    q = forms.CharField(
        label=_("Purpose contains"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything: list[tuple[Any, Any]] = [("", _("All"))]
        cast(forms.ChoiceField, self.fields["category"]).choices = everything + [
            (value, category_label(value)) for value in Category.values
        ]
        cast(forms.ChoiceField, self.fields["action"]).choices = everything + [
            (action, action_label(action)) for action in ACTIONS
        ]
        cast(forms.ChoiceField, self.fields["subject"]).choices = everything + members
        cast(forms.ChoiceField, self.fields["actor"]).choices = everything + members

    def clean_q(self) -> str:
        text = self.cleaned_data.get("q") or ""
        if CONTROL_IN_NAME.search(text):  # one line: no tab or line break either
            raise forms.ValidationError(_("Control characters are not allowed."), code="control")
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filters(self) -> LedgerFilters:
        data = self.cleaned_data
        return LedgerFilters(
            category=data.get("category") or "",
            action=data.get("action") or "",
            subject_id=data.get("subject"),
            actor_id=data.get("actor"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            text=data.get("q") or "",
        )


# Console pages of the object an entry names: (URL name, how its arguments come from the entry
# or None for a page without arguments, the category the reading admin needs — enterprise-wide
# when the page needs it there). Deleted objects get no link.
@dataclass(frozen=True)
class ObjectPage:
    url_name: str
    category: str
    args: Callable[[Any], list[Any] | None] | None = None
    whole: bool = False


def _object_pk(entry: Any) -> list[Any] | None:
    pk = object_id(entry.object_id)
    return [pk] if pk is not None else None


def _notice_version(entry: Any) -> list[Any] | None:
    version = (entry.details or {}).get("version") if isinstance(entry.details, dict) else None
    return [version] if isinstance(version, int) and version > 0 else None


OBJECT_PAGES: dict[str, ObjectPage] = {
    "enterprise_data.department": ObjectPage("console_org", Category.DIRECTORY, whole=True),
    "enterprise_data.position": ObjectPage("console_org", Category.DIRECTORY, whole=True),
    "enterprise_data.rank": ObjectPage("console_org", Category.DIRECTORY, whole=True),
    "enterprise_data.invitation": ObjectPage("console_invitations", Category.DIRECTORY),
    "enterprise_data.device": ObjectPage("biometrics_devices", Category.BIOMETRICS, whole=True),
    "enterprise_data.biometrictemplate": ObjectPage("biometrics_members", Category.BIOMETRICS),
    "enterprise_data.geofence": ObjectPage("console_geofence_edit", Category.ATTENDANCE, _object_pk, whole=True),
    "enterprise_data.attendancepolicy": ObjectPage("console_attendance_policy", Category.ATTENDANCE, whole=True),
    "enterprise_data.clockevent": ObjectPage("console_attendance", Category.ATTENDANCE),
    "enterprise_data.healthreport": ObjectPage("console_health_reports", Category.HEALTH),
    "enterprise_data.enterprisesettings": ObjectPage("console_health", Category.HEALTH),
    "enterprise_data.retentionsetting": ObjectPage("console_retention", Category.RETENTION, whole=True),
    "enterprise_data.purgestep": ObjectPage("console_retention", Category.RETENTION, whole=True),
    "consent.enterprisenotice": ObjectPage("console_notice_version", Category.CONSENT, _notice_version),
    "consent.consentrecord": ObjectPage("console_consents", Category.CONSENT),
}
MEMBER_CARD = "enterprise_data.membership"


def object_url(row: LedgerRow, scope: AdminScope) -> str:
    """The console page of the object an entry names, if there is one this admin may open."""
    entry = row.entry
    if entry.action == Action.DELETE or not entry.object_type:
        return ""
    if entry.object_type == MEMBER_CARD:
        return reverse("console_member", args=[entry.subject_membership_id]) if row.subject_card else ""
    if entry.object_type == "requests.request":
        page = ObjectPage("console_request", entry.category, _object_pk)
    elif entry.object_type in OBJECT_PAGES:
        page = OBJECT_PAGES[entry.object_type]
    else:
        return ""
    if page.whole and page.category not in scope.whole:
        return ""
    if not scope.has_category(page.category):
        return ""
    args: list[Any] | None = []
    if page.args is not None:
        args = page.args(entry)
        if args is None:
            return ""
    return reverse(page.url_name, args=args)


def _link(text: str, url: str, css: str = "") -> SafeString:
    if url:
        return format_html('<a href="{}" class="{}">{}</a>', url, css, text)
    return format_html('<span class="{}">{}</span>', css, text)


@dataclass(frozen=True)
class LedgerLine:
    """One entry as the console shows it: a sentence (who · what · whose data), its links
    resolved (member cards in scope, the object's page), the time and the purpose."""

    row: LedgerRow
    sentence: SafeString
    actor_url: str
    object_url: str

    @property
    def show_kind(self) -> bool:
        """The actor kind as a badge, unless the actor's name is that kind (System)."""
        return self.row.entry.actor_membership_id is not None or self.row.entry.actor_device_id is not None

    @property
    def when(self) -> str:
        """The enterprise's local time with its offset: 2026-12-07 10:31 +08:00."""
        local = timezone.localtime(self.row.entry.created_at)
        offset = local.isoformat()[-6:]
        return f"{local:%Y-%m-%d %H:%M} {offset}"

    @property
    def when_iso(self) -> str:
        return timezone.localtime(self.row.entry.created_at).isoformat(timespec="seconds")


def ledger_line(row: LedgerRow, scope: AdminScope) -> LedgerLine:
    entry = row.entry
    actor_url = reverse("console_member", args=[entry.actor_membership_id]) if row.actor_card else ""
    subject_url = reverse("console_member", args=[entry.subject_membership_id]) if row.subject_card else ""
    target_url = object_url(row, scope)
    categories = entry.details.get("categories") if isinstance(entry.details, dict) else None
    scope_change = entry.action in (Action.GRANT, Action.REVOKE) and isinstance(categories, list)
    if scope_change and isinstance(categories, list):  # access granted or revoked: its categories
        fields = join_labels(category_label(str(category)) for category in categories)
    else:
        fields = join_labels(row.field_labels)
    if entry.object_type == MEMBER_CARD or entry.action == Action.INVITE:
        what = fields
    elif row.object_label and fields:
        what = gettext("%(object)s (%(fields)s)") % {"object": row.object_label, "fields": fields}
    else:
        what = row.object_label or fields
    if not what and not entry.subject_membership_id:
        what = row.category_label
    parts = {
        "actor": _link(row.actor_name, actor_url, "ledger-actor"),
        "verb": row.action_verb,
        "subject": _link(row.subject_name, subject_url, "ledger-subject"),
        "what": _link(what, "" if entry.object_type == MEMBER_CARD else target_url, "ledger-object"),
    }
    if entry.action == Action.VIEW_OWN and entry.actor_membership_id == entry.subject_membership_id:
        pattern = gettext("{actor} viewed their own {what}")  # the member's own access (issue 17 §1)
    elif scope_change and entry.subject_membership_id and entry.action == Action.GRANT:
        pattern = gettext("{actor} granted {subject} access to {what}")
    elif scope_change and entry.subject_membership_id:
        pattern = gettext("{actor} revoked {subject}’s access to {what}")
    elif entry.subject_membership_id and what:
        pattern = gettext("{actor} {verb} {subject}’s {what}")
    elif entry.subject_membership_id and entry.action == Action.INVITE:
        pattern = gettext("{actor} {verb} {subject}")
    elif entry.subject_membership_id:
        pattern = gettext("{actor} {verb} {subject}’s data")
    else:
        pattern = gettext("{actor} {verb} {what}")
    return LedgerLine(row, format_html(pattern, **parts), actor_url, target_url)


class _LedgerConsoleView(ConsoleView):
    access = Read(Category.LEDGER)

    def filter_form(self, request: HttpRequest) -> LedgerFilterForm:
        members = ledger_member_choices(enterprise=self.enterprise, scope=self.scope)
        return LedgerFilterForm(request.GET or None, members=members)

    def render_list(self, request: HttpRequest, form: LedgerFilterForm, *, status: int = 200) -> HttpResponse:
        page = None
        lines: list[LedgerLine] = []
        filter_query = older_query = ""
        if form.is_bound and not form.is_valid():
            status = max(status, 400)
        else:
            filters = form.filters() if form.is_bound else LedgerFilters()
            before = object_id(request.GET.get("before"))
            page = ledger_page(enterprise=self.enterprise, scope=self.scope, filters=filters, before=before)
            query = request.GET.copy()
            query.pop("before", None)
            query.pop("purpose", None)
            filter_query = query.urlencode()
            lines = [ledger_line(row, self.scope) for row in page.rows]
            if page.next_before is not None:
                query["before"] = str(page.next_before)
                older_query = query.urlencode()
        context = {
            "form": form,
            "page": page,
            "lines": lines,
            "filters_set": sum(1 for name in FILTER_FIELDS if form.is_bound and form.data.get(name)),
            "filter_query": filter_query,
            "older_query": older_query,
            "is_first_page": "before" not in request.GET,
            "filter_fields": FILTER_FIELDS,
        }
        return render(request, "enterprise_data/ledger/list.html", context, status=status)


class LedgerListView(_LedgerConsoleView):
    """`/console/ledger/`: entries newest first, 50 per page (keyset on the id), filtered."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_list(request, self.filter_form(request))


def stream_csv(rows: Iterator[list[str]], language: str | None = None) -> Iterator[str]:
    """Encode rows one at a time (the writer's buffer is a one-line echo), in the reader's
    language (the rows are read while the response streams, after the view has returned)."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    yield "\ufeff"  # so spreadsheet programs read UTF-8
    while True:
        # the language is set while a row is read, never across a yield: a response closed
        # half-way must not leave another request's thread in this reader's language
        with translation.override(language):
            row = next(rows, None)
        if row is None:
            return
        yield writer.writerow(row)


def ledger_export_response(
    *,
    enterprise: Enterprise,
    scope: AdminScope,
    actor: Membership,
    filters: LedgerFilters,
    purpose: str,
) -> StreamingHttpResponse:
    """Record the export in the ledger (ENT-10: exporting is processing), then stream the
    matching entries up to and including that record as CSV."""
    record = ledger_export_record(
        enterprise=enterprise, actor=actor, subject_id=filters.subject_id, filters=filters.as_details(), purpose=purpose
    )
    rows = ledger_export_rows(enterprise=enterprise, scope=scope, filters=filters, upto_id=record.id)
    response = StreamingHttpResponse(
        stream_csv(rows, translation.get_language()), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")  # the enterprise's local time, as the rows
    response["Content-Disposition"] = f'attachment; filename="ledger-{enterprise.schema_name}-{stamp}.csv"'
    return response


class LedgerExportView(_LedgerConsoleView):
    """`POST /console/ledger/export/` (`<filters>`, `purpose`, the CSRF token): the filtered
    entries as a streamed CSV, the export recorded in the ledger first. Exporting records an
    instruction, so it is a POST with CSRF; a GET (an old bookmark, a link on another site)
    writes nothing and is sent to the ledger's page with the same filters, where the export
    form is (docs/ledger.md, docs/security.md "Safe methods")."""

    access = Manage(Category.LEDGER)

    def get(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.copy()
        query.pop("purpose", None)
        url = reverse("console_ledger")
        return redirect(f"{url}?{query.urlencode()}" if query else url)

    def post(self, request: HttpRequest) -> HttpResponseBase:
        members = ledger_member_choices(enterprise=self.enterprise, scope=self.scope)
        form = LedgerFilterForm(request.POST, members=members)
        if not form.is_valid():
            return self.render_list(request, form, status=400)
        purpose = (request.POST.get("purpose") or "").strip()[:200]
        return ledger_export_response(
            enterprise=self.enterprise, scope=self.scope, actor=self.membership, filters=form.filters(), purpose=purpose
        )


class LedgerVerifyView(_LedgerConsoleView):
    """`/console/ledger/verify/`: recompute the hash chain and show the result."""

    def get(self, request: HttpRequest) -> HttpResponse:
        result = ledger_verify(enterprise=self.enterprise)
        return render(
            request,
            "enterprise_data/ledger/verify.html",
            {
                "result": result,
                "reason": verification_reason(result.reason),
                "problems": [(problem.id, verification_reason(problem.reason)) for problem in result.problems],
                "unlisted": result.problem_count - len(result.problems),
            },
        )


def verification_reason(reason: str) -> str:
    """The translated text of a reason given by services.ledger.ledger_verify."""
    reasons = {
        REASON_LINK: _("its previous-hash does not match the entry before it (an entry was removed or inserted)"),
        REASON_CONTENT: _("its content does not match its hash (the entry was changed)"),
        REASON_ID_NOT_POSITIVE: _("its id is not positive, so it lies outside the chain (it was inserted by hand)"),
        REASON_BELOW_CHECKPOINT: _(
            "it lies at or below the newest purge checkpoint, where no entry may remain "
            "(it was inserted or kept back after a purge)"
        ),
    }
    return str(reasons.get(reason, reason))
