"""When a digest is due: daily or weekly at an hour of the shop's timezone (the wall-clock
hour: a daylight-saving change moves it in UTC, not in the shop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def last_due(
    *, frequency: str, hour: int, weekday: int | None, timezone: str, now: datetime
) -> datetime:
    """The latest due time at or before ``now`` (UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if frequency == "weekly":
        due -= timedelta(days=(local.weekday() - (weekday or 0)) % 7)
        step = timedelta(days=7)
    else:
        step = timedelta(days=1)
    if due > local:
        due -= step
    return due.replace(tzinfo=None).replace(tzinfo=zone).astimezone(UTC)
