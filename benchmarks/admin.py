"""Admin review at scale: the conversation list, one conversation, and usage.

    python benchmarks/admin.py            # 100,000 conversations, 1,000,000 messages
    python benchmarks/admin.py --quick    # 10,000 conversations, 100,000 messages
    python benchmarks/admin.py --explain  # plans of every list query, not only the slow ones
    python benchmarks/admin.py --sessions 30000 --runs 20

Data: one tenant "bench" (timezone America/New_York, 20 users of very different activity)
with N conversations over 365 days (more of them recently), and a tenant "small" (1,000
conversations, 3 users) next to it, so that every query's tenant scoping is real. A
conversation has 1 to 4 turns; a turn is a question and an answer, mostly with one run_sql
call between them (assistant model call with ``tool_calls``, tool row with
``{"sql": ...}`` and a summary of the result), sometimes none, sometimes two (the second a
run_sql or search_products call), about 4 messages a turn. Models: gpt-4o-mini, gpt-4.1,
gpt-4o and an unpriced "local-llama" (cost NULL); tokens grow with the conversation, costs
come from the app's price table. 3% of tool calls fail, 1% of answers fail, 5% of answers
have a thumb (up or down). 20% of questions ask about "revenue" (the common word of the
text filter), 0.5% mention "zeppelin" (the rare one).

The rows are generated with set-based SQL with the user triggers off (session_replication_
role = replica, or DISABLE TRIGGER USER when not a superuser) and the secondary indexes of
chat_messages dropped, then the session totals and daily usage are filled by migration
0006's own backfill statements, the indexes are recreated from their definitions, and the
tables vacuumed and analysed.

Measured (the app's functions, warm, after a warm-up round): ``list_sessions`` (its count
and its page) with the default page, a deep page, sort by cost and by tokens, and one filter
each (user, model, errors, thumbs down, one month, text rare and common);
``session_detail`` on random conversations; ``usage_by`` (day, user, model) over the
last 30 days and the year. p50/p95 in ms, against the goal p50 <= 100 ms. For comparison,
the first page sorted by cost computed the old way (aggregating chat_messages per session,
as migration 0005's view did) and a year of usage per day from chat_messages. Finally the
cost of one message write with the trigger on (``add_message``).

asyncpg prepares every statement and SQLAlchemy keeps them per connection, so after five runs
PostgreSQL may switch a statement to its generic plan (parameters unknown): each list query
reports how its count and its page were planned during the runs (pg_prepared_statements),
and the list queries that miss the goal have both plans printed (EXPLAIN ANALYZE BUFFERS with
the values, and EXECUTE of the statement prepared with plan_cache_mode force_generic_plan).
The CPU may be shared: the load average is printed around every measurement. Prints a
summary, the plans, and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

from scratch import create_database, drop_database, scratch_server
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.agent.pricing import price_table
from app.errors import NotFound
from app.store.conversations import Message, add_message
from app.store.review import SessionFilters, list_sessions, session_detail
from app.store.usage import parse_period, usage_by
from db import migrate
from db.engine import create_engine

GOAL_MS = 100.0
END = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # the last conversation starts before this
BENCH_TIMEZONE = "America/New_York"
USERS, SMALL_USERS, SMALL_SESSIONS = 20, 3, 1_000
RARE, COMMON = "zeppelin", "revenue"
UNPRICED = "local-llama"
MONTH = (date(2026, 10, 1), date(2026, 10, 31))
TABLES = ("chat_sessions", "chat_messages", "chat_usage_daily")

OPENERS = (
    "Show me",
    "What were the",
    "How did the",
    "Compare",
    "List",
    "Break down",
    "Give me",
    "Can you chart",
    "Summarise",
    "I need the",
    "Please show",
    "Tell me the",
)
METRICS = (  # besides COMMON, which 20% of questions ask about
    "orders",
    "margin",
    "returns",
    "refunds",
    "units sold",
    "average basket",
    "new customers",
    "repeat customers",
    "stock levels",
    "discounts",
    "shipping costs",
    "conversion",
    "cancellations",
    "gross profit",
    "basket size",
)
DIMENSIONS = (
    "channel",
    "category",
    "country",
    "brand",
    "week",
    "month",
    "payment method",
    "customer segment",
    "region",
    "warehouse",
    "supplier",
    "weekday",
)
PERIODS = (
    "last month",
    "this quarter",
    "since January",
    "in the last seven days",
    "year to date",
    "last year",
    "yesterday",
    "over the summer",
    "during the holidays",
    "this week",
)
SUBJECTS = (
    "tents",
    "jackets",
    "boots",
    "backpacks",
    "lanterns",
    "kayaks",
    "hammocks",
    "stoves",
    "gloves",
    "scarves",
    "sandals",
    "helmets",
    "bicycles",
    "compasses",
    "binoculars",
    "blankets",
    "mugs",
    "thermoses",
    "socks",
    "beanies",
    "ponchos",
    "paddles",
    "ropes",
    "carabiners",
    "headlamps",
    "poles",
    "tarps",
    "cushions",
    "shorts",
    "fleeces",
    "raincoats",
    "sunglasses",
    "watches",
    "wallets",
    "belts",
    "umbrellas",
    "candles",
    "teapots",
    "skillets",
    "knives",
    "chairs",
    "tables",
    "coolers",
    "bottles",
    "maps",
    "snowshoes",
    "skis",
    "snowboards",
    "goggles",
    "wetsuits",
    "surfboards",
    "fins",
    "towels",
    "hoodies",
    "leggings",
    "sneakers",
    "slippers",
    "mittens",
    "vests",
    "parkas",
)
VALUES = (
    "web",
    "marketplace",
    "retail",
    "wholesale",
    "Berlin",
    "Paris",
    "Madrid",
    "Lisbon",
    "Vienna",
    "Oslo",
    "Dublin",
    "Prague",
    "Warsaw",
    "Milan",
    "Zurich",
    "Brussels",
    "Acme",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Initech",
    "Hooli",
    "Vandelay",
    "Tyrell",
    "Wonka",
    "outdoor",
    "footwear",
    "kitchen",
    "accessories",
    "winter",
    "water sports",
    "camping",
    "cycling",
    "card",
    "invoice",
    "paypal",
    "students",
    "families",
    "professionals",
)
CLOSINGS = (
    "That is up 12% on the period before.",
    "Most of the change comes from the top three.",
    "Returns are not deducted.",
    "Figures exclude cancelled orders.",
    "The last two days are still incomplete.",
    "Want me to split it further?",
    "The trend has been flat for three weeks.",
    "Weekends account for a third of it.",
)
TOOL_ERRORS = (
    'sql_error: column "total_amount" does not exist',
    "timeout: the query ran longer than 5 seconds",
    "not_allowed: only SELECT statements are allowed",
)
MODEL_ERRORS = (
    "rate_limited: the model provider is rate limiting requests",
    "timeout: the model did not answer within 60 seconds",
)
COMMENTS = ("wrong period", "numbers look off", "not what I asked", "too slow")


def sql_array(words: tuple[str, ...]) -> str:
    assert all("'" not in w for w in words)
    return "ARRAY[" + ",".join(f"'{w}'" for w in words) + "]::text[]"


def pick(words: tuple[str, ...], u: str) -> str:
    """SQL: the element of ``words`` chosen by the uniform [0, 1) expression ``u``."""
    return f"({sql_array(words)})[1 + floor({u} * {len(words)})::int]"


# A deterministic uniform [0, 1) per (key, salt): reruns generate the same rows.
BENCH_U = """
CREATE FUNCTION bench_u(k bigint, salt int) RETURNS float8
IMMUTABLE PARALLEL SAFE LANGUAGE sql
AS $$ SELECT (hashint8extended(k, salt) & 4294967295)::float8 / 4294967296 $$
"""

SESSIONS_SQL = """
CREATE TEMP TABLE bench_sessions AS
SELECT g, md5(CAST(:slug AS text) || '/' || g)::uuid AS id,
  (CAST(:users AS bigint[]))[1 + floor(power(bench_u(g, :salt + 1), 1.7) * CAST(:n_users AS int))::int]
    AS user_id,
  CAST(:end AS timestamptz) - interval '365 days' * (1 - sqrt(bench_u(g, :salt + 2))) AS created,
  1 + floor(bench_u(g, :salt + 3) * 4)::int AS turns,
  CASE WHEN m < 0.50 THEN 'gpt-4o-mini' WHEN m < 0.75 THEN 'gpt-4.1'
       WHEN m < 0.90 THEN 'gpt-4o' ELSE 'local-llama' END AS model
