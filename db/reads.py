"""One-statement reads: run a SELECT on a connection of its own and hand back what it found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine


def statement(sql: str | TextClause) -> TextClause:
    return text(sql) if isinstance(sql, str) else sql


async def read_rows(
    engine: AsyncEngine, sql: str | TextClause, params: Mapping[str, Any]
) -> Sequence[Row[Any]]:
    """Every row the statement returns."""
    async with engine.connect() as connection:
        return (await connection.execute(statement(sql), dict(params))).all()


async def read_row(
    engine: AsyncEngine, sql: str | TextClause, params: Mapping[str, Any]
) -> Row[Any]:
    """The one row the statement returns (an error when it returns none or several)."""
    async with engine.connect() as connection:
        return (await connection.execute(statement(sql), dict(params))).one()


async def read_column(
    engine: AsyncEngine, sql: str | TextClause, params: Mapping[str, Any]
) -> list[Any]:
    """The first column of every row."""
    async with engine.connect() as connection:
        return list(await connection.scalars(statement(sql), dict(params)))


async def read_value(engine: AsyncEngine, sql: str | TextClause, params: Mapping[str, Any]) -> Any:
    """The first column of the first row, or None when there is none."""
    async with engine.connect() as connection:
        return await connection.scalar(statement(sql), dict(params))
