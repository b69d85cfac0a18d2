"""The org editor (ENT-1, ENT-8, issue 16 §6): three tabs — Departments · Positions · Ranks —
each its own URL, and one small page per change (add, rename, move, delete), so the tree shows a
⋯ menu per department instead of inputs on every row. docs/org-editor.md.

Access: reading needs the directory category in the admin's scope (a scoped admin sees their
subtree and the counts of their members); every change needs it over the whole enterprise
(`Manage(…, enterprise_wide=True)`, as the departments API), so the change pages answer a scoped
admin 403 and the tree shows them no menu. Named rows are fetched through the scope: an unknown
or out-of-scope id is the same 404."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import Department, Membership, Position, Rank
from core.views import ConsoleView, confirmation_page
from directory.org import (
    department_create,
    department_delete,
    department_move,
    department_rename,
    position_create,
    position_delete,
    position_rename,
    rank_create,
    rank_delete,
    rank_update,
)
from directory.org_forms import DepartmentCreateForm, DepartmentMoveForm, NameForm, RankForm
from directory.org_selectors import move_targets, org_tree, positions_with_counts, ranks_with_counts
from tenants.access import Manage
from tenants.categories import Category
from tenants.views import apply_service_errors

# Reads within the scope; writes over the whole enterprise. `form=True` for the change pages:
# their GET is the change's form, so it needs what the change needs.
ORG_READ = Manage(Category.DIRECTORY, enterprise_wide=True)
ORG_CHANGE = Manage(Category.DIRECTORY, enterprise_wide=True, form=True)


class OrgPage(ConsoleView):
    access = ORG_READ
    tab: ClassVar[str] = "departments"

    def page(self, request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
        return render(request, template, {"tab": self.tab, **context}, status=status)


class OrgView(OrgPage):
    """Departments tab: the tree with member counts, expand/collapse and a ⋯ menu per department."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(
            request,
            "enterprise_data/org.html",
            {"nodes": org_tree(self.scope), "can_manage_org": self.may(DepartmentCreateView)},
        )


class PositionListView(OrgPage):
    tab = "positions"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(
            request,
            "enterprise_data/org/positions.html",
            {"rows": positions_with_counts(self.scope), "can_manage_org": self.may(PositionCreateView)},
        )


class RankListView(OrgPage):
    tab = "ranks"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(
            request,
            "enterprise_data/org/ranks.html",
            {"rows": ranks_with_counts(self.scope), "can_manage_org": self.may(RankCreateView)},
        )


# --- departments --------------------------------------------------------------------------------


class DepartmentChange(OrgPage):
    access = ORG_CHANGE

    def department(self, pk: int) -> Department:
        return get_object_or_404(self.scope.departments(Category.DIRECTORY), pk=pk)

    def done(self, request: HttpRequest, message: str, department: Department | None = None) -> HttpResponse:
        messages.success(request, message)
        anchor = f"#department-{department.pk}" if department is not None else ""
        return redirect(reverse("console_org") + anchor)


