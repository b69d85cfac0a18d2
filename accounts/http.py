"""The typed request of a signed-in account's pages (annotations only, like `tenants.http.PortalRequest`)."""

from __future__ import annotations

from accounts.models import User
from tenants.http import PortalRequest


class AccountRequest(PortalRequest):
    """A request from a signed-in account: what a view behind `LoginRequiredMixin` handles once its
    `dispatch()` has let the request through (declare `request: AccountRequest` on the view)."""

    user: User
