"""The metrics and dimensions the semantic layer answers, with a shop's values: what
``bichat metrics --json``, ``GET /api/v1/metrics`` and the MCP tool ``list_metrics`` (and its
resource) show."""

from __future__ import annotations

from typing import Any

from app.semantic.model import GRAINS, SemanticModel
from app.semantic.periods import NAMED_PERIODS
from app.semantic.values import ValuesIndex

EXAMPLE_VALUES = 8


def catalogue(model: SemanticModel, index: ValuesIndex) -> dict[str, Any]:
    """Metrics and dimensions as ``bichat metrics --json`` prints them."""
    metrics = [
        {
            "name": m.name,
            "label": m.label,
            "format": m.format,
            "description": m.description,
            "synonyms": list(m.synonyms),
            "time": list(model.times(m)),
            "additive": m.additive,
            "dimensions": list(model.allowed_dimensions(m.name)),
        }
        for m in model.public_metrics
    ]
    dimensions = [
        {
            "name": d.name,
            "label": d.label,
            "kind": "categorical",
            "description": d.description,
            "value_count": len(index.of(d.name)),
            "values": [v.label for v in sorted(index.of(d.name), key=lambda v: -v.occurrences)][
                :EXAMPLE_VALUES
            ],
        }
        for d in model.dimensions.values()
    ] + [
        {"name": t.name, "label": t.label, "kind": "time", "column": t.column.text}
        for t in model.time_dimensions.values()
    ]
    return {
        "metrics": metrics,
        "dimensions": dimensions,
        "grains": list(GRAINS),
        "periods": list(NAMED_PERIODS),
    }
