"""What admins review: a tenant's conversations (filtered, sorted, paged), one conversation
with every call, usage per day / user / model, and exports. Shared by ``/admin`` and
``bichat admin``; every query is scoped to one tenant.

Lists read the totals the session keeps (migration 0006) and usage reads
``chat_usage_daily``, so neither aggregates messages (benchmarks/admin.py). Dates are days
in the tenant's timezone; a conversation's date is its last activity (``updated_at``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.errors import InvalidInput, NotFound
from db.models.application import CHANNELS

SORTS = {"date": "s.updated_at", "tokens": "s.total_tokens", "cost": "s.cost_usd"}
FEEDBACK = ("up", "down", "any", "none")
MAX_PER_PAGE = 200
MAX_TEXT_CHARS = 200

SESSION_COLUMNS = (
    "s.id, s.title, s.created_at, s.updated_at, u.username, s.questions, s.model_calls, "
    "s.tool_calls, s.input_tokens, s.output_tokens, s.cached_input_tokens, s.total_tokens, "
    "s.cost_usd, s.unpriced_calls, s.errors, s.thumbs_up, s.thumbs_down, s.models, "
    "s.channel, s.api_token_id"
)
MESSAGE_COLUMNS = (
    "id, role, content, model, input_tokens, output_tokens, cached_input_tokens, cost_usd, "
    "latency_ms, tool_name, tool_input, tool_output, error, feedback, feedback_comment, "
    "created_at, channel, audio_ms"
)


@dataclass(frozen=True)
class SessionFilters:
    """The conversation list's filters, sort and page (the same for pages and CLI)."""

    user: str | None = None  # username
    since: date | None = None  # first day, inclusive
    until: date | None = None  # last day, inclusive
    model: str | None = None
    has_error: bool | None = None
    feedback: str | None = None  # up, down, any (either), none
    text: str | None = None  # words in a question or an answer
    channel: str | None = None  # chat, cli, api or mcp
    sort: str = "date"
    descending: bool = True
    page: int = 1
    per_page: int = 50

    def query_items(self) -> dict[str, str]:
        """The filters as URL query parameters (what ``parse_filters`` reads back)."""
        items: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == item.default:
                continue
            items[item.name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return items


FILTER_NAMES = frozenset(f.name for f in fields(SessionFilters))


def parse_filters(values: Mapping[str, str | None]) -> SessionFilters:
    """Filters from strings (query parameters, CLI options); empty values are ignored.
    Raises ``InvalidInput`` naming the bad value and what is accepted."""
    get = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
    unknown = set(get) - FILTER_NAMES
    if unknown:
        raise InvalidInput(f"unknown filter(s): {', '.join(sorted(unknown))}", code="bad_filter")
    since, until = parse_day(get.get("since"), "since"), parse_day(get.get("until"), "until")
    if since and until and since > until:
        raise InvalidInput(f"since ({since}) is after until ({until})", code="bad_filter")
    return SessionFilters(
        user=get.get("user"),
        since=since,
        until=until,
        model=get.get("model"),
        has_error=parse_flag(get.get("has_error"), "has_error"),
        feedback=choice(get.get("feedback"), FEEDBACK, "feedback"),
        text=check_text(get.get("text")),
        channel=choice(get.get("channel"), CHANNELS, "channel"),
        sort=choice(get.get("sort"), tuple(SORTS), "sort") or "date",
        descending=parse_flag(get.get("descending"), "descending") is not False,
        page=parse_count(get.get("page"), "page", default=1, maximum=1_000_000),
        per_page=parse_count(get.get("per_page"), "per_page", default=50, maximum=MAX_PER_PAGE),
    )


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date like 2026-11-01, not {value!r}", code="bad_filter"
        ) from None


def parse_flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"{name} must be yes or no, not {value!r}", code="bad_filter")


