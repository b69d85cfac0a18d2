"""Spreadsheets people download (attendance statistics, health figures, the directory): one
helper so every export is written the same way (UI-1, docs/frontend.md "Exports").

- `.xlsx` through openpyxl's write-only mode (streams rows; 10,000 rows stay in a few MB);
- a header row in the reader's language, frozen, with column widths from the header;
- every text cell that a spreadsheet would read as a formula (`= + - @`, tab, CR) is written with
  a leading `'`, so a name like `=HYPERLINK(…)` stays text
  (OWASP "CSV injection"); numbers and dates stay typed;
- the response is an attachment, never cached (`Cache-Control: no-store` comes from the
  console's path prefix)."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_value(value: Any) -> Any:
    """A value as a cell: numbers, dates and booleans typed; text defused; None empty."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | datetime.date | datetime.datetime):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            # Excel has no time zones: write the enterprise's local wall time the pages show (a
            # database value arrives in UTC), with the offset in the column's header (the caller's)
            return timezone.localtime(value).replace(tzinfo=None)
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook of (title, header, rows) sheets."""
    from openpyxl import Workbook  # imported on use: only exports need it
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31] or "Sheet")
        for index, name in enumerate(header, start=1):
            width = max(10, min(40, sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(name)) + 4))
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([str(name) for name in header])
        for row in rows:
            sheet.append([cell_value(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> HttpResponse:
    """An attachment download of `xlsx_bytes(sheets)`; `filename` ends in .xlsx, ASCII only."""
    response = HttpResponse(xlsx_bytes(sheets), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