FROM generate_series(1, :n) g, LATERAL (SELECT bench_u(g, :salt + 4) AS m) x
"""

TURNS_SQL = f"""
CREATE TEMP TABLE bench_turns AS
SELECT x.*,
  x.opener || ' ' || x.metric || ' by ' || x.dim || ' ' || x.period
    || coalesce(' for ' || x.subject, '') || '?' AS question,
  'SELECT ' || replace(x.dim, ' ', '_') || ', sum(' || replace(x.metric, ' ', '_') || ') AS '
    || replace(x.metric, ' ', '_') || ' FROM orders WHERE ordered_at >= '
    || quote_literal(to_char(x.at - interval '30 days', 'YYYY-MM-DD'))
    || ' GROUP BY 1 ORDER BY 2 DESC LIMIT 50' AS sql
FROM (
  SELECT s.id AS session_id, t, s.g * 8 + t AS k,
    s.created + t * interval '3 minutes' + bench_u(s.g * 8 + t, :salt + 5) * interval '1 minute'
      AS at,
    CASE WHEN bench_u(s.g * 8 + t, :salt + 6) < 0.175 THEN 2
         WHEN bench_u(s.g * 8 + t, :salt + 6) < 0.825 THEN 4 ELSE 6 END AS messages,
    CASE WHEN bench_u(s.g * 8 + t, :salt + 7) < 0.03 THEN 'gpt-4o' ELSE s.model END AS model,
    CASE WHEN bench_u(s.g * 8 + t, :salt + 8) < 0.20 THEN '{COMMON}'
         ELSE {pick(METRICS, "bench_u(s.g * 8 + t, :salt + 9)")} END AS metric,
    {pick(DIMENSIONS, "bench_u(s.g * 8 + t, :salt + 10)")} AS dim,
    {pick(PERIODS, "bench_u(s.g * 8 + t, :salt + 11)")} AS period,
    {pick(OPENERS, "bench_u(s.g * 8 + t, :salt + 12)")} AS opener,
    CASE WHEN bench_u(s.g * 8 + t, :salt + 13) < 0.005 THEN 'the {RARE} range'
         WHEN bench_u(s.g * 8 + t, :salt + 13) < 0.45
         THEN {pick(SUBJECTS, "bench_u(s.g * 8 + t, :salt + 14)")} END AS subject,
    {pick(VALUES, "bench_u(s.g * 8 + t, :salt + 15)")} AS w1,
    {pick(VALUES, "bench_u(s.g * 8 + t, :salt + 16)")} AS w2,
    {pick(VALUES, "bench_u(s.g * 8 + t, :salt + 17)")} AS w3,
    1000 + floor(bench_u(s.g * 8 + t, :salt + 18) * 90000)::int AS n1,
    bench_u(s.g * 8 + t, :salt + 19) < 0.01 AS answer_failed,
    CASE WHEN bench_u(s.g * 8 + t, :salt + 20) < 0.05 THEN
      CASE WHEN bench_u(s.g * 8 + t, :salt + 21) < 0.65 THEN 1 ELSE -1 END END AS feedback,
    bench_u(s.g * 8 + t, :salt + 22) < 0.5 AS second_tool_search
  FROM bench_sessions s, generate_series(0, s.turns - 1) t
) x
"""

SESSION_ROWS_SQL = """
INSERT INTO chat_sessions (id, tenant_id, user_id, title, created_at, updated_at)
SELECT s.id, :tenant, s.user_id, left(q.question, 80), s.created, s.created
FROM bench_sessions s JOIN bench_turns q ON q.session_id = s.id AND q.t = 0
ORDER BY s.created
"""

# step: user (p = 0), answer (the last), call (odd p: a model call asking for a tool), tool
MESSAGES_SQL = f"""
INSERT INTO chat_messages (session_id, tenant_id, role, content, model, input_tokens,
  output_tokens, cached_input_tokens, cost_usd, latency_ms, tool_name, tool_input, tool_output,
  error, feedback, feedback_comment, created_at)
