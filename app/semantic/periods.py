"""Periods in the shop's calendar: names such as ``last-month`` or ``q3-2025`` become windows of
local time, resolved against a clock that tests can freeze.

Relative windows: ``last-N-days`` (weeks, months, quarters, years, hours; also ``past-N-...``)
is a rolling window of that length ending now (the last 30 days are the past 720 hours);
``previous-N-days`` and the like are the N complete units before the current one (the last
7 complete days, not today). ``last-month`` and ``last-quarter`` are calendar units.

A ``Window`` is ``[start, end)`` in the shop's local time (naive datetimes; converted to
instants with the shop's timezone only when written into SQL, so DST and far-from-UTC shops
are right). A period that is not over ends *now* and is ``partial``. Comparisons take the
period before (``previous``: the previous month for a month, the 30 days before for the last
30 days, the same length before for a custom range) or a year earlier (``year``); when the
current period is partial, the comparison window covers the same elapsed time, so a month to
date is compared with the same days of the previous month, never with a whole month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from app.semantic.errors import InvalidQuery

UNITS = ("day", "week", "month", "quarter", "year")
UNIT_MONTHS = {"month": 1, "quarter": 3, "year": 12}
MAX_DAYS = 3660
MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
} | {"sept": 9}
NAMED_PERIODS = (
    "today",
    "yesterday",
    "this-week",
    "last-week",
    "this-month",
    "last-month",
    "this-quarter",
    "last-quarter",
    "this-year",
    "last-year",
    "wtd",
    "mtd",
    "qtd",
    "ytd",
    "last-7-days",
    "last-30-days",
    "last-90-days",
    "previous-7-days",
    "all",
)
PERIOD_FORMS = (
    f"{', '.join(NAMED_PERIODS)} (also previous-month, month-to-date ...); "
    "last-N-hours|days|weeks|months|quarters|years (rolling, ending now); "
    "previous-N-days|weeks|months|quarters|years (the N complete ones before the current); "
    "a month (november, nov-2025, 2025-11), a quarter (q3, q3-2025, 2025-q3), a year (2025) or "
    "a day (2025-11-05); a month or quarter without a year is the most recent complete one"
)
UNIT_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 31, "quarter": 92, "year": 366}


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant (timezone-aware)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FrozenClock:
    """A clock stopped at ``at`` (tests, reproducible benchmarks)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in local time; ``start`` None means from the beginning."""

    start: datetime | None
    end: datetime
    partial: bool = False

    def instants(self, tz: ZoneInfo) -> tuple[datetime | None, datetime]:
        start = None if self.start is None else self.start.replace(tzinfo=tz)
        return start, self.end.replace(tzinfo=tz)

    def label(self) -> str:
        last = (self.end - timedelta(microseconds=1)).date()
        text = "up to " + format_day(last) if self.start is None else date_range(self.start, last)
        return f"{text} (to date)" if self.partial else text


@dataclass(frozen=True)
class Shift:
    """How far the comparison window lies before the current one (for aligning buckets)."""

    months: int = 0
    days: int = 0
    hours: int = 0

    def sql(self) -> str:
        if self.months:
            return f"{self.months} months"
        return f"{self.hours} hours" if self.hours else f"{self.days} days"


@dataclass(frozen=True)
class Period:
    """A resolved period. ``window`` None is all time; ``unit``/``count`` say how it steps
    back for ``compare=previous`` (``None``: a custom range of ``days`` days)."""

    name: str
    window: Window | None
    unit: str | None = None
    count: int = 1
    natural_end: datetime | None = None  # where the period ends once it is over
    rolling: bool = False  # the last N units up to now (not calendar units)

    def label(self) -> str:
        if self.window is None:
            return "all time"
        if self.rolling and self.window.start is not None:
            unit = self.unit if self.count == 1 else f"{self.unit}s"
            return f"last {self.count} {unit} (since {format_moment(self.window.start)})"
        return self.window.label()

    @property
    def partial(self) -> bool:
        return self.window is not None and self.window.partial


@dataclass(frozen=True)
class Comparison:
    kind: str  # previous | year
    window: Window
    shift: Shift


def date_range(start: datetime, last: date) -> str:
    first = start.date()
    if first == last:
        return format_day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{format_day(last)}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {format_day(last)}"
    return f"{format_day(first)} – {format_day(last)}"


def format_day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def format_moment(moment: datetime) -> str:
    return f"{format_day(moment.date())} {moment:%H:%M}"


# ----- calendar arithmetic ---------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def unit_start(day: date, unit: str, week_start: int) -> date:
    """The first day of the unit (week, month...) holding ``day``; ``week_start`` 0 = Monday."""
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def add_units(day: date, unit: str, count: int) -> date:
    if unit == "day":
        return day + timedelta(days=count)
    if unit == "week":
        return day + timedelta(days=7 * count)
    return add_months(day, UNIT_MONTHS[unit] * count)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def shift_of(unit: str | None, count: int, days: int = 0) -> Shift:
    if unit in UNIT_MONTHS:
        return Shift(months=UNIT_MONTHS[unit] * count)
    if unit == "week":
        return Shift(days=7 * count)
    if unit == "day":
        return Shift(days=count)
    if unit == "hour":
        return Shift(hours=count)
    return Shift(days=days)


# ----- resolution ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """The shop's calendar at one instant: its local now and the first day of its weeks."""

    now: datetime  # local, naive
    week_start: int = 0  # 0 Monday ... 6 Sunday
    timezone: str | None = None  # None: local time is UTC

    @classmethod
    def at(cls, instant: datetime, timezone: str, week_start: int = 0) -> Calendar:
        local = instant.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
        return cls(local, week_start, timezone)

    @property
    def today(self) -> date:
        return self.now.date()

    def units(self, unit: str, first: date, count: int = 1, name: str = "") -> Period:
        """``count`` whole units from ``first``; cut at now (partial) when not over yet."""
        end = midnight(add_units(first, unit, count))
        if midnight(first) > self.now:
            raise InvalidQuery(
                f"the period {name or first.isoformat()!r} has not started yet",
                code="future_period",
            )
        window = Window(midnight(first), min(end, self.now), partial=end > self.now)
        return Period(name, window, unit, count, natural_end=end)

    def current(self, unit: str, name: str) -> Period:
        return self.units(unit, unit_start(self.today, unit, self.week_start), name=name)

    def rolling(self, unit: str, count: int, name: str) -> Period:
        """The last ``count`` units up to now, counted in absolute time (UTC) as the
        database's ``now() - interval '30 days'`` is: 30 days are 720 hours, DST or not."""
        zone = ZoneInfo(self.timezone or "UTC")
        now = self.now.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        if unit in UNIT_MONTHS:
            start = datetime.combine(add_months(now.date(), -UNIT_MONTHS[unit] * count), now.time())
        else:
            start = now - timedelta(hours=count * round(UNIT_DAYS[unit] * 24))
        local = start.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        window = Window(local, self.now)
        return Period(name, window, unit, count, natural_end=self.now, rolling=True)

    def last(self, unit: str, count: int, name: str) -> Period:
        """The ``count`` complete units before the current one."""
        this = unit_start(self.today, unit, self.week_start)
        return self.units(unit, add_units(this, unit, -count), count, name)

    def recent(self, unit: str, first_of_year: date, name: str) -> Period:
        """A named month or quarter without a year: the most recent complete one."""
        period = self.units(unit, first_of_year, name=name) if first_of_year <= self.today else None
        if period is None or period.partial:
            return self.units(unit, add_months(first_of_year, -12), name=name)
        return period

    def days(self, first: date, last: date, name: str) -> Period:
        """Whole days ``first``..``last`` (inclusive); a custom range."""
        if first > last:
            raise InvalidQuery(
                f"the period starts after it ends ({first.isoformat()} > {last.isoformat()}): "
                "from must be on or before to",
                code="invalid_range",
            )
        period = self.units("day", first, (last - first).days + 1, name)
        return replace(period, unit=None)


