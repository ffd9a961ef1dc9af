"""Time in SQL, in the shop's calendar: local time, buckets by grain, windows as instants.

Windows are compared as instants (``placed_at >= '2026-11-01T00:00:00+13:00'``), so indexes
on the timestamp columns serve them; grouping happens on local time
(``placed_at AT TIME ZONE 'Pacific/Auckland'``), so a day is the shop's day.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlglot import exp

from app.semantic.periods import Shift, Window

DATE = exp.DataType.build("date")
TIMESTAMP = exp.DataType.build("timestamp")
INT = exp.DataType.build("int")
NUMERIC = exp.DataType.build("numeric")
GRAIN_INTERVALS = {
    "day": "1 day",
    "week": "7 days",
    "month": "1 month",
    "quarter": "3 months",
    "year": "1 year",
}


def interval(text: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.string(text))


def instant(moment: datetime) -> exp.Literal:
    """An instant with its UTC offset, as text: compared with a timestamptz column, PostgreSQL
    reads it as a timestamptz (the offset makes it independent of the session's zone)."""
    return exp.Literal.string(moment.isoformat())


def local_moment(moment: datetime) -> exp.Cast:
    return exp.Cast(this=exp.Literal.string(moment.isoformat(sep=" ")), to=TIMESTAMP.copy())


def day_literal(day: date) -> exp.Cast:
    return exp.Cast(this=exp.Literal.string(day.isoformat()), to=DATE.copy())


def local_time(column: exp.Expr, timezone: str) -> exp.Expr:
    return exp.AtTimeZone(this=column, zone=exp.Literal.string(timezone))


def in_window(column: exp.Expr, window: Window, timezone: str) -> exp.Expr:
    """``column`` (a timestamptz) within the window, as two instant comparisons."""
    start, end = window.instants(ZoneInfo(timezone))
    upper = exp.LT(this=column.copy(), expression=instant(end))
    if start is None:
        return upper
    return exp.and_(exp.GTE(this=column.copy(), expression=instant(start)), upper, copy=False)


def shifted_local(column: exp.Expr, timezone: str, start: datetime, shift: Shift) -> exp.Expr:
    """Local time, with rows before ``start`` (the comparison window's) moved forward by the
    shift, so a month of last year falls in the bucket of the same month this year."""
    local = local_time(column.copy(), timezone)
    moved = exp.Add(this=local_time(column.copy(), timezone), expression=interval(shift.sql()))
    before = exp.LT(
        this=column.copy(), expression=instant(start.replace(tzinfo=ZoneInfo(timezone)))
    )
    return exp.Case(ifs=[exp.If(this=before, true=moved)], default=local)


def bucket(local: exp.Expr, grain: str, week_start: int) -> exp.Expr:
    """The period a local time falls in (a date), or its weekday / hour number."""
    if grain == "hour":
        return exp.Cast(
            this=exp.Extract(this=exp.Var(this="HOUR"), expression=local), to=INT.copy()
        )
    if grain == "weekday":
        return weekday_number(local, week_start)
    offset = (7 - week_start) % 7 if grain == "week" else 0
    if offset:  # weeks starting on another day: move that day onto Monday, truncate, move back
        moved = exp.Add(this=local, expression=interval(f"{offset} days"))
        truncated = exp.TimestampTrunc(this=moved, unit=exp.Var(this="WEEK"))
        start: exp.Expr = exp.Sub(this=truncated, expression=interval(f"{offset} days"))
    else:
        start = exp.TimestampTrunc(this=local, unit=exp.Var(this=grain.upper()))
    return exp.Cast(this=start, to=DATE.copy())


def weekday_number(local: exp.Expr, week_start: int) -> exp.Expr:
    """0 for the shop's first day of the week ... 6 for its last."""
    iso = exp.Cast(this=exp.Extract(this=exp.Var(this="ISODOW"), expression=local), to=INT.copy())
    shifted = exp.Paren(this=exp.Add(this=iso, expression=exp.Literal.number(6 - week_start)))
    return exp.Mod(this=shifted, expression=exp.Literal.number(7))


def weekday_name(local: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="to_char", expressions=[local, exp.Literal.string("FMDay")])


def bucket_end(column: exp.Expr, grain: str) -> exp.Expr:
    return exp.Add(this=column, expression=interval(GRAIN_INTERVALS[grain]))


def partial_bucket(column: exp.Expr, grain: str, window: Window | None, now: datetime) -> exp.Expr:
    """True for a bucket that the window cuts: it starts before the window or ends after it
    (the current month, or the first of the last 30 days' months)."""
    end = window.end if window is not None else now
    late = exp.GT(this=bucket_end(column.copy(), grain), expression=local_moment(end))
    if window is None or window.start is None:
        return exp.Paren(this=late)
    early = exp.LT(this=column.copy(), expression=local_moment(window.start))
    return exp.Paren(this=exp.or_(early, late, copy=False))
