"""The working-day calendar of DSR-4: weekends and mainland-China public holidays are not
working days; the official make-up working days (调休, a Saturday or Sunday worked to bridge a
holiday) are.

Source: the maintained `holidays` package (`holidays.country_holidays("CN")`), which knows the
statutory holidays, the State Council's bridging days off and the make-up working days
(`weekend_workdays`) of the years published when the installed version was released; for other
years it knows only the statutory holidays. Operators fill the gaps in the admin with
`HolidayOverride` rows (date, working day or not, note), which win over the library.

A `WorkingCalendar` reads every override row once (one query; the table holds a few dozen rows
a year), so a list page computes the days left of all its rows with a single query."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

from requests.models import HolidayOverride

COUNTRY = "CN"


@lru_cache(maxsize=1)
def _library_calendar() -> Any:
    """The library's calendar for mainland China (years are filled in on first use)."""
    return holidays.country_holidays(COUNTRY)


def library_is_working_day(day: date) -> bool:
    """What the holiday library alone says about `day`."""
    return bool(_library_calendar().is_working_day(day))


class WorkingCalendar:
    """Working days: the operators' overrides first, then the holiday library."""

    def __init__(self, overrides: dict[date, bool] | None = None) -> None:
        if overrides is None:
            overrides = dict(HolidayOverride.objects.values_list("date", "is_working_day"))
        self.overrides = overrides

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return library_is_working_day(day)

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (`start` itself does not count)."""
        day = start
        while days > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many the clock uses from `start` to `end`;
        negative (minus those in (end, start]) when `end` is before `start`."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
