"""``bichat admin``: conversations listed, filtered, sorted and paged; one conversation with its
calls; usage per day, user and model; exports; all scoped to one tenant, bad filters refused.

The data is written as the agent writes it (``create_session`` / ``add_message``), so the
triggers of migration 0006 keep the session totals and the daily usage the commands read."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text

import app.store.review
from app.errors import DatabaseUnavailable
from app.store.conversations import Message, add_message, create_session, set_feedback
from db.engine import connect_raw
from db.tenants import create_tenant
from db.users import create_user
from tests.factories import model_call

TOP_SQL = "SELECT date_trunc('month', ordered_at) AS month, sum(total)\nFROM orders GROUP BY 1"
BAD_SQL = "SELECT nme FROM customers"


def utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class Shop:
    slug: str  # America/New_York
    other: str  # another tenant, one conversation
    tokyo: str  # Asia/Tokyo, model calls around midnight
    s1: str  # alice: revenue, gpt-4.1, SQL, thumbs up, 2500 tokens, $0.03
    s2: str  # bob: failed SQL, gpt-4.1-mini, thumbs down, 1210 tokens, $0.003
    s3: str  # no user: an unpriced model, 330 tokens
    s4: str  # alice: a failed model call, 0 tokens
    other_session: str
    suffix: str  # of the usernames: alice-SUFFIX, bob-SUFFIX

    def user(self, name: str) -> str:
        return f"{name}-{self.suffix}"


# Long: the four conversations the tests read, message by message, written out in full so
# that every figure a test expects can be checked against the rows here.
@pytest_asyncio.fixture(scope="module")
async def shop(engine, settings) -> Shop:
    suffix = uuid.uuid4().hex[:6]
    slugs = {name: f"adm-{name}-{suffix}" for name in ("main", "other", "tokyo")}
    zones = {"main": "America/New_York", "other": "UTC", "tokyo": "Asia/Tokyo"}
    tenants = {}
    async with engine.begin() as connection:
        for name, slug in slugs.items():
            tenants[name] = await create_tenant(
                connection, slug=slug, name=name, timezone=zones[name], settings=settings
            )
        users = {
            username: (
                await create_user(
                    connection,
                    username=f"{username}-{suffix}",
                    tenant_slug=slugs["main"],
                    password="pa55word-long",
                    admin=False,
                )
            )
            for username in ("alice", "bob")
        }
    main = tenants["main"].id

    async def conversation(user: str | None, title: str, *messages: Message) -> list[int]:
        user_id = None if user is None else await user_id_of(engine, users[user].username)
        session = await create_session(engine, tenant_id=main, user_id=user_id, title=title)
        ids = [
            await add_message(engine, session_id=session, tenant_id=main, message=m)
            for m in messages
        ]
        sessions.append(str(session))
        return ids

    sessions: list[str] = []
    s1 = await conversation(
        "alice",
        "Revenue by month",
        Message(role="user", content="What was revenue by month?"),
        model_call(
            "gpt-4.1",
            1000,
            100,
            "0.01",
            latency_ms=900,
            tool_input={"tool_calls": [{"name": "run_sql", "args": {"sql": TOP_SQL}, "id": "c1"}]},
        ),
        Message(
            role="tool",
            tool_name="run_sql",
            tool_input={"sql": TOP_SQL},
            tool_output={"columns": ["month", "sum"], "row_count": 12, "elapsed_ms": 3.5},
            latency_ms=15,
        ),
        model_call(
            "gpt-4.1",
            1200,
            200,
            "0.02",
            content="Revenue grew every month.",
            cached_input_tokens=800,
            latency_ms=1100,
        ),
    )
    s2 = await conversation(
        "bob",
        "Top customers",
        Message(role="user", content="Who are the top customers?"),
        model_call("gpt-4.1-mini", 500, 50, "0.001"),
        Message(
            role="tool",
            tool_name="run_sql",
            tool_input={"sql": BAD_SQL},
            error="invalid_sql: column nme does not exist",
            latency_ms=4,
        ),
        model_call("gpt-4.1-mini", 600, 60, "0.002", content="I could not find customer names."),
    )
    await conversation(
        None,
        "Mystery model",
        Message(role="user", content="How many tents?"),
        model_call("mystery-model", 300, 30, content="Two tents."),
    )
    await conversation(
        "alice",
        "Failed call",
        Message(role="user", content="Stock levels?"),
        Message(role="assistant", model="gpt-4.1", error="HTTP 500 from the provider"),
    )
    await set_feedback(engine, message_id=s1[-1], tenant_id=main, feedback=1, comment="great")
    await set_feedback(engine, message_id=s2[-1], tenant_id=main, feedback=-1)
    # Last activity on known days (the messages were written today): 03:00 UTC on Nov 10 is
    # still Nov 9 in New York.
    async with engine.begin() as connection:
        for session, moment in zip(
            sessions[:3],
            (utc(2026, 11, 10, 3), utc(2026, 11, 10, 12), utc(2026, 11, 15, 12)),
            strict=True,
        ):
            await connection.execute(
                text("UPDATE chat_sessions SET updated_at = :at WHERE id = :id"),
                {"at": moment, "id": uuid.UUID(session)},
            )

    other = await create_session(engine, tenant_id=tenants["other"].id, user_id=None, title="x")
    await add_message(
        engine,
        session_id=other,
        tenant_id=tenants["other"].id,
        message=Message(role="assistant", content="Revenue.", model="gpt-4.1", input_tokens=7),
    )
    await tokyo_calls(engine, tenants["tokyo"].id)
    return Shop(slugs["main"], slugs["other"], slugs["tokyo"], *sessions, str(other), suffix)


async def user_id_of(engine, username: str) -> int:
    async with engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT id FROM app_users WHERE username = :u"), {"u": username}
        )
    return int(found)


async def tokyo_calls(engine, tenant_id: uuid.UUID) -> None:
    """Model calls at given moments (the one place with explicit timestamps): 23:00 on Nov 9
    and 01:00 and 02:00 on Nov 10, Tokyo time."""
    session = await create_session(engine, tenant_id=tenant_id, user_id=None, title="late")
    async with engine.begin() as connection:
        for at, tokens in (
            (utc(2026, 11, 9, 14), 10),
            (utc(2026, 11, 9, 16), 20),
            (utc(2026, 11, 9, 17), 40),
        ):
            await connection.execute(
                text(
                    "INSERT INTO chat_messages (session_id, tenant_id, role, model, input_tokens, "
                    "output_tokens, cost_usd, created_at) VALUES (:s, :t, 'assistant', 'gpt-4.1', "
                    ":n, 1, 0.5, :at)"
                ),
                {"s": session, "t": tenant_id, "n": tokens, "at": at},
            )


def ids(bichat, shop: Shop, *args: str) -> list[str]:
    result = bichat("admin", "sessions", "--tenant", shop.slug, "--json", *args)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)["sessions"]]


def names(shop: Shop, found: list[str]) -> list[str]:
    by_id = {shop.s1: "s1", shop.s2: "s2", shop.s3: "s3", shop.s4: "s4"}
    return [by_id.get(i, i) for i in found]


def test_sessions_json_lists_the_tenant_with_its_totals(bichat, shop):
    result = bichat("admin", "sessions", "--tenant", shop.slug, "--json")
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert (page["total"], page["page"], page["pages"]) == (4, 1, 1)
    assert names(shop, [r["id"] for r in page["sessions"]]) == ["s4", "s3", "s2", "s1"]
    s1 = next(r for r in page["sessions"] if r["id"] == shop.s1)
    expected = {
        "title": "Revenue by month",
        "username": shop.user("alice"),
        "questions": 1,
        "model_calls": 2,
        "tool_calls": 1,
        "input_tokens": 2200,
        "output_tokens": 300,
        "cached_input_tokens": 800,
        "total_tokens": 2500,
        "cost_usd": 0.03,
        "unpriced_calls": 0,
        "errors": 0,
        "thumbs_up": 1,
        "thumbs_down": 0,
        "models": ["gpt-4.1"],
        "updated_at": "2026-11-10T03:00:00+00:00",
    }
    assert {key: s1[key] for key in expected} == expected
    s3 = next(r for r in page["sessions"] if r["id"] == shop.s3)
    assert (s3["username"], s3["cost_usd"], s3["unpriced_calls"]) == (None, None, 1)
    assert shop.other_session not in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--user", "alice"], ["s4", "s1"]),
        (["--user", "bob"], ["s2"]),
        (["--user", "nobody"], []),
        (["--since", "2026-11-10"], ["s4", "s3", "s2"]),  # s1: Nov 9 in New York
        (["--until", "2026-11-09"], ["s1"]),
        (["--since", "2026-11-10", "--until", "2026-11-15"], ["s3", "s2"]),
        (["--model", "gpt-4.1"], ["s4", "s1"]),
        (["--model", "mystery-model"], ["s3"]),
        (["--has-error"], ["s4", "s2"]),
        (["--no-error"], ["s3", "s1"]),
        (["--feedback", "up"], ["s1"]),
        (["--feedback", "down"], ["s2"]),
        (["--feedback", "any"], ["s2", "s1"]),
        (["--feedback", "none"], ["s4", "s3"]),
        (["--text", "tents"], ["s3"]),
        (["--text", "customer names"], ["s2"]),
        (["--text", "revenue"], ["s1"]),
        (["--user", "alice", "--has-error"], ["s4"]),
        (["--model", "gpt-4.1-mini", "--feedback", "up"], []),
    ],
)
def test_each_filter_filters(bichat, shop, args, expected):
    args = [shop.user(a) if a in ("alice", "bob") else a for a in args]
    assert names(shop, ids(bichat, shop, *args)) == expected


def test_sorting_by_tokens_cost_and_date(bichat, shop):
    assert names(shop, ids(bichat, shop, "--sort", "tokens")) == ["s1", "s2", "s3", "s4"]
    assert names(shop, ids(bichat, shop, "--sort", "tokens", "--ascending")) == [
        "s4",
        "s3",
        "s2",
        "s1",
    ]
    by_cost = names(shop, ids(bichat, shop, "--sort", "cost"))
    assert by_cost[:2] == ["s1", "s2"] and set(by_cost[2:]) == {"s3", "s4"}  # unknown cost last
    cheapest = names(shop, ids(bichat, shop, "--sort", "cost", "--ascending"))
    assert set(cheapest[:2]) == {"s3", "s4"} and cheapest[2:] == ["s2", "s1"]
    assert names(shop, ids(bichat, shop, "--sort", "date", "--ascending")) == [
        "s1",
        "s2",
        "s3",
        "s4",
    ]


def test_paging(bichat, shop):
    pages = []
    for number in ("1", "2", "3"):
        result = bichat(
            "admin",
            "sessions",
            "--tenant",
            shop.slug,
            "--per-page",
            "3",
            "--page",
            number,
            "--json",
        )
        assert result.exit_code == 0, result.output
        pages.append(json.loads(result.stdout))
    assert [(p["total"], p["page"], p["pages"]) for p in pages] == [(4, 1, 2), (4, 2, 2), (4, 3, 2)]
    assert names(shop, [r["id"] for r in pages[0]["sessions"]]) == ["s4", "s3", "s2"]
    assert names(shop, [r["id"] for r in pages[1]["sessions"]]) == ["s1"]
    assert pages[2]["sessions"] == []


def test_sessions_human_table(bichat, shop):
    result = bichat("admin", "sessions", "--tenant", shop.slug, "--per-page", "2", "--page", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    s1 = next(line for line in lines if shop.s1 in line)  # whole ids, one line per row
    for cell in ("2026-11-09 22:00", shop.user("alice"), "Revenue by month", "2500", "$0.030000"):
        assert cell in s1, s1
    assert s1.split("│")[-2].strip() == "+1"
    s2 = next(line for line in lines if shop.s2 in line)
    assert shop.user("bob") in s2 and s2.split("│")[-2].strip() == "-1"
    assert lines[-1] == "page 2 of 2 (4 conversations)"
    header = next(line for line in lines if "questions" in line)
    for column in ("id", "updated", "user", "title", "tokens", "cost", "errors", "feedback"):
        assert column in header
    empty = bichat("admin", "sessions", "--tenant", shop.slug, "--user", "nobody")
    assert empty.exit_code == 0 and empty.stdout == "page 1 of 1 (0 conversations)\n"


def test_show_json_has_every_message_with_sql_and_errors(bichat, shop):
    result = bichat("admin", "show", shop.s1, "--tenant", shop.slug, "--json")
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert detail["id"] == shop.s1 and detail["total_tokens"] == 2500
    messages = detail["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[2]["tool_input"] == {"sql": TOP_SQL}
    assert messages[2]["tool_output"]["row_count"] == 12
    assert messages[3]["feedback"] == 1 and messages[3]["feedback_comment"] == "great"
    assert (messages[1]["input_tokens"], messages[1]["cost_usd"], messages[1]["latency_ms"]) == (
        1000,
        0.01,
        900,
    )
    failed = json.loads(bichat("admin", "show", shop.s2, "--tenant", shop.slug, "--json").stdout)
    tool = next(m for m in failed["messages"] if m["role"] == "tool")
    assert tool["error"] == "invalid_sql: column nme does not exist"
    assert tool["tool_input"] == {"sql": BAD_SQL}


def test_show_prints_the_transcript(bichat, shop):
    result = bichat("admin", "show", shop.s1, "--tenant", shop.slug)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Revenue by month\n")
    for part in (
        f"conversation {shop.s1}",
        "America/New_York",
        "1 questions · 2 model calls · 1 tool calls · 2500 tokens (2200 in / 300 out, 800 cached)",
        "cost $0.030000",
        "What was revenue by month?",
        "assistant · gpt-4.1 · 1000 in / 100 out tokens · cost $0.010000 · 900 ms",
        "calls run_sql",
        "tool run_sql · 12 rows · SQL 3.5 ms · 15 ms",
        "  SELECT date_trunc('month', ordered_at) AS month, sum(total)\n  FROM orders GROUP BY 1",
        "1200 in / 200 out tokens, 800 cached",
        "Revenue grew every month.",
        "feedback: up: great",
    ):
        assert part in out, part
    failed = bichat("admin", "show", shop.s2, "--tenant", shop.slug).stdout
    assert f"  {BAD_SQL}\n  error: invalid_sql: column nme does not exist" in failed
    assert "feedback: down" in failed
    broken = bichat("admin", "show", shop.s4, "--tenant", shop.slug).stdout
    assert "error: HTTP 500 from the provider" in broken and "1 errors" in broken
    unpriced = bichat("admin", "show", shop.s3, "--tenant", shop.slug).stdout
    assert "mystery-model · 300 in / 30 out tokens · cost unknown" in unpriced


@pytest.mark.parametrize("as_json", [True, False])
def test_a_conversation_of_another_tenant_is_unknown(bichat, shop, as_json):
    cases = [
        (shop.other_session, shop.slug),  # exists, in another shop
        (shop.s1, shop.other),  # the other way round
        (str(uuid.uuid4()), shop.slug),
        ("not-a-uuid", shop.slug),
    ]
    for session, tenant in cases:
        result = bichat("admin", "show", session, "--tenant", tenant, *(["--json"] * as_json))
        assert result.exit_code == 1
        if as_json:
            assert json.loads(result.stdout)["error"]["code"] == "unknown_session"
        else:
            assert result.stdout == "" and result.stderr.startswith("error: no conversation")
            assert result.stderr.count("\n") == 1
    other = ids(bichat, shop)
    assert shop.other_session not in other


def usage(bichat, slug: str, *args: str) -> dict[str, Any]:
    result = bichat("admin", "usage", "--tenant", slug, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def numbers(row: dict[str, Any]) -> tuple[Any, ...]:
    cost = None if row["cost_usd"] is None else round(row["cost_usd"], 8)
    keys = ("model_calls", "input_tokens", "output_tokens", "cached_input_tokens")
    return (row["key"], *(row[k] for k in keys), cost, row["unpriced_calls"], row["errors"])


ALL_CALLS = ("total", 6, 3600, 440, 800, 0.033, 1, 1)


def test_usage_by_model_and_user_equals_what_was_written(bichat, shop):
    by_model = usage(bichat, shop.slug, "--by", "model")
    assert by_model["by"] == "model"
    assert [numbers(r) for r in by_model["rows"]] == [
        ("gpt-4.1", 3, 2200, 300, 800, 0.03, 0, 1),  # the failed call counts, without tokens
        ("gpt-4.1-mini", 2, 1100, 110, 0, 0.003, 0, 0),
        ("mystery-model", 1, 300, 30, 0, None, 1, 0),
    ]
    assert numbers(by_model["total"]) == ALL_CALLS
    by_user = usage(bichat, shop.slug, "--by", "user")
    assert [numbers(r) for r in by_user["rows"]] == [
        (shop.user("alice"), 3, 2200, 300, 800, 0.03, 0, 1),
        (shop.user("bob"), 2, 1100, 110, 0, 0.003, 0, 0),
        ("(no user)", 1, 300, 30, 0, None, 1, 0),
    ]
    assert numbers(by_user["total"]) == ALL_CALLS


def test_usage_by_day_defaults_to_the_last_30_days(bichat, shop):
    by_day = usage(bichat, shop.slug)
    assert by_day["by"] == "day" and len(by_day["rows"]) == 30
    assert [r["key"] for r in by_day["rows"]][::29] == [by_day["since"], by_day["until"]]
    used = [r for r in by_day["rows"] if r["model_calls"]]
    assert [numbers(r)[1:] for r in used] == [ALL_CALLS[1:]]  # everything was written today
    assert numbers(by_day["total"]) == ALL_CALLS


def test_usage_days_are_the_tenants_days(bichat, shop):
    found = usage(bichat, shop.tokyo, "--since", "2026-11-08", "--until", "2026-11-11")
    assert (found["since"], found["until"]) == ("2026-11-08", "2026-11-11")
    assert [numbers(r) for r in found["rows"]] == [
        ("2026-11-08", 0, 0, 0, 0, None, 0, 0),
        ("2026-11-09", 1, 10, 1, 0, 0.5, 0, 0),
        ("2026-11-10", 2, 60, 2, 0, 1.0, 0, 0),
        ("2026-11-11", 0, 0, 0, 0, None, 0, 0),
    ]
    assert numbers(found["total"]) == ("total", 3, 70, 3, 0, 1.5, 0, 0)
    human = bichat(
        "admin", "usage", "--tenant", shop.tokyo, "--since", "2026-11-09", "--until", "2026-11-10"
    )
    assert human.exit_code == 0, human.output
    assert "usage 2026-11-09 to 2026-11-10" in human.stdout
    row = next(line for line in human.stdout.splitlines() if line.startswith("│ 2026-11-10 "))
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "2026-11-10",
        "2",
        "60",
        "2",
        "0",
        "$1.000000",
        "0",
        "0",
    ]
    assert human.stdout.splitlines()[-1] == (
        "total: 3 model calls · 70 in / 3 out tokens (0 cached) · cost $1.500000 · 0 errors"
    )


def test_usage_csv(bichat, shop):
    result = bichat("admin", "usage", "--tenant", shop.slug, "--by", "model", "--csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "model,model_calls,input_tokens,output_tokens,cached_input_tokens,cost_usd,unpriced_calls,errors",
        "gpt-4.1,3,2200,300,800,0.03000000,0,1",
        "gpt-4.1-mini,2,1100,110,0,0.00300000,0,0",
        "mystery-model,1,300,30,0,,1,0",
    ]


def database_messages(url: str, session_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The stored messages of each session, read on a connection of its own."""

    async def read() -> dict[str, list[dict[str, Any]]]:
        connection = await connect_raw(url, timeout_s=10)
        try:
            rows = await connection.fetch(
                "SELECT session_id, id, role, content, model, input_tokens, output_tokens, "
                "cached_input_tokens, cost_usd, latency_ms, tool_name, tool_input, tool_output, "
                "error, feedback, feedback_comment, created_at, channel, audio_ms FROM chat_messages "
                "WHERE session_id = ANY($1::uuid[]) ORDER BY created_at, id",
                session_ids,
            )
        finally:
            await connection.close()
        found: dict[str, list[dict[str, Any]]] = {s: [] for s in session_ids}
        for row in rows:
            message = dict(row)
            session = str(message.pop("session_id"))
            for key in ("tool_input", "tool_output"):
                message[key] = None if message[key] is None else json.loads(message[key])
            cost = message["cost_usd"]
            message["cost_usd"] = None if cost is None else float(cost)
            message["created_at"] = message["created_at"].isoformat()
            found[session].append(message)
        return found

    return asyncio.run(read())


