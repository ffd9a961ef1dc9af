"""How figures look to a shop owner: money in the shop's currency with separators,
percentages as percentages, counts with separators, dates and times in the shop's timezone.

Every view that shows a result (the answer's text, the chat's table, the admin transcript)
formats a column the same way, from ``column_formats``: a ``query_metrics`` result's formats
come from the semantic model (each metric's ``format``, its time column's grain); a free
query's are inferred from column names and values, conservatively (a column that is not
clearly money or a percentage is a plain number). The CSV download keeps the raw values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}
NO_DECIMALS = frozenset({"JPY", "KRW"})
METRIC_FORMATS = frozenset({"money", "count", "percent", "ratio", "rating", "duration"})
GRAINS = frozenset({"day", "week", "month", "quarter", "year"})
MONEY_WORDS = re.compile(
    r"(^|_)(revenue|sales|amount|price|prices|total|totals|spend|spent|cost|costs|refunds?|"
    r"discounts?|aov|gmv|value|paid|gross|net|subtotal|shipping)(_|$)"
)
PERCENT_WORDS = re.compile(r"(^|_)(pct|percent|percentage)(_|$)")
PLAIN_WORDS = re.compile(r"(^|_)(id|year|sku|code|zip|postcode|phone|rank|week|month|day)(_|$)")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")


@dataclass(frozen=True)
class Locale:
    """The shop's currency (ISO 4217) and timezone (IANA)."""

    currency: str = "USD"
    timezone: str = "UTC"


def money(value: float, currency: str) -> str:
    places = 0 if currency in NO_DECIMALS else 2
    amount = f"{abs(value):,.{places}f}"
    symbol = SYMBOLS.get(currency)
    shown = f"{symbol}{amount}" if symbol else f"{amount} {currency}"
    return f"-{shown}" if value < 0 and float(amount.replace(",", "")) != 0 else shown


def percent(value: float) -> str:
    return f"{value:,.2f}%".replace(".00%", "%")


def number(value: int | float) -> str:
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"


def day(value: date, grain: str | None = None) -> str:
    if grain == "month":
        return value.strftime("%b %Y")
    if grain == "quarter":
        return f"Q{(value.month - 1) // 3 + 1} {value.year}"
    if grain == "year":
        return str(value.year)
    shown = f"{value.day} {value.strftime('%b %Y')}"
    return f"week of {shown}" if grain == "week" else shown


def moment(value: datetime, timezone: str) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(timezone))
    return f"{day(value.date())} {value.strftime('%H:%M')}"


def temporal(value: str, fmt: str, locale: Locale) -> str:
    try:
        if fmt == "datetime":
            return moment(datetime.fromisoformat(value.replace("Z", "+00:00")), locale.timezone)
        return day(date.fromisoformat(value[:10]), fmt.removeprefix("date:") or None)
    except ValueError:
        return value


def shown(value: Any, fmt: str | None, locale: Locale) -> str:
    """One value as people read it; ``None`` is a dash, text stays as it is."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return (
            temporal(value, fmt, locale) if fmt and fmt.startswith(("date", "datetime")) else value
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return shown_number(value, fmt, locale)


def shown_number(value: int | float, fmt: str | None, locale: Locale) -> str:
    if fmt == "money":
        return money(float(value), locale.currency)
    if fmt == "percent":
        return percent(float(value))
    if fmt in ("rating", "ratio"):
        return f"{value:,.2f}"
    if fmt == "duration":
        return f"{value:,.1f} days"
    if fmt == "plain":
        return str(value)
    return number(value)


def metric_formats(output: Mapping[str, Any]) -> dict[str, str]:
    """Column -> format for a ``query_metrics`` result (its metrics, their comparisons and
    shares, its time column at the query's grain)."""
    metrics = {m["name"]: m["format"] for m in output.get("metrics") or []}
    grain = (output.get("query") or {}).get("grain")
    found: dict[str, str] = {}
    for column, role in (output.get("column_roles") or {}).items():
        base = column
        for suffix in ("_previous", "_change_pct", "_change", "_share_pct"):
            base = base.removesuffix(suffix)
        if role in ("change_pct", "share_pct"):
            found[column] = "percent"
        elif role == "time":
            found[column] = f"date:{grain or grain_named(column)}"
        elif metrics.get(base) in METRIC_FORMATS:
            found[column] = metrics[base]
    return found


def grain_named(column: str) -> str:
    """A time column's grain from its name (``month``, ``placed_week``), else none."""
    last = column.rsplit("_", 1)[-1]
    return last if last in GRAINS else ""


def temporal_format(column: str, values: Sequence[str]) -> str | None:
    """Dates (also midnights, as ``date_trunc`` gives them) at the grain the column's name
    says when every value starts such a unit; other times of day as local times."""
    if not all(ISO_DATE.match(v) or ISO_MOMENT.match(v) for v in values):
        return None
    if not all(ISO_DATE.match(v) or v[11:19] in ("00:00", "00:00:00") for v in values):
        return "datetime"
    days = [date.fromisoformat(v[:10]) for v in values]
    grain = grain_named(column.casefold())
    return f"date:{grain}" if all(starts(d, grain) for d in days) else "date:"


def starts(day: date, grain: str) -> bool:
    """Whether ``day`` is the first of its month (quarter, year) for those grains."""
    if grain in ("month", "quarter", "year") and day.day != 1:
        return False
    if grain == "quarter":
        return day.month in (1, 4, 7, 10)
    return day.month == 1 if grain == "year" else bool(grain)


def inferred_format(column: str, values: Sequence[Any]) -> str | None:
    """A free query's column: money or a percentage only when its name says so and its values
    are numbers; dates and times when every value is one; identifiers and years as they are."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    name = column.casefold()
    if all(isinstance(v, str) for v in present):
        return temporal_format(column, present)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return None
    if PLAIN_WORDS.search(name):
        return "plain"
    if PERCENT_WORDS.search(name):
        return "percent"
    return "money" if MONEY_WORDS.search(name) else None


def column_formats(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], output: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Column -> format: the semantic model's where it knows them, inferred for the rest."""
    known = metric_formats(output or {})
    found: dict[str, str] = {}
    for index, column in enumerate(columns):
        fmt = known.get(column) or inferred_format(column, [row[index] for row in rows])
        if fmt is not None:
            found[column] = fmt
    return found


def shown_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Mapping[str, str],
    locale: Locale,
) -> list[list[Any]]:
    """The rows with each value as people read it; JSON values (lists, objects) as they are."""
    return [
        [
            value if isinstance(value, dict | list) else shown(value, formats.get(column), locale)
            for column, value in zip(columns, row, strict=True)
        ]
        for row in rows
    ]
