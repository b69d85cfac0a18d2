"""The exports' spreadsheet cells (UI-1, docs/frontend.md): typed values, formula injection
defused, and aware times written as the enterprise's local wall time (Asia/Shanghai), never UTC."""

from __future__ import annotations

import datetime
import io
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from tenants.spreadsheets import cell_value, xlsx_bytes


def test_an_aware_time_is_written_as_local_wall_time():
    utc = datetime.datetime(2026, 12, 6, 16, 30, tzinfo=datetime.UTC)  # 00:30 the next day in Shanghai
    assert cell_value(utc) == datetime.datetime(2026, 12, 7, 0, 30)
    local = utc.astimezone(ZoneInfo("Asia/Shanghai"))
    assert cell_value(local) == datetime.datetime(2026, 12, 7, 0, 30)


def test_text_that_reads_as_a_formula_stays_text_and_numbers_stay_numbers():
    data = xlsx_bytes([("Sheet", ["a", "b", "c"], [["=HYPERLINK(1)", 3, None]])])
    sheet = load_workbook(io.BytesIO(data))["Sheet"]
    assert [cell.value for cell in sheet[2]] == ["'=HYPERLINK(1)", 3, None]
