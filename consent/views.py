"""Policy pages on every host (CON-1), the inbox pages (`/account/inbox/` on the public host,
`/me/inbox/` on enterprise hosts) and the self-service inbox API (`/api/v1/me/notifications/`).

The policy pages are open to everyone (core.middleware.OPEN_PATH_PREFIXES has `/policy/`); a
signed-in account also sees whether it accepted the version shown and can accept it there."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from consent.models import Notification, PolicyAcceptance, PolicyVersion
from consent.selectors import (
    notification_for,
    notifications_for,
    policy_current,
    policy_version_published,
    policy_versions_published,
)
from consent.services.inbox import notification_mark_all_read, notification_mark_read
from consent.services.policy import policy_accept, policy_notice_dismiss
from core.apis import EnterpriseApiView
from core.http import EnterpriseRequest
from core.views import EnterpriseMemberView
from tenants.access import Public, SelfService
from tenants.apis import paginated, service_errors
from tenants.throttling import client_ip
from tenants.views import in_chinese, safe_next

INBOX_PAGE_SIZE = 20


# --- policy pages -----------------------------------------------------------------------------

class PolicyView(View):
    """`/policy/` (the current version) and `/policy/<version>/` (any published version, at a
    stable URL forever; drafts are 404), in the request's language, with the list of versions.
    POST (signed in): `action=accept` records the acceptance (channel web, the request's IP);
    `action=dismiss` closes the notice of a minor version."""

    access = Public()

    def get_version(self, version: str | None) -> PolicyVersion | None:
        if version is None:
            return policy_current()
        return policy_version_published(version=version)

    def get(self, request: HttpRequest, version: str | None = None) -> HttpResponse:
        shown = self.get_version(version)
        accepted = None
        if shown is not None and request.user.is_authenticated:
            accepted = PolicyAcceptance.objects.filter(account=request.user, version=shown).first()
        current = shown if version is None else policy_current()
        zh = in_chinese()
        return render(request, "consent/policy.html", {
            "policy": shown,
            "title": (shown.title_zh if zh else shown.title_en) if shown else "",
            "body": (shown.body_zh if zh else shown.body_en) if shown else "",
            "is_current": shown is not None and current is not None and shown.pk == current.pk,
            "superseded": (shown is not None and current is not None and shown.effective_at is not None
                           and current.effective_at is not None and shown.effective_at < current.effective_at),
            "current": current,
            "acceptance": accepted,
            "versions": policy_versions_published(),
            "kind_labels": PolicyVersion.MajorKind.choices,
        }, status=200 if shown is not None or version is None else 404)

    def post(self, request: HttpRequest, version: str | None = None) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        shown = self.get_version(version)
        if shown is None:
            raise Http404("No policy version is in force.")
        try:
            if request.POST.get("action") == "dismiss":
                policy_notice_dismiss(account=request.user, version=shown)  # type: ignore[arg-type]
            else:
                policy_accept(account=request.user, version=shown,  # type: ignore[arg-type]
                              channel=PolicyAcceptance.Channel.WEB, ip=client_ip(request))
                messages.success(request, _("You accepted the privacy policy %(version)s.") % {
                    "version": shown.version})
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        return redirect(safe_next(request, request.POST.get("next")) or request.path)


# --- inbox pages ------------------------------------------------------------------------------

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
            notification = notification_for(account=account, notification_id=int(raw),  # type: ignore[arg-type]
                                            enterprise_id=self.enterprise_id())
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


# --- inbox API (enterprise hosts) -------------------------------------------------------------

class NotificationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationPagination(PageNumberPagination):
    page_size = INBOX_PAGE_SIZE


class NotificationListApi(EnterpriseApiView):
    """`GET /api/v1/me/notifications/`: the signed-in account's notifications (platform-wide and
    this enterprise's), newest first, paginated."""

    access = SelfService()

    class OutputSerializer(NotificationOutputSerializer):
        pass

    @extend_schema(parameters=[OpenApiParameter("page", int)],
                   responses=paginated(OutputSerializer, "NotificationPage"),
                   operation_id="v1_me_notifications_list")
    def get(self, request: Any) -> Response:
        paginator = NotificationPagination()
        rows = notifications_for(account=request.user, enterprise_id=self.enterprise.pk)
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class NotificationReadApi(EnterpriseApiView):
    """`POST /api/v1/me/notifications/<id>/read/`: mark one of the account's notifications read;
    another account's (or a missing) id is 404."""

    access = SelfService()

    class OutputSerializer(NotificationOutputSerializer):
        pass

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request: Any, notification_id: int) -> Response:
        notification = notification_for(account=request.user, notification_id=notification_id,
                                        enterprise_id=self.enterprise.pk)
        try:
            notification_mark_read(account=request.user, notification_id=notification.pk)
        except ValidationError as error:  # pragma: no cover - the service raises none today
            raise service_errors(error) from error
        notification.refresh_from_db(fields=["read_at"])
        return Response(self.OutputSerializer(notification).data)