SELECT x.session_id, :tenant,
  CASE x.step WHEN 'user' THEN 'user' WHEN 'tool' THEN 'tool' ELSE 'assistant' END,
  CASE x.step WHEN 'user' THEN x.question WHEN 'call' THEN ''
    WHEN 'answer' THEN CASE WHEN NOT x.answer_failed THEN
      'By ' || x.dim || ', ' || x.w1 || ' leads ' || x.metric || ' ' || x.period || ' with '
      || to_char(x.n1, 'FM999,999') || ', ahead of ' || x.w2 || ' ('
      || to_char(x.n1 * 2 / 3, 'FM999,999') || ') and ' || x.w3 || ' ('
      || to_char(x.n1 / 3, 'FM999,999') || '). '
      || {pick(CLOSINGS, "bench_u(x.mk, :salt + 30)")} END END,
  CASE WHEN x.model_step THEN x.model END,
  tk.input_tokens, tk.output_tokens, tk.cached_input_tokens,
  CASE WHEN tk.input_tokens IS NOT NULL AND pr.model IS NOT NULL THEN round(
    ((tk.input_tokens - tk.cached_input_tokens) * pr.input + tk.cached_input_tokens * pr.cached
     + tk.output_tokens * pr.output) / 1000000, 8) END,
  CASE x.step WHEN 'user' THEN NULL
    WHEN 'call' THEN 400 + floor(bench_u(x.mk, :salt + 31) * 3000)::int
    WHEN 'tool' THEN 15 + floor(power(bench_u(x.mk, :salt + 31), 3) * 3000)::int
    ELSE 700 + floor(bench_u(x.mk, :salt + 31) * 8000)::int END,
  CASE WHEN x.step = 'tool' THEN x.tool END,
  CASE x.step WHEN 'tool' THEN x.args
    WHEN 'call' THEN jsonb_build_object('tool_calls', jsonb_build_array(jsonb_build_object(
      'name', x.tool, 'args', x.args, 'id', 'call_' || left(md5(x.mk::text), 24),
      'type', 'tool_call'))) END,
  CASE WHEN x.step = 'tool' AND NOT x.tool_failed THEN
    CASE x.tool WHEN 'run_sql' THEN jsonb_build_object(
      'result_id', 'r' || x.mk, 'columns', jsonb_build_array(x.dim, x.metric),
      'row_count', 3 + floor(bench_u(x.mk, :salt + 32) * 40)::int, 'truncated', false,
      'elapsed_ms', 2 + floor(bench_u(x.mk, :salt + 33) * 400)::int,
      'rows', jsonb_build_array(jsonb_build_array(x.w1, x.n1),
        jsonb_build_array(x.w2, x.n1 * 2 / 3), jsonb_build_array(x.w3, x.n1 / 3)))
    ELSE jsonb_build_object('results_count', 10, 'skus', jsonb_build_array(
      'SKU-' || x.n1, 'SKU-' || (x.n1 + 7), 'SKU-' || (x.n1 + 19), 'SKU-' || (x.n1 + 31)))
    END END,
  CASE WHEN x.step = 'tool' AND x.tool_failed
         THEN {pick(TOOL_ERRORS, "bench_u(x.mk, :salt + 34)")}
       WHEN x.step = 'answer' AND x.answer_failed
         THEN {pick(MODEL_ERRORS, "bench_u(x.mk, :salt + 34)")} END,
  CASE WHEN x.step = 'answer' AND NOT x.answer_failed THEN x.feedback END,
  CASE WHEN x.step = 'answer' AND NOT x.answer_failed AND x.feedback = -1
            AND bench_u(x.mk, :salt + 35) < 0.5
       THEN {pick(COMMENTS, "bench_u(x.mk, :salt + 36)")} END,
  x.created_at
