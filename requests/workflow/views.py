"""Pages of data-subject requests (DSR-1, DSR-3, DSR-4).

- `/me/requests/` (enterprise host): the member's own requests about this enterprise's data,
  a form for a new one, each request's history and days left, cancel / send information.
- `/account/requests/` (public host): the same for account data, answered by the operators.
- `/console/requests/` (enterprise host): the administrators' queue — every admin may open it
  (ANY_CATEGORY) and sees the requests whose data category they hold over the requester
  (ENT-8) — and a detail page with the decisions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import ChoiceField, Field
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from accounts.models import User
from core.http import EnterpriseRequest
from core.views import ConsoleView, EnterpriseMemberView, confirmation_page
from requests.models import Request
from requests.workflow.forms import AccountRequestForm, DecisionForm, InformationForm, MemberRequestForm, StateForm
from requests.workflow.selectors import (
    State,
    queue_order,
    request_for_account,
    request_for_admin,
    request_for_member,
    request_history,
    requests_for_admin,
    requests_of_account,
    requests_of_member,
    with_deadlines,
    with_steps,
)
from requests.workflow.services import request_cancel, request_decide, request_provide_information, request_submit
from tenants.access import Manage, Read, SelfService
from tenants.categories import ANY_CATEGORY
from tenants.models import Enterprise
from tenants.views import apply_service_errors

PAGE_SIZE = 50


def _choices(field: Field) -> Iterable[tuple[Any, Any]]:
    """A ChoiceField's choices, which Django keeps as (value, label) pairs (the stubs type the
    getter as anything the setter accepts)."""
    return cast(Iterable[tuple[Any, Any]], cast(ChoiceField, field).choices)


def _error_messages(request: HttpRequest, error: ValidationError) -> None:
    for errors in error.message_dict.values():
        for message in errors:
            messages.error(request, message)


class _RequesterPages:
    """Shared by the member's and the account's pages: list + submit, detail + cancel/inform."""

    request: HttpRequest
    list_template: str
    detail_template: str
    form_class: type[AccountRequestForm]
    list_url: str
    detail_url: str

    def enterprise_or_none(self) -> Enterprise | None:
        raise NotImplementedError

    def own_requests(self) -> Any:
        raise NotImplementedError

    def own_request(self, pk: int) -> Request:
        raise NotImplementedError

    def submit(self, data: dict[str, Any]) -> Request:
        raise NotImplementedError

    def render_list(self, form: AccountRequestForm, status: int = 200) -> HttpResponse:
        page = Paginator(self.own_requests(), PAGE_SIZE).get_page(self.request.GET.get("page"))
        return render(
            self.request,
            self.list_template,
            {"form": form, "page": page, "rows": with_steps(with_deadlines(page.object_list))},
            status=status,
        )

    def render_detail(
        self, row: Request, information_form: InformationForm | None = None, status: int = 200
    ) -> HttpResponse:
        return render(
            self.request,
            self.detail_template,
            {
                "row": with_steps(with_deadlines([row]))[0],
                "history": request_history(request=row),
                "information_form": information_form or InformationForm(),
            },
            status=status,
        )

    def list_get(self) -> HttpResponse:
        """`?kind=complaint` (the "Complain to …" links) and `?category=` preselect the form."""
        form = self.form_class()
        initial: dict[str, Any] = {
            name: self.request.GET[name]
            for name in ("kind", "category")
            if name in form.fields and self.request.GET.get(name) in dict(_choices(form.fields[name]))
        }
        return self.render_list(self.form_class(initial=initial))

    def list_post(self) -> HttpResponse:
        form = self.form_class(self.request.POST)
        if not form.is_valid():
            return self.render_list(form, status=400)
        try:
            row = self.submit(form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self.render_list(form, status=400)
        messages.success(
            self.request,
            _("Your request #%(id)s was sent. It will be answered within 15 working days.") % {"id": row.pk},
        )
        return redirect(self.detail_url, pk=row.pk)

    def detail_post(self, pk: int) -> HttpResponse:
        row = self.own_request(pk)
        account: User = self.request.user  # type: ignore[assignment]
        action = self.request.POST.get("action")
        if action == "cancel":
            unconfirmed = confirmation_page(
                self.request,
                _("Cancel request #%(id)s? It is closed without an answer; you can make a new one later.")
                % {"id": row.pk},
                cancel_url=reverse(self.detail_url, kwargs={"pk": row.pk}),
            )
            if unconfirmed is not None:
                return unconfirmed
            try:
                request_cancel(enterprise=self.enterprise_or_none(), request=row, account=account)
            except ValidationError as error:
                _error_messages(self.request, error)
                return self.render_detail(row, status=400)
            messages.success(self.request, _("Your request was cancelled."))
        elif action == "information":
            form = InformationForm(self.request.POST)
            if not form.is_valid():
                return self.render_detail(row, form, status=400)
            try:
                request_provide_information(
                    enterprise=self.enterprise_or_none(), request=row, account=account, note=form.cleaned_data["note"]
                )
            except ValidationError as error:
                apply_service_errors(form, error)
                return self.render_detail(row, form, status=400)
            messages.success(self.request, _("Thank you: the information was sent and the request is back in review."))
        else:
            messages.error(self.request, _("Unknown action."))
            return self.render_detail(row, status=400)
        return redirect(self.detail_url, pk=row.pk)


# --- the member (enterprise host) -------------------------------------------------------------


class _MemberPages(_RequesterPages, EnterpriseMemberView):
    request: EnterpriseRequest  # the mixin's HttpRequest, as EnterpriseMemberView checked it
    access = SelfService()
    list_template = "requests/me_requests.html"
    detail_template = "requests/me_request_detail.html"
    form_class = MemberRequestForm
    detail_url = "me_request"

    def enterprise_or_none(self) -> Enterprise | None:
        return self.enterprise

    def own_requests(self) -> Any:
        return requests_of_member(membership=self.membership)

    def own_request(self, pk: int) -> Request:
        return request_for_member(membership=self.membership, pk=pk)

    def submit(self, data: dict[str, Any]) -> Request:
        return request_submit(
            enterprise=self.enterprise,
            account=self.request.user,  # type: ignore[arg-type]
            membership=self.membership,
            kind=data["kind"],
            category=data["category"],
            description=data["description"],
        )


class MeRequestListView(_MemberPages):
    def get(self, request: HttpRequest) -> HttpResponse:
        return self.list_get()

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.list_post()


class MeRequestDetailView(_MemberPages):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_detail(self.own_request(pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.detail_post(pk)


# --- the account (public host) ----------------------------------------------------------------


class _AccountPages(_RequesterPages, LoginRequiredMixin, View):
    list_template = "requests/account_requests.html"
    detail_template = "requests/account_request_detail.html"
    form_class = AccountRequestForm
    detail_url = "account_request"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "enterprise", None) is not None:
            raise Http404("Account-data requests are on the platform's host.")
        return super().dispatch(request, *args, **kwargs)

    def enterprise_or_none(self) -> Enterprise | None:
        return None

    def own_requests(self) -> Any:
        return requests_of_account(account=self.request.user)  # type: ignore[arg-type]

    def own_request(self, pk: int) -> Request:
        return request_for_account(account=self.request.user, pk=pk)  # type: ignore[arg-type]

    def submit(self, data: dict[str, Any]) -> Request:
        return request_submit(
            enterprise=None,
            account=self.request.user,  # type: ignore[arg-type]
            kind=data["kind"],
            description=data["description"],
        )


class AccountRequestListView(_AccountPages):
    def get(self, request: HttpRequest) -> HttpResponse:
        return self.list_get()

    def post(self, request: HttpRequest) -> HttpResponse:
        return self.list_post()


class AccountRequestDetailView(_AccountPages):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_detail(self.own_request(pk))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.detail_post(pk)


# --- administrators (console) -----------------------------------------------------------------


class ConsoleRequestListView(ConsoleView):
    """The queue: requests within the admin's scope, soonest deadline first; overdue stand out."""

    access = Read(ANY_CATEGORY)

    def get(self, request: HttpRequest) -> HttpResponse:
        form = StateForm(request.GET)
        if not form.is_valid():
            return render(request, "requests/console_list.html", {"form": form, "rows": [], "page": None}, status=400)
        state = form.cleaned_data["state"] or State.OPEN
        rows = queue_order(requests_for_admin(scope=self.scope, state=state))
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            "requests/console_list.html",
            {
                "form": form,
                "state": state,
                "page": page,
                "rows": with_deadlines(page.object_list),
                "today": timezone.localdate(),
            },
        )


class ConsoleRequestDetailView(ConsoleView):
    """One request within the admin's scope (404 otherwise), its history and the decisions."""

    access = Manage(ANY_CATEGORY)

    def _render(self, row: Request, form: DecisionForm, status: int = 200) -> HttpResponse:
        return render(
            self.request,
            "requests/console_detail.html",
            {
                "row": with_deadlines([row])[0],
                "history": request_history(request=row),
                "form": form,
                "own": row.account_id == self.membership.account_id,
            },
            status=status,
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request_for_admin(scope=self.scope, pk=pk), DecisionForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = request_for_admin(scope=self.scope, pk=pk)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            return self._render(row, form, status=400)
        try:
            request_decide(enterprise=self.enterprise, request=row, actor=self.membership, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._render(row, form, status=400)
        messages.success(request, _("Request #%(id)s updated.") % {"id": row.pk})
        return redirect("console_request", pk=row.pk)
