"""Application tables: users, conversations and the verified-query library.

Never readable by the SQL tool (no grants to the reader roles).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, TenantScoped, bigint_id, in_list, timestamp_now
from db.models.business import EMBEDDING_DIMENSIONS

USER_ROLES = ("admin", "analyst")
MESSAGE_ROLES = ("user", "assistant", "tool")
CHANNELS = ("chat", "cli", "api", "mcp")  # where a conversation was asked from
QUESTION_CHANNELS = (*CHANNELS, "voice")  # where a question was asked (voice: in the chat)


class AppUser(TenantScoped, Base):
    __tablename__ = "app_users"
    __table_args__ = (
        CheckConstraint(in_list("role", USER_ROLES), name="role_known"),
        CheckConstraint("username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$'", name="username_format"),
        Index(None, "tenant_id"),
    )

    id: Mapped[int] = bigint_id()
    username: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(Text, nullable=False, server_default="analyst")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = timestamp_now()


class ApiToken(TenantScoped, Base):
    """A personal API token (REST API and MCP): it acts as its user, in the user's shop. Only
    the SHA-256 of the token is kept; ``prefix`` is its first characters, to recognise it."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("token_sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        Index(None, "tenant_id", "user_id"),
    )

    id: Mapped[int] = bigint_id()
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    prefix: Mapped[str] = mapped_column(Text, nullable=False)
    token_sha256: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    created_at: Mapped[datetime] = timestamp_now()
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_users.id", ondelete="SET NULL")
    )  # the admin who made it (NULL: the command line)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def counter() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, server_default=text("0"))


def token_total() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, server_default=text("0"))


def sort_key(column: str) -> Any:
    return text(f"{column} DESC NULLS LAST")


class ChatSession(TenantScoped, Base):
    """A conversation. Its totals are kept by the trigger on ``chat_messages`` (migration
    0006), so the admin list sorts and filters without aggregating messages."""

    __tablename__ = "chat_sessions"
    __table_args__ = (
        *(
            Index(
                f"ix_chat_sessions_tenant_id_{column}",
                "tenant_id",
                sort_key(column),
                text("id DESC"),
            )
            for column in ("updated_at", "total_tokens", "cost_usd")
        ),
        Index(None, "user_id", "updated_at"),
        Index("ix_chat_sessions_models", "models", postgresql_using="gin"),
        Index("ix_chat_sessions_search", "search", postgresql_using="gin"),
        CheckConstraint(in_list("channel", CHANNELS), name="channel_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_users.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text, nullable=False, server_default="chat")
    api_token_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_tokens.id", ondelete="SET NULL")
    )  # the personal API token it was asked with (channels api and mcp)
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()
    questions: Mapped[int] = counter()
    model_calls: Mapped[int] = counter()
    tool_calls: Mapped[int] = counter()
    unpriced_calls: Mapped[int] = counter()
    errors: Mapped[int] = counter()
    thumbs_up: Mapped[int] = counter()
    thumbs_down: Mapped[int] = counter()
    input_tokens: Mapped[int] = token_total()
    output_tokens: Mapped[int] = token_total()
    cached_input_tokens: Mapped[int] = token_total()
    total_tokens: Mapped[int] = token_total()  # input + output
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(16, 8))
    models: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    last_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search: Mapped[Any | None] = mapped_column(TSVECTOR)  # the words of its messages (stripped)


