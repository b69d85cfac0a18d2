"""The import's file format: the columns (headers in Simplified Chinese and English, either
accepted), the downloadable template, and reading an uploaded .xlsx or .csv into rows of text.

Reading never trusts the file's name alone: an .xlsx is a zip (openpyxl in read-only mode, the
first sheet, at most MAX_COLUMNS columns and MAX_ROWS rows read); a .csv is UTF-8 (with or
without the BOM Excel writes) or GB18030 (what Excel writes on a Chinese Windows). Anything else
is refused with a message for people (FileRefused)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.spreadsheets import FORMULA_START

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 40
XLSX_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"  # the old .xls format


@dataclass(frozen=True)
class Column:
    field: str
    en: str
    zh: str
    required: bool = False
    help: Any = ""

    def header(self, language: str) -> str:
        text = self.zh if language == "zh" else self.en
        return f"{text}*" if self.required else text


# The template's columns in order. Headers are data the file carries (both languages are
# accepted whatever the page's language), so they are written out here, not translated.
COLUMNS: tuple[Column, ...] = (
    Column("display_name", "Name", "姓名", True, gettext_lazy("At most 100 characters.")),
    Column(
        "mobile",
        "Mobile number",
        "手机号",
        True,
        gettext_lazy(
            "Mainland numbers as 13800138000, others with their country code (+852…). Rows are matched by it."
        ),
    ),
    Column(
        "departments",
        "Department",
        "部门",
        False,
        gettext_lazy(
            "A department's name, or its path when several share the name (Sales/East); "
            "several departments separated by ;. Empty: unchanged (required for a new member "
            "if you administer part of the enterprise)."
        ),
    ),
    Column("position", "Position", "职位", False, gettext_lazy("An existing position's name.")),
    Column("rank", "Rank", "职级", False, gettext_lazy("An existing rank's name.")),
    Column("title", "Title", "职务", False, gettext_lazy("At most 100 characters.")),
    Column("gender", "Gender", "性别", False, gettext_lazy("男 / 女 / 其他, or male / female / other.")),
    Column("email", "Email", "邮箱", False, gettext_lazy("An email address.")),
    Column("enterprise_mailbox", "Enterprise mailbox", "企业邮箱", False, gettext_lazy("An email address.")),
    Column("landline", "Landline", "座机", False, gettext_lazy("Digits, spaces, hyphens and an optional leading +.")),
    Column("seat", "Seat", "工位", False, gettext_lazy("At most 64 characters.")),
)
FIELDS = tuple(column.field for column in COLUMNS)


def _header_key(text: str) -> str:
    return "".join(str(text).split()).rstrip("*＊").lower()


HEADER_FIELDS: dict[str, str] = {}
for _column in COLUMNS:
    for _spelling in (_column.en, _column.zh, _column.field):
        HEADER_FIELDS[_header_key(_spelling)] = _column.field
# Other spellings Chinese spreadsheets use.
HEADER_FIELDS.update(
    {
        "手机号码": "mobile",
        "手机": "mobile",
        "mobile": "mobile",
        "name": "display_name",
        "部门路径": "departments",
        "departments": "departments",
        "电子邮箱": "email",
        "e-mail": "email",
        "座机号码": "landline",
        "职称": "title",
    }
)


class FileRefused(ValueError):
    """The file as a whole cannot be imported; `message` says why, for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ParsedFile:
    """Rows of text keyed by field, each with its row number in the file (the header is row 1)."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)


def template_rows(language: str) -> tuple[list[str], list[list[str]]]:
    """(header, explanation rows) of the template in `language` ("zh" or "en")."""
    header = [column.header(language) for column in COLUMNS]
    notes = [[column.header(language), str(column.help)] for column in COLUMNS]
    return header, notes


def template_csv(language: str) -> bytes:
    """The CSV template: the header only, UTF-8 with a BOM (so Excel opens it in Chinese)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(template_rows(language)[0])
    return ("\ufeff" + buffer.getvalue()).encode()


def _text(value: Any) -> str:
    """A cell as text: integral floats (a mobile number Excel stored as a number) without '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value).strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        return text[1:]  # a value our own spreadsheets defused (tenants.spreadsheets)
    return text


def _xlsx_rows(content: bytes) -> Iterator[Sequence[Any]]:
    from openpyxl import load_workbook  # imported on use: only imports need it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise FileRefused(_("The file could not be read as an Excel workbook (.xlsx).")) from error
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return
        yield from sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> Iterator[Sequence[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileRefused(_("The CSV file must be UTF-8 or GB18030 text."))
    if "\x00" in text:
        raise FileRefused(_("Upload an Excel workbook (.xlsx) or a CSV file."))
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as error:
        raise FileRefused(_("The CSV file is malformed: %(error)s") % {"error": error}) from error


def file_read(*, name: str, content: bytes) -> ParsedFile:
    """Rows of the file; FileRefused for a file that is not an .xlsx or .csv we can read, has
    no header with the required columns, or has more than MAX_ROWS rows."""
    if not content:
        raise FileRefused(_("The file is empty."))
    if len(content) > MAX_BYTES:
        raise FileRefused(_("The file must be at most %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)})
    lower = name.lower()
    if content.startswith(OLE_SIGNATURE):
        raise FileRefused(_("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV."))
    if content.startswith(XLSX_SIGNATURE):
        if not lower.endswith(".xlsx"):
            raise FileRefused(_("Upload an Excel workbook (.xlsx) or a CSV file."))
        raw: Iterable[Sequence[Any]] = _xlsx_rows(content)
    elif lower.endswith((".csv", ".txt")):
        raw = _csv_rows(content)
    else:
        raise FileRefused(_("Upload an Excel workbook (.xlsx) or a CSV file."))
    return _rows(raw)


def _rows(raw: Iterable[Sequence[Any]]) -> ParsedFile:
    parsed = ParsedFile()
    iterator = iter(raw)
    header: list[str | None] | None = None
    number = 0
    for values in iterator:
        number += 1
        cells = [_text(value) for value in values[:MAX_COLUMNS]]
        if header is None:
            if not any(cells):
                continue  # blank lines above the header
            header = []
            seen: set[str] = set()
            for cell in cells:
                found = HEADER_FIELDS.get(_header_key(cell))
                if found is not None and found in seen:
                    raise FileRefused(_("The column “%(name)s” appears twice.") % {"name": cell})
                if found is None and cell:
                    parsed.ignored_headers.append(cell)
                if found is not None:
                    seen.add(found)
                header.append(found)
            missing = [c for c in COLUMNS if c.required and c.field not in seen]
            if missing:
                raise FileRefused(
                    _("The first row must name the columns; missing: %(names)s. Download the template.")
                    % {"names": ", ".join(f"{c.zh} / {c.en}" for c in missing)}
                )
            continue
        if not any(cells):
            continue
        if len(parsed.rows) >= MAX_ROWS:
            raise FileRefused(_("At most %(n)d rows can be imported at once.") % {"n": MAX_ROWS})
        row = {key: cells[index] for index, key in enumerate(header) if key is not None and index < len(cells)}
        parsed.rows.append((number, row))
    if header is None:
        raise FileRefused(_("The file is empty."))
    return parsed
