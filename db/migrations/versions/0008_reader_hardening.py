"""Reader hardening after the red-team review (issue 14): no writes from a READ ONLY reader.

A READ ONLY transaction still let a reader write: ``pg_logical_emit_message`` appends a
message of any size to the WAL (1 GB in 7 s), and ``txid_current()`` /
``pg_current_xact_id()`` assign a transaction id (consuming xids towards wraparound). They
are revoked from PUBLIC like the session-altering functions of 0002 (the owner keeps them).
``tests/db/test_isolation.py`` calls every pg_catalog function a reader may still execute,
inside READ ONLY transactions under ``EXPLAIN (ANALYZE, WAL)``: none writes WAL or takes an id.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Functions that write WAL or assign a transaction id even in a READ ONLY transaction.
WRITING_FUNCTIONS = ("pg_logical_emit_message", "txid_current", "pg_current_xact_id")


def _each_writing_function(action: str) -> str:
    names = ", ".join(f"'{name}'" for name in WRITING_FUNCTIONS)
    return f"""
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'pg_catalog' AND p.proname IN ({names})
  LOOP
    {action}
  END LOOP;
END $$"""


def upgrade() -> None:
    op.execute(
        _each_writing_function(
            "EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);"
            " EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER', f);"
        )
    )


def downgrade() -> None:
    op.execute(
        _each_writing_function("EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);")
    )