def resolve_period(
    name: str | None,
    calendar_: Calendar,
    *,
    from_date: date | None = None,
    to_date: date | None = None,
) -> Period:
    """The period named ``name`` (``None``: all time) or the days ``from_date``..``to_date``."""
    if from_date is not None or to_date is not None:
        if name is not None:
            raise InvalidQuery(
                "give either a period or from/to dates, not both", code="invalid_period"
            )
        return custom_range(calendar_, from_date, to_date)
    if name is None:
        return Period("all", None)
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    period = named_period(key, calendar_)
    if period is None:
        raise InvalidQuery(
            f"unknown period {name!r}. Periods: {PERIOD_FORMS}", code="invalid_period"
        )
    return period


def custom_range(calendar_: Calendar, first: date | None, last: date | None) -> Period:
    last = last or calendar_.today
    if first is None:
        natural_end = midnight(last + timedelta(days=1))
        end = min(natural_end, calendar_.now)
        window = Window(None, end, partial=natural_end > end)
        return Period(f"up to {last.isoformat()}", window, natural_end=natural_end)
    return calendar_.days(first, last, f"{first.isoformat()}..{last.isoformat()}")


FIXED = {
    "today": ("day", 0),
    "this-week": ("week", 0),
    "wtd": ("week", 0),
    "this-month": ("month", 0),
    "mtd": ("month", 0),
    "this-quarter": ("quarter", 0),
    "qtd": ("quarter", 0),
    "this-year": ("year", 0),
    "ytd": ("year", 0),
    "yesterday": ("day", 1),
    "last-week": ("week", 1),
    "last-month": ("month", 1),
    "last-quarter": ("quarter", 1),
    "last-year": ("year", 1),
}
FIXED |= {f"previous-{unit}": (unit, 1) for unit in ("week", "month", "quarter", "year")}
FIXED |= {f"{unit}-to-date": (unit, 0) for unit in ("week", "month", "quarter", "year")}
LAST_N = re.compile(r"(last|past|previous)-(\d{1,5})-(hour|day|week|month|quarter|year)s?")
QUARTER = re.compile(r"(?:q([1-4])(?:-(\d{4}))?|(\d{4})-q([1-4]))")
MONTH_NAME = re.compile(r"([a-z]+)(?:-(\d{4}))?|(\d{4})-([a-z]+)")