FROM (
  SELECT tr.*, p, tr.k * 8 + p AS mk, tr.at + p * interval '4 seconds' AS created_at,
    CASE WHEN p = 0 THEN 'user' WHEN p = tr.messages - 1 THEN 'answer'
         WHEN p % 2 = 1 THEN 'call' ELSE 'tool' END AS step,
    p > 0 AND (p = tr.messages - 1 OR p % 2 = 1) AS model_step,
    CASE WHEN p >= 3 AND tr.second_tool_search THEN 'search_products' ELSE 'run_sql' END AS tool,
    CASE WHEN p >= 3 AND tr.second_tool_search
         THEN jsonb_build_object('query', coalesce(tr.subject, tr.metric))
         ELSE jsonb_build_object('sql', tr.sql) END AS args,
    bench_u(tr.k * 8 + p, :salt + 37) < 0.03 AS tool_failed
  FROM bench_turns tr, generate_series(0, tr.messages - 1) p
) x
LEFT JOIN bench_prices pr ON pr.model = x.model
CROSS JOIN LATERAL (
  SELECT CASE WHEN x.model_step AND NOT (x.step = 'answer' AND x.answer_failed) THEN i END
           AS input_tokens,
         CASE WHEN x.model_step AND NOT (x.step = 'answer' AND x.answer_failed) THEN
           CASE x.step WHEN 'call' THEN 40 + floor(bench_u(x.mk, :salt + 38) * 180)::int
             ELSE 90 + floor(bench_u(x.mk, :salt + 38) * 420)::int END END AS output_tokens,
         CASE WHEN x.model_step AND NOT (x.step = 'answer' AND x.answer_failed) THEN
           CASE WHEN bench_u(x.mk, :salt + 39) < 0.6 THEN (floor(i * 0.6 / 128) * 128)::int
                ELSE 0 END END AS cached_input_tokens
  FROM (SELECT 2600 + 650 * x.t + 700 * (x.p / 2)
               + floor(bench_u(x.mk, :salt + 40) * 900)::int AS i) base
) tk
ORDER BY x.created_at
"""

# The first page, sorted by cost, the way it was computed before migration 0006 (the old
# view chat_session_totals aggregated chat_messages per session).
NAIVE_COUNT = "SELECT count(*) FROM chat_sessions s WHERE s.tenant_id = :tenant"
NAIVE_PAGE = """
SELECT s.id, s.title, s.created_at, s.updated_at, u.username,
  count(m.id) FILTER (WHERE m.role = 'user') AS questions,
  count(m.id) FILTER (WHERE m.role = 'assistant' AND m.model IS NOT NULL) AS model_calls,
  count(m.id) FILTER (WHERE m.role = 'tool') AS tool_calls,
  coalesce(sum(m.input_tokens), 0)::bigint AS input_tokens,
  coalesce(sum(m.output_tokens), 0)::bigint AS output_tokens,
  coalesce(sum(m.cached_input_tokens), 0)::bigint AS cached_input_tokens,
  sum(m.cost_usd) AS cost_usd,
  count(m.id) FILTER (WHERE m.role = 'assistant' AND m.error IS NULL AND m.cost_usd IS NULL)
    AS unpriced_calls,
  count(m.id) FILTER (WHERE m.error IS NOT NULL) AS errors
FROM chat_sessions s LEFT JOIN app_users u ON u.id = s.user_id
LEFT JOIN chat_messages m ON m.session_id = s.id
WHERE s.tenant_id = :tenant
GROUP BY s.id, u.username
ORDER BY sum(m.cost_usd) DESC NULLS LAST, s.id DESC
LIMIT 50
"""
NAIVE_USAGE = """
SELECT (m.created_at AT TIME ZONE t.timezone)::date AS day, count(*) AS model_calls,
  sum(m.input_tokens) AS input_tokens, sum(m.output_tokens) AS output_tokens,
  sum(m.cost_usd) AS cost_usd
FROM chat_messages m JOIN tenants t ON t.id = m.tenant_id
WHERE m.tenant_id = :tenant AND m.role = 'assistant' AND m.model IS NOT NULL
  AND m.created_at >= (CAST(:since AS date)::timestamp AT TIME ZONE t.timezone)
GROUP BY 1 ORDER BY 1
"""


def migration_0006() -> ModuleType:
    """Migration 0006 as a module (its name starts with a digit): its backfill statements."""
    path = migrate.MIGRATIONS_DIR / "versions" / "0006_admin_review.py"
    spec = importlib.util.spec_from_file_location("bichat_migration_0006", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def spread(values: list[float]) -> dict[str, float]:
    p50 = statistics.median(values)
    return {
        "p50_ms": round(p50, 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "meets_goal": p50 <= GOAL_MS,
    }


def load() -> float:
    return round(os.getloadavg()[0], 2)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"load average {os.getloadavg()}"


class Clock:
    """Wall-clock seconds per generation step."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.started = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self.started, 2)
        self.started = now


async def run(connection: AsyncConnection, sql: str, **params: Any) -> Any:
    return await connection.execute(text(sql), params)


