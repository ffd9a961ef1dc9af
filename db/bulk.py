"""Bulk loading with COPY: reserve id ranges, map local ids onto them, stream rows in chunks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

COPY_CHUNK_ROWS = 50_000

# Tables whose rows the generator numbers itself (their ids are referenced by other rows),
# and the columns of every table that point at one of them.
NUMBERED_TABLES = ("categories", "products", "customers", "orders")
FOREIGN_KEYS: dict[str, dict[str, str]] = {
    "categories": {"id": "categories", "parent_id": "categories"},
    "products": {"id": "products", "category_id": "categories"},
    "customers": {"id": "customers"},
    "orders": {"id": "orders", "customer_id": "customers"},
    "order_items": {"order_id": "orders", "product_id": "products"},
    "reviews": {"product_id": "products", "customer_id": "customers", "order_id": "orders"},
    "product_events": {"product_id": "products", "customer_id": "customers"},
}
JSON_COLUMNS = {"specifications", "filters"}

Advance = Callable[[int], None]


async def driver_connection(connection: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy connection (same transaction)."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def lock_for_loading(connection: AsyncConnection, tables: Sequence[str]) -> None:
    """Keep other writers out of ``tables`` until commit, so reserved id ranges stay ours."""
    await connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE"))


async def reserve_ids(connection: AsyncConnection, table: str, count: int) -> int:
    """Reserve ``count`` ids of ``table``; returns the offset to add to local ids 1..count."""
    if count == 0:
        return 0
    last = await connection.scalar(
        text("SELECT setval(s, nextval(s) + :n - 1) FROM pg_get_serial_sequence(:t, 'id') AS s"),
        {"t": f"public.{table}", "n": count},
    )
    return int(last) - count


def mapped_rows(
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    tenant_id: uuid.UUID,
    offsets: dict[str, int],
) -> list[tuple[Any, ...]]:
    """Rows ready for COPY: tenant first, local ids shifted onto reserved ids, JSON encoded."""
    keys = FOREIGN_KEYS.get(table, {})
    shifts = [(i, offsets[keys[c]]) for i, c in enumerate(columns) if c in keys]
    encode = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]
    if not shifts and not encode:
        return [(tenant_id, *row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for index, offset in shifts:
            if values[index] is not None:
                values[index] += offset
        for index in encode:
            values[index] = json.dumps(values[index], sort_keys=True)
        out.append((tenant_id, *values))
    return out


async def copy_rows(
    connection: AsyncConnection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    advance: Advance | None = None,
) -> int:
    """COPY ``rows`` (already starting with tenant_id) into ``table`` in chunks."""
    driver = await driver_connection(connection)
    for start in range(0, len(rows), COPY_CHUNK_ROWS):
        chunk = rows[start : start + COPY_CHUNK_ROWS]
        await driver.copy_records_to_table(
            table, records=chunk, columns=["tenant_id", *columns], schema_name="public"
        )
        if advance is not None:
            advance(len(chunk))
    return len(rows)


async def analyze(connection: AsyncConnection, tables: Sequence[str]) -> None:
    """Refresh planner statistics after a bulk load (autovacuum would get there later)."""
    await connection.execute(text(f"ANALYZE {', '.join(tables)}"))
