"""Token usage and cost of a tenant's model calls over a period, per day, user or model.

Reads ``chat_usage_daily`` (kept by the trigger on ``chat_messages``, migration 0006): one row
per day, user and model, so a year of usage is a few thousand rows whatever the number of
messages. Days are in the tenant's timezone. ``cost_usd`` sums the calls whose price is known;
``unpriced_calls`` says how many calls it leaves out (their model has no price).
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import InvalidInput
from app.spreadsheet import spreadsheet_safe
from app.store.review import json_ready, parse_day

DEFAULT_DAYS = 30
MAX_DAYS = 3660
GROUP_KEYS = {
    "day": "d.day::text",
    "user": "coalesce(u.username, '(no user)')",
    "model": "d.model",
}
GROUPINGS = tuple(GROUP_KEYS)
USAGE_COLUMNS = (
    "sum(d.model_calls)::bigint AS model_calls, sum(d.input_tokens)::bigint AS input_tokens, "
    "sum(d.output_tokens)::bigint AS output_tokens, "
    "sum(d.cached_input_tokens)::bigint AS cached_input_tokens, sum(d.cost_usd) AS cost_usd, "
    "sum(d.unpriced_calls)::bigint AS unpriced_calls, sum(d.errors)::bigint AS errors"
)
CSV_FIELDS = (
    "key",
    "model_calls",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_usd",
    "unpriced_calls",
    "errors",
)


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


@dataclass
class UsageRow:
    key: str  # the day (ISO), username, model, or "total" (``total_of``)
    model_calls: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cost_usd: Decimal | None
    unpriced_calls: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        return json_ready(self.__dict__)

    def cells(self, *, key: str, cost: str) -> list[Any]:
        """The row in CSV_FIELDS order, with its key and cost as the caller writes them."""
        counts = (self.model_calls, self.input_tokens, self.output_tokens, self.cached_input_tokens)
        return [key, *counts, cost, self.unpriced_calls, self.errors]


def parse_period(
    since: str | None, until: str | None, *, timezone: str, now: datetime | None = None
) -> Period:
    """The period asked for; by default the last 30 days up to today in the shop's timezone."""
    today = (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).date()
    last = parse_day(until, "until") or today
    first = parse_day(since, "since") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput(f"since ({first}) is after until ({last})", code="bad_filter")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"a period is limited to {MAX_DAYS} days", code="bad_filter")
    return Period(first, last)


async def usage_by(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, by: str, period: Period
) -> list[UsageRow]:
    """Usage per ``day`` (every day of the period, zeros included), ``user`` or ``model``
    (most expensive first); ``total_of`` adds any of them up."""
    if by not in GROUP_KEYS:
        raise InvalidInput(f"usage can be grouped by day, user or model, not {by!r}")
    order = "key" if by == "day" else "cost_usd DESC NULLS LAST, input_tokens DESC"
    query = text(
        f"SELECT {GROUP_KEYS[by]} AS key, {USAGE_COLUMNS} FROM chat_usage_daily d "
        "LEFT JOIN app_users u ON u.id = d.user_id "
        f"WHERE d.tenant_id = :t AND d.day BETWEEN :since AND :until GROUP BY 1 ORDER BY {order}"
    )
    params = {"t": tenant_id, "since": period.since, "until": period.until}
    async with engine.connect() as connection:
        rows = [UsageRow(**r._asdict()) for r in await connection.execute(query, params)]
    return every_day(rows, period) if by == "day" else rows


def total_of(rows: list[UsageRow]) -> UsageRow:
    """The rows added up (a cost is unknown only when no row has one)."""
    costs = [row.cost_usd for row in rows if row.cost_usd is not None]
    return UsageRow(
        "total",
        model_calls=sum(row.model_calls for row in rows),
        input_tokens=sum(row.input_tokens for row in rows),
        output_tokens=sum(row.output_tokens for row in rows),
        cached_input_tokens=sum(row.cached_input_tokens for row in rows),
        cost_usd=sum(costs, Decimal(0)) if costs else None,
        unpriced_calls=sum(row.unpriced_calls for row in rows),
        errors=sum(row.errors for row in rows),
    )


def every_day(rows: list[UsageRow], period: Period) -> list[UsageRow]:
    found = {row.key: row for row in rows}
    days = (period.since + timedelta(days=n) for n in range(period.days))
    return [
        found.get(d.isoformat()) or UsageRow(d.isoformat(), 0, 0, 0, 0, None, 0, 0) for d in days
    ]


def usage_csv(rows: list[UsageRow], *, by: str) -> str:
    """CSV with a header; the first column is named after the grouping."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([by, *CSV_FIELDS[1:]])
    for row in rows:
        cost = "" if row.cost_usd is None else f"{row.cost_usd:.8f}"
        writer.writerow(row.cells(key=spreadsheet_safe(row.key), cost=cost))
    return buffer.getvalue()
