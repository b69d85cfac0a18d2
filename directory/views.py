"""Console pages of the directory and org structure (ENT-1, ENT-2, ENT-8, ENT-9)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from consent.consents.services import ConsentRequired
from consent.minors.services import is_minor, minor_account_ids
from core.models import Membership
from core.views import ConsoleView, confirmation_page
from directory.forms import MemberCardForm, ScopeGrantForm
from directory.org import may_grant_scopes, scope_grant, scope_revoke
from directory.org_views import OrgView
from directory.services import (
    REVEALABLE_FIELDS,
    member_card_create,
    member_card_masked,
    member_card_update,
    member_field_reveal,
    member_photo_set,
)
from tenants.access import Manage, Read
from tenants.categories import Category
from tenants.views import apply_service_errors

PAGE_SIZE = 50


class DirectoryView(ConsoleView):
    access = Read(Category.DIRECTORY)


class MemberListView(DirectoryView):
    """The department tree beside the member list; filter by department subtree, search."""

    def get(self, request: HttpRequest) -> HttpResponse:
        members = self.scope.members(Category.DIRECTORY)
        departments = list(self.scope.departments(Category.DIRECTORY))
        selected = next((d for d in departments if str(d.pk) == request.GET.get("department")), None)
        if selected is not None:
            members = members.filter(departments__path__startswith=selected.path).distinct()
        query = (request.GET.get("q") or "").strip()[:100]
        if query:
            members = members.filter(Q(display_name__icontains=query) | Q(mobile__contains=query))
        page = Paginator(members.order_by("display_name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        return render(
            request,
            "enterprise_data/member_list.html",
            {
                "page": page,
                "members": rows,
                "departments": departments,
                "selected": selected,
                "query": query,
                "can_manage_org": self.may(OrgView),
                # ACC-4: under-18 badge, set-based (two queries for the whole page)
                "minor_ids": minor_account_ids(account_ids=[m.account_id for m in rows]),
            },
        )


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
        return MemberCardForm(data, files, initial=initial, scope=self.scope)

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
