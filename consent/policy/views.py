"""The policy pages on every host (CON-1): `/policy/` (the version in force) and
`/policy/<version>/`. They are open to everyone (core.middleware.OPEN_PATH_PREFIXES has `/policy/`);
a signed-in account also sees whether it accepted the version shown and can accept it there."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from consent.models import PolicyAcceptance, PolicyVersion
from consent.policy.selectors import policy_current, policy_version_published, policy_versions_published
from consent.policy.services import policy_accept, policy_notice_dismiss
from tenants.access import Public
from tenants.throttling import client_ip
from tenants.views import in_chinese, safe_next


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
        return render(
            request,
            "consent/policy.html",
            {
                "policy": shown,
                "title": (shown.title_zh if zh else shown.title_en) if shown else "",
                "body": (shown.body_zh if zh else shown.body_en) if shown else "",
                "is_current": shown is not None and current is not None and shown.pk == current.pk,
                "superseded": (
                    shown is not None
                    and current is not None
                    and shown.effective_at is not None
                    and current.effective_at is not None
                    and shown.effective_at < current.effective_at
                ),
                "current": current,
                "acceptance": accepted,
                "versions": policy_versions_published(),
                "kind_labels": PolicyVersion.MajorKind.choices,
            },
            status=200 if shown is not None or version is None else 404,
        )

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
                policy_accept(
                    account=request.user,
                    version=shown,  # type: ignore[arg-type]
                    channel=PolicyAcceptance.Channel.WEB,
                    ip=client_ip(request),
                )
                messages.success(
                    request, _("You accepted the privacy policy %(version)s.") % {"version": shown.version}
                )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        return redirect(safe_next(request, request.POST.get("next")) or request.path)
