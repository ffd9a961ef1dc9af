"""Dashboards of pinned answers, and scheduled digests.

- ``dashboards``: one per user (``shared``: every user of the shop may view it, read-only).
- ``dashboard_tiles``: a pinned answer: its semantic query (``kind = 'metrics'``, ``query``)
  or a verified query's SQL (``kind = 'sql'``, ``sql``), its chart spec, and the cache of its
  last result (``result``, the SQL it ran ``result_sql``, ``refreshed_at``).
- ``digests``: a dashboard or one tile sent daily or weekly at an hour of the shop's
  timezone, by e-mail and/or to a webhook, as its user.
- ``digest_runs``: one row per digest and due time (unique: the row is the claim, so one
  instance sends it), its status, attempts, next retry, lease, the channels it reached, error.

Never readable by the reader roles (no grants).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision, down_revision = "0012", "0010"


def identity() -> sa.Column[object]:
    return sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False)


def tenant(table: str) -> tuple[sa.Column[object], sa.ForeignKeyConstraint]:
    return (
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
        ),
    )


def refers(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def created(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "dashboards",
        identity(),
        *tenant("dashboards"),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), server_default="My dashboard", nullable=False),
        sa.Column("shared", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        created(),
        refers("dashboards", "user_id", "app_users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_dashboards"),
    )
    op.create_index(
        "ix_dashboards_tenant_id_user_id", "dashboards", ["tenant_id", "user_id"], unique=True
    )
    op.create_table(
        "dashboard_tiles",
        identity(),
        *tenant("dashboard_tiles"),
        sa.Column("dashboard_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("query", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("sql", sa.Text(), nullable=True),
        sa.Column("chart", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("source_message_id", sa.BigInteger(), nullable=True),
        created(),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("result_sql", sa.Text(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('metrics', 'sql')", name="ck_dashboard_tiles_kind_known"),
        sa.CheckConstraint(
            "(kind = 'metrics' AND query IS NOT NULL) OR (kind = 'sql' AND sql IS NOT NULL)",
            name="ck_dashboard_tiles_query_of_kind",
        ),
        refers("dashboard_tiles", "dashboard_id", "dashboards", "CASCADE"),
        refers("dashboard_tiles", "source_message_id", "chat_messages", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_tiles"),
    )
    op.create_index(
        "ix_dashboard_tiles_tenant_id_dashboard_id",
        "dashboard_tiles",
        ["tenant_id", "dashboard_id"],
    )
    op.create_table(
        "digests",
        identity(),
        *tenant("digests"),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("dashboard_id", sa.BigInteger(), nullable=True),
        sa.Column("tile_id", sa.BigInteger(), nullable=True),
        sa.Column("frequency", sa.Text(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=True),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        created(),
        sa.CheckConstraint("frequency IN ('daily', 'weekly')", name="ck_digests_frequency_known"),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name="ck_digests_hour_of_day"),
        sa.CheckConstraint(
            "(frequency = 'weekly') = (weekday IS NOT NULL) AND coalesce(weekday, 0) BETWEEN 0 AND 6",
            name="ck_digests_weekday_when_weekly",
        ),
        sa.CheckConstraint("num_nonnulls(dashboard_id, tile_id) = 1", name="ck_digests_one_target"),
        sa.CheckConstraint("num_nonnulls(email, webhook_url) >= 1", name="ck_digests_one_channel"),
        refers("digests", "user_id", "app_users", "CASCADE"),
        refers("digests", "dashboard_id", "dashboards", "CASCADE"),
        refers("digests", "tile_id", "dashboard_tiles", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
    )
    op.create_index("ix_digests_tenant_id", "digests", ["tenant_id"])
    op.create_table(
        "digest_runs",
        identity(),
        *tenant("digest_runs"),
        sa.Column("digest_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "delivered",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        created("started_at"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'sent', 'retry', 'failed')", name="ck_digest_runs_status_known"
        ),
        refers("digest_runs", "digest_id", "digests", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_digest_runs"),
    )
    op.create_index(
        "ix_digest_runs_digest_id_due_at", "digest_runs", ["digest_id", "due_at"], unique=True
    )
    op.create_index(
        "ix_digest_runs_tenant_id_started_at", "digest_runs", ["tenant_id", "started_at"]
    )
    op.create_index(
        "ix_digest_runs_status_next_attempt_at", "digest_runs", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    for table in ("digest_runs", "digests", "dashboard_tiles", "dashboards"):
        op.drop_table(table)
