"""The administrators' side of enterprise notices and consents (CON-3, CON-4, ENT-8, ENT-10).

Notices (`/console/notices/…`, category "consent": owners, full admins, scoped admins granted
it): the versions with their acknowledgement counts, the one draft's edit form (prefilled from
the draft, else the current version, else the platform's template), publishing and discarding it.

Consents (`/console/consents/…`): which members have a basis for each sensitive category and
purpose. Each sensitive category is covered by one administrator category
(consent.models.enterprise.ADMIN_CATEGORY: biometrics, health, attendance for precise
location, directory for ID documents and contacts); an admin sees a member when they hold at
least one of those over the member, and a cell only for the categories they hold over that
member. Recording and ending a legal basis are the services' (consent.services.consents), which
check the scope again and write the ledger (ENT-10).

The read helpers (`notice_versions`, `consent_members`, …) are shared with consent.apis_console."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.models import PURPOSES, ConsentPurpose, ConsentRecord, EnterpriseNotice, NoticeCategory, SensitiveCategory
from consent.models.enterprise import ADMIN_CATEGORY
from consent.services.consents import ConsentLine, consent_lines, legal_basis_end, legal_basis_record
from consent.services.notices import (
    DEFAULT_ITEMS,
    DEFAULT_SUMMARY_EN,
    DEFAULT_SUMMARY_ZH,
    MAX_RETENTION_DAYS,
    NoticeItemInput,
    notice_current,
    notice_draft,
    notice_draft_discard,
    notice_draft_save,
    notice_publish,
    notice_retention_days,
)
from core.models import Department, Membership
from core.scopes import AdminScope
from core.views import ConsoleView
from tenants.access import Manage, Read
from tenants.categories import ANY_CATEGORY, Category
from tenants.views import apply_service_errors

PAGE_SIZE = 50

# The administrator categories that cover a sensitive category, in a stable order.
CONSENT_ADMIN_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(str(c) for c in ADMIN_CATEGORY.values()))


# --- read helpers (also used by the API) --------------------------------------------------------

def notice_versions() -> QuerySet[EnterpriseNotice]:
    """Every version, newest first, with its acknowledgement count (one query, set-based)."""
    return (EnterpriseNotice.objects.select_related("published_by", "created_by")
            .annotate(acknowledgement_count=Count("acknowledgements")).order_by("-version"))


def notice_version_or_404(version: int) -> EnterpriseNotice:
    notice = notice_versions().prefetch_related("items").filter(version=version).first()
    if notice is None:
        raise Http404("No such notice version.")
    return notice


def consent_categories_held(scope: AdminScope) -> tuple[str, ...]:
    """The administrator categories covering a sensitive category that `scope` holds anywhere."""
    return tuple(c for c in CONSENT_ADMIN_CATEGORIES if scope.has_category(c))


def _flag(category: str) -> str:
    return f"can_{category}"


def consent_members(scope: AdminScope, held: tuple[str, ...]) -> QuerySet[Membership]:
    """Members over whom the admin holds at least one of `held`, each annotated `can_<category>`
    for each of them (whether the admin holds that category over this member). One query."""
    queryset = Membership.objects.filter(status__in=[Membership.Status.ACTIVE, Membership.Status.INVITED])
    if not held:
        return queryset.none()
    if not any(c in scope.whole for c in held):
        queryset = queryset.filter(reduce(or_, (Q(pk__in=scope.members(c).values("pk")) for c in held)))
    through = Membership.departments.through
    annotations: dict[str, Any] = {}
    for category in held:
        if category in scope.whole:
            annotations[_flag(category)] = Value(True)
        else:
            subtree = reduce(or_, (Q(department__path__startswith=p) for p in scope.paths[category]))
            annotations[_flag(category)] = Exists(through.objects.filter(subtree, membership_id=OuterRef("pk")))
    return queryset.annotate(**annotations)


def visible_categories(member: Membership, held: tuple[str, ...]) -> frozenset[str]:
    """The sensitive categories whose administrator category the admin holds over `member`
    (a row of `consent_members`)."""
    return frozenset(str(s) for s, admin in ADMIN_CATEGORY.items()
                     if admin in held and getattr(member, _flag(admin), False))


def consent_member_for(scope: AdminScope, held: tuple[str, ...], pk: int) -> Membership:
    """Fetch-and-authorize: one member in the admin's consent scope, or the same 404 as a missing one."""
    member = consent_members(scope, held).filter(pk=pk).first()
    if member is None:
        raise Http404("No such member.")
    return member