def choice(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        wanted = ", ".join(allowed)
        raise InvalidInput(f"{name} must be one of {wanted}, not {value!r}", code="bad_filter")
    return value


def parse_count(value: str | None, name: str, *, default: int, maximum: int) -> int:
    if value is None:
        return default
    if (
        not (value.isascii() and value.isdigit())
        or len(value) > 9
        or not 1 <= int(value) <= maximum
    ):
        raise InvalidInput(f"{name} must be a whole number from 1 to {maximum}", code="bad_filter")
    return int(value)


def check_text(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"the text filter is limited to {MAX_TEXT_CHARS} characters", code="bad_filter"
        )
    return value


@dataclass
class SessionRow:
    id: uuid.UUID
    title: str | None
    created_at: datetime
    updated_at: datetime
    username: str | None
    questions: int
    model_calls: int
    tool_calls: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    total_tokens: int
    cost_usd: Decimal | None
    unpriced_calls: int
    errors: int
    thumbs_up: int
    thumbs_down: int
    models: list[str]
    channel: str = "chat"  # where it was asked: chat, cli, api, mcp
    api_token_id: int | None = None  # the API token it was asked with

    def to_dict(self) -> dict[str, Any]:
        return json_ready(self.__dict__)


@dataclass
class SessionPage:
    rows: list[SessionRow]
    total: int
    filters: SessionFilters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.filters.page,
            "pages": self.pages,
            "sessions": [row.to_dict() for row in self.rows],
        }


@dataclass
class MessageRow:
    id: int
    role: str
    content: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    cost_usd: Decimal | None
    latency_ms: int | None
    tool_name: str | None
    tool_input: Any
    tool_output: Any
    error: str | None
    feedback: int | None
    feedback_comment: str | None
    created_at: datetime
    channel: str | None = None  # a question's (voice: spoken in the chat)
    audio_ms: int | None = None  # a spoken question's length

    def to_dict(self) -> dict[str, Any]:
        return json_ready(self.__dict__)


@dataclass
class SessionDetail:
    session: SessionRow
    messages: list[MessageRow] = field(default_factory=list)
    token_name: str | None = None  # the API token's name, for api and mcp conversations

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.session.to_dict(),
            **({"token_name": self.token_name} if self.session.api_token_id else {}),
            "messages": [m.to_dict() for m in self.messages],
        }


def json_ready(data: dict[str, Any]) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    return {key: convert(value) for key, value in data.items()}


# A filter's condition on ``s`` (chat_sessions), ``u`` (app_users) and ``t`` (tenants), bound
# to a parameter of the filter's own name.
VALUE_CONDITIONS = {
    "user": "u.username = :user",
    "since": "s.updated_at >= (CAST(:since AS date)::timestamp AT TIME ZONE t.timezone)",
    "until": "s.updated_at < ((CAST(:until AS date) + 1)::timestamp AT TIME ZONE t.timezone)",
    "model": "s.models @> ARRAY[CAST(:model AS text)]",
    "channel": "s.channel = :channel",
}


