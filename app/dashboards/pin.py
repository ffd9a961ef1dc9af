"""Pinning an answer: the turn's last semantic query (``query_metrics``), or else its last
SQL when that SQL is a verified query of the shop, becomes a tile, with the turn's chart of
that result. SQL the model wrote for one answer is not pinned: a tile runs again and again,
unattended, so it holds only what the semantic layer writes or a person verified."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import InvalidInput
from app.store import pins
from app.store.pins import AnsweredTurn, TurnCall, Viewer
from app.tools import registry
from app.tools.query_metrics import to_query


class NotPinnable(InvalidInput):
    code = "not_pinnable"


NOT_PINNABLE = (
    "only an answer from the shop's metrics (a semantic query) or from a verified query can "
    "be pinned; this one ran no such query"
)


def chart_of(calls: list[TurnCall], result_id: Any) -> dict[str, Any] | None:
    """The last chart the turn drew of that result (its spec, without the result id)."""
    for call in reversed(calls):
        if call.name != registry.MAKE_CHART or call.error is not None:
            continue
        if call.input.get("result_id") in (None, result_id):
            return {k: v for k, v in call.input.items() if k != "result_id"}
    return None


async def pinnable(engine: AsyncEngine, viewer: Viewer, turn: AnsweredTurn) -> dict[str, Any]:
    """What the tile stores: kind, query or sql, chart; ``NotPinnable`` when nothing fits."""
    done = [call for call in turn.calls if call.error is None]
    for call in reversed(done):
        result_id = (call.output or {}).get("result_id")
        if call.name == registry.QUERY_METRICS:
            query = to_query(call.input).model_dump(mode="json", exclude_defaults=True)
            return {"kind": "metrics", "query": query, "chart": chart_of(done, result_id)}
        sql = registry.sql_of(call.name, call.input, call.output)
        if sql is not None:
            if not await pins.is_verified_sql(engine, viewer.tenant_id, sql):
                break  # the answer's data came from SQL nobody verified
            return {"kind": "sql", "sql": sql, "chart": chart_of(done, result_id)}
    raise NotPinnable(NOT_PINNABLE)


async def can_pin(engine: AsyncEngine, viewer: Viewer, message_id: int) -> bool:
    try:
        await pinnable(engine, viewer, await pins.answered_turn(engine, viewer, message_id))
    except InvalidInput:
        return False
    return True


async def pin_answer(engine: AsyncEngine, viewer: Viewer, message_id: int) -> int:
    """Pin the answer ``message_id`` (one of the viewer's own) to their dashboard; the tile's id."""
    turn = await pins.answered_turn(engine, viewer, message_id)
    tile = await pinnable(engine, viewer, turn)
    return await pins.add_tile(engine, viewer, title=turn.question, message_id=message_id, **tile)