def legal_basis_for(scope: AdminScope, pk: int) -> ConsentRecord:
    """Fetch-and-authorize: an active legal basis (not a consent) of a member over whom the admin
    holds the record's administrator category; the same 404 for missing and forbidden."""
    record = (ConsentRecord.objects.exclude(basis=ConsentRecord.Basis.CONSENT)
              .filter(pk=pk, withdrawn_at__isnull=True).first())
    if record is None:
        raise Http404("No such legal basis.")
    admin_category = ADMIN_CATEGORY[SensitiveCategory(record.category)]
    if not scope.has_category(admin_category) or \
            not scope.members(admin_category).filter(pk=record.membership_id).exists():
        raise Http404("No such legal basis.")
    return record


def member_lines(*, enterprise: Any, member: Membership, held: tuple[str, ...]) -> list[ConsentLine]:
    """The member's consent lines (one query) for the categories the admin holds over them."""
    visible = visible_categories(member, held)
    return [line for line in consent_lines(enterprise=enterprise, membership=member) if line.category in visible]


@dataclass(frozen=True)
class ConsentColumn:
    category: str
    purpose: str

    @property
    def category_label(self) -> str:
        return str(SensitiveCategory(self.category).label)

    @property
    def purpose_label(self) -> str:
        return str(ConsentPurpose(self.purpose).label)


@dataclass(frozen=True)
class ConsentCell:
    """`state`: "consent", "legal" (a legal basis), "both", "none", or "hidden" (outside the
    admin's categories for this member)."""

    state: str


@dataclass(frozen=True)
class ConsentRow:
    member: Membership
    cells: tuple[ConsentCell, ...]


def consent_columns(held: tuple[str, ...]) -> list[ConsentColumn]:
    return [ConsentColumn(category, purpose) for category, purposes in PURPOSES.items()
            if ADMIN_CATEGORY[SensitiveCategory(category)] in held for purpose in purposes]


def consent_rows(members: list[Membership], columns: list[ConsentColumn], held: tuple[str, ...]) -> list[ConsentRow]:
    """One row per member with a cell per column (one query for the members' active records)."""
    active: dict[tuple[int, str, str], set[str]] = {}
    records = (ConsentRecord.objects.filter(membership_id__in=[m.pk for m in members], withdrawn_at__isnull=True)
               .values_list("membership_id", "category", "purpose", "basis"))
    for membership_id, category, purpose, basis in records:
        active.setdefault((membership_id, category, purpose), set()).add(basis)
    rows = []
    for member in members:
        visible = visible_categories(member, held)
        cells = []
        for column in columns:
            if column.category not in visible:
                cells.append(ConsentCell("hidden"))
                continue
            bases = active.get((member.pk, column.category, column.purpose), set())
            consent = ConsentRecord.Basis.CONSENT in bases
            legal = bool(bases - {ConsentRecord.Basis.CONSENT})
            cells.append(ConsentCell("both" if consent and legal else "consent" if consent
                                     else "legal" if legal else "none"))
        rows.append(ConsentRow(member, tuple(cells)))
    return rows




# --- notices (CON-3) -------------------------------------------------------------------------

