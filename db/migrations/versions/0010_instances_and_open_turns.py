"""Faults (issue 18): which process answers which question, so that a process that died
mid-turn leaves no trace-less turn behind; and SQL NULL where JSON null was stored.

- ``app_instances``: a running bichat process (``bichat serve``, ``bichat ask``): host, pid,
  the process's own start time (a pid may be reused), and ``seen_at`` (its heartbeat). While
  alive it holds an advisory lock on its id (app/turn/presence.py).
- ``open_turns``: a question being answered and the instance answering it, written with the
  question and deleted with the turn's last row. At start, and every half minute, a process
  closes the open turns of instances that are gone (their lock is free and their process is
  gone, or their heartbeat is long stale) as interrupted.
- ``chat_messages.tool_input``/``tool_output``: rows without one held the JSON value ``null``
  (the column type's default for Python None): now SQL NULL, as new rows are written.
"""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0010", "0009"


def upgrade() -> None:
    op.create_table(
        "app_instances",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("hostname", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_started_at", sa.Float(), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "seen_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_instances")),
    )
    op.create_table(
        "open_turns",
        sa.Column("question_id", sa.BigInteger(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["app_instances.id"],
            name=op.f("fk_open_turns_instance_id_app_instances"),
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["chat_messages.id"],
            name=op.f("fk_open_turns_question_id_chat_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", name=op.f("pk_open_turns")),
    )
    op.create_index(op.f("ix_open_turns_instance_id"), "open_turns", ["instance_id"])
    for column in ("tool_input", "tool_output"):
        op.execute(f"UPDATE chat_messages SET {column} = NULL WHERE {column} = 'null'::jsonb")


def downgrade() -> None:
    op.drop_index(op.f("ix_open_turns_instance_id"), table_name="open_turns")
    op.drop_table("open_turns")
    op.drop_table("app_instances")
