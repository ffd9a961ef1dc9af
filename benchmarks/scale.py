"""One instance against two behind HAProxy, and one of two killed in the middle.

    python benchmarks/scale.py            # 20 users, 5 questions each per phase
    python benchmarks/scale.py --quick    # 6 users

Two real ``bichat serve`` processes share one embedded database (one data dir); HAProxy runs
deploy/haproxy.cfg as shipped; the model is the local OpenAI-compatible server (the real
``langchain-openai`` client, answers streamed at ``TOKEN_DELAY_S`` a word). N users, each a
socket.io client as the browser talks (logged in through the balancer, its stickiness cookie
sent), ask 5 questions each in one thread, all users at once:

0. each instance answers one question directly (warm-up, not measured);
1. ``one``: HAProxy sends everyone to instance 1 (both of its servers name it);
2. ``two``: HAProxy spreads the users over both instances;
3. ``kill``: both instances; when half the questions were sent, instance 1 is killed
   (``kill -9``). Its users' sockets drop: each reconnects through the balancer (retrying
   while HAProxy finds the instance gone, as socket.io does), resumes its thread (checked:
   every question it asked before is there) and asks on. The cut question is in the thread,
   closed as interrupted, when the instance had stored it; when it died before that (the
   question was on the wire or being opened), the user asks it again (``resent``).

Figures: questions per second (throughput) and the ratio two/one, first-token p50/p95 (from
sending a question to its first streamed token), and for ``kill``: questions ``lost`` (sent,
not stored even after being asked again: goal 0), ``open`` (stored, never closed: goal 0),
threads ``cut`` and ``resumed`` (goal: all of them). Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

import socketio

from tests.balancer import Balancer
from tests.chat_client import ChatClient, Turn
from tests.fleet import PASSWORD, Fleet
from tests.openai_server import Reply

QUESTIONS = 5
CONNECT_ATTEMPTS = 20
TOKEN_DELAY_S = 0.05
ANSWER = "Revenue rose by four percent against the previous month, led by the web shop."


def reply_for(body: dict[str, Any]) -> Reply:
    return Reply(text=ANSWER, token_delay_s=TOKEN_DELAY_S)


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    turns: list[Turn] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    cut: int = 0
    resumed: int = 0
    resent: int = 0  # cut before the instance stored it: asked again after resuming
    interrupted_shown: int = 0  # cut after it was stored: shown closed in the resumed thread
    reconnects: int = 0  # socket connections refused (the instance was going), then retried
    kill_after: int | None = None  # questions sent before an instance is killed

    def first_token_ms(self) -> list[float]:
        return sorted(ms for t in self.turns if (ms := t.first_token_ms()) is not None)

    def figures(self) -> dict[str, Any]:
        firsts = self.first_token_ms()
        return {
            "questions": len(self.asked),
            "seconds": round(self.seconds, 2),
            "per_s": round(len(self.asked) / self.seconds, 2),
            "first_token_p50_ms": round(statistics.median(firsts)) if firsts else None,
            "first_token_p95_ms": round(percentile(firsts, 0.95)) if firsts else None,
        }


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


class User:
    def __init__(self, name: str, base_url: str, phase: Phase) -> None:
        self.name, self.phase = name, phase
        self.client = ChatClient(base_url)
        self.thread: str | None = None

    async def ask_all(self, kill_at: asyncio.Event | None = None) -> None:
        await self.log_in()
        try:
            for n in range(QUESTIONS):
                question = f"{self.phase.name}: {self.name} asks question {n + 1} of {QUESTIONS}?"
                self.phase.asked.append(question)
                after = self.phase.kill_after
                if kill_at is not None and after is not None and len(self.phase.asked) >= after:
                    kill_at.set()
                turn = await self.sent(question)
                self.thread = self.thread or turn.thread_id
                if turn.cut:
                    self.phase.cut += 1
                    await self.resume(question)
                else:
                    self.phase.turns.append(turn)
        finally:
            await self.client.close()

    async def log_in(self) -> None:
        """Through the balancer (many users at once: a slow answer is tried again)."""
        for _ in range(5):
            response = await self.client.login(self.name, PASSWORD)
            if response.status_code == 200:
                return
            print(
                f"{self.name}: login {response.status_code} {response.text[:200]}", file=sys.stderr
            )
            await asyncio.sleep(1.0)
        raise RuntimeError(f"{self.name} could not log in")

    async def sent(self, question: str | None) -> Turn:
        """The turn, once its socket connected: as a browser's socket.io client, a user whose
        instance just died retries until the balancer finds the other one."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                return await self.client.turn(question, thread_id=self.thread, timeout_s=120)
            # refused, or connected to the instance just as it died (gone before the question
            # was sent: BadNamespaceError on emit)
            except (socketio.exceptions.ConnectionError, socketio.exceptions.BadNamespaceError):
                self.phase.reconnects += 1
                await asyncio.sleep(0.25 * (attempt + 1))
        raise RuntimeError(f"{self.name} could not reconnect")

    async def resume(self, cut: str) -> None:
        """Reconnect through the balancer; the thread must hold every question asked before
        the cut one. The cut one is there too (closed as interrupted), unless the instance died
        before it stored it: then the user asks it again (``resent``)."""
        back = await self.sent(None)
        shown = {
            s["output"]
            for event in back.of("resume_thread")
            for s in event["steps"]
            if s["type"] == "user_message"
        }
        mine = [q for q in self.phase.asked if f" {self.name} asks " in q]
        if set(mine[:-1]) <= shown:
            self.phase.resumed += 1
        else:
            missing = sorted(set(mine[:-1]) - shown)
            print(f"{self.name}: resumed without {missing}", file=sys.stderr)
        if cut not in shown:
            self.phase.resent += 1
            turn = await self.sent(cut)
            self.thread = self.thread or turn.thread_id  # the cut one may have been the first
            if not turn.cut:
                self.phase.turns.append(turn)
        else:
            self.phase.interrupted_shown += cut in shown