class NoticeForm(forms.Form):
    """The notice's own text; the rules (a summary, a contact, lengths) are notice_draft_save's."""

    summary_zh = forms.CharField(label=gettext_lazy("Summary (Simplified Chinese)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 4}))
    summary_en = forms.CharField(label=gettext_lazy("Summary (English)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 4}))
    contact = forms.CharField(label=gettext_lazy("Contact for personal-data questions"), required=False)


class NoticeItemForm(forms.Form):
    """One row of the draft: a category (hidden), whether it is collected, why, and how long."""

    category = forms.CharField(widget=forms.HiddenInput, required=False)
    collected = forms.BooleanField(label=gettext_lazy("Collected"), required=False)
    purpose_zh = forms.CharField(label=gettext_lazy("Purpose (Simplified Chinese)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    purpose_en = forms.CharField(label=gettext_lazy("Purpose (English)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    retention_days = forms.CharField(label=gettext_lazy("Kept for (days)"), required=False,
                                     widget=forms.NumberInput(attrs={"min": 1, "max": MAX_RETENTION_DAYS}))

    @property
    def category_label(self) -> str:
        value = self["category"].value() or ""
        return str(NoticeCategory(value).label) if value in NoticeCategory.values else str(value)


class NoticeDraftForms:
    """The notice form and one NoticeItemForm per NoticeCategory (prefix `items-<row>`)."""

    ROWS = len(NoticeCategory.values)

    def __init__(self, data: Any = None, *, initial: dict[str, Any] | None = None,
                 rows: list[dict[str, Any]] | None = None) -> None:
        if data is not None:  # a row whose category was not posted is that row's category
            data = data.copy()
            for index, category in enumerate(NoticeCategory.values):
                data.setdefault(f"items-{index}-category", category)
        self.notice = NoticeForm(data, initial=initial)
        self.rows = [NoticeItemForm(data, prefix=f"items-{index}", initial=(rows or [{}] * self.ROWS)[index])
                     for index in range(self.ROWS)]
        self._submitted: list[int] = []  # row index of each item passed to the service

    def is_valid(self) -> bool:
        return all([self.notice.is_valid(), *(row.is_valid() for row in self.rows)])

    def items(self) -> list[NoticeItemInput]:
        items = []
        self._submitted = []
        for index, row in enumerate(self.rows):
            data = row.cleaned_data
            if not data["collected"]:
                continue
            self._submitted.append(index)
            items.append(NoticeItemInput(category=data["category"], purpose_zh=data["purpose_zh"],
                                         purpose_en=data["purpose_en"], retention_days=data["retention_days"]))
        return items

    def apply_service_errors(self, error: ValidationError) -> None:
        """The service's field errors: `items-<k>-<field>` names the k-th submitted item."""
        for key, errors in error.message_dict.items():
            parts = key.split("-")
            if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit() \
                    and int(parts[1]) < len(self._submitted):
                row = self.rows[self._submitted[int(parts[1])]]
                row.add_error(parts[2] if parts[2] in row.fields else None, errors)
            else:
                self.notice.add_error(key if key in self.notice.fields else None, errors)


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
        rows = [{"category": c, "collected": c in items, "purpose_zh": items[c].purpose_zh if c in items else "",
                 "purpose_en": items[c].purpose_en if c in items else "",
                 "retention_days": periods.get(c, items[c].retention_days if c in items else "")}
                for c in NoticeCategory.values]
        return source, notice, initial, rows
    defaults = {item.category: item for item in DEFAULT_ITEMS}
    rows = [{"category": c, "collected": c in defaults,
             "purpose_zh": defaults[c].purpose_zh if c in defaults else "",
             "purpose_en": defaults[c].purpose_en if c in defaults else "",
             "retention_days": periods.get(c, defaults[c].retention_days if c in defaults else "")}
            for c in NoticeCategory.values]
    return "template", None, {"summary_zh": DEFAULT_SUMMARY_ZH, "summary_en": DEFAULT_SUMMARY_EN, "contact": ""}, rows


class NoticeConsoleView(ConsoleView):
    access = Read(Category.CONSENT)

    def render_list(self, request: HttpRequest, status: int = 200) -> HttpResponse:
        versions = list(notice_versions())
        return render(request, "consent/console_notices.html", {
            "versions": versions,
            "draft": next((v for v in versions if v.status == EnterpriseNotice.Status.DRAFT), None),
            "current_version": self.enterprise.notice_version,
        }, status=status)


class NoticeListView(NoticeConsoleView):
    """Every version with status, publication and acknowledgement count; a link to the draft."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_list(request)


class PublishForm(forms.Form):
    confirm = forms.BooleanField(label=gettext_lazy(
        "I understand that every member will have to read and acknowledge this version before continuing."))


class NoticeDraftView(NoticeConsoleView):
    """GET: the draft's form, prefilled. POST: save the draft (400 with field errors, nothing
    written, on bad input)."""

    access = Manage(Category.CONSENT, enterprise_wide=True)

    template_name = "consent/console_notice_draft.html"

    def _render(self, request: HttpRequest, forms_: NoticeDraftForms, *, status: int = 200,
                publish_form: PublishForm | None = None) -> HttpResponse:
        source, notice, _initial, _rows = _draft_prefill(self.enterprise)
        return render(request, self.template_name, {
            "forms": forms_, "source": source, "notice": notice, "draft": notice if source == "draft" else None,
            "publish_form": publish_form or PublishForm(), "max_retention": MAX_RETENTION_DAYS,
        }, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        _source, _notice, initial, rows = _draft_prefill(self.enterprise)
        return self._render(request, NoticeDraftForms(initial=initial, rows=rows))

    def post(self, request: HttpRequest) -> HttpResponse:
        forms_ = NoticeDraftForms(request.POST)
        if forms_.is_valid():
            data = forms_.notice.cleaned_data
            try:
                draft = notice_draft_save(enterprise=self.enterprise, actor=self.membership,
                                          summary_zh=data["summary_zh"], summary_en=data["summary_en"],
                                          contact=data["contact"], items=forms_.items())
            except ValidationError as error:
                forms_.apply_service_errors(error)
            else:
                messages.success(request, _("The draft of version %(version)d was saved. Members see it only "
                                            "once it is published.") % {"version": draft.version})
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
                messages.success(request, _("Version %(version)d is published. Every member is asked to acknowledge "
                                            "it and was told in their inbox.") % {"version": notice.version})
                return redirect("console_notices")
        _source, _notice, initial, rows = _draft_prefill(self.enterprise)
        return self._render(request, NoticeDraftForms(initial=initial, rows=rows), status=400,
                            publish_form=publish_form)


class NoticeDiscardView(NoticeConsoleView):
    """POST only: delete the draft (published versions are never changed)."""

    access = Manage(Category.CONSENT, enterprise_wide=True)

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        if notice_draft_discard(enterprise=self.enterprise):
            messages.success(request, _("The draft was discarded."))
        else:
            messages.info(request, _("There was no draft."))
        return redirect("console_notices")


class NoticeVersionView(NoticeConsoleView):
    """Any version, read-only."""

    def get(self, request: HttpRequest, version: int) -> HttpResponse:
        notice = notice_version_or_404(version)
        return render(request, "consent/console_notice.html", {
            "notice": notice, "items": list(notice.items.all()),
            "is_current": notice.version == self.enterprise.notice_version,
        })


# --- consents (CON-4) --------------------------------------------------------------------------

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

    def render_member(self, request: HttpRequest, member: Membership, form: LegalBasisForm | None = None,
                      status: int = 200) -> HttpResponse:
        visible = visible_categories(member, self.held)
        return render(request, "consent/console_member_consents.html", {
            "member": member, "lines": member_lines(enterprise=self.enterprise, member=member, held=self.held),
            "form": form or LegalBasisForm(visible=visible), "can_record": bool(visible),
        }, status=status)


class DepartmentFilterForm(forms.Form):
    department = forms.TypedChoiceField(label=gettext_lazy("Department"), required=False, coerce=int,
                                        empty_value=None)

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["department"]
        field.choices = [("", _("Everyone in my scope"))] + [
            (d.pk, "\u2003" * max(d.depth - 1, 0) + d.name) for d in departments]


class ConsentOverviewView(ConsentConsoleView):
    """Members in scope × (category, purpose): ✓ consent, ⚖ legal basis, ✗ none, — not yours to
    see. A constant number of queries whatever the page size."""

    def get(self, request: HttpRequest) -> HttpResponse:
        members = consent_members(self.scope, self.held)
        departments = list(reduce(or_, (self.scope.departments(c) for c in self.held)).distinct()
                           .order_by("path"))
        form = DepartmentFilterForm(request.GET or None, departments=departments)
        selected = None
        if form.is_bound and form.is_valid() and form.cleaned_data["department"]:
            selected = next(d for d in departments if d.pk == form.cleaned_data["department"])
            members = members.filter(pk__in=Membership.objects.filter(
                departments__path__startswith=selected.path).values("pk"))
        page = Paginator(members.order_by("display_name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
        columns = consent_columns(self.held)
        rows = consent_rows(list(page.object_list), columns, self.held)
        return render(request, "consent/console_consents.html", {
            "page": page, "rows": rows, "columns": columns, "form": form, "selected": selected,
        }, status=200 if not form.is_bound or form.is_valid() else 400)


class LegalBasisForm(forms.Form):
    """Parses the record form; the scope, reason and duplicate checks are legal_basis_record's."""

    line = forms.ChoiceField(label=gettext_lazy("Category and purpose"))
    basis = forms.ChoiceField(label=gettext_lazy("Legal basis"), choices=[
        (value, label) for value, label in ConsentRecord.Basis.choices if value != ConsentRecord.Basis.CONSENT])
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=gettext_lazy("10 to 200 characters; it is written to the instruction ledger."))

    def __init__(self, *args: Any, visible: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every known pair parses (the service answers for the scope); only the admin's are offered.
        self.all_pairs = [(f"{c}:{p}", f"{SensitiveCategory(c).label} — {ConsentPurpose(p).label}")
                          for c, purposes in PURPOSES.items() for p in purposes]
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
                legal_basis_record(enterprise=self.enterprise, actor=self.membership, member_id=member.pk,
                                   category=category, purpose=purpose, basis=form.cleaned_data["basis"],
                                   reason=form.cleaned_data["reason"])
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
        try:
            legal_basis_end(enterprise=self.enterprise, actor=self.membership, record_id=record.pk)
        except PermissionDenied:
            return render(request, "403.html", status=403)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            member = consent_member_for(self.scope, self.held, record.membership_id)
            return self.render_member(request, member, status=400)
        messages.success(request, _("The legal basis was ended. Unless the member's consent covers it, their data "
                                    "of this category is deleted."))
        return redirect("console_member_consents", member_id=record.membership_id)
