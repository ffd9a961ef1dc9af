"""``explain``: the planted driver comes first; mix and rate effects add up to the change."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.insights.explain import Pair, RatePair, additive_drivers, explain, ranked, ratio_drivers
from app.insights.source import MetricSource


async def test_a_regions_drop_is_named_first(shops, source_for):
    planted = shops.region_drop
    found = await explain(source_for(planted.tenant), "revenue", "last-week", "previous")
    assert found.change is not None and found.change < 0
    first = found.drivers[0]
    print(found.text)
    assert (first.dimension, first.value) == ("shipping_region", planted.cause), found.text
    assert first.contribution < 0 and first.share_of_change is not None
    assert planted.cause in found.text


async def test_a_channels_mix_shift_explains_the_aov_rise(shops, source_for):
    planted = shops.channel_mix
    found = await explain(
        source_for(planted.tenant), "average_order_value", "last-week", "previous"
    )
    print(found.text)
    assert found.kind == "ratio" and found.change is not None and found.change > 0
    first = found.drivers[0]
    assert first.dimension == "channel" and first.value.lower() == planted.cause
    assert first.effect == "mix" and first.mix is not None and first.mix > 0, found.text


def test_mix_and_rate_effects_add_up_to_the_change():
    pairs = [  # (value, revenue before, orders before, revenue after, orders after)
        RatePair("web", 5000, 100, 5000, 100),  # same AOV (50), same weight... until store grows
        RatePair("store", 2000, 10, 6000, 30),  # AOV 200 both weeks, three times the orders
        RatePair("app", 3000, 60, 3900, 60),  # AOV 50 -> 65: a rate change
    ]
    drivers = {d.value: d for d in ratio_drivers("channel", "channel", pairs, 1.0)}
    before, after = 10000 / 170, 14900 / 190
    assert sum(d.contribution for d in drivers.values()) == pytest.approx(after - before)
    assert drivers["store"].effect == "mix" and drivers["store"].rate == pytest.approx(0)
    assert drivers["app"].effect == "rate" and drivers["app"].rate > 0
    first = ranked(list(drivers.values()), after - before, 10)[0]
    assert first.value == "store"


def test_a_value_that_fell_alone_outranks_the_bigger_ones_that_held():
    pairs = [Pair("north", 800, 800), Pair("south", 200, 40)]  # south lost 160 of 160
    drivers = additive_drivers("region", "region", pairs)
    assert [d.value for d in ranked(drivers, -160, 10)] == ["south"]
    assert drivers[1].share_of_change == pytest.approx(1.0)


async def test_dimensions_out_of_time_are_skipped_and_said(shops, layer, executor, engine):
    """The catalogue locked by another transaction: every query through products waits until
    the server's statement timeout cancels it; the other dimensions still explain."""
    source = MetricSource(layer, executor, shops.region_drop.tenant)
    await layer.index(shops.region_drop.tenant)  # the values index is read before the lock
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(text("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"))
        try:
            found = await explain(source, "revenue", "last-week", "previous")
        finally:
            await transaction.rollback()
    assert set(found.skipped) == {"category", "department", "brand", "product"}
    assert not set(found.skipped) & set(found.dimensions)
    assert found.drivers[0].value == shops.region_drop.cause
    assert "Not checked (their queries ran out of time): " in found.text
