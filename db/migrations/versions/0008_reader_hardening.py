"""Reader hardening after the red-team review (issue 14).

No writes from a READ ONLY reader: ``pg_logical_emit_message`` appends a message of any
size to the WAL (1 GB in 7 s), and ``txid_current()`` / ``pg_current_xact_id()`` assign a
transaction id (consuming xids towards wraparound), even in a READ ONLY transaction. They are
revoked from PUBLIC like the session-altering functions of 0002 (the owner keeps them).
``tests/db/test_isolation.py`` calls every pg_catalog function a reader may still execute,
inside READ ONLY transactions under ``EXPLAIN (ANALYZE, WAL)``: none writes WAL or takes an id.

Two functions the SQL tool's rewritten SQL calls (see ``app.sqlguard`` layer 5 and
``app.tools.sql``):
- ``bichat_capped(value, max_bytes)`` returns ``value`` when it is at most ``max_bytes``
  bytes and fails otherwise. The guard puts it where a query builds or uses a value in one
  uninterruptible step (normalize, translate, ||, string_agg ...); a PL/pgSQL call is also a
  point where the server notices a cancel, so a statement timeout stops work between calls.
- ``bichat_row_within(row_bytes, max_bytes)`` fails for a result row over ``max_bytes``, so
  that the server never sends a row larger than the result may be.
"""

from alembic import op

revision, down_revision = "0008", "0007"

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


VALUE_CAP_FUNCTION = """
CREATE FUNCTION public.bichat_capped(value anyelement, max_bytes integer) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  IF pg_column_size(value) > max_bytes THEN
    RAISE EXCEPTION 'a value of % bytes reached a function or operator that takes at most % bytes there (one call on a large value cannot be cancelled)', pg_column_size(value), max_bytes
      USING ERRCODE = 'program_limit_exceeded',
            HINT = 'filter or aggregate before building long texts, arrays or JSON; search for, trim or translate short patterns; shorten texts first with left(x, n)';
  END IF;
  RETURN value;
END $$"""

ROW_CHECK_FUNCTION = """
CREATE FUNCTION public.bichat_row_within(row_bytes integer, max_bytes integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
  IF row_bytes > max_bytes THEN
    RAISE EXCEPTION 'bichat: result row of % bytes, over the limit of % bytes', row_bytes, max_bytes
      USING ERRCODE = 'program_limit_exceeded';
  END IF;
  RETURN true;
END $$"""


def upgrade() -> None:
    op.execute(
        _each_writing_function(
            "EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);"
            " EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER', f);"
        )
    )
    op.execute(VALUE_CAP_FUNCTION)
    op.execute(ROW_CHECK_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION public.bichat_row_within(integer, integer)")
    op.execute("DROP FUNCTION public.bichat_capped(anyelement, integer)")
    op.execute(
        _each_writing_function("EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);")
    )
