"""Voice questions (issue 19): where each question was asked, and how long it was spoken.

- ``chat_messages.channel``: a question's channel: ``chat``, ``cli``, ``api``, ``mcp`` (its
  conversation's), or ``voice`` (spoken in the chat and transcribed). NULL on other rows
  and on questions stored before this migration.
- ``chat_messages.audio_ms``: how long a spoken question's recording was (voice only).
"""

import sqlalchemy as sa
from alembic import op

revision, down_revision = "0014", "0013"

CHANNELS = "('chat', 'cli', 'api', 'mcp', 'voice')"


def upgrade() -> None:
    op.add_column("chat_messages", sa.Column("channel", sa.Text(), nullable=True))
    op.add_column("chat_messages", sa.Column("audio_ms", sa.Integer(), nullable=True))
    op.create_check_constraint(
        op.f("ck_chat_messages_channel_known"),
        "chat_messages",
        f"channel IS NULL OR channel IN {CHANNELS}",
    )
    op.create_check_constraint(
        op.f("ck_chat_messages_audio_of_voice"),
        "chat_messages",
        "audio_ms IS NULL OR (channel = 'voice' AND audio_ms >= 0)",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_chat_messages_audio_of_voice"), "chat_messages", type_="check")
    op.drop_constraint(op.f("ck_chat_messages_channel_known"), "chat_messages", type_="check")
    op.drop_column("chat_messages", "audio_ms")
    op.drop_column("chat_messages", "channel")
