"""Helpers of the data-subject request tests: a settable clock and request factories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import User
from requests.models import Request
from requests.workflow.services import request_submit
from tenants.models import Enterprise

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """`clock(date(2026, 9, 30))`: from now on `timezone.now()` is 10:00 that day in Shanghai."""

    def set_day(day: date) -> None:
        moment = datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_day


@pytest.fixture
def submit(world) -> Callable[..., Request]:
    """`submit("acme", world.bob, category="health")`: a self-service request (complaint by
    default) through the real service; `submit(None, account)` for an account-data request."""

    def make(
        slug: str | None,
        user: User,
        *,
        kind: str = "complaint",
        category: str = "health",
        description: str = "Please check this.",
    ) -> Request:
        if slug is None:
            return request_submit(enterprise=None, account=user, kind=kind, description=description)
        enterprise: Enterprise = getattr(world, slug)
        return request_submit(
            enterprise=enterprise,
            account=user,
            membership=world.membership(enterprise, user),
            kind=kind,
            category=category,
            description=description,
        )

    return make
