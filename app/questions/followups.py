"""Follow-ups change the previous turn's query: "and by channel?", "and in 2024?",
"only VIP customers", "top 3 instead", "as a chart", "break that down by X", a new measure
for the same rows. The previous query is the stored input of the conversation's last
``query_metrics`` (or search, or bundle rules) call, read back from the store."""

from __future__ import annotations

from typing import Any

from app.questions.draft import Draft
from app.questions.reading import Reading
from app.store.conversations import StoredCall
from app.tools import registry

TIME_KEYS = ("period", "from_date", "to_date")


def previous_call(calls: list[StoredCall], tools: tuple[str, ...]) -> StoredCall | None:
    """The conversation's latest call of one of these tools, if it is the latest call of a
    query-like tool at all (a search after a metric question is what follows on)."""
    for call in reversed(calls):
        if call.tool_name in tools:
            return call
        if call.tool_name not in SKIPPED:
            return None
    return None


SKIPPED = (registry.MAKE_CHART,)  # a chart of the previous result is no query of its own


def merge_query(base: dict[str, Any], draft: Draft, reading: Reading) -> dict[str, Any]:
    merged = {k: v for k, v in base.items() if v not in (None, [], {})}
    if draft.metrics and not (draft.nouns_only and merged.get("metrics")):
        # "only web orders then": the noun is context, the metric stays
        merged["metrics"] = draft.metrics
        merged.pop("order_by", None)
    if draft.by:
        if reading.split_words:  # "break that down by channel": one more grouping
            merged["by"] = list(dict.fromkeys([*merged.get("by", []), *draft.by]))
        else:  # "and by channel?": instead of the previous grouping
            merged["by"] = draft.by
    if draft.filters:
        kept = [f for f in merged.get("filters", []) if f["dimension"] not in draft.filters]
        merged["filters"] = kept + [
            {"dimension": d, "op": op, "values": values}
            for d, (op, values) in draft.filters.items()
        ]
    if draft.period is not None:
        for key in TIME_KEYS:
            merged.pop(key, None)
        merged |= {k: v for k, v in draft.query().items() if k in TIME_KEYS}
    for key in ("grain", "compare", "decimals"):
        if getattr(draft, key) is not None:
            merged[key] = getattr(draft, key)
    if draft.share:
        merged["share"] = True
    ranking(merged, draft, reading)
    return merged


def ranking(merged: dict[str, Any], draft: Draft, reading: Reading) -> None:
    """ "top 3 instead", "which has the most": a new top or bottom N of the same rows."""
    limit, descending = draft.top or draft.bottom, draft.bottom is None
    if limit is None and reading.descending is not None:  # no grouping named: the previous
        limit = reading.top or 1
        descending = reading.descending
    if limit is None:
        return
    merged.pop("top", None)
    merged.pop("bottom", None)
    merged["top" if descending else "bottom"] = limit


def merge_search(base: Any, arguments: dict[str, Any]) -> dict[str, Any]:
    previous = base if isinstance(base, dict) else {}
    merged = {**previous, **{k: v for k, v in arguments.items() if k != "query"}}
    merged["query"] = previous.get("query") or arguments["query"]
    return merged
