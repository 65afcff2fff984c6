"""Working-day clocks: weekends, a holiday calendar and its make-up working days (调休).

China's public holidays and the weekend days worked in exchange come from the ``holidays`` package's CN
calendar (``holidays.country_holidays("CN")`` and its ``weekend_workdays``); a deployment can add or
remove days with the settings ``COMPLAINT_HOLIDAYS`` / ``COMPLAINT_WORKDAYS`` (lists of ISO dates),
which win over the package. Pure: no I/O, no settings lookup (callers pass the overrides).

Time limits count whole working days *after* the day a request was filed (受理之日的次日起算): a request
filed on Friday with a 2-working-day limit is due at the end of Tuesday.

Days are counted in the calendar's ``zone`` (the service's ``GRIDMAP_TIMEZONE``, passed in by the service
layer): an aware time is first converted there, so a request filed at 2025-03-07T13:00Z is filed on
Friday evening in Shanghai, and its limit ends at 23:59:59 Shanghai time (returned as aware UTC). A naive
time is read as a wall time in that zone and its limit is returned naive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import holidays as holidays_pkg

from gridmap import clock
from gridmap.errors import InvalidInput

__all__ = ["WorkCalendar", "CalendarError", "china_calendar", "end_of_day", "END_OF_DAY"]


class CalendarError(InvalidInput):
    """A calendar setting that cannot be read (a date that is not ISO ``YYYY-MM-DD``)."""


def _as_date(value: object, *, what: str, zone: dt.tzinfo = clock.UTC) -> dt.date:
    """A date from a date, a datetime (its date in ``zone`` if aware) or an ISO text (settings give any of them)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).date() if value.tzinfo is not None else value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(f"{what}: {value!r} is not a date (write it as YYYY-MM-DD)") from None


#: a time limit ends at the last second of its day
END_OF_DAY = dt.time(23, 59, 59)


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of ``day`` as a wall time (a time limit ends then)."""
    return dt.datetime.combine(day, END_OF_DAY)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are worked.

    Parameters
    ----------
    holidays
        Days off even if they fall Monday–Friday.
    workdays
        Days worked even if they fall on a weekend (make-up working days). A day in both is a holiday.
    weekend
        ISO weekday numbers of the weekend (6 = Saturday, 7 = Sunday).
    zone
        Where the days are counted (:func:`gridmap.clock.zone`); aware times are converted to it.
    """

    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)
    weekend: frozenset[int] = frozenset({6, 7})
    zone: dt.tzinfo = clock.UTC

    def day_of(self, value: dt.date | dt.datetime | str) -> dt.date:
        """The date of ``value`` in the calendar's zone (a naive time is a wall time there)."""
        return _as_date(value, what="day", zone=self.zone)

    def is_working_day(self, day: dt.date | dt.datetime) -> bool:
        """True when ``day`` is worked."""
        day = self.day_of(day)
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.isoweekday() not in self.weekend

    def add_working_days(self, start: dt.date | dt.datetime, days: int) -> dt.date:
        """The ``days``-th working day after the date of ``start`` (``days`` ≥ 0; 0 → that date)."""
        if days < 0:
            raise CalendarError(f"days must be ≥ 0, got {days}")
        return _add(self, _as_date(start, what="start", zone=self.zone), int(days))

    def due(self, start: dt.datetime, days: int) -> dt.datetime:
        """When a ``days``-working-day limit that starts at ``start`` ends: the end of that day in the
        calendar's zone, aware UTC for an aware ``start`` (a wall time for a naive one)."""
        day = self.add_working_days(start, days)
        if isinstance(start, dt.datetime) and start.tzinfo is not None:
            return clock.at_local(day, END_OF_DAY, self.zone)
        return end_of_day(day)

    def working_days_between(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> int:
        """Working days in the half-open range (date of ``start``, date of ``end``]; negative if reversed."""
        a, b = _as_date(start, what="start", zone=self.zone), _as_date(end, what="end", zone=self.zone)
        if b < a:
            return -_between(self, b, a)
        return _between(self, a, b)

    def with_overrides(self, *, holidays: Iterable[object] = (), workdays: Iterable[object] = ()) -> WorkCalendar:
        """A new calendar with extra holidays and make-up working days (they override each other's
        earlier entries: a date listed as a workday here stops being a holiday, and vice versa)."""
        extra_h = {_as_date(d, what="COMPLAINT_HOLIDAYS") for d in holidays}
        extra_w = {_as_date(d, what="COMPLAINT_WORKDAYS") for d in workdays}
        both = extra_h & extra_w
        if both:
            raise CalendarError(f"dates listed both as holiday and as workday: {sorted(map(str, both))}")
        return WorkCalendar(
            holidays=frozenset((self.holidays - extra_w) | extra_h),
            workdays=frozenset((self.workdays - extra_h) | extra_w),
            weekend=self.weekend,
            zone=self.zone,
        )


def _add_days(cal: WorkCalendar, day: dt.date, days: int) -> dt.date:
    left = days
    while left:
        day += dt.timedelta(days=1)
        if cal.is_working_day(day):
            left -= 1
    return day


def _count_between(cal: WorkCalendar, a: dt.date, b: dt.date) -> int:
    return sum(1 for i in range(1, (b - a).days + 1) if cal.is_working_day(a + dt.timedelta(days=i)))


# cached by wrapping rather than with decorators, so that mutation testing reaches the two walks (mutmut leaves
# decorated functions alone)
_add = lru_cache(maxsize=65536)(_add_days)
_between = lru_cache(maxsize=65536)(_count_between)


def china_calendar(
    years: Iterable[int],
    *,
    holidays: Iterable[object] = (),
    workdays: Iterable[object] = (),
    zone: dt.tzinfo = clock.UTC,
) -> WorkCalendar:
    """The CN public-holiday calendar of ``years`` with its make-up working days, plus overrides.

    Parameters
    ----------
    years
        Calendar years to cover (a clock that runs past them sees only weekends).
    holidays, workdays
        Extra days off / days worked (ISO strings or dates), e.g. from the settings.
    zone
        Where the days are counted (the service's ``GRIDMAP_TIMEZONE``).
    """
    years = sorted(set(int(y) for y in years))
    cn = holidays_pkg.country_holidays("CN", years=years)
    off = frozenset(d for d in cn if d.year in years)
    worked = frozenset(d for d in cn.weekend_workdays if d.year in years)
    return WorkCalendar(holidays=off, workdays=worked, zone=zone).with_overrides(holidays=holidays, workdays=workdays)
