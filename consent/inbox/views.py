"""The inbox pages (SEC-5): `/account/inbox/` on the public host and `/me/inbox/` on enterprise hosts;
POST `notification=<id>` marks one read, `all=1` all of them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views import View

from consent.inbox.selectors import notification_for, notifications_for
from consent.inbox.services import notification_mark_all_read, notification_mark_read
from consent.models import Notification
from core.http import EnterpriseRequest
from core.views import EnterpriseMemberView
from tenants.access import SelfService

INBOX_PAGE_SIZE = 20


class _InboxMixin:
    """The signed-in account's notifications, newest first, a page at a time (constant queries);
    POST `notification=<id>` marks one read (404 when it is not theirs), `all=1` marks all."""

    request: HttpRequest
    template_name = "consent/inbox.html"

    def enterprise_id(self) -> int | None:
        return None

    def rows(self) -> QuerySet[Notification]:
        return notifications_for(account=self.request.user, enterprise_id=self.enterprise_id())  # type: ignore[arg-type]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        page = Paginator(self.rows(), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, self.template_name, {"page": page, "notifications": list(page.object_list)})

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = request.user
        if request.POST.get("all"):
            notification_mark_all_read(account=account, enterprise_id=self.enterprise_id())  # type: ignore[arg-type]
        else:
            raw = request.POST.get("notification") or ""
            if not raw.isdigit():
                raise Http404("No such notification.")
            notification = notification_for(
                account=account,  # type: ignore[arg-type]
                notification_id=int(raw),
                enterprise_id=self.enterprise_id(),
            )
            notification_mark_read(account=account, notification_id=notification.pk)  # type: ignore[arg-type]
        return redirect(request.path)


class AccountInboxView(LoginRequiredMixin, _InboxMixin, View):
    """`/account/inbox/` on the public host: every notification of the account."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "enterprise", None) is not None:
            raise Http404("The account inbox is on the platform's host.")
        return super().dispatch(request, *args, **kwargs)


class MeInboxView(_InboxMixin, EnterpriseMemberView):
    """`/me/inbox/` on an enterprise host: platform-wide notifications and this enterprise's."""

    request: EnterpriseRequest  # the mixin's HttpRequest, as EnterpriseMemberView checked it
    access = SelfService()

    def enterprise_id(self) -> int | None:
        return self.enterprise.pk
