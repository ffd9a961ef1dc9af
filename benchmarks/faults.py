"""Faults replayed against a real ``bichat serve``: is anything lost, and what do users see?

    python benchmarks/faults.py            # 10 users, 3 questions each per phase
    python benchmarks/faults.py --quick    # 5 users, 2 questions each

A ``bichat serve`` process runs on a PostgreSQL server of the benchmark's own (which it
restarts, stops and starts: tests/pg_control.py) with a scripted OpenAI-compatible model
(tests/openai_server.py: a plain question gets a text answer, ``[quick]`` one quick query
first, ``[slow]`` a query that runs into the statement timeout, ``[hang]`` no answer at all).
N users, each logged in with a socket.io client as the browser talks, ask concurrently while:

1. ``restart``: the database restarts (``pg_ctl restart -m fast``) under their turns;
2. ``outage``: the database is stopped for 4 s (the server waits 3 s for it);
3. ``hang``: the model never answers (``BICHAT_TURN_TIMEOUT_S`` 10 s ends the turns);
4. ``kill``: the server is killed (``kill -9``) with turns in flight, then started again;
5. ``storm``: N users run slow SQL over and over (a second between answer and next question)
   while 5 others ask quick questions; their
   turn p95 against the same questions without the storm (the ratio's goal: 3 at most).

Every question is then looked up in the database: ``stored`` (its row exists), ``answered``
(an answer row), ``errored`` (an error row: timeout, interrupted, unavailable), ``resend``
(not stored, and its user was told so and given the text back), ``lost`` (none of these: goal
0) and ``shown_not_stored`` (the user saw an answer the store does not hold: goal 0).
Prints a table per phase and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from sqlalchemy import text

from app.config import load_settings
from db.engine import connect_raw, create_engine
from db.urls import with_database
from db.users import create_user
from tests.app.web.conftest import PASSWORD, prepare
from tests.chat_client import ChatClient, Turn
from tests.openai_server import OpenAIServer, Reply
from tests.pg_control import ControlledServer
from tests.serve_process import ServeProcess, scripted_model_environment

SLOW_SQL = "SELECT count(*) FROM orders a, orders b, orders c, orders d"
QUICK_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY status"
NOT_SENT = "Your question was not sent"
STORM_USERS = 5  # the normal users of the storm phase
THINK_S = 1.0  # a storm user reads the answer (or "busy") before asking again


def reply_for(body: dict[str, Any]) -> Reply:
    """The scripted model: what it answers depends on the question (and on a tool's result)."""
    messages = body.get("messages", [])
    if messages and messages[-1].get("role") == "tool":
        return Reply(text="Here is what the query says.")
    question = next(
        (str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    if "[kill]" in question:
        return Reply(text="Never seen.", delay_s=30)
    if "[hang]" in question:
        return Reply(text="Too late.", delay_s=60)
    if "[slow]" in question:
        return Reply(tool_calls=[("run_sql", {"sql": SLOW_SQL})])
    if "[quick]" in question:
        return Reply(tool_calls=[("run_sql", {"sql": QUICK_SQL})])
    return Reply(text="An answer, after some thought.", delay_s=0.4)


@dataclass
class Asked:
    question: str
    turn: Turn | None = None
    failure: str | None = None  # the client's own failure (the server went away)


@dataclass
class Phase:
    name: str
    asked: list[Asked] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def shown_answer(turn: Turn | None) -> str | None:
    if turn is None:
        return None
    said = [s.get("output") for s in turn.steps if s.get("type") == "assistant_message"]
    return str(said[-1]) if said else None


async def ask(client: ChatClient, question: str, phase: Phase, timeout_s: float = 40) -> None:
    asked = Asked(question)
    phase.asked.append(asked)
    try:
        asked.turn = await client.turn(question, timeout_s=timeout_s)
    except Exception as error:  # the server killed under the socket
        asked.failure = type(error).__name__


async def users_ask(clients: list[ChatClient], phase: Phase, per_user: int, kind: str) -> None:
    async def one(n: int, client: ChatClient) -> None:
        for i in range(per_user):
            await ask(client, f"{kind} {phase.name} u{n} q{i} {uuid.uuid4().hex[:8]}?", phase)

    await asyncio.gather(*(one(n, c) for n, c in enumerate(clients)))


async def account(engine: Any, phase: Phase) -> None:
    """Look every question of the phase up in the store."""
    counts = dict.fromkeys(
        ("asked", "stored", "answered", "errored", "resend", "lost", "shown_not_stored"), 0
    )
    async with engine.connect() as connection:
        for asked in phase.asked:
            counts["asked"] += 1
            rows = (
                await connection.execute(
                    text(
                        "SELECT q.id, a.content, a.error FROM chat_messages q "
                        "LEFT JOIN LATERAL (SELECT content, error FROM chat_messages m "
                        "WHERE m.session_id = q.session_id AND m.id > q.id "
                        "AND m.role = 'assistant' AND m.tool_name IS NULL "
                        "AND (m.content IS NOT NULL OR m.error IS NOT NULL) "
                        "ORDER BY m.id DESC LIMIT 1) a ON true "
                        "WHERE q.role = 'user' AND q.content = :q"
                    ),
                    {"q": asked.question},
                )
            ).all()
            shown = shown_answer(asked.turn)
            if not rows:
                told = shown is not None and shown.startswith(NOT_SENT)
                counts["resend" if told else "lost"] += 1
                continue
            counts["stored"] += 1
            _, content, error = rows[0]
            if content is None and error is None:
                counts["lost"] += 1  # stored, but the turn has no end
            elif error is None:
                counts["answered"] += 1
            else:
                counts["errored"] += 1
            real = shown is not None and not shown.startswith(NOT_SENT)
            differs = error is None and str(shown).strip() != (content or "").strip()
            if real and differs:  # an answer shown: the store holds it, or an error row
                counts["shown_not_stored"] += 1  # what the user saw is not what is kept
                print(f"shown, not stored: {shown!r} (stored: {content!r})", file=sys.stderr)
    phase.counts = counts


async def stored(engine: Any, count: int) -> None:
    """Wait until ``count`` questions of the kill phase are stored (at most 30 s)."""
    for _ in range(300):
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT count(*) FROM chat_messages WHERE content LIKE '[kill]%'")
            )
        if found >= count:
            return
        await asyncio.sleep(0.1)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)] if ordered else float("nan")