def named_period(key: str, cal: Calendar) -> Period | None:
    if key in ("all", "all-time", "ever"):
        return Period("all", None)
    if key in FIXED:
        unit, back = FIXED[key]
        return cal.current(unit, key) if back == 0 else cal.last(unit, 1, key)
    match = LAST_N.fullmatch(key)
    if match:
        return last_n(cal, match.group(1), int(match.group(2)), match.group(3), key)
    return calendar_period(key, cal)


def last_n(cal: Calendar, kind: str, count: int, unit: str, key: str) -> Period:
    """``last``/``past``: rolling, ending now; ``previous``: complete units before this one."""
    if count < 1 or count * UNIT_DAYS[unit] > MAX_DAYS:
        raise InvalidQuery(
            f"{key!r} is out of range: up to {MAX_DAYS} days back", code="invalid_period"
        )
    if kind == "previous":
        if unit == "hour":
            raise InvalidQuery(
                "previous-N-hours is not a period: use last-N-hours", code="invalid_period"
            )
        return cal.last(unit, count, key)
    return cal.rolling(unit, count, key)


def calendar_period(key: str, cal: Calendar) -> Period | None:
    """Years, days, months and quarters, with or without a year."""
    if re.fullmatch(r"\d{4}", key):
        return cal.units("year", date(int(key), 1, 1), name=key)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
        return cal.units("day", parse_day(key), name=key)
    if re.fullmatch(r"\d{4}-\d{2}", key):
        year, month = int(key[:4]), int(key[5:])
        return cal.units("month", date(year, month, 1), name=key) if 1 <= month <= 12 else None
    match = QUARTER.fullmatch(key)
    if match:
        quarter = int(match.group(1) or match.group(4))
        year_text: str | None = match.group(2) or match.group(3)
        first = date(int(year_text or cal.today.year), 3 * quarter - 2, 1)
        return dated(cal, "quarter", first, year_text)
    match = MONTH_NAME.fullmatch(key)
    if match and (match.group(1) or match.group(4)) in MONTHS:
        month_number = MONTHS[match.group(1) or match.group(4)]
        year_text = match.group(2) or match.group(3)
        first = date(int(year_text or cal.today.year), month_number, 1)
        return dated(cal, "month", first, year_text, key)
    return None


def dated(cal: Calendar, unit: str, first: date, year: str | None, key: str = "") -> Period:
    name = key or f"{unit} {first.isoformat()}"
    return cal.units(unit, first, name=name) if year else cal.recent(unit, first, name)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQuery(f"{text!r} is not a date (YYYY-MM-DD)", code="invalid_period") from None


def compare_window(period: Period, kind: str) -> Comparison:
    """The window a period is compared with, and how far back it lies."""
    window, natural_end = period.window, period.natural_end
    if window is None or window.start is None or natural_end is None:
        raise InvalidQuery(
            "a comparison needs a bounded period (e.g. last-month), not all time",
            code="invalid_compare",
        )
    if kind == "year":
        shift = Shift(months=12)
    elif period.unit is not None:
        shift = shift_of(period.unit, period.count)
    else:
        shift = Shift(days=(natural_end.date() - window.start.date()).days)
    start, end = shifted(window.start, shift), shifted(natural_end, shift)
    if period.rolling and kind == "previous":  # the same length just before, no gap
        end = window.start
    if window.partial:  # like for like: the same time elapsed, never a whole period
        end = min(start + (window.end - window.start), end)
    return Comparison(kind, Window(start, end), shift)


def shifted(moment: datetime, shift: Shift) -> datetime:
    """``moment`` moved back by ``shift`` (months keep the day, clamped to the month's end)."""
    if shift.months:
        day = add_months(moment.date(), -shift.months)
        return datetime.combine(day, moment.time())
    return moment - timedelta(days=shift.days, hours=shift.hours)