class ChatMessage(TenantScoped, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        CheckConstraint(in_list("role", MESSAGE_ROLES), name="role_known"),
        CheckConstraint("feedback IS NULL OR feedback IN (-1, 1)", name="feedback_thumbs"),
        CheckConstraint(
            f"channel IS NULL OR {in_list('channel', QUESTION_CHANNELS)}", name="channel_known"
        ),
        CheckConstraint(
            "audio_ms IS NULL OR (channel = 'voice' AND audio_ms >= 0)", name="audio_of_voice"
        ),
        CheckConstraint(
            "coalesce(input_tokens, 0) >= 0 AND coalesce(output_tokens, 0) >= 0 "
            "AND coalesce(cached_input_tokens, 0) >= 0",
            name="tokens_not_negative",
        ),
        Index(None, "session_id", "created_at"),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[int] = bigint_id()
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cached_input_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 8))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    tool_name: Mapped[str | None] = mapped_column(Text)
    tool_input: Mapped[Any | None] = mapped_column(JSONB)
    tool_output: Mapped[Any | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[int | None] = mapped_column(SmallInteger)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now()
    channel: Mapped[str | None] = mapped_column(Text)  # a question's (migration 0014)
    audio_ms: Mapped[int | None] = mapped_column(Integer)  # a spoken question's length


class ChatUsageDaily(Base):
    """Model calls, tokens and cost per tenant, day (in the tenant's timezone), user and model;
    kept by the trigger on ``chat_messages`` (migration 0006)."""

    __tablename__ = "chat_usage_daily"
    __table_args__ = (
        Index(
            "uq_chat_usage_daily_key",
            "tenant_id",
            "day",
            "user_id",
            "model",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = bigint_id()
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )
    day: Mapped[date] = mapped_column(Date, nullable=False)
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_users.id", ondelete="SET NULL")
    )
    model: Mapped[str] = mapped_column(Text, nullable=False)
    model_calls: Mapped[int] = counter()
    input_tokens: Mapped[int] = token_total()
    output_tokens: Mapped[int] = token_total()
    cached_input_tokens: Mapped[int] = token_total()
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(16, 8))
    unpriced_calls: Mapped[int] = counter()
    errors: Mapped[int] = counter()


class VerifiedQuery(Base):
    __tablename__ = "verified_queries"
    __table_args__ = (Index(None, "tenant_id", "is_active"),)

    id: Mapped[int] = bigint_id()
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True
    )
    question: Mapped[str] = mapped_column(Text, nullable=False)
    sql: Mapped[str] = mapped_column(Text, nullable=False)
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIMENSIONS))
    embedding_model: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default="examples")
    source_message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("chat_messages.id", ondelete="SET NULL")
    )  # the answer it was promoted from
    verified_at: Mapped[datetime] = timestamp_now()
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))


class TenantReader(Base):
    """The login role through which the SQL tool reads one tenant's data (see db/roles.py)."""

    __tablename__ = "tenant_readers"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    role_name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    password: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()


class DimensionValue(Base):
    """The values index (app/semantic/values.py): each distinct value of a categorical
    dimension in one shop, with its label, parent and synonyms; rebuilt after seed, load-csv
    and embed. Derived from the business tables, read by bichat itself (never by readers)."""

    __tablename__ = "dimension_values"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)  # what SQL filters on
    label: Mapped[str] = mapped_column(Text, nullable=False)  # what people read
    parent: Mapped[str | None] = mapped_column(Text)  # the value one level up
    synonyms: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    occurrences: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")


class DimensionValueRefresh(Base):
    """When a shop's values index was last rebuilt (one row per shop)."""

    __tablename__ = "dimension_value_refreshes"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    refreshed_at: Mapped[datetime] = timestamp_now()
    value_count: Mapped[int] = mapped_column(Integer, nullable=False)


TILE_KINDS = ("metrics", "sql")  # a semantic query, or a verified query's SQL
DIGEST_FREQUENCIES = ("daily", "weekly")
DIGEST_RUN_STATUSES = ("running", "sent", "retry", "failed")


class Dashboard(TenantScoped, Base):
    """A user's dashboard of pinned answers (one per user); ``shared``: every user of the shop
    may view it (read-only)."""

    __tablename__ = "dashboards"
    __table_args__ = (Index(None, "tenant_id", "user_id", unique=True),)

    id: Mapped[int] = bigint_id()
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(Text, nullable=False, server_default="My dashboard")
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = timestamp_now()