async def run_phase(phase: Phase, base_url: str, users: list[str], **options: Any) -> Phase:
    started = time.perf_counter()
    await asyncio.gather(*(User(u, base_url, phase).ask_all(**options) for u in users))
    phase.seconds = time.perf_counter() - started
    return phase


async def kill_phase(fleet: Fleet, users: list[str]) -> Phase:
    phase = Phase("kill", kill_after=len(users) * QUESTIONS // 2)
    kill_at = asyncio.Event()

    async def killer() -> None:
        await kill_at.wait()
        await asyncio.sleep(0.3)  # turns in flight
        await asyncio.to_thread(fleet.servers[0].kill)

    killing = asyncio.create_task(killer())
    await run_phase(phase, fleet.balancer.base_url, users, kill_at=kill_at)
    await killing
    return phase


async def stored(fleet: Fleet, phase: Phase) -> dict[str, int]:
    """Of the phase's questions: ``lost`` (not stored) and ``open`` (stored, no last row)."""
    rows = await fleet.fetch(
        "SELECT q.content, EXISTS (SELECT 1 FROM chat_messages a WHERE "
        "a.session_id = q.session_id AND a.id > q.id AND a.role = 'assistant' "
        "AND (a.error IS NOT NULL OR a.content IS NOT NULL)) AS closed "
        "FROM chat_messages q WHERE q.role = 'user' AND q.content LIKE :p",
        p=f"{phase.name}: %",
    )
    found = {r.content: r.closed for r in rows}
    lost = sum(1 for q in phase.asked if q not in found)
    return {"lost": lost, "open": sum(1 for closed in found.values() if not closed)}


async def warm_up(fleet: Fleet, user: str) -> None:
    """One question to each instance directly: first calls load what later ones reuse."""
    for server in fleet.servers:
        client = ChatClient(server.base_url)
        try:
            assert (await client.login(user, PASSWORD)).status_code == 200
            await client.turn("Warming up: how many orders?")
        finally:
            await client.close()


async def measure(users: int, root: Path) -> dict[str, Any]:
    names = [f"user{n}" for n in range(users)]
    fleet = Fleet(root, users=names, responder=reply_for).start()
    single = Balancer([f"127.0.0.1:{fleet.servers[0].port}"], log=root / "lb-one.log").start()
    try:
        await warm_up(fleet, names[0])
        one = await run_phase(Phase("one"), single.base_url, names)
        two = await run_phase(Phase("two"), fleet.balancer.base_url, names)
        kill = await kill_phase(fleet, names)
        kill_store = await stored(fleet, kill)
    finally:
        single.stop()
        fleet.stop()
    return {
        "users": users,
        "questions_each": QUESTIONS,
        "one": one.figures(),
        "two": two.figures(),
        "throughput_ratio": round(two.figures()["per_s"] / one.figures()["per_s"], 2),
        "kill": {
            **kill.figures(),
            **kill_store,
            "cut": kill.cut,
            "resumed": kill.resumed,
            "resent": kill.resent,
            "interrupted_shown": kill.interrupted_shown,
            "reconnects": kill.reconnects,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 users instead of 20")
    parser.add_argument("--users", type=int, default=None)
    args = parser.parse_args()
    users = args.users or (6 if args.quick else 20)
    with tempfile.TemporaryDirectory(prefix="bichat-scale-") as root:
        figures = asyncio.run(measure(users, Path(root)))
    print(f"{users} users x {QUESTIONS} questions, answers streamed at {TOKEN_DELAY_S}s a word")
    print(f"{'phase':<6}{'questions':>11}{'seconds':>9}{'per s':>8}{'1st p50':>9}{'1st p95':>9}")
    for name in ("one", "two", "kill"):
        f = figures[name]
        print(
            f"{name:<6}{f['questions']:>11}{f['seconds']:>9}{f['per_s']:>8}"
            f"{f['first_token_p50_ms']:>8}ms{f['first_token_p95_ms']:>7}ms"
        )
    k = figures["kill"]
    print(
        f"throughput two/one: {figures['throughput_ratio']}x; kill: lost {k['lost']}, "
        f"open {k['open']}, threads cut {k['cut']}, resumed {k['resumed']} (cut turn shown "
        f"interrupted {k['interrupted_shown']}, not stored yet and asked again {k['resent']})"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
