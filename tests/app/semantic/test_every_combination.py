"""Every metric x every dimension it allows x every grain compiles, passes the guard and runs
on the demo shop (through the SQL tool, as the shop's reader)."""

from __future__ import annotations

import pytest

from app.semantic.model import GRAINS, TimeDimension, default_model
from app.semantic.query import SemanticQuery
from app.tools.query_metrics import run_query_metrics

MODEL = default_model()
METRICS = [m.name for m in MODEL.public_metrics]


def queries_for(metric: str) -> list[dict[str, object]]:
    timed = bool(MODEL.times(MODEL.metrics[metric]))
    queries: list[dict[str, object]] = []
    for dimension in MODEL.allowed_dimensions(metric):
        is_time = isinstance(MODEL.dimension(dimension), TimeDimension)
        for grain in (None, *GRAINS):
            if grain is not None and not (timed or is_time):
                continue  # a snapshot (stock) has no time of its own to group by
            query: dict[str, object] = {"metrics": [metric], "by": [dimension], "grain": grain}
            if timed:
                query["period"] = "last-90-days"
                if grain in ("month", "weekday"):  # comparisons, bucketed and not
                    query["compare"] = "previous"
            queries.append(query)
    return queries


@pytest.mark.parametrize("metric", METRICS)
async def test_every_dimension_and_grain_compiles_passes_the_guard_and_runs(
    metric, shops, layer, executor
):
    ran = 0
    for data in queries_for(metric):
        query = SemanticQuery.parse(data)
        result = await run_query_metrics(layer, executor, shops.london, query, context="test")
        assert metric in result.run.columns, data
        ran += 1
    assert ran >= len(MODEL.allowed_dimensions(metric))


def test_the_combinations_cover_every_metric_dimension_and_grain():
    seen_dimensions = {d for m in METRICS for q in queries_for(m) for d in q["by"]}  # type: ignore[attr-defined]
    seen_grains = {q["grain"] for m in METRICS for q in queries_for(m)}
    assert seen_dimensions == set(MODEL.dimension_names)
    assert seen_grains == {None, *GRAINS}