async def logged_in(base_url: str, usernames: list[str]) -> list[ChatClient]:
    clients = [ChatClient(base_url) for _ in usernames]
    for client, name in zip(clients, usernames, strict=True):
        response = await client.login(name, PASSWORD)
        assert response.status_code == 200, response.text
    return clients


async def quick_turn_ms(clients: list[ChatClient], phase: Phase, per_user: int) -> list[float]:
    await users_ask(clients, phase, per_user, "[quick]")
    return [a.turn.final_ms() or 0.0 for a in phase.asked if a.turn is not None]


async def run(users: int, per_user: int) -> dict[str, Any]:
    database = ControlledServer()
    database.start()
    model = OpenAIServer().start()
    model.replier = reply_for
    root = Path(tempfile.mkdtemp(prefix="bichat-faults-"))
    served: ServeProcess | None = None
    phases: list[Phase] = []
    try:
        maintenance = await connect_raw(database.url, timeout_s=10)
        await maintenance.execute('CREATE DATABASE "faults"')
        await maintenance.close()
        url = with_database(database.url, "faults")
        await prepare(url, load_settings(database_url=url, data_dir=root, model="offline"))
        engine = create_engine(url)
        names = [f"user{n}" for n in range(users + STORM_USERS)]
        async with engine.begin() as connection:
            for name in names:
                await create_user(
                    connection,
                    username=name,
                    tenant_slug="web-shop",
                    password=PASSWORD,
                    admin=False,
                )
        env = scripted_model_environment(
            root,
            database_url=url,
            model_url=model.base_url,
            BICHAT_DATABASE_RETRY_S="3",
            BICHAT_TURN_TIMEOUT_S="10",
            BICHAT_STATEMENT_TIMEOUT_MS="2000",
            BICHAT_ENGINE_FIRST="false",
            BICHAT_LOGIN_LIMIT_PER_IP="10000/minute",
        )
        served = ServeProcess(env, cwd=root).start()
        clients = await logged_in(served.base_url, names[:users])

        async def with_fault(name: str, fault: Any, kind: str = "[plain]") -> Phase:
            phase = Phase(name)
            asking = asyncio.create_task(users_ask(clients, phase, per_user, kind))
            await asyncio.sleep(0.6)  # turns in flight
            await fault()
            await asking
            phases.append(phase)
            return phase

        await with_fault("restart", lambda: asyncio.to_thread(database.restart))

        async def outage() -> None:
            await asyncio.to_thread(database.stop)
            await asyncio.sleep(4)
            await asyncio.to_thread(database.start)

        await with_fault("outage", outage)
        await with_fault("hang", lambda: asyncio.sleep(0), kind="[hang]")

        kill = Phase("kill")
        asking = asyncio.create_task(users_ask(clients, kill, 1, "[kill]"))
        await stored(engine, users)  # every question in flight
        served.kill()
        await asking
        served = ServeProcess(env, cwd=root).start()  # closes what the dead one left open
        clients = await logged_in(served.base_url, names[:users])
        phases.append(kill)

        normal = await logged_in(served.base_url, names[users:])
        await quick_turn_ms(normal, Phase("warm-up"), 1)  # the new server's first turns
        calm = Phase("calm")
        calm_ms = await quick_turn_ms(normal, calm, per_user * 2)
        storm = Phase("storm")
        stop_at = time.monotonic() + 1e9

        async def slow_users() -> None:
            async def one(n: int, client: ChatClient) -> None:
                while time.monotonic() < stop_at:
                    await ask(client, f"[slow] storm u{n} {uuid.uuid4().hex[:8]}?", storm)
                    await asyncio.sleep(THINK_S)

            await asyncio.gather(*(one(n, c) for n, c in enumerate(clients)))

        flooding = asyncio.create_task(slow_users())
        await asyncio.sleep(6)  # the storm is under way
        stormy = Phase("storm-normal")
        storm_ms = await quick_turn_ms(normal, stormy, per_user * 2)
        stop_at = time.monotonic()
        await flooding
        phases += [calm, stormy, storm]
        for phase in phases:
            await account(engine, phase)
        await engine.dispose()
        for client in clients + normal:
            await client.close()
        return {
            "phases": {p.name: p.counts for p in phases},
            "calm_p95_ms": round(p95(calm_ms), 1),
            "storm_p95_ms": round(p95(storm_ms), 1),
            "calm_p50_ms": round(statistics.median(calm_ms), 1),
            "storm_p50_ms": round(statistics.median(storm_ms), 1),
        }
    finally:
        if served is not None:
            served.stop()
        model.stop()
        database.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 users, 2 questions each")
    parser.add_argument("--users", type=int, default=None)
    options = parser.parse_args()
    users = options.users or (5 if options.quick else 10)
    per_user = 2 if options.quick else 3
    figures = asyncio.run(run(users, per_user))
    keys = ("asked", "stored", "answered", "errored", "resend", "lost", "shown_not_stored")
    print(f"{'phase':<14}" + "".join(f"{k:>18}" for k in keys))
    for name, counts in figures["phases"].items():
        print(f"{name:<14}" + "".join(f"{counts[k]:>18}" for k in keys))
    totals = {k: sum(c[k] for c in figures["phases"].values()) for k in keys}
    ratio = figures["storm_p95_ms"] / figures["calm_p95_ms"]
    print(
        f"normal users' quick turns: p95 {figures['calm_p95_ms']} ms calm, "
        f"{figures['storm_p95_ms']} ms during a slow-SQL storm of {users} users "
        f"({ratio:.2f}x; goal <= 3x)"
    )
    print(json.dumps({"users": users, **totals, "storm_p95_ratio": round(ratio, 2), **figures}))


if __name__ == "__main__":
    main()