async def secondary_indexes(connection: AsyncConnection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes that back no constraint."""
    rows = await run(
        connection,
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = 'public' AND i.tablename = :table AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass('public.' || i.indexname))"
        " ORDER BY 1",
        table=table,
    )
    return [(r.indexname, r.indexdef) for r in rows]


async def add_tenant(
    connection: AsyncConnection, *, slug: str, timezone: str, users: int
) -> tuple[uuid.UUID, list[int]]:
    tenant = await connection.scalar(
        text("INSERT INTO tenants (slug, name, timezone) VALUES (:slug, :name, :tz) RETURNING id"),
        {"slug": slug, "name": f"{slug.title()} shop", "tz": timezone},
    )
    ids = []
    for name in (f"{slug}-analyst{i:02d}" for i in range(1, users + 1)):
        ids.append(
            await connection.scalar(
                text(
                    "INSERT INTO app_users (tenant_id, username, password_hash, role) "
                    "VALUES (:t, :u, 'not-a-hash', 'analyst') RETURNING id"
                ),
                {"t": tenant, "u": name},
            )
        )
    return tenant, ids


async def fill_tenant(
    connection: AsyncConnection,
    *,
    tenant: uuid.UUID,
    slug: str,
    users: list[int],
    sessions: int,
    salt: int,
) -> None:
    await run(
        connection,
        SESSIONS_SQL,
        slug=slug,
        users=users,
        n_users=len(users),
        salt=salt,
        end=END - timedelta(hours=1),
        n=sessions,
    )
    await run(connection, TURNS_SQL, salt=salt)
    await run(connection, SESSION_ROWS_SQL, tenant=tenant)
    await run(connection, MESSAGES_SQL, tenant=tenant, salt=salt)
    await run(connection, "DROP TABLE bench_turns, bench_sessions")


# Long: one transaction of bulk steps in their only possible order (triggers and indexes off,
# load, backfill, indexes and triggers back), each timed; then the counts it made.
async def generate(engine: AsyncEngine, sessions: int) -> dict[str, Any]:
    """Both tenants with their users, conversations and messages; returns what was made."""
    clock, module = Clock(), migration_0006()
    async with engine.begin() as connection:
        superuser = await connection.scalar(text("SELECT current_setting('is_superuser')"))
        if superuser == "on":  # no user triggers, and no foreign-key checks either
            await run(connection, "SET LOCAL session_replication_role = replica")
        else:
            await run(connection, "ALTER TABLE chat_messages DISABLE TRIGGER USER")
        await run(connection, "SET LOCAL work_mem = '256MB'")
        await run(connection, "SET LOCAL maintenance_work_mem = '512MB'")
        dropped = await secondary_indexes(connection, "chat_messages")
        for name, _ in dropped:
            await run(connection, f"DROP INDEX {name}")
        await run(connection, BENCH_U)
        await run(
            connection,
            "CREATE TEMP TABLE bench_prices (model text, input numeric, cached numeric, "
            "output numeric)",
        )
        for name, price in price_table().items():
            await run(
                connection,
                "INSERT INTO bench_prices VALUES (:m, :i, :c, :o)",
                m=name,
                i=price.input,
                c=price.cached_input,
                o=price.output,
            )
        bench, bench_users = await add_tenant(
            connection, slug="bench", timezone=BENCH_TIMEZONE, users=USERS
        )
        small, small_users = await add_tenant(
            connection, slug="small", timezone="UTC", users=SMALL_USERS
        )
        await fill_tenant(
            connection, tenant=bench, slug="bench", users=bench_users, sessions=sessions, salt=0
        )
        await fill_tenant(
            connection,
            tenant=small,
            slug="small",
            users=small_users,
            sessions=SMALL_SESSIONS,
            salt=100,
        )
        clock.lap("insert_sessions_and_messages_s")
        await run(connection, module.BACKFILL_SESSIONS)
        clock.lap("backfill_sessions_s")
        await run(connection, module.BACKFILL_USAGE)
        clock.lap("backfill_usage_s")
        # The trigger sets updated_at when a message arrives (a conversation's list date).
        await run(connection, "UPDATE chat_sessions SET updated_at = last_message_at")
        clock.lap("session_dates_s")
        for _, definition in dropped:
            await run(connection, definition)
        clock.lap("create_message_indexes_s")
        await run(connection, "DROP FUNCTION bench_u(bigint, int)")
        if superuser != "on":
            await run(connection, "ALTER TABLE chat_messages ENABLE TRIGGER USER")
    async with engine.connect() as connection:
        vacuum = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await run(vacuum, "VACUUM FULL chat_sessions")  # the backfill rewrote every row twice
        await run(vacuum, "VACUUM (ANALYZE) chat_messages, chat_usage_daily, app_users, tenants")
        await run(vacuum, "ANALYZE chat_sessions")
        clock.lap("vacuum_analyze_s")
        counts = (
            await run(
                vacuum,
                "SELECT (SELECT count(*) FROM chat_sessions WHERE tenant_id = :t) AS sessions, "
                "(SELECT count(*) FROM chat_messages WHERE tenant_id = :t) AS messages, "
                "(SELECT count(*) FROM chat_usage_daily WHERE tenant_id = :t) AS usage_rows, "
                "(SELECT count(*) FROM chat_sessions WHERE tenant_id = :s) AS small_sessions, "
                "(SELECT count(*) FROM chat_messages WHERE tenant_id = :s) AS small_messages",
                t=bench,
                s=small,
            )
        ).one()
        shape = (
            await run(
                vacuum,
                "SELECT count(*) FILTER (WHERE errors > 0) AS with_errors, "
                "count(*) FILTER (WHERE thumbs_down > 0) AS with_thumbs_down, "
                "count(*) FILTER (WHERE :model = ANY(models)) AS with_unpriced_model, "
                "(SELECT count(*) FROM chat_messages WHERE tenant_id = :t AND error IS NOT NULL)"
                "  AS error_messages, "
                "(SELECT count(*) FROM chat_messages WHERE tenant_id = :t AND role = 'user') "
                "  AS questions "
                "FROM chat_sessions WHERE tenant_id = :t",
                t=bench,
                model=UNPRICED,
            )
        ).one()
        busiest = await vacuum.scalar(
            text(
                "SELECT u.username FROM chat_sessions s JOIN app_users u ON u.id = s.user_id "
                "WHERE s.tenant_id = :t GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            ),
            {"t": bench},
        )
    return {
        "generation_s": round(sum(clock.steps.values()), 1),
        "generation_steps": clock.steps,
        "rows": {**counts._asdict(), **shape._asdict()},
        "triggers_off_by": "session_replication_role" if superuser == "on" else "DISABLE TRIGGER",
        "bench": bench,
        "small": small,
        "busiest_user": busiest,
    }


class StatementLog:
    """The statements (with their parameters) the engine sends while ``on``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on, self.statements = False, []
        event.listen(engine.sync_engine, "before_cursor_execute", self.record)

    def record(self, *args: Any) -> None:
        statement, parameters = args[2], args[3]
        if self.on and statement.lstrip().startswith("SELECT"):
            self.statements.append((statement, parameters))


async def timings(call: Callable[[], Awaitable[Any]], runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    values = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        values.append((time.perf_counter() - started) * 1000)
    return values


def literal(value: Any) -> str:
    """``value`` as an SQL literal for ``EXECUTE`` (the prepared statement types it)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def explain(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, with a custom plan (the parameters'
    values known) and with the generic plan that a prepared statement settles on after five
    executions (asyncpg prepares every statement and SQLAlchemy keeps them per connection)."""
    plans = []
    async with engine.connect() as connection:
        for statement, parameters in statements:
            custom = await connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            )
            await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            await connection.exec_driver_sql("PREPARE bench_plan AS " + statement)
            values = ", ".join(literal(v) for v in parameters)
            generic = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_plan({values})"
            )
            await connection.exec_driver_sql("DEALLOCATE bench_plan")
            await connection.exec_driver_sql("RESET plan_cache_mode")
            plans.append(
                f"{statement}\n-- parameters {parameters}\n-- custom plan:\n"
                + "\n".join(r[0] for r in custom)
                + "\n-- generic plan:\n"
                + "\n".join(r[0] for r in generic)
            )
    return plans


