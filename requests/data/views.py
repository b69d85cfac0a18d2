"""See everything (DSR-2): `/me/data/` on an enterprise host (what that enterprise holds about
the member) and `/account/data/` on the public host (what the platform holds about the account).
The long lists are paginated with one query parameter each (`?health=2`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View

from accounts.models import User
from core.views import EnterpriseMemberView
from directory.services import OWN_REVEALABLE_FIELDS, member_own_field_reveal
from requests.data.overview import PAGED, account_overview, clean_pages, data_overview
from requests.selectors import own_card_for
from tenants.access import SelfService

# The section of the page each paged list is in (the links jump back to it).
ANCHORS = {"events": "attendance", "days": "attendance", "health": "health", "requests": "requests", "ledger": "ledger"}


def platform_url(request: HttpRequest, name: str, query: str = "") -> str:
    """An address on the platform's (public) host, from an enterprise host's page."""
    port = request.get_port()
    suffix = "" if port in ("80", "443") else f":{port}"
    path = reverse(name, urlconf="config.urls_public")
    return f"//{settings.PUBLIC_DOMAINS[0]}{suffix}{path}{'?' + query if query else ''}"


def _page_links(pages: dict[str, int], data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """For each paged list, the addresses of its previous and next pages (keeping the others)."""
    lists = {
        "events": data["attendance"]["events"],
        "days": data["attendance"]["days"],
        "health": data["health"]["reports"],
        "requests": data["requests"]["requests"],
        "ledger": data["ledger"]["entries"],
    }
    links: dict[str, dict[str, str]] = {}
    for name in PAGED:
        current = lists[name]["page"]
        shown = {key: value for key, value in pages.items() if value > 1 and key != name}

        def address(number: int, name: str = name, shown: dict[str, int] = shown) -> str:
            query = {**shown, **({name: number} if number > 1 else {})}
            return f"?{urlencode(query)}#{ANCHORS[name]}" if query else f"?#{ANCHORS[name]}"

        links[name] = {
            "previous": address(current - 1) if current > 1 else "",
            "next": address(current + 1) if current < lists[name]["pages"] else "",
        }
    return links


class MeDataView(EnterpriseMemberView):
    """Everything this enterprise holds about the signed-in member, by category, with retention."""

    access = SelfService()

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)

    def page(self, request: HttpRequest, revealed: dict[str, str] | None = None) -> HttpResponse:
        pages = clean_pages(request.GET)
        data = data_overview(enterprise=self.enterprise, membership=self.membership, pages=pages)
        return render(
            request,
            "requests/data.html",
            {"data": data, "links": _page_links(pages, data), "revealed": revealed or {}},
        )


class MeDataRevealView(MeDataView):
    """POST: one of the member's own masked values (mobile, ID number) in full, for that member
    only (issue 17 §1). Another member's id answers 404 like a missing one; each showing is a
    ledger entry of the member's own access. With htmx the value replaces the masked one in
    place; without JavaScript the page comes back with the value shown."""

    access = SelfService()
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        member = own_card_for(membership=self.membership, pk=pk)
        if field not in OWN_REVEALABLE_FIELDS:
            raise Http404("No such field.")
        value = member_own_field_reveal(enterprise=self.enterprise, membership=member, field=field)
        if getattr(request, "htmx", False):
            return render(request, "requests/_own_masked.html", {"field": field, "shown": value or "—"})
        return self.page(request, revealed={field: value or "—"})


class AccountDataView(LoginRequiredMixin, View):
    """Everything the platform holds about the signed-in account (public host only)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "enterprise", None) is not None:
            raise Http404("Account data is on the platform's host.")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        account: User = request.user  # type: ignore[assignment]
        return render(request, "requests/data_account.html", {"data": account_overview(account=account)})
