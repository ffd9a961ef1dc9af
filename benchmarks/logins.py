"""What a burst of bad logins does to everyone else: /healthz latency while 60 wrong passwords
arrive at once, with the password check on the event loop (as before), in the hashing pool,
and in the pool behind the default login throttle.

    python benchmarks/logins.py            # 5 bursts per way
    python benchmarks/logins.py --quick    # 2

A bichat server (uvicorn in a thread, Chainlit mounted) runs in this process on a scratch
database with a small demo shop. Each burst sends 60 chat logins with wrong passwords for
unknown usernames from one address, all at once, while another client asks /healthz one
request after the other until the burst is answered. The three ways take turns within each
round (so drift on the machine affects all alike):

- ``on the loop``: ``db.users.check_password`` replaced by a direct call of argon2 (what
  ``authenticate`` did before), the throttle out of the way;
- ``pool``: the hashing pool (two worker threads), the throttle out of the way;
- ``pool + throttle``: as served (``BICHAT_LOGIN_LIMIT_PER_IP`` 30/minute: half the burst is
  refused with 429 before any hash; each burst starts with a fresh throttle).

Prints /healthz's median, p95 and worst time per way (idle first), the burst's duration and
its answers, and one JSON line (with the p95 of "on the loop" over "pool + throttle").
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
from collections import Counter
from pathlib import Path

from scratch import create_database, drop_database, scratch_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

import httpx
from limits import parse_many

import db.users
from app.config import load_settings
from app.web.state import get_state
from app.web.throttle import LoginThrottle
from db.passwords import check_password, verify_password
from tests.app.web.conftest import prepare, start_server

BURST = 60
UNLIMITED = "1000000/minute"


async def on_the_loop(password: str, password_hash: str) -> bool:
    return verify_password(password, password_hash)  # blocks the event loop, as before


def use(way: str, settings) -> None:
    state = get_state()
    limit_ip = settings.login_limit_per_ip if way == "pool + throttle" else UNLIMITED
    limit_user = settings.login_limit_per_username if way == "pool + throttle" else UNLIMITED
    state.throttle = LoginThrottle(parse_many(limit_ip), parse_many(limit_user))
    db.users.check_password = on_the_loop if way == "on the loop" else check_password


async def health_times(
    client: httpx.AsyncClient, until: asyncio.Event | None, count: int
) -> list[float]:
    times: list[float] = []
    while (until is None and len(times) < count) or (until is not None and not until.is_set()):
        started = time.perf_counter()
        response = await client.get("/healthz")
        response.raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def burst(base: str) -> tuple[list[float], float, Counter[int]]:
    done = asyncio.Event()
    async with (
        httpx.AsyncClient(base_url=base, timeout=120) as health,
        httpx.AsyncClient(
            base_url=base, timeout=120, limits=httpx.Limits(max_connections=BURST)
        ) as logins,
    ):
        watcher = asyncio.create_task(health_times(health, done, 0))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(
                logins.post(
                    "/chat/login",
                    data={"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "wrong-pass"},
                )
                for _ in range(BURST)
            )
        )
        elapsed = time.perf_counter() - started
        done.set()
        times = await watcher
    return times, elapsed, Counter(r.status_code for r in answers)


def figures_of(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95(times), 2),
        "worst_ms": round(max(times), 2),
        "requests": len(times),
    }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def main(quick: bool) -> None:
    rounds = 2 if quick else 5
    server_url = scratch_server()
    url = await create_database(server_url)
    ways = ("on the loop", "pool", "pool + throttle")
    results: dict[str, dict[str, list]] = {
        w: {"health": [], "burst_s": [], "answers": []} for w in ways
    }
    try:
        settings = load_settings(
            database_url=url, data_dir=Path(tempfile.mkdtemp()), model="offline"
        )
        await prepare(url, settings)
        server, thread, base = start_server(settings)
        async with httpx.AsyncClient(base_url=base) as client:
            await health_times(client, None, 50)  # warm up
            idle = await health_times(client, None, 300)
        for _ in range(rounds):
            for way in ways:
                use(way, settings)
                times, elapsed, answers = await burst(base)
                results[way]["health"] += times
                results[way]["burst_s"].append(elapsed)
                results[way]["answers"].append(dict(answers))
        use("pool + throttle", settings)
        server.should_exit = True
        thread.join(timeout=10)
    finally:
        await drop_database(server_url, url)
    summary: dict[str, dict] = {"idle": figures_of(idle)}
    print(f"/healthz while {BURST} wrong chat logins arrive at once ({rounds} bursts per way)")
    print(f"{'way':<18}{'median ms':>11}{'p95 ms':>9}{'worst ms':>10}{'burst s':>9}  answers")
    row = summary["idle"]
    print(f"{'idle':<18}{row['median_ms']:>11.1f}{row['p95_ms']:>9.1f}{row['worst_ms']:>10.1f}")
    for way in ways:
        figures = results[way]
        summary[way] = {
            **figures_of(figures["health"]),
            "burst_s": round(statistics.median(figures["burst_s"]), 2),
            "answers": figures["answers"][-1],
        }
        row = summary[way]
        print(
            f"{way:<18}{row['median_ms']:>11.1f}{row['p95_ms']:>9.1f}{row['worst_ms']:>10.1f}"
            f"{row['burst_s']:>9.2f}  {row['answers']}"
        )
    before, after = summary["on the loop"]["p95_ms"], summary["pool + throttle"]["p95_ms"]
    summary["p95_before_over_after"] = {"ratio": round(before / after, 1) if after else None}
    print(json.dumps({"burst": BURST, "rounds": rounds, **summary}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 bursts per way")
    asyncio.run(main(parser.parse_args().quick))