async def plans_used(engine: AsyncEngine, statements: list[tuple[str, Any]]) -> list[list[int]]:
    """[generic, custom] plans so far of each statement, on the pooled connection (the
    measurements run one at a time, so on one connection): pg_prepared_statements."""
    async with engine.connect() as connection:
        rows = await run(
            connection,
            "SELECT statement, sum(generic_plans) AS generic, sum(custom_plans) AS custom "
            "FROM pg_prepared_statements WHERE statement = ANY(:statements) GROUP BY 1",
            statements=[statement for statement, _ in statements],
        )
        found = {r.statement: [int(r.generic), int(r.custom)] for r in rows}
    return [found.get(statement, [0, 0]) for statement, _ in statements]


def list_cases(busiest: str) -> dict[str, SessionFilters]:
    return {
        "list: first page (date desc)": SessionFilters(),
        "list: page 50 (date desc)": SessionFilters(page=50),
        "list: sort by cost desc": SessionFilters(sort="cost"),
        "list: sort by tokens desc": SessionFilters(sort="tokens"),
        f"list: user {busiest} (busiest)": SessionFilters(user=busiest),
        f"list: model {UNPRICED}": SessionFilters(model=UNPRICED),
        "list: has_error": SessionFilters(has_error=True),
        "list: feedback down": SessionFilters(feedback="down"),
        f"list: one month ({MONTH[0]} to {MONTH[1]})": SessionFilters(
            since=MONTH[0], until=MONTH[1]
        ),
        f"list: text '{RARE}' (rare)": SessionFilters(text=RARE),
        f"list: text '{COMMON}' (common)": SessionFilters(text=COMMON),
    }


