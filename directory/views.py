"""Console pages of the directory and org structure (ENT-1, ENT-2, ENT-8, ENT-9)."""

from __future__ import annotations

import html
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from consent.consents.services import ConsentRequired
from consent.minors.services import MINOR_FIELDS, is_minor, minors_among
from core.models import Department, Membership
from core.views import ConsoleView, confirmation_page
from directory.forms import BulkActionForm, MemberCardForm, MemberExportForm, MemberFilterForm, ScopeGrantForm
from directory.org import may_grant_scopes, scope_grant, scope_revoke
from directory.org_views import OrgView
from directory.selectors import (
    SENSITIVE_EXPORT_FIELDS,
    DirectoryLookups,
    MemberFilters,
    MemberRow,
    directory_lookups,
    member_list,
    member_page,
    member_rows,
)
from directory.services import (
    REVEALABLE_FIELDS,
    member_card_create,
    member_card_masked,
    member_card_update,
    member_field_reveal,
    member_photo_set,
    members_bulk_move,
    members_bulk_remove,
    members_bulk_resend,
    members_export,
)
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.spreadsheets import xlsx_response
from tenants.views import apply_service_errors

PAGE_SIZE = 50


class DirectoryView(ConsoleView):
    access = Read(Category.DIRECTORY)


def _options(choices: Any, selected: Any) -> SafeString:
    """<option>s of a <select>, built here rather than through the widget templates (each option
    would be a template render: PERF-3), escaped with the standard library's `html.escape`."""
    chosen = "" if selected in (None, "") else str(selected)
    return mark_safe(  # noqa: S308 (every value escaped)
        "".join(
            f'<option value="{html.escape(str(value))}"{" selected" if str(value) == chosen else ""}>'
            f"{html.escape(str(label))}</option>"
            for value, label in choices
        )
    )


CURRENT_LINK = ' aria-current="true" class="active"'


def _tree_html(departments: list[Department], selected: Department | None) -> SafeString:
    """The department tree's links (one per department in scope), the selected one marked:
    built here, not through ~5 template lookups per department (PERF-3)."""
    items = []
    for department in departments:
        current = CURRENT_LINK if selected is not None and selected.pk == department.pk else ""
        items.append(
            f'<li style="padding-left: {int(department.depth)}rem"><a href="?department={int(department.pk)}"'
            f"{current}>{html.escape(department.name)}</a></li>"
        )
    return mark_safe("".join(items))  # noqa: S308 (every value escaped)


ROW_HTML = (
    '<tr>{}<td><a href="{}{}/">{}</a>{}</td><td>{}</td><td class="masked">{}</td><td>{}</td>'
    '<td><span class="status-{}">{}</span></td><td>{}</td></tr>'
)
CHECKBOX_HTML = (
    '<td><input class="form-check-input" type="checkbox" name="members" value="{}" '
    'form="bulk-form" aria-label="{}"></td>'
)


def _rows_html(rows: list[MemberRow], *, checkboxes: bool) -> SafeString:
    """The table body: one string format per row instead of a dozen template lookups, every value
    escaped with the standard library's `html.escape` (what Django's `escape` calls, without its
    lazy-string wrapper on each of ~500 values a page: PERF-3, the page's time was rendering)."""
    members_url = html.escape(reverse("console_members"))
    minor = str(format_html(' <span class="badge bad">{}</span>', _("Under 18")))
    lines = []
    for row in rows:
        name = html.escape(row.name)
        lines.append(
            ROW_HTML.format(
                CHECKBOX_HTML.format(int(row.pk), name) if checkboxes else "",
                members_url,
                int(row.pk),
                name,
                minor if row.minor else "",
                html.escape(row.departments),
                html.escape(row.mobile),
                html.escape(row.title),
                html.escape(row.status),
                html.escape(row.status_label),
                html.escape(row.joined),
            )
        )
    return mark_safe("\n".join(lines))  # noqa: S308 (every value escaped above)


