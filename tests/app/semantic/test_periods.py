"""Periods in the shop's calendar against a frozen clock (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.semantic.errors import InvalidQuery
from app.semantic.periods import Calendar, compare_window, resolve_period

NOON = Calendar(datetime(2026, 11, 22, 12, 0))  # a Sunday
SUNDAY_WEEKS = Calendar(datetime(2026, 11, 22, 12, 0), week_start=6)


def days(name: str, calendar: Calendar = NOON) -> tuple[str, str, bool]:
    period = resolve_period(name, calendar)
    window = period.window
    assert window is not None and window.start is not None
    return window.start.isoformat(), window.end.isoformat(), window.partial


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("today", ("2026-11-22T00:00:00", "2026-11-22T12:00:00", True)),
        ("yesterday", ("2026-11-21T00:00:00", "2026-11-22T00:00:00", False)),
        ("this-week", ("2026-11-16T00:00:00", "2026-11-22T12:00:00", True)),
        ("last-week", ("2026-11-09T00:00:00", "2026-11-16T00:00:00", False)),
        ("this-month", ("2026-11-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("mtd", ("2026-11-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("last-month", ("2026-10-01T00:00:00", "2026-11-01T00:00:00", False)),
        ("previous month", ("2026-10-01T00:00:00", "2026-11-01T00:00:00", False)),
        ("Year to date", ("2026-01-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("past 7 days", ("2026-11-15T12:00:00", "2026-11-22T12:00:00", False)),
        ("Q3 2025", ("2025-07-01T00:00:00", "2025-10-01T00:00:00", False)),
        ("november 2025", ("2025-11-01T00:00:00", "2025-12-01T00:00:00", False)),
        ("this-quarter", ("2026-10-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("last-quarter", ("2026-07-01T00:00:00", "2026-10-01T00:00:00", False)),
        ("this-year", ("2026-01-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("ytd", ("2026-01-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("last-year", ("2025-01-01T00:00:00", "2026-01-01T00:00:00", False)),
        ("last-7-days", ("2026-11-15T12:00:00", "2026-11-22T12:00:00", False)),
        ("last-30-days", ("2026-10-23T12:00:00", "2026-11-22T12:00:00", False)),
        ("last-90-days", ("2026-08-24T12:00:00", "2026-11-22T12:00:00", False)),
        ("last-168-hours", ("2026-11-15T12:00:00", "2026-11-22T12:00:00", False)),
        ("Last 3 months", ("2026-08-22T12:00:00", "2026-11-22T12:00:00", False)),
        ("last-12-months", ("2025-11-22T12:00:00", "2026-11-22T12:00:00", False)),
        ("last-2-years", ("2024-11-22T12:00:00", "2026-11-22T12:00:00", False)),
        ("previous-7-days", ("2026-11-15T00:00:00", "2026-11-22T00:00:00", False)),
        ("previous 3 months", ("2026-08-01T00:00:00", "2026-11-01T00:00:00", False)),
        ("previous-2-quarters", ("2026-04-01T00:00:00", "2026-10-01T00:00:00", False)),
        ("november", ("2025-11-01T00:00:00", "2025-12-01T00:00:00", False)),
        ("October", ("2026-10-01T00:00:00", "2026-11-01T00:00:00", False)),
        ("nov-2026", ("2026-11-01T00:00:00", "2026-11-22T12:00:00", True)),
        ("2025-02", ("2025-02-01T00:00:00", "2025-03-01T00:00:00", False)),
        ("q4", ("2025-10-01T00:00:00", "2026-01-01T00:00:00", False)),
        ("q3", ("2026-07-01T00:00:00", "2026-10-01T00:00:00", False)),
        ("2024-q1", ("2024-01-01T00:00:00", "2024-04-01T00:00:00", False)),
        ("2025", ("2025-01-01T00:00:00", "2026-01-01T00:00:00", False)),
        ("2024-02-29", ("2024-02-29T00:00:00", "2024-03-01T00:00:00", False)),
    ],
)
def test_named_periods(name, expected):
    assert days(name) == expected


def test_rolling_windows_are_absolute_time_across_dst():
    """The last 7 days are 168 hours, as ``now() - interval '7 days'`` in the database: across
    the change to summer time the local start is an hour later on the clock."""
    instant = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)  # BST since 29 March
    london = Calendar.at(instant, "Europe/London")
    window = resolve_period("last-7-days", london).window
    assert window is not None and window.start is not None
    start, end = window.instants(ZoneInfo("Europe/London"))
    assert start is not None
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=168)
    assert start.astimezone(UTC) == datetime(2026, 3, 26, 12, 0, tzinfo=UTC)


def test_rolling_periods_say_so_in_their_label():
    assert resolve_period("last-30-days", NOON).label() == "last 30 days (since 23 Oct 2026 12:00)"
    assert resolve_period("previous-7-days", NOON).label() == "15–21 Nov 2026"
    assert not resolve_period("last-30-days", NOON).partial


def test_weeks_start_on_the_shops_day():
    assert days("this-week", SUNDAY_WEEKS) == ("2026-11-22T00:00:00", "2026-11-22T12:00:00", True)
    assert days("last-week", SUNDAY_WEEKS)[:2] == ("2026-11-15T00:00:00", "2026-11-22T00:00:00")


def test_the_shops_day_is_its_own_not_utcs():
    instant = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    kiritimati = Calendar.at(instant, "Pacific/Kiritimati")
    assert kiritimati.today == date(2026, 11, 23)
    assert days("yesterday", kiritimati)[0] == "2026-11-22T00:00:00"
    honolulu = Calendar.at(instant, "Pacific/Honolulu")
    assert honolulu.today == date(2026, 11, 22) and honolulu.now.hour == 2


def test_windows_become_instants_in_the_shops_zone_across_dst():
    window = resolve_period("last-month", NOON).window
    assert window is not None
    start, end = window.instants(ZoneInfo("Europe/London"))
    assert start is not None
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)  # BST
    assert end.astimezone(UTC) == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # GMT


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("last-month", "previous", ("2026-09-01T00:00:00", "2026-10-01T00:00:00")),
        ("this-month", "previous", ("2026-10-01T00:00:00", "2026-10-22T12:00:00")),
        ("this-quarter", "previous", ("2026-07-01T00:00:00", "2026-08-22T12:00:00")),
        ("last-30-days", "previous", ("2026-09-23T12:00:00", "2026-10-23T12:00:00")),
        ("previous-30-days", "previous", ("2026-09-23T00:00:00", "2026-10-23T00:00:00")),
        ("last-12-months", "previous", ("2024-11-22T12:00:00", "2025-11-22T12:00:00")),
        ("last-7-days", "year", ("2025-11-15T12:00:00", "2025-11-22T12:00:00")),
        ("last-week", "previous", ("2026-11-02T00:00:00", "2026-11-09T00:00:00")),
        ("last-month", "year", ("2025-10-01T00:00:00", "2025-11-01T00:00:00")),
        ("ytd", "year", ("2025-01-01T00:00:00", "2025-11-22T12:00:00")),
        ("2024-02-29", "year", ("2023-02-28T00:00:00", "2023-03-01T00:00:00")),
    ],
)
def test_comparison_windows(name, kind, expected):
    comparison = compare_window(resolve_period(name, NOON), kind)
    assert (comparison.window.start.isoformat(), comparison.window.end.isoformat()) == expected


def test_a_month_to_date_is_never_compared_with_a_whole_month():
    march = Calendar(datetime(2026, 3, 31, 10, 0))
    comparison = compare_window(resolve_period("this-month", march), "previous")
    assert comparison.window.end == datetime(2026, 3, 1)  # all of February, not into March
    early = Calendar(datetime(2026, 11, 3, 9, 0))
    comparison = compare_window(resolve_period("this-month", early), "previous")
    assert comparison.window.end == datetime(2026, 10, 3, 9, 0)


def test_custom_ranges_and_their_comparison():
    period = resolve_period(None, NOON, from_date=date(2026, 11, 1), to_date=date(2026, 11, 10))
    assert period.label() == "1–10 Nov 2026" and not period.partial
    comparison = compare_window(period, "previous")
    assert comparison.window.label() == "22–31 Oct 2026"
    open_ended = resolve_period(None, NOON, from_date=date(2026, 11, 20))
    assert open_ended.partial and open_ended.label() == "20–22 Nov 2026 (to date)"


def test_labels():
    assert resolve_period("last-year", NOON).label() == "1 Jan – 31 Dec 2025"
    assert resolve_period(None, NOON).label() == "all time"
    period = resolve_period(None, NOON, from_date=date(2025, 12, 29), to_date=date(2026, 1, 4))
    assert period.label() == "29 Dec 2025 – 4 Jan 2026"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("fortnight", "invalid_period"),
        ("2027", "future_period"),
        ("next-month", "invalid_period"),
        ("last-0-days", "invalid_period"),
        ("last-9999-days", "invalid_period"),
        ("previous-3-hours", "invalid_period"),
        ("2025-13", "invalid_period"),
        ("2025-02-30", "invalid_period"),
    ],
)
def test_bad_periods(name, code):
    with pytest.raises(InvalidQuery) as caught:
        resolve_period(name, NOON)
    assert caught.value.code == code


def test_all_time_cannot_be_compared():
    with pytest.raises(InvalidQuery, match="bounded period"):
        compare_window(resolve_period("all", NOON), "previous")
