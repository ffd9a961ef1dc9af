"""Running bichat processes (``app_instances``) and the turns each has in flight
(``open_turns``): the rows behind ``app.turn.presence``.

An instance holds a session-level advisory lock on its id (``LOCK_SPACE``, id) on a connection
of its own for as long as it lives; the server drops it when the process dies, however it dies.
Whoever takes a free instance lock holds it while it closes that instance's turns, so two
processes never close the same turns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

LOCK_SPACE = 0x62696368  # "bich": the first key of bichat's two-key advisory locks


@dataclass(frozen=True)
class Instance:
    id: int
    hostname: str
    pid: int
    process_started_at: float
    seen_s_ago: float  # seconds since its last heartbeat
    server_up_s: float  # seconds since the database server started (it drops every lock)


@dataclass(frozen=True)
class OpenTurn:
    question_id: int
    session_id: uuid.UUID
    tenant_id: uuid.UUID
    opened_at: datetime


async def register(
    connection: asyncpg.Connection, *, hostname: str, pid: int, process_started_at: float
) -> int:
    """A new instance, locked by ``connection`` (keep it open: the lock is the instance's
    life)."""
    instance_id = await connection.fetchval(
        "INSERT INTO app_instances (hostname, pid, process_started_at) VALUES ($1, $2, $3) "
        "RETURNING id",
        hostname,
        pid,
        process_started_at,
    )
    await hold(connection, int(instance_id))
    return int(instance_id)


async def hold(connection: asyncpg.Connection, instance_id: int) -> bool:
    """Take the instance's lock on ``connection`` (again, after a reconnect); False if another
    session holds it (one closing its turns: it lets go when done)."""
    taken = await connection.fetchval(
        "SELECT pg_try_advisory_lock($1, $2)", LOCK_SPACE, instance_id
    )
    return bool(taken)


async def beat(connection: asyncpg.Connection, instance_id: int) -> None:
    await connection.execute("UPDATE app_instances SET seen_at = now() WHERE id = $1", instance_id)


async def unlocked_instances(connection: AsyncConnection, *, me: int | None) -> list[Instance]:
    """Other instances whose lock nobody holds; their locks are now held by ``connection``
    (release them with ``release``). Call outside a transaction."""
    rows = await connection.execute(
        text(
            "SELECT id, hostname, pid, process_started_at, "
            "extract(epoch FROM now() - seen_at) AS seen_s_ago, "
            "extract(epoch FROM now() - pg_postmaster_start_time()) AS server_up_s "
            "FROM app_instances WHERE id IS DISTINCT FROM :me "
            "AND pg_try_advisory_lock(:space, id) ORDER BY id"
        ),
        {"me": me, "space": LOCK_SPACE},
    )
    return [
        Instance(
            r.id,
            r.hostname,
            r.pid,
            r.process_started_at,
            float(r.seen_s_ago),
            float(r.server_up_s),
        )
        for r in rows
    ]


async def release(connection: AsyncConnection, instance_ids: list[int]) -> None:
    for instance_id in instance_ids:
        await connection.execute(
            text("SELECT pg_advisory_unlock(:space, :id)"),
            {"space": LOCK_SPACE, "id": instance_id},
        )


async def open_turns_of(connection: AsyncConnection, instance_id: int) -> list[OpenTurn]:
    rows = await connection.execute(
        text(
            "SELECT o.question_id, m.session_id, m.tenant_id, o.opened_at FROM open_turns o "
            "JOIN chat_messages m ON m.id = o.question_id WHERE o.instance_id = :i "
            "ORDER BY o.question_id"
        ),
        {"i": instance_id},
    )
    return [OpenTurn(r.question_id, r.session_id, r.tenant_id, r.opened_at) for r in rows]


async def forget(connection: AsyncConnection, instance_id: int) -> None:
    """Remove an instance that has no open turn left (else it stays, for the next sweep)."""
    await connection.execute(
        text(
            "DELETE FROM app_instances WHERE id = :i "
            "AND NOT EXISTS (SELECT 1 FROM open_turns WHERE instance_id = :i)"
        ),
        {"i": instance_id},
    )


async def close_turn(connection: AsyncConnection, question_id: int) -> None:
    """The turn of this question ended (its last row is stored)."""
    await connection.execute(
        text("DELETE FROM open_turns WHERE question_id = :q"), {"q": question_id}
    )


async def open_elsewhere(
    connection: AsyncConnection, session_id: uuid.UUID | str, *, me: int | None
) -> bool:
    """Whether the session has a turn open in another instance than ``me``."""
    found = await connection.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM open_turns o JOIN chat_messages m "
            "ON m.id = o.question_id WHERE m.session_id = :s "
            "AND o.instance_id IS DISTINCT FROM :me)"
        ),
        {"s": str(session_id), "me": me},
    )
    return bool(found)