def test_export_jsonl_round_trips_every_message(bichat, shop, database_url):
    result = bichat("admin", "export", "--tenant", shop.slug)
    assert result.exit_code == 0, result.output
    exported = [json.loads(line) for line in result.stdout.splitlines()]
    assert names(shop, [c["id"] for c in exported]) == ["s4", "s3", "s2", "s1"]
    stored = database_messages(database_url, [c["id"] for c in exported])
    for conversation in exported:
        assert conversation["messages"] == stored[conversation["id"]]
    assert sum(len(c["messages"]) for c in exported) == 4 + 4 + 2 + 2
    listed = json.loads(bichat("admin", "sessions", "--tenant", shop.slug, "--json").stdout)
    assert [{k: v for k, v in c.items() if k != "messages"} for c in exported] == listed["sessions"]


def test_export_takes_the_filters_of_the_list(bichat, shop):
    alice = shop.user("alice")
    result = bichat("admin", "export", "--tenant", shop.slug, "--user", alice, "--ascending")
    assert names(shop, [json.loads(line)["id"] for line in result.stdout.splitlines()]) == [
        "s1",
        "s4",
    ]
    none = bichat(
        "admin",
        "export",
        "--tenant",
        shop.slug,
        "--feedback",
        "up",
        "--no-error",
        "--text",
        "tents",
    )
    assert none.exit_code == 0 and none.stdout == ""


