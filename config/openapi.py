"""OpenAPI generation (drf-spectacular) for the project's API conventions.

STYLE.md has each API view declare its own nested `InputSerializer` / `OutputSerializer`. Left
alone, drf-spectacular names every one of them "Input" / "Output" and the components overwrite
each other. Nested serializers are named after the class that holds them instead:
`MemberRevealApi.InputSerializer` -> `MemberRevealInput`.

SEC-3: the error responses are documented here for the whole API, not view by view, so that the
fuzzing can check every status code (schemathesis' `status_code_conformance`). Each operation gets
those of the following that it can answer and does not document itself
(`PortalAutoSchema.error_responses`, docs/security.md):

- 400 `BadRequest`: field errors (`FieldErrors`: each invalid field, or `non_field_errors`, with
  its messages; nested objects and lists for nested input) or an `Error` (`detail`, e.g. a
  request body that is not JSON) — on every operation: besides the input each one documents,
  a control character in any query parameter, form field or JSON value is refused before the
  view (tenants.input), and so is a path holding one or more query parameters than Django takes;
- 401 `Error`: where the view's first authentication answers with `WWW-Authenticate` (the device
  API); session authentication answers 403 instead;
- 403 `Error`: `detail`, with a stable `code` for the refusals of the middleware and services
  (`two_factor_required`, `not_member`, `consent_required`, …) and that code's parameters;
- 404 `Error`: operations with a path parameter (another enterprise's id, or none, is not found),
  or a `page` (beyond the last: DRF's pagination) or `format` (no such renderer: DRF's content
  negotiation) query parameter; a view whose query refers to an object documents its own 404;
- 410 `Error`: every operation (`enterprise_terminated`, tenants.middleware);
- 413 `Error`: every method that takes a body (any but GET): a body larger than
  DATA_UPLOAD_MAX_MEMORY_SIZE (tenants.errors.bad_request).
- 429 `Throttled` (an `Error` with `code` and `retry_after`) and the `Retry-After` header: every
  operation (SEC-7: the API's throttles, tenants/throttling.py, and the services' limits such
  as the SMS-code caps)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# DRF answers these with 404: a page beyond the last (PageNumberPagination), a format without a
# renderer (content negotiation, URL_FORMAT_OVERRIDE)
NOT_FOUND_QUERY_PARAMETERS = frozenset({"page", "format"})


class FieldErrorsSerializer(serializers.Serializer):
    """DRF's usual 400: each invalid field (or `non_field_errors`) with its messages."""


class FieldErrorsSerializerExtension(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        itself = {"$ref": "#/components/schemas/FieldErrors"}
        return {
            "type": "object",
            "description": "Field errors: each invalid field (errors not tied to one field under "
            "`non_field_errors`) with its messages; a nested object's or a list's errors "
            "are nested the same way.",
            "additionalProperties": {
                "anyOf": [
                    {"type": "array", "items": {"anyOf": [{"type": "string"}, itself]}},
                    itself,
                ]
            },
        }


class ErrorSerializer(serializers.Serializer):
    """A refusal: `detail` for people; `code`, when present, stable for programs."""

    detail = serializers.CharField(help_text="What went wrong, in the request's language.")
    code = serializers.CharField(
        required=False,
        help_text="A stable code (e.g. `two_factor_required`, "
        "`not_member`, `consent_required`); the code's parameters may follow.",
    )


class ThrottledSerializer(ErrorSerializer):
    """A refusal by an abuse limit (SEC-7): tenants.apis.exception_handler."""

    code = serializers.CharField(
        help_text="`throttled` (an API rate), `sms_address_limit` or `sms_platform_limit` (the SMS-code caps)."
    )
    retry_after = serializers.IntegerField(help_text="Seconds to wait, as in the `Retry-After` header.")


RETRY_AFTER_HEADER = {
    "schema": {"type": "integer", "minimum": 1},
    "description": "Seconds until the limit's window ends (SEC-7).",
}

BAD_REQUEST = PolymorphicProxySerializer(
    component_name="BadRequest", serializers=[FieldErrorsSerializer, ErrorSerializer], resource_type_field_name=None
)


class PortalAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Direction) -> str:
        cls = serializer if isinstance(serializer, type) else serializer.__class__
        parts = cls.__qualname__.split(".")
        if len(parts) > 1 and "<locals>" not in parts:
            owner = parts[-2].removesuffix("Api").removesuffix("View")
            return owner + parts[-1]
        return super().get_serializer_name(serializer, direction)

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation: dict[str, Any] | None = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, (serializer, description) in self.error_responses(operation.get("parameters", [])).items():
            if code not in responses:  # an operation's own documented error wins
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=serializer, description=description), code
                )
        responses["429"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER_HEADER
        return operation

    def error_responses(self, parameters: list[dict[str, Any]]) -> dict[str, tuple[Any, str]]:
        """The error responses this operation can answer (see the module's docstring)."""
        where = {parameter["in"] for parameter in parameters}
        query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
        errors: dict[str, tuple[Any, str]] = {}
        errors["400"] = (
            BAD_REQUEST,
            "Bad input: field errors (a control character in any parameter or field "
            "is one), or what is wrong with the request.",
        )
        if self._authenticate_header():
            errors["401"] = (ErrorSerializer, "Not authenticated, or the credentials are invalid.")
        errors["403"] = (
            ErrorSerializer,
            "Refused: not signed in (session), not allowed, or a condition to meet first (`code`).",
        )
        if "path" in where or query & NOT_FOUND_QUERY_PARAMETERS:
            errors["404"] = (ErrorSerializer, "Not found (in this enterprise).")
        errors["410"] = (ErrorSerializer, "The enterprise has been terminated.")
        if self.method not in SAFE_METHODS:
            errors["413"] = (
                ErrorSerializer,
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.",
            )
        errors["429"] = (ThrottledSerializer, "Too many requests (SEC-7): wait `Retry-After` seconds.")
        return errors

    def _authenticate_header(self) -> str:
        authenticators = self.view.get_authenticators()
        return authenticators[0].authenticate_header(self.view.request) if authenticators else ""
