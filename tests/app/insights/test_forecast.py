"""``forecast``: whole buckets of history, intervals around the forecast, clear refusals."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from app.errors import InvalidInput
from app.insights.forecast import buckets, fit_and_forecast, forecast


async def test_a_weekly_forecast_has_intervals_around_its_values(shops, source_for):
    found = await forecast(source_for(shops.plain), "revenue", 4, "week")
    assert [p.start.weekday() for p in found.points] == [0, 0, 0, 0]  # weeks from Monday
    assert found.points[0].start == date(2026, 11, 16)  # the data ends on the 21st: not whole
    assert all(p.lower <= p.value <= p.upper for p in found.points)
    assert "yearly cycle" in found.model
    recent = [v for _, v in found.history[-8:]]
    assert 0.3 * np.mean(recent) < found.points[0].value < 3 * np.mean(recent)


async def test_a_rate_is_not_forecast(shops, source_for):
    with pytest.raises(InvalidInput, match="does not add up"):
        await forecast(source_for(shops.plain), "average_order_value", 4, "week")


def test_only_whole_weeks_are_kept():
    kept = buckets(date(2026, 1, 1), [1.0] * 20, "week", 0, date(2026, 1, 20))
    assert kept == [(date(2026, 1, 5), 7.0), (date(2026, 1, 12), 7.0)]


def test_a_weekly_cycle_is_forecast():
    week = np.array([100, 120, 110, 100, 90, 60, 50], dtype=float)
    mean, lower, upper, _ = fit_and_forecast(np.tile(week, 12), "day", 7)
    assert np.argmax(mean) == 1 and np.argmin(mean) == 6
    assert np.all(lower <= mean) and np.all(mean <= upper)
