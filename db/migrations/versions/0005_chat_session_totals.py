"""Session totals in one query: the view ``chat_session_totals``.

One row per chat session with its message, model-call and tool-call counts, tokens, cost and
errors. Model calls are assistant rows with a model (a turn cut short by its limits stores
its closing message without one). ``cost_usd`` sums the calls whose price is known; ``unpriced_calls`` counts model
calls of models missing from the price table (their cost is NULL, never 0), so a total with
unpriced calls is a lower bound and says so.
"""

from alembic import op

revision, down_revision = "0005", "0004"

CREATE_VIEW = """
CREATE VIEW chat_session_totals AS
SELECT s.id AS session_id,
       s.tenant_id,
       s.user_id,
       s.title,
       s.created_at,
       s.updated_at,
       count(m.id) FILTER (WHERE m.role = 'user') AS questions,
       count(m.id) FILTER (WHERE m.role = 'assistant' AND m.model IS NOT NULL) AS model_calls,
       count(m.id) FILTER (WHERE m.role = 'tool') AS tool_calls,
       coalesce(sum(m.input_tokens), 0)::bigint AS input_tokens,
       coalesce(sum(m.output_tokens), 0)::bigint AS output_tokens,
       coalesce(sum(m.cached_input_tokens), 0)::bigint AS cached_input_tokens,
       sum(m.cost_usd) AS cost_usd,
       count(m.id) FILTER (
         WHERE m.role = 'assistant' AND m.error IS NULL AND m.cost_usd IS NULL
       ) AS unpriced_calls,
       count(m.id) FILTER (WHERE m.error IS NOT NULL) AS errors,
       max(m.created_at) AS last_message_at
FROM chat_sessions s
LEFT JOIN chat_messages m ON m.session_id = s.id
GROUP BY s.id
"""


def upgrade() -> None:
    op.execute(CREATE_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW chat_session_totals")
