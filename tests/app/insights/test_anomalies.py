"""``find_anomalies``: the planted spike day is found; a shop without one reports none."""

from __future__ import annotations

from app.insights.anomalies import detect, find_anomalies
from tests.app.insights.conftest import SPIKE_DAY


async def test_the_planted_spike_day_is_found(shops, source_for):
    found = await find_anomalies(source_for(shops.region_drop.tenant), days=28)
    print("\n".join(a.sentence() for a in found))
    overall = [a for a in found if a.dimension is None]
    assert {a.day for a in overall} == {SPIKE_DAY}
    assert {a.metric for a in overall} == {"revenue", "orders"}
    assert all(a.direction == "high" and a.actual > 2 * a.expected for a in overall)


async def test_a_shop_without_one_reports_none(shops, source_for):
    found = await find_anomalies(source_for(shops.plain), days=28)
    assert found == [], "\n".join(a.sentence() for a in found)


def test_a_low_day_is_found_in_a_weekly_series():
    week = [100.0, 95, 98, 100, 96, 80, 120]
    values = week * 12
    values[-5] = 20.0
    found = detect(values, 28)
    assert [index for index, *_ in found] == [len(values) - 5]