# Long: the list cases, one conversation, then usage over two periods: the admin pages' reads
# in one place, each timed the same way (runs after warm-up, load before and after).
async def measure_reads(
    engine: AsyncEngine, data: dict[str, Any], runs: int, warmup: int, explain_all: bool
) -> dict[str, Any]:
    bench: uuid.UUID = data["bench"]
    log = StatementLog(engine)
    results: dict[str, Any] = {}
    plans: dict[str, list[str]] = {}
    for name, filters in list_cases(data["busiest_user"]).items():
        log.statements, log.on = [], True
        page = await list_sessions(engine, tenant_id=bench, filters=filters)
        log.on = False
        planned = await plans_used(engine, log.statements)
        before = load()
        values = await timings(
            lambda f=filters: list_sessions(engine, tenant_id=bench, filters=f), runs, warmup
        )
        after = await plans_used(engine, log.statements)
        results[name] = {
            **spread(values),
            "matching": page.total,
            "page_rows": len(page.rows),
            # how the count and the page were planned during the runs: generic/custom
            "plans": [
                f"{a[0] - b[0]} generic/{a[1] - b[1]} custom"
                for a, b in zip(after, planned, strict=True)
            ],
            "load": [before, load()],
        }
        if explain_all or not results[name]["meets_goal"]:
            plans[name] = await explain(engine, log.statements)

    async with engine.connect() as connection:
        ids = list(
            (
                await run(connection, "SELECT id FROM chat_sessions WHERE tenant_id = :t", t=bench)
            ).scalars()
        )
        small_id = await connection.scalar(
            text("SELECT id FROM chat_sessions WHERE tenant_id = :t LIMIT 1"),
            {"t": data["small"]},
        )
    chosen = iter(random.Random(11).sample(ids, runs + warmup))
    before, messages = load(), []

    async def detail() -> None:
        found = await session_detail(engine, tenant_id=bench, session_id=next(chosen))
        messages.append(len(found.messages))

    values = await timings(detail, runs, warmup)
    results["session_detail (random conversation)"] = {
        **spread(values),
        "messages_p50": statistics.median(messages),
        "load": [before, load()],
    }
    try:
        await session_detail(engine, tenant_id=bench, session_id=small_id)
        results["session_detail (random conversation)"]["other_tenant_hidden"] = False
    except NotFound:
        results["session_detail (random conversation)"]["other_tenant_hidden"] = True

    periods = {
        "30 days": ((None, None), END),
        "year": (((END.date() - timedelta(days=364)).isoformat(), END.date().isoformat()), END),
    }
    for label, ((since, until), now) in periods.items():
        for by in ("day", "user", "model"):
            before = load()

            async def usage(
                by: str = by, since: Any = since, until: Any = until, now: datetime = now
            ) -> Any:
                period = parse_period(since, until, timezone=BENCH_TIMEZONE, now=now)
                return await usage_by(engine, tenant_id=bench, by=by, period=period)

            values = await timings(usage, runs, warmup)
            rows = await usage()
            results[f"usage by {by}, {label}"] = {
                **spread(values),
                "rows": len(rows),
                "model_calls": sum(r.model_calls for r in rows),
                "load": [before, load()],
            }
    return {"queries": results, "plans": plans}


async def measure_naive(engine: AsyncEngine, bench: uuid.UUID, runs: int) -> dict[str, Any]:
    """The old way of computing the first page by cost, and usage per day over a year."""

    async def page() -> list[Any]:
        async with engine.connect() as connection:
            await run(connection, NAIVE_COUNT, tenant=bench)
            return list(await run(connection, NAIVE_PAGE, tenant=bench))

    async def usage() -> list[Any]:
        async with engine.connect() as connection:
            since = END.date() - timedelta(days=364)
            return list(await run(connection, NAIVE_USAGE, tenant=bench, since=since))

    figures: dict[str, Any] = {}
    for name, call in (
        ("naive: first page by cost, aggregating chat_messages", page),
        ("naive: usage by day, year, from chat_messages", usage),
    ):
        before = load()
        values = await timings(call, runs, 1)
        figures[name] = {**spread(values), "load": [before, load()]}
    naive = await page()
    shipped = await list_sessions(engine, tenant_id=bench, filters=SessionFilters(sort="cost"))
    same = [r.id for r in naive] == [r.id for r in shipped.rows] and all(
        (a.cost_usd, a.questions, a.errors) == (b.cost_usd, b.questions, b.errors)
        for a, b in zip(naive, shipped.rows, strict=True)
    )
    figures["naive: first page by cost, aggregating chat_messages"]["same_page_as_shipped"] = same
    return figures


async def measure_writes(engine: AsyncEngine, bench: uuid.UUID, runs: int) -> dict[str, Any]:
    """One answer stored with ``add_message`` (the trigger updates the session's totals and
    upserts the day's usage), on random conversations; checks the trigger is back on."""
    async with engine.connect() as connection:
        ids = list(
            (
                await run(
                    connection,
                    "SELECT id FROM chat_sessions WHERE tenant_id = :t ORDER BY id LIMIT :n",
                    t=bench,
                    n=runs + 3,
                )
            ).scalars()
        )
        before = await connection.scalar(
            text("SELECT model_calls FROM chat_sessions WHERE id = :id"), {"id": ids[-1]}
        )
    message = Message(
        role="assistant",
        content="By channel, web leads.",
        model="gpt-4o-mini",
        input_tokens=3000,
        output_tokens=200,
        cached_input_tokens=0,
        cost_usd=Decimal("0.00057"),
        latency_ms=900,
    )
    chosen = iter(ids)

    async def write() -> None:
        await add_message(engine, session_id=next(chosen), tenant_id=bench, message=message)

    started_load = load()
    values = await timings(write, runs, 3)
    async with engine.connect() as connection:
        after = await connection.scalar(
            text("SELECT model_calls FROM chat_sessions WHERE id = :id"), {"id": ids[-1]}
        )
    return {
        "add_message (trigger on)": {
            **spread(values),
            "trigger_counted": after == before + 1,
            "load": [started_load, load()],
        }
    }


