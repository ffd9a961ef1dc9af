"""Programmatic access: personal API tokens, and where each conversation was asked from.

- ``api_tokens``: a token acts as its user in the user's shop (REST API under ``/api/v1`` and
  the MCP server). Only the SHA-256 of the token is stored (``token_sha256``, unique) with its
  first characters (``prefix``) to recognise it in lists; ``revoked_at`` and ``expires_at``
  stop it, ``last_used_at`` says when it was last used. Never readable by the reader roles.
- ``chat_sessions.channel``: ``chat``, ``cli``, ``api`` or ``mcp`` (existing sessions were
  asked in the chat or with ``bichat ask``; they become ``chat``), and
  ``chat_sessions.api_token_id``: the token an API or MCP conversation was asked with.
"""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0009", "0008"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "token_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_api_tokens_sha256_hex")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_users.id"],
            name=op.f("fk_api_tokens_user_id_app_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["app_users.id"],
            name=op.f("fk_api_tokens_created_by_app_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_index(op.f("ix_api_tokens_tenant_id_user_id"), "api_tokens", ["tenant_id", "user_id"])
    op.add_column(
        "chat_sessions",
        sa.Column("channel", sa.Text(), server_default="chat", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_chat_sessions_channel_known"),
        "chat_sessions",
        "channel IN ('chat', 'cli', 'api', 'mcp')",
    )
    op.add_column("chat_sessions", sa.Column("api_token_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_chat_sessions_api_token_id_api_tokens"),
        "chat_sessions",
        "api_tokens",
        ["api_token_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_chat_sessions_api_token_id_api_tokens"), "chat_sessions", type_="foreignkey"
    )
    op.drop_column("chat_sessions", "api_token_id")
    op.drop_constraint(op.f("ck_chat_sessions_channel_known"), "chat_sessions", type_="check")
    op.drop_column("chat_sessions", "channel")
    op.drop_index(op.f("ix_api_tokens_tenant_id_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