class DashboardTile(TenantScoped, Base):
    """A pinned answer: its semantic query (``metrics``) or verified SQL (``sql``), its chart
    spec, and the last result (the cache, with the SQL it came from and when it ran)."""

    __tablename__ = "dashboard_tiles"
    __table_args__ = (
        CheckConstraint(in_list("kind", TILE_KINDS), name="kind_known"),
        CheckConstraint(
            "(kind = 'metrics' AND query IS NOT NULL) OR (kind = 'sql' AND sql IS NOT NULL)",
            name="query_of_kind",
        ),
        Index(None, "tenant_id", "dashboard_id"),
    )

    id: Mapped[int] = bigint_id()
    dashboard_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    query: Mapped[Any | None] = mapped_column(JSONB)
    sql: Mapped[str | None] = mapped_column(Text)
    chart: Mapped[Any | None] = mapped_column(JSONB)
    source_message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("chat_messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = timestamp_now()
    result: Mapped[Any | None] = mapped_column(JSONB)
    result_sql: Mapped[str | None] = mapped_column(Text)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Digest(TenantScoped, Base):
    """A schedule that sends a dashboard or one pinned answer (tile) as its user, daily or
    weekly at an hour of the shop's timezone, by e-mail and/or to a webhook."""

    __tablename__ = "digests"
    __table_args__ = (
        CheckConstraint(in_list("frequency", DIGEST_FREQUENCIES), name="frequency_known"),
        CheckConstraint("hour BETWEEN 0 AND 23", name="hour_of_day"),
        CheckConstraint(
            "(frequency = 'weekly') = (weekday IS NOT NULL) AND coalesce(weekday, 0) BETWEEN 0 AND 6",
            name="weekday_when_weekly",
        ),
        CheckConstraint("num_nonnulls(dashboard_id, tile_id) = 1", name="one_target"),
        CheckConstraint("num_nonnulls(email, webhook_url) >= 1", name="one_channel"),
        Index(None, "tenant_id"),
    )

    id: Mapped[int] = bigint_id()
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False
    )
    dashboard_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("dashboards.id", ondelete="CASCADE")
    )
    tile_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("dashboard_tiles.id", ondelete="CASCADE")
    )
    frequency: Mapped[str] = mapped_column(Text, nullable=False)
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # 0 = Monday
    hour: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    email: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = timestamp_now()


class DigestRun(TenantScoped, Base):
    """One due time of a digest: claimed once (unique digest and due time), its attempts,
    which channels it reached, the error of the last failure, what it sent."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        CheckConstraint(in_list("status", DIGEST_RUN_STATUSES), name="status_known"),
        Index(None, "digest_id", "due_at", unique=True),
        Index(None, "tenant_id", "started_at"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = bigint_id()
    digest_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False
    )
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="running")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    error: Mapped[str | None] = mapped_column(Text)
    content: Mapped[Any | None] = mapped_column(JSONB)
    started_at: Mapped[datetime] = timestamp_now()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppInstance(Base):
    """A running bichat process that answers questions (``bichat serve``, ``bichat ask``): it
    holds an advisory lock on its id for as long as it lives and beats ``seen_at``; the turns
    it has in flight are in ``open_turns`` (see app/turn/presence.py)."""

    __tablename__ = "app_instances"

    id: Mapped[int] = mapped_column(Integer, Identity(always=False), primary_key=True)
    hostname: Mapped[str] = mapped_column(Text, nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    process_started_at: Mapped[float] = mapped_column(Float, nullable=False)  # the OS's, epoch s
    started_at: Mapped[datetime] = timestamp_now()
    seen_at: Mapped[datetime] = timestamp_now()


class OpenTurn(Base):
    """A question being answered: stored with the question, gone with the turn's last row. One
    left behind by a process that died is closed as interrupted by the next start."""

    __tablename__ = "open_turns"
    __table_args__ = (Index(None, "instance_id"),)

    question_id: Mapped[int] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[int] = mapped_column(ForeignKey("app_instances.id"), nullable=False)
    opened_at: Mapped[datetime] = timestamp_now()


APPLICATION_TABLES: tuple[str, ...] = (
    "app_users",
    "chat_sessions",
    "chat_messages",
    "chat_usage_daily",
    "verified_queries",
    "tenant_readers",
    "dimension_values",
    "dimension_value_refreshes",
    "api_tokens",
    "dashboards",
    "dashboard_tiles",
    "digests",
    "digest_runs",
)
PROCESS_TABLES: tuple[str, ...] = ("app_instances", "open_turns")  # bichat's own, no tenant
