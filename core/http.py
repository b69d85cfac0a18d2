"""The typed request of an enterprise page or API: what `core.views.EnterpriseMemberView` and
`core.apis.EnterpriseApiView` have checked before any handler runs (an enterprise host, a signed-in
account). Annotations only, like `tenants.http.PortalRequest`; a `PortalRequest` whose `user` is an
`accounts.models.User` (`AccountRequest`)."""

from __future__ import annotations

from accounts.http import AccountRequest
from core.models import Membership
from tenants.models import Enterprise


class EnterpriseRequest(AccountRequest):
    """A request on an enterprise host, from a signed-in account.

    `membership` is the lazy one of `PortalRequest` (test it by truth); the views keep the resolved
    one as `self.membership`."""

    enterprise: Enterprise
    membership: Membership | None
