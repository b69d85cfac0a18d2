"""SEC-3: control characters are refused in every input, in one place (docs/security.md, "Input
that is refused").

`InputGuardMiddleware` looks at the path, the query string, a form body (url-encoded or
multipart: field names, values and uploaded file names) and a JSON body before any view does.
A text value may hold tab, line feed and carriage return (free text: notes, addresses, a
device's message); nothing else below U+0020, no DEL (U+007F), no C1 control (U+0080–U+009F)
and no lone surrogate (U+D800–U+DFFF, which JSON can spell as `\\ud800` and UTF-8 cannot store).
A name (a parameter, a form field, a JSON key) and an uploaded file's name hold no control
character at all. PostgreSQL refuses NUL in text (psycopg2 raises, a 500 before this guard),
the others are refused because no input of the portal has a use for them and they hide text
from people reading it (a ledger purpose, a CSV export, a log line).

A refusal is a 400 naming the field: on the API (`/api/…`) in the API's documented shape
(`FieldErrors`: `{"q": ["…"]}`; a JSON body's nested fields nested the same way, e.g.
`{"departments": {"0": ["…"]}}`; a bad name under `non_field_errors`; a bad path as
`{"detail": "…"}`), on pages the page `input_refused.html` listing the fields. A body larger
than DATA_UPLOAD_MAX_MEMORY_SIZE raises RequestDataTooBig while the guard reads it, which
`tenants.errors.bad_request` (handler400) answers 413.

Not looked at: a multipart or url-encoded body of a PUT/PATCH is read by DRF itself (Django
parses forms for POST only); the url-encoded one is, the multipart one is not (no API takes a
file; DRF's CharField refuses NUL there on its own). Other content types are DRF's to refuse
(415)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext

# in a value: C0 but tab, LF, CR; DEL; C1; lone surrogates
CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# in a name (parameter, field, JSON key, file name): every control character
CONTROL_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
NON_FIELD = "non_field_errors"
JSON_TYPE = re.compile(r"^application/(.+\+)?json$")

Errors = dict[str, Any]


def _value_message() -> str:
    return gettext("Control characters are not allowed.")


def _name_message() -> str:
    return gettext("A field name contains a control character.")


def _file_message() -> str:
    return gettext("The file name contains a control character.")


def _add(errors: Errors, field: str, message: str) -> None:
    messages = errors.setdefault(field, [])
    if message not in messages:
        messages.append(message)


def form_errors(data: QueryDict) -> Errors:
    """A query string's or a form's fields: `{name: [message]}`, bad names under non_field_errors."""
    errors: Errors = {}
    for name, values in data.lists():
        if CONTROL_IN_NAME.search(name):
            _add(errors, NON_FIELD, _name_message())
        elif any(CONTROL_IN_TEXT.search(value) for value in values):
            _add(errors, name, _value_message())
    return errors


def file_errors(request: HttpRequest) -> Errors:
    errors: Errors = {}
    for name, files in request.FILES.lists():
        if CONTROL_IN_NAME.search(name):
            _add(errors, NON_FIELD, _name_message())
        elif any(CONTROL_IN_NAME.search(upload.name or "") for upload in files):
            _add(errors, name, _file_message())
    return errors


def json_errors(value: Any) -> Any:
    """The errors of a parsed JSON value, nested like DRF's (`{"field": [...]}`, a list's items
    by index), or None when it is clean. A string on its own gives `[message]`."""
    if isinstance(value, str):
        return [_value_message()] if CONTROL_IN_TEXT.search(value) else None
    items: list[tuple[str, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return None
    errors: Errors = {}
    for key, item in items:
        if CONTROL_IN_NAME.search(key):
            _add(errors, NON_FIELD, _name_message())
            continue
        found = json_errors(item)
        if found is not None:
            errors[key] = found
    return errors or None


def body_errors(request: HttpRequest) -> Errors:
    """The body's errors. Reading it enforces DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig)."""
    content_type = (request.content_type or "").lower()
    if request.method in ("GET", "HEAD", "OPTIONS") and not request.META.get("CONTENT_LENGTH"):
        return {}
    if content_type == "multipart/form-data":
        if request.method != "POST":
            return {}
        return {**form_errors(request.POST), **file_errors(request)}
    if content_type == "application/x-www-form-urlencoded":
        data = request.POST if request.method == "POST" else QueryDict(request.body, encoding=request.encoding)
        return form_errors(data)
    if JSON_TYPE.match(content_type):
        try:
            parsed = json.loads(request.body.decode(request.encoding or "utf-8"))
            found = json_errors(parsed)
        except ValueError:  # not JSON (or not UTF-8): the view's parser refuses it
            return {}
        except RecursionError:  # DRF's parser would fail the same way, with a 500
            return {NON_FIELD: [gettext("The JSON body is nested too deeply.")]}
        if found is None:
            return {}
        return found if isinstance(found, dict) and not isinstance(parsed, list) else {NON_FIELD: [_value_message()]}
    return {}


def input_errors(request: HttpRequest) -> Errors:
    """Everything wrong with this request's input, as field errors (empty when it is clean)."""
    return {**form_errors(request.GET), **body_errors(request)}


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class InputGuardMiddleware:
    """Refuses a request whose path, query string, form, file names or JSON body hold a
    control character, before any view or database sees it (SEC-3)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if CONTROL_IN_NAME.search(request.path_info):
            detail = gettext("The address contains a control character.")
            if is_api(request):
                return JsonResponse({"detail": detail}, status=400)
            return render(request, "input_refused.html", {"detail": detail, "fields": []}, status=400)
        errors = input_errors(request)
        if errors:
            if is_api(request):
                return JsonResponse(errors, status=400)
            fields = sorted(name for name in errors if name != NON_FIELD)
            return render(
                request,
                "input_refused.html",
                {"detail": _value_message(), "fields": fields, "bad_names": NON_FIELD in errors},
                status=400,
            )
        return self.get_response(request)
