"""Base of every API view on an enterprise host (`/api/v1/`)."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import ngettext
from drf_spectacular.utils import inline_serializer
from rest_framework.exceptions import PermissionDenied, Throttled, ValidationError
from rest_framework.fields import CharField, IntegerField
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.throttling import RateLimited


class Pagination(PageNumberPagination):
    """The API's list pages: 50 rows, `?page_size=` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated(child: type[Serializer], name: str) -> Serializer:
    """The OpenAPI shape of a Pagination page of `child` rows, for `extend_schema(responses=…)` of
    views that paginate by hand (SEC-3: the documented response is the one sent)."""
    return inline_serializer(
        name=name,
        fields={
            "count": IntegerField(),
            "next": CharField(allow_null=True),
            "previous": CharField(allow_null=True),
            "results": child(many=True),
        },
    )


# Service errors that are refusals, not bad input: 403 with the code as a stable machine-readable
# `code` (and the error's params, e.g. the sensitive category and purpose of "consent_required").
REFUSAL_CODES = frozenset({"consent_required", "guardian_consent_required"})


def service_errors(error: DjangoValidationError) -> ValidationError | PermissionDenied:
    """A service's ValidationError as DRF's 400 with field errors (SEC-3): `raise
    service_errors(error) from error`. Errors not tied to a field go under `non_field_errors`.
    A refusal (REFUSAL_CODES: no consent, no guardian consent) is a 403 with `code` instead."""
    for item in (
        error.error_list
        if not hasattr(error, "error_dict")
        else [e for errors in error.error_dict.values() for e in errors]
    ):
        if item.code in REFUSAL_CODES:
            return PermissionDenied({"code": item.code, "detail": item.messages[0], **(item.params or {})})
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({"non_field_errors": error.messages})


def throttled_detail(seconds: int) -> str:
    """What a throttled client reads: the wait in seconds up to a minute and a half, else in
    minutes (rounded up)."""
    if seconds <= 90:
        return ngettext(
            "Too many requests. Try again in %(n)d second.", "Too many requests. Try again in %(n)d seconds.", seconds
        ) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many requests. Try again in %(n)d minute.", "Too many requests. Try again in %(n)d minutes.", minutes
    ) % {"n": minutes}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: a Django ValidationError that reaches an API view
    unhandled is bad input, answered 400 with field errors, never a 500. Over a limit (SEC-7: a
    DRF throttle, or a service's RateLimited such as the SMS-code caps) the answer is 429
    `{"detail", "code": "throttled", "retry_after"}` with the `Retry-After` header."""
    if isinstance(exc, DjangoValidationError):
        exc = service_errors(exc)
    if isinstance(exc, RateLimited | Throttled):
        seconds = max(1, math.ceil((exc.retry_after if isinstance(exc, RateLimited) else exc.wait) or 1))
        body = (
            {"detail": exc.message, "code": exc.code}
            if isinstance(exc, RateLimited)
            else {"detail": throttled_detail(seconds), "code": "throttled"}
        )
        response = drf_exception_handler(Throttled(wait=seconds), context)  # 429, Retry-After
        if response is not None:
            response.data = {**body, "retry_after": seconds}
        return response
    return drf_exception_handler(exc, context)