def session_conditions(filters: SessionFilters) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on ``s`` (chat_sessions) and ``u`` (app_users) with their parameters."""
    given = {name: getattr(filters, name) for name in VALUE_CONDITIONS}
    params: dict[str, Any] = {name: value for name, value in given.items() if value}
    where = ["s.tenant_id = :tenant", *(VALUE_CONDITIONS[name] for name in params)]
    if filters.has_error is not None:
        where.append("s.errors > 0" if filters.has_error else "s.errors = 0")
    where += feedback_conditions(filters.feedback)
    if filters.text:
        # the session's words carry no positions: a quoted phrase is its words, in any order
        where.append("s.search @@ websearch_to_tsquery('simple', :text)")
        params["text"] = filters.text.replace('"', " ")
    return where, params


def feedback_conditions(feedback: str | None) -> list[str]:
    return {
        "up": ["s.thumbs_up > 0"],
        "down": ["s.thumbs_down > 0"],
        "any": ["s.thumbs_up + s.thumbs_down > 0"],
        "none": ["s.thumbs_up + s.thumbs_down = 0"],
    }.get(feedback or "", [])


async def list_sessions(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, filters: SessionFilters
) -> SessionPage:
    async with engine.connect() as connection:
        return await sessions_page(connection, tenant_id=tenant_id, filters=filters)


async def sessions_page(
    connection: AsyncConnection, *, tenant_id: uuid.UUID, filters: SessionFilters
) -> SessionPage:
    where, params = session_conditions(filters)
    params |= {
        "tenant": tenant_id,
        "limit": filters.per_page,
        "offset": (filters.page - 1) * filters.per_page,
    }
    direction = "DESC NULLS LAST" if filters.descending else "ASC NULLS FIRST"
    source = (
        "FROM chat_sessions s JOIN tenants t ON t.id = s.tenant_id "
        "LEFT JOIN app_users u ON u.id = s.user_id WHERE " + " AND ".join(where)
    )
    order = f"{SORTS[filters.sort]} {direction}, s.id {direction.split()[0]}"
    total = await connection.scalar(text(f"SELECT count(*) {source}"), params)
    rows = await connection.execute(
        text(f"SELECT {SESSION_COLUMNS} {source} ORDER BY {order} LIMIT :limit OFFSET :offset"),
        params,
    )
    return SessionPage([SessionRow(**r._asdict()) for r in rows], int(total or 0), filters)


async def session_detail(
    engine: AsyncEngine,
    *,
    tenant_id: uuid.UUID,
    session_id: uuid.UUID | str,
    user_id: int | None = None,
) -> SessionDetail:
    """The conversation with every message and call; ``NotFound`` outside the tenant (and,
    with ``user_id``, for anyone else's conversation)."""
    try:
        wanted = uuid.UUID(str(session_id))
    except ValueError:
        raise NotFound(f"no conversation {session_id!r}", code="unknown_session") from None
    mine = " AND s.user_id = :user" if user_id is not None else ""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    f"SELECT {SESSION_COLUMNS}, k.name AS token_name FROM chat_sessions s "
                    "LEFT JOIN app_users u ON u.id = s.user_id "
                    "LEFT JOIN api_tokens k ON k.id = s.api_token_id "
                    f"WHERE s.id = :id AND s.tenant_id = :tenant{mine}"
                ),
                {"id": wanted, "tenant": tenant_id, "user": user_id},
            )
        ).first()
        if row is None:
            raise NotFound(f"no conversation {wanted} in this shop", code="unknown_session")
        values = row._asdict()
        token_name = values.pop("token_name")
        messages = await connection.execute(
            text(
                f"SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = :id "
                "AND tenant_id = :tenant ORDER BY created_at, id"
            ),
            {"id": wanted, "tenant": tenant_id},
        )
        return SessionDetail(
            SessionRow(**values), [MessageRow(**m._asdict()) for m in messages], token_name
        )


async def session_of_message(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, message_id: int
) -> uuid.UUID | None:
    """The conversation a message of the tenant belongs to (None: no such message here)."""
    async with engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT session_id FROM chat_messages WHERE id = :id AND tenant_id = :t"),
            {"id": message_id, "t": tenant_id},
        )
    return found if isinstance(found, uuid.UUID) else None


async def export_sessions(
    engine: AsyncEngine, *, tenant_id: uuid.UUID, filters: SessionFilters
) -> AsyncIterator[dict[str, Any]]:
    """Every conversation matching the filters (all pages, in the list's order), each with
    its messages. One REPEATABLE READ transaction: conversations that change meanwhile are
    neither skipped nor repeated. One query for sessions and one for messages per 200."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            page = 1
            while True:
                batch = await sessions_page(
                    connection,
                    tenant_id=tenant_id,
                    filters=replace(filters, page=page, per_page=MAX_PER_PAGE),
                )
                ids = [r.id for r in batch.rows]
                messages = await messages_of(connection, tenant_id=tenant_id, ids=ids)
                for row in batch.rows:
                    yield SessionDetail(row, messages.get(row.id, [])).to_dict()
                if page >= batch.pages:
                    return
                page += 1


async def messages_of(
    connection: AsyncConnection, *, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[MessageRow]]:
    found: dict[uuid.UUID, list[MessageRow]] = {}
    if not ids:
        return found
    rows = await connection.execute(
        text(
            f"SELECT session_id, {MESSAGE_COLUMNS} FROM chat_messages "
            "WHERE session_id = ANY(:ids) AND tenant_id = :tenant "
            "ORDER BY session_id, created_at, id"
        ),
        {"ids": ids, "tenant": tenant_id},
    )
    for row in rows:
        values = row._asdict()
        found.setdefault(values.pop("session_id"), []).append(MessageRow(**values))
    return found
