"""Keyword search for readers through the full-text GIN index.

Under row-level security PostgreSQL evaluates only leakproof operators before the policy,
and the text-search match operator is not marked leakproof: a reader's full-text query
cannot use the GIN index and scans every product. This SECURITY DEFINER function runs the
match as the owner (no policy in the way) and scopes it explicitly to the caller's tenant,
found the same way as the policies do (``bichat_reader_tenant_id()``, from session_user). It
returns only product ids and ranks of that tenant.
"""

from alembic import op

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    op.execute("""
CREATE FUNCTION public.bichat_keyword_search(query text, max_rows integer)
RETURNS TABLE (product_id bigint, rank real)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT p.id, ts_rank_cd(p.search_document, websearch_to_tsquery('english', query))
  FROM public.products p
  WHERE p.tenant_id = public.bichat_reader_tenant_id()
    AND p.search_document @@ websearch_to_tsquery('english', query)
  ORDER BY 2 DESC, 1
  LIMIT least(max_rows, 1000)
$$""")
    op.execute("REVOKE ALL ON FUNCTION public.bichat_keyword_search(text, integer) FROM PUBLIC")
    op.execute(
        "GRANT EXECUTE ON FUNCTION public.bichat_keyword_search(text, integer) TO bichat_reader"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION public.bichat_keyword_search(text, integer)")