class DepartmentCreateView(DepartmentChange):
    """Add a department; `?parent=<id>` (the ⋯ menu's "Add a sub-department") preselects its parent."""

    def form(self, data: Any = None) -> DepartmentCreateForm:
        parents = self.scope.departments(Category.DIRECTORY).order_by("path")
        wanted = self.request.GET.get("parent", "")
        parent = parents.filter(pk=wanted).first() if wanted.isdigit() else None
        parent = parent or parents.filter(parent__isnull=True).first()
        initial = {"parent": parent.pk} if parent is not None else {}
        return DepartmentCreateForm(data, parents=parents, initial=initial)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request, "enterprise_data/org/department_form.html", {"form": self.form(), "mode": "create"})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request.POST)
        if form.is_valid():
            try:
                department = department_create(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    name=form.cleaned_data["name"],
                    parent=form.cleaned_data["parent"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return self.done(
                    request, _("The department %(name)s was added.") % {"name": department.name}, department
                )
        return self.page(
            request, "enterprise_data/org/department_form.html", {"form": form, "mode": "create"}, status=400
        )


class DepartmentRenameView(DepartmentChange):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        department = self.department(pk)
        form = NameForm(initial={"name": department.name})
        return self.page(
            request,
            "enterprise_data/org/department_form.html",
            {"form": form, "mode": "rename", "department": department},
        )

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        department = self.department(pk)
        old_name = department.name
        form = NameForm(request.POST)
        if form.is_valid():
            try:
                department_rename(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    department=department,
                    name=form.cleaned_data["name"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                message = _("%(old)s is now called %(new)s.") % {"old": old_name, "new": department.name}
                return self.done(request, message, department)
        department.name = old_name
        return self.page(
            request,
            "enterprise_data/org/department_form.html",
            {"form": form, "mode": "rename", "department": department},
            status=400,
        )


class DepartmentMoveView(DepartmentChange):
    def context(self, department: Department, form: DepartmentMoveForm) -> dict[str, Any]:
        return {
            "form": form,
            "mode": "move",
            "department": department,
            "parent": department.parent,
            "nowhere": not form.fields["parent"].queryset.exists(),  # type: ignore[attr-defined]
        }

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        department = self.department(pk)
        if department.parent_id is None:
            messages.error(request, _("The root department cannot be moved."))
            return redirect("console_org")
        form = DepartmentMoveForm(parents=move_targets(self.scope, department))
        return self.page(request, "enterprise_data/org/department_form.html", self.context(department, form))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        department = self.department(pk)
        form = DepartmentMoveForm(request.POST, parents=move_targets(self.scope, department))
        if form.is_valid():
            try:
                department_move(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    department=department,
                    new_parent=form.cleaned_data["parent"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                message = _("%(name)s was moved under %(parent)s.") % {
                    "name": department.name,
                    "parent": form.cleaned_data["parent"].name,
                }
                return self.done(request, message, department)
        return self.page(
            request, "enterprise_data/org/department_form.html", self.context(department, form), status=400
        )


class DepartmentDeleteView(DepartmentChange):
    """GET: the confirmation (or, for a department that is not empty, why it cannot go). POST
    without `confirmed=yes` changes nothing (core.views.confirmation_page)."""

    def context(self, department: Department) -> dict[str, Any]:
        return {
            "department": department,
            "children": Department.objects.filter(parent=department).count(),
            "members": department.members.count(),  # every card, departed ones too (the service's rule)
        }

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        department = self.department(pk)
        return self.page(request, "enterprise_data/org/department_delete.html", self.context(department))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        department = self.department(pk)
        unconfirmed = confirmation_page(
            request,
            _("Delete the department %(name)s? This cannot be undone.") % {"name": department.name},
            cancel_url=reverse("console_org"),
            button=_("Delete"),
        )
        if unconfirmed is not None:
            return unconfirmed
        try:
            department_delete(enterprise=self.enterprise, actor=self.membership, department=department)
        except ValidationError as error:
            context = {**self.context(department), "errors": error.messages}
            return self.page(request, "enterprise_data/org/department_delete.html", context, status=400)
        return self.done(request, _("The department %(name)s was deleted.") % {"name": department.name})


# --- positions and ranks ------------------------------------------------------------------------


class NamedChange(OrgPage):
    """Add, edit or delete a position or a rank (flat lists: no scope applies to the rows)."""

    access = ORG_CHANGE
    model: ClassVar[type[Model]]
    list_url: ClassVar[str]
    form_class: ClassVar[type[NameForm]] = NameForm
    noun: ClassVar[Any]

    def row(self, pk: int) -> Any:
        queryset: QuerySet = self.model._default_manager.all()
        return get_object_or_404(queryset, pk=pk)

    def form_page(self, request: HttpRequest, form: NameForm, row: Any = None, status: int = 200) -> HttpResponse:
        context = {"form": form, "row": row, "noun": self.noun, "list_url": reverse(self.list_url)}
        return self.page(request, "enterprise_data/org/named_form.html", context, status=status)

    def save(self, row: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def handle(self, request: HttpRequest, row: Any = None) -> HttpResponse:
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                saved = self.save(row, form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("%(name)s was saved.") % {"name": saved.name})
                return redirect(self.list_url)
        return self.form_page(request, form, row, status=400)


class PositionChange(NamedChange):
    tab = "positions"
    model = Position
    list_url = "console_org_positions"
    noun = gettext_lazy("position")

    def save(self, row: Position | None, data: dict[str, Any]) -> Position:
        if row is None:
            return position_create(enterprise=self.enterprise, actor=self.membership, name=data["name"])
        return position_rename(enterprise=self.enterprise, actor=self.membership, position=row, name=data["name"])


class RankChange(NamedChange):
    tab = "ranks"
    model = Rank
    list_url = "console_org_ranks"
    form_class = RankForm
    noun = gettext_lazy("rank")

    def save(self, row: Rank | None, data: dict[str, Any]) -> Rank:
        if row is None:
            return rank_create(
                enterprise=self.enterprise, actor=self.membership, name=data["name"], level=data["level"]
            )
        return rank_update(
            enterprise=self.enterprise, actor=self.membership, rank=row, name=data["name"], level=data["level"]
        )


class NamedCreate(NamedChange):
    def get(self, request: HttpRequest) -> HttpResponse:
        return self.form_page(request, self.form_class())

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.handle(request)


class NamedEdit(NamedChange):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = self.row(pk)
        initial = {"name": row.name, "level": getattr(row, "level", None)}
        return self.form_page(request, self.form_class(initial=initial), row)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.handle(request, self.row(pk))


class NamedDelete(NamedChange):
    """GET: the confirmation page; POST without `confirmed=yes` changes nothing."""

    def remove(self, row: Any) -> None:
        raise NotImplementedError

    def held_by(self, row: Any) -> int:
        return row.members.filter(status__in=(Membership.Status.ACTIVE, Membership.Status.INVITED)).count()

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = self.row(pk)
        context = {"row": row, "noun": self.noun, "list_url": reverse(self.list_url), "held_by": self.held_by(row)}
        return self.page(request, "enterprise_data/org/named_delete.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = self.row(pk)
        unconfirmed = confirmation_page(
            request,
            _("Delete %(name)s? This cannot be undone.") % {"name": row.name},
            cancel_url=reverse(self.list_url),
            button=_("Delete"),
        )
        if unconfirmed is not None:
            return unconfirmed
        try:
            self.remove(row)
        except ValidationError as error:
            context = {
                "row": row,
                "noun": self.noun,
                "list_url": reverse(self.list_url),
                "held_by": self.held_by(row),
                "errors": error.messages,
            }
            return self.page(request, "enterprise_data/org/named_delete.html", context, status=400)
        messages.success(request, _("%(name)s was deleted.") % {"name": row.name})
        return redirect(self.list_url)


class PositionCreateView(PositionChange, NamedCreate):
    pass


class PositionEditView(PositionChange, NamedEdit):
    pass


class PositionDeleteView(PositionChange, NamedDelete):
    def remove(self, row: Position) -> None:
        position_delete(enterprise=self.enterprise, actor=self.membership, position=row)


class RankCreateView(RankChange, NamedCreate):
    pass


class RankEditView(RankChange, NamedEdit):
    pass


class RankDeleteView(RankChange, NamedDelete):
    def remove(self, row: Rank) -> None:
        rank_delete(enterprise=self.enterprise, actor=self.membership, rank=row)