class MemberListView(DirectoryView):
    """The department tree beside the member list (ENT-11): filters in a panel (department
    subtree, status, position, rank, joined between, search), sorting by column headers,
    pagination that keeps the filters; bulk actions and the export post the checked rows / the
    current filters. A constant number of queries whatever the page size (PERF-3)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        lookups = directory_lookups(self.scope)
        form = MemberFilterForm(request.GET or None, lookups=lookups)
        return self.render_list(request, lookups, form)

    def render_list(
        self,
        request: HttpRequest,
        lookups: DirectoryLookups,
        form: MemberFilterForm,
        *,
        bulk_form: BulkActionForm | None = None,
        export_form: MemberExportForm | None = None,
        status: int = 200,
    ) -> HttpResponse:
        valid = not form.is_bound or form.is_valid()
        filters = form.filters() if form.is_bound and valid else MemberFilters()
        if not valid:
            status = 400
        page, members = member_page(member_list(self.scope, filters), request.GET.get("page"), PAGE_SIZE)
        # ACC-4: under-18 badge, from the accounts' columns of the page's query
        minor_ids = minors_among(
            tuple(m[key] for key in ("account_id", *(f"account__{name}" for name in MINOR_FIELDS)))
            for m in members
            if m["account_id"]
        )
        rows = member_rows(members, lookups, minor_ids)
        params: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k != "page" and v} if valid else {}
        sort_links = {}
        for key in ("name", "department", "joined", "status"):
            descending = filters.sort == key
            sort_links[key] = {
                "url": "?" + urlencode({**params, "sort": f"-{key}" if descending else key}),
                "state": "asc" if filters.sort == key else "desc" if filters.sort == f"-{key}" else "",
            }
        may_manage = self.may(MemberBulkView)

        def value(name: str) -> str:
            return str(form.data.get(name) or "") if form.is_bound else ""

        selects = {
            name: _options(form.fields[name].choices, value(name))  # type: ignore[attr-defined]
            for name in ("department", "status", "position", "rank")
        }
        bulk_form = bulk_form or BulkActionForm(lookups=lookups)
        move_options = _options(
            bulk_form.fields["department"].choices,  # type: ignore[attr-defined]
            bulk_form.data.get("department") if bulk_form.is_bound else None,
        )
        return render(
            request,
            "enterprise_data/member_list.html",
            {
                "page": page,
                "rows": rows,
                "rows_html": _rows_html(rows, checkboxes=may_manage),
                "filter_form": form,
                "filters_active": any(k in params for k in ("status", "position", "rank", "joined_from", "joined_to")),
                "departments": lookups.departments,
                "tree_html": _tree_html(lookups.departments, filters.department),
                "selected": filters.department,
                "query": filters.q,
                "query_string": urlencode(params),
                "filter_params": list(params.items()),
                "sort_links": sort_links,
                "can_manage_org": self.may(OrgView),
                "can_manage": may_manage,
                "bulk_form": bulk_form,
                "selects": selects,
                "move_options": move_options,
                "values": {k: value(k) or "" for k in ("q", "joined_from", "joined_to", "sort")},
                "export_form": export_form or MemberExportForm(),
                "can_unmask": all(self.scope.has_category(c) for c in SENSITIVE_EXPORT_FIELDS.values()),
            },
            status=status,
        )


class MemberBulkView(MemberListView):
    """POST: move / remove / resend invitations for the checked members (ENT-11). Every id goes
    through the scope; one bad id and nothing changes (400, the list with the error). Removing
    asks for confirmation first."""

    access = Manage(Category.DIRECTORY)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        lookups = directory_lookups(self.scope)
        form = BulkActionForm(request.POST, lookups=lookups)
        # the list's query string, re-encoded (never a header injection nor another address)
        next_query = QueryDict(request.POST.get("next", "")[:2000]).urlencode()
        back = reverse("console_members") + ("?" + next_query if next_query else "")
        if form.is_valid():
            action = form.cleaned_data["action"]
            ids = form.cleaned_data["members"]
            if action == BulkActionForm.Action.REMOVE:
                unconfirmed = confirmation_page(
                    request,
                    ngettext(
                        "Remove %(n)d member from the enterprise? An invitation is withdrawn; a member who joined "
                        "loses access at once, their biometric templates and health reports are deleted now and "
                        "their card is anonymised after the grace period, as when a member leaves.",
                        "Remove %(n)d members from the enterprise? Invitations are withdrawn; members who joined "
                        "lose access at once, their biometric templates and health reports are deleted now and "
                        "their cards are anonymised after the grace period, as when a member leaves.",
                        len(ids),
                    )
                    % {"n": len(ids)},
                    cancel_url=back,
                    button=_("Remove"),
                )
                if unconfirmed is not None:
                    return unconfirmed
            common = {"enterprise": self.enterprise, "actor": self.membership, "scope": self.scope, "member_ids": ids}
            try:
                if action == BulkActionForm.Action.MOVE:
                    count = members_bulk_move(**common, department_id=form.cleaned_data["department"])
                    done = ngettext("%(n)d member was moved.", "%(n)d members were moved.", count)
                elif action == BulkActionForm.Action.REMOVE:
                    count = members_bulk_remove(**common)
                    done = ngettext("%(n)d member was removed.", "%(n)d members were removed.", count)
                else:
                    count = members_bulk_resend(**common)
                    done = ngettext("%(n)d invitation was sent again.", "%(n)d invitations were sent again.", count)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, done % {"n": count})
                return redirect(back)
        return self.render_list(request, lookups, MemberFilterForm(None, lookups=lookups), bulk_form=form, status=400)


class MemberExportView(MemberListView):
    """POST with the list's current filters: an .xlsx of the filtered members, masked unless the
    admin holds the category and ticks "unmasked" with a purpose; recorded (ENT-9, ENT-11)."""

    access = Manage(Category.DIRECTORY)
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        lookups = directory_lookups(self.scope)
        filter_form = MemberFilterForm(request.POST, lookups=lookups)
        export_form = MemberExportForm(request.POST)
        if filter_form.is_valid() and export_form.is_valid():
            try:
                header, rows = members_export(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    scope=self.scope,
                    filters=filter_form.filters(),
                    unmasked=export_form.cleaned_data["unmasked"],
                    purpose=export_form.cleaned_data["purpose"],
                )
            except ValidationError as error:
                apply_service_errors(export_form, error)
            else:
                stamp = timezone.localdate().isoformat()
                return xlsx_response(f"members-{stamp}.xlsx", [(_("Members"), header, rows)])
        return self.render_list(request, lookups, filter_form, export_form=export_form, status=400)


class MemberCreateView(DirectoryView):
    access = Manage(Category.DIRECTORY)

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "enterprise_data/member_form.html", {"form": MemberCardForm(scope=self.scope)})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MemberCardForm(request.POST, request.FILES, scope=self.scope)
        if form.is_valid():
            try:
                member = member_card_create(
                    enterprise=self.enterprise, actor=self.membership, scope=self.scope, data=form.card_data()
                )
                if form.cleaned_data.get("photo"):
                    member_photo_set(
                        enterprise=self.enterprise,
                        actor=self.membership,
                        membership=member,
                        upload=form.cleaned_data["photo"],
                    )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("%(name)s was added to the directory.") % {"name": member.display_name})
                return redirect("console_member", pk=member.pk)
        return render(request, "enterprise_data/member_form.html", {"form": form}, status=400)


class MemberDetailView(DirectoryView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        return render(
            request,
            "enterprise_data/member_detail.html",
            {
                "member": member,
                "is_minor": member.account is not None and is_minor(account=member.account),  # ACC-4 flag
                "masked": member_card_masked(enterprise=self.enterprise, membership=member),
                "departments": member.departments.all(),
                "can_grant": self.may(ScopeGrantView)
                and may_grant_scopes(self.membership)
                and member.is_active
                and member.pk != self.membership.pk,
                "scope_form": ScopeGrantForm(scope=self.scope),
            },
        )


class MemberEditView(DirectoryView):
    access = Manage(Category.DIRECTORY)

    def _form(self, member: Membership, data: Any = None, files: Any = None) -> MemberCardForm:
        initial = {
            f: getattr(member, f)
            for f in (
                "display_name",
                "gender",
                "mobile",
                "company",
                "invoice_title",
                "work_signature",
                "landline",
                "email",
                "position",
                "rank",
                "title",
                "fax",
                "seat",
                "secretary",
                "enterprise_mailbox",
                "external_fields",
            )
        }
        initial["departments"] = list(member.departments.all())
        return MemberCardForm(data, files, initial=initial, scope=self.scope, editing=True)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        return render(request, "enterprise_data/member_form.html", {"form": self._form(member), "member": member})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        form = self._form(member, request.POST, request.FILES)
        if form.is_valid():
            try:
                member_card_update(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    scope=self.scope,
                    membership=member,
                    data=form.card_data(),
                )
                if form.cleaned_data.get("photo"):
                    member_photo_set(
                        enterprise=self.enterprise,
                        actor=self.membership,
                        membership=member,
                        upload=form.cleaned_data["photo"],
                    )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("The card was saved."))
                return redirect("console_member", pk=member.pk)
        return render(request, "enterprise_data/member_form.html", {"form": form, "member": member}, status=400)


class MemberRevealView(DirectoryView):
    """POST (htmx): the full value of one masked field; the ledger records who saw it."""

    access = Manage(Category.DIRECTORY)

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        if field not in REVEALABLE_FIELDS:
            raise Http404("No such field.")
        try:
            value = member_field_reveal(
                enterprise=self.enterprise,
                actor=self.membership,
                membership=member,
                field=field,
                purpose=(request.POST.get("purpose") or "")[:200],
            )
        except ConsentRequired as error:  # CON-6: withdrawn, the erasure task not run yet
            # htmx swaps only 2xx answers: the refusal is shown in place of the value
            return render(
                request,
                "enterprise_data/_revealed.html",
                {"field": field, "refused": " ".join(error.messages)},
                status=200 if getattr(request, "htmx", False) else 403,
            )
        return render(request, "enterprise_data/_revealed.html", {"value": value, "field": field})


class MemberPhotoView(DirectoryView):
    """Photos are served only through this check, never as public media."""

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        if not member.photo:
            raise Http404("No photo.")
        name: str = member.photo.name or ""  # not empty: a file without a name is falsy
        return FileResponse(
            member.photo.open("rb"), content_type="image/png" if name.endswith(".png") else "image/jpeg"
        )


class ScopeGrantView(DirectoryView):
    access = Manage(Category.DIRECTORY, enterprise_wide=True)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        member = self.scope.member_for(Category.DIRECTORY, pk)
        form = ScopeGrantForm(request.POST, scope=self.scope)
        revoke = request.POST.get("revoke") == "1"
        if form.is_valid():
            if revoke:
                unconfirmed = confirmation_page(
                    request,
                    _(
                        "Take these categories over %(department)s back from %(name)s? They can no longer see "
                        "or change that data."
                    )
                    % {"department": form.cleaned_data["department"].name, "name": member.display_name},
                    cancel_url=reverse("console_member", kwargs={"pk": member.pk}),
                )
                if unconfirmed is not None:
                    return unconfirmed
            try:
                (scope_revoke if revoke else scope_grant)(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    admin=member,
                    department=form.cleaned_data["department"],
                    categories=form.cleaned_data["categories"],
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("The administrator scope was updated."))
        else:
            messages.error(request, _("Choose a department and at least one category."))
        return redirect("console_member", pk=member.pk)