def test_export_to_a_file(bichat, shop, tmp_path):
    target = tmp_path / "out" / "conversations.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    result = bichat(
        "admin", "export", "--tenant", shop.slug, "--output", str(target), "--json", "--has-error"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"file": str(target), "conversations": 2, "messages": 6}
    lines = target.read_text().splitlines()
    assert names(shop, [json.loads(line)["id"] for line in lines]) == ["s4", "s2"]
    assert [p.name for p in target.parent.iterdir()] == ["conversations.jsonl"]
    assert target.stat().st_mode & 0o777 == 0o600
    piped = bichat("admin", "export", "--tenant", shop.slug, "--has-error").stdout
    assert target.read_text() == piped
    human = bichat("admin", "export", "--tenant", shop.slug, "--output", str(target))
    assert human.stdout == f"exported 4 conversations (12 messages) to {target}\n"


def test_a_failed_export_leaves_the_old_file_and_nothing_else(bichat, shop, tmp_path, monkeypatch):
    real = app.store.review.export_sessions

    async def broken(*args: Any, **kwargs: Any):
        async for item in real(*args, **kwargs):
            yield item
            raise DatabaseUnavailable("the connection was lost")

    monkeypatch.setattr(app.store.review, "export_sessions", broken)
    target = tmp_path / "conversations.jsonl"
    target.write_text("old\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = bichat("admin", "export", "--tenant", shop.slug, "--output", str(target), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["message"] == "the connection was lost"
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


BAD_FILTERS = [
    (["sessions", "--page", "²"], "page must be a whole number"),  # isdigit, not int
    (["sessions", "--page", "9" * 5000], "page must be a whole number"),
    (["sessions", "--since", "2026-13-01"], "since must be a date like 2026-11-01"),
    (["sessions", "--until", "yesterday"], "until must be a date like 2026-11-01"),
    (["sessions", "--since", "2026-11-20", "--until", "2026-11-01"], "is after until"),
    (["sessions", "--sort", "price"], "sort must be one of date, tokens, cost"),
    (["sessions", "--feedback", "maybe"], "feedback must be one of up, down, any, none"),
    (["sessions", "--page", "0"], "page must be a whole number from 1 to"),
    (["sessions", "--page", "two"], "page must be a whole number from 1 to"),
    (["sessions", "--per-page", "500"], "per_page must be a whole number from 1 to 200"),
    (["sessions", "--text", "x" * 201], "limited to 200 characters"),
    (["export", "--feedback", "great"], "feedback must be one of"),
    (["export", "--since", "11/01/2026"], "since must be a date"),
    (["export", "--output", "/no/such/folder/x.jsonl"], "no folder /no/such/folder"),
    (["usage", "--by", "week"], "by must be one of day, user, model"),
    (["usage", "--by", "total"], "by must be one of day, user, model"),
    (["usage", "--since", "2026-11-20", "--until", "2026-11-01"], "is after until"),
    (["usage", "--since", "2016-01-01", "--until", "2026-11-01"], "limited to 3660 days"),
    (["usage", "--until", "2026-02-30"], "until must be a date"),
]


@pytest.mark.parametrize(("args", "message"), BAD_FILTERS)
def test_bad_filters_are_one_line_errors(bichat, shop, args, message):
    command, *options = args
    result = bichat("admin", command, "--tenant", shop.slug, *options)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr, result.stderr
    as_json = bichat("admin", command, "--tenant", shop.slug, *options, "--json")
    assert as_json.exit_code == 1
    error = json.loads(as_json.stdout)["error"]
    assert message in error["message"] and error["code"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["sessions", "--tenant", "no-such-shop"], "unknown_tenant"),
        (["usage", "--tenant", "no-such-shop"], "unknown_tenant"),
        (["export", "--tenant", "no-such-shop"], "unknown_tenant"),
        (["show", str(uuid.uuid4()), "--tenant", "no-such-shop"], "unknown_tenant"),
        (["usage", "--tenant", "no-such-shop", "--csv"], "bad_option"),  # and --json
    ],
)
def test_json_error_codes(bichat, args, code):
    result = bichat("admin", *args, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == code