async def storage(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as connection:
        tables = {
            r.name: {
                "table_mb": float(r.table_mb),
                "indexes_mb": float(r.indexes_mb),
                "total_mb": float(r.total_mb),
            }
            for r in await run(
                connection,
                "SELECT c.relname AS name, "
                "round(pg_table_size(c.oid) / 1048576.0, 1) AS table_mb, "
                "round(pg_indexes_size(c.oid) / 1048576.0, 1) AS indexes_mb, "
                "round(pg_total_relation_size(c.oid) / 1048576.0, 1) AS total_mb "
                "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
                "AND c.relname = ANY(CAST(:tables AS text[])) ORDER BY 1",
                tables=list(TABLES),
            )
        }
        indexes = [
            {
                "table": r.tablename,
                "index": r.indexname,
                "mb": float(r.mb),
                "definition": r.indexdef,
            }
            for r in await run(
                connection,
                "SELECT i.tablename, i.indexname, i.indexdef, round(pg_relation_size("
                "  to_regclass('public.' || i.indexname)) / 1048576.0, 1) AS mb "
                "FROM pg_indexes i WHERE i.schemaname = 'public' "
                "AND i.tablename = ANY(:tables) ORDER BY 1, 2",
                tables=list(TABLES),
            )
        ]
        settings = {
            r.name: r.setting
            for r in await run(
                connection,
                "SELECT name, setting || coalesce(unit, '') AS setting FROM pg_settings "
                "WHERE name = ANY(:names) ORDER BY 1",
                names=[
                    "server_version",
                    "shared_buffers",
                    "work_mem",
                    "effective_cache_size",
                    "random_page_cost",
                    "max_parallel_workers_per_gather",
                    "jit",
                ],
            )
        }
    return {"tables": tables, "indexes": indexes, "server": settings}


async def measure(server: str, sessions: int, runs: int, explain_all: bool) -> dict[str, Any]:
    url = await create_database(server)
    engine = create_engine(url, timeout_s=30)
    figures: dict[str, Any] = {"sessions": sessions, "uptime_start": uptime()}
    try:
        await migrate.upgrade(engine)
        data = await generate(engine, sessions)
        figures |= {k: v for k, v in data.items() if k not in ("bench", "small")}
        report_generation(figures)
        figures["storage"] = await storage(engine)
        report_storage(figures["storage"])
        figures["uptime_before_reads"] = uptime()
        reads = await measure_reads(engine, data, runs, 3, explain_all)
        figures["queries"] = reads["queries"]
        figures["naive"] = await measure_naive(engine, data["bench"], 5)
        figures["writes"] = await measure_writes(engine, data["bench"], runs)
        figures["uptime_end"] = uptime()
        report_queries(figures, reads["plans"])
    finally:
        await engine.dispose()
        await drop_database(server, url)
    return figures


def report_generation(figures: dict[str, Any]) -> None:
    rows = figures["rows"]
    print(f"[{figures['uptime_start']}]", flush=True)
    print(
        f"generated {rows['sessions']:,} conversations, {rows['messages']:,} messages "
        f"({rows['questions']:,} questions, {rows['error_messages']:,} failed calls), "
        f"{rows['usage_rows']:,} chat_usage_daily rows for tenant bench; "
        f"{rows['small_sessions']:,} conversations / {rows['small_messages']:,} messages for "
        f"tenant small; in {figures['generation_s']} s (triggers off by "
        f"{figures['triggers_off_by']}): {figures['generation_steps']}",
        flush=True,
    )
    print(
        f"  conversations with errors {rows['with_errors']:,}, with a thumb down "
        f"{rows['with_thumbs_down']:,}, using {UNPRICED} {rows['with_unpriced_model']:,}; "
        f"busiest user {figures['busiest_user']}",
        flush=True,
    )


def report_storage(found: dict[str, Any]) -> None:
    print(f"server: {found['server']}", flush=True)
    for name, sizes in found["tables"].items():
        print(
            f"  {name}: table {sizes['table_mb']} MB, indexes {sizes['indexes_mb']} MB, "
            f"total {sizes['total_mb']} MB",
            flush=True,
        )
    print("indexes:", flush=True)
    for index in found["indexes"]:
        print(f"  {index['mb']:>7} MB  {index['definition']}", flush=True)


def report_queries(figures: dict[str, Any], plans: dict[str, list[str]]) -> None:
    print(f"[{figures['uptime_before_reads']}]  (before the reads)", flush=True)
    print(f"goal: p50 <= {GOAL_MS:.0f} ms", flush=True)
    groups = (figures["queries"], figures["naive"], figures["writes"])
    for group in groups:
        for name, found in group.items():
            extra = {
                k: v
                for k, v in found.items()
                if k not in ("p50_ms", "p95_ms", "meets_goal", "load")
            }
            verdict = "ok" if found["meets_goal"] else "MISSES GOAL"
            print(
                f"  {name:<52} p50 {found['p50_ms']:>8.1f} ms  p95 {found['p95_ms']:>8.1f} ms"
                f"  {verdict:<11} load {found['load']} {extra}",
                flush=True,
            )
    print(f"[{figures['uptime_end']}]  (after the reads)", flush=True)
    for name, statements in plans.items():
        print(f"\n=== EXPLAIN (ANALYZE, BUFFERS): {name}", flush=True)
        for plan in statements:
            print(plan + "\n", flush=True)
    missed = [
        name
        for group in groups
        for name, found in group.items()
        if not found["meets_goal"] and not name.startswith("naive")
    ]
    print(f"missing the goal: {missed or 'none'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="10,000 conversations, 100,000 messages"
    )
    parser.add_argument("--sessions", type=int, help="conversations of the bench tenant")
    parser.add_argument("--runs", type=int, default=40, help="measured calls per query")
    parser.add_argument("--explain", action="store_true", help="plans of every list query")
    args = parser.parse_args()
    sessions = args.sessions or (10_000 if args.quick else 100_000)
    figures = asyncio.run(measure(scratch_server(), sessions, args.runs, args.explain))
    print(json.dumps(figures, default=str), flush=True)


if __name__ == "__main__":
    main()
