"""Reader roles, the non-PII customers view and forced row-level security by tenant.

How a reader connection is bound to its tenant (see README, "Security model"):
every tenant gets its own login role (created by ``bichat tenants create``, recorded in
``tenant_readers``), a member of the group role ``bichat_reader`` that holds the SELECT
grants. Row-level security compares each row's ``tenant_id`` with the tenant of
``session_user``: the role the connection logged in as, which no statement or function can
change without superuser rights (``SET ROLE`` changes ``current_user`` only, and
``SET SESSION AUTHORIZATION`` needs superuser). ``set_config`` and other session-altering
functions are revoked from PUBLIC, so a query cannot change its settings either.
"""

from alembic import op

revision, down_revision = "0002", "0001"

READER_GROUP = "bichat_reader"
TENANT_SCOPED_TABLES = (
    "categories",
    "products",
    "customers",
    "orders",
    "order_items",
    "reviews",
    "product_events",
    "bundle_rules",
    "product_embeddings",
    "search_logs",
)
CUSTOMER_COLUMNS = (
    "id, tenant_id, customer_ref, first_name, last_name, city, region, country, segment, created_at"
)
TENANT_COLUMNS = "id, slug, name, currency, timezone, created_at"
# Functions a query could use to change its session, hold locks, signal backends, sleep or
# write large objects. (Unlock functions stay: asyncpg's pool reset calls
# pg_advisory_unlock_all, and releasing a lock harms nobody.)
REVOKED_FUNCTIONS = (
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "pg_notify",
    "pg_cancel_backend",
    "pg_terminate_backend",
)


def _each_revoked_function(action: str) -> str:
    names = ", ".join(f"'{name}'" for name in REVOKED_FUNCTIONS)
    return f"""
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'pg_catalog'
             AND (p.proname IN ({names}) OR p.proname LIKE 'lo\\_%' OR p.proname IN ('loread', 'lowrite'))
  LOOP
    {action}
  END LOOP;
END $$"""


TEMP_PRIVILEGE = """
DO $$ BEGIN
  EXECUTE format('{action} TEMPORARY ON DATABASE %I {direction} PUBLIC', current_database());
END $$"""


def upgrade() -> None:
    op.execute(f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER_GROUP}') THEN
    CREATE ROLE {READER_GROUP} NOLOGIN;
  END IF;
END $$""")
    op.execute("""
CREATE FUNCTION public.bichat_reader_tenant_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT tenant_id FROM public.tenant_readers WHERE role_name = session_user::text
$$""")
    op.execute("REVOKE ALL ON FUNCTION public.bichat_reader_tenant_id() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION public.bichat_reader_tenant_id() TO {READER_GROUP}")

    op.execute("CREATE SCHEMA bi")
    op.execute(f"""
CREATE VIEW bi.customers WITH (security_invoker = true, security_barrier = true) AS
SELECT {CUSTOMER_COLUMNS} FROM public.customers""")
    op.execute("COMMENT ON VIEW bi.customers IS 'customers without PII (email, phone, birth date)'")
    op.execute(f"GRANT USAGE ON SCHEMA bi, public TO {READER_GROUP}")
    op.execute(f"GRANT SELECT ON bi.customers TO {READER_GROUP}")
    op.execute(f"GRANT SELECT ({CUSTOMER_COLUMNS}) ON public.customers TO {READER_GROUP}")
    op.execute(f"GRANT SELECT ({TENANT_COLUMNS}) ON public.tenants TO {READER_GROUP}")
    for table in TENANT_SCOPED_TABLES:
        if table != "customers":
            op.execute(f"GRANT SELECT ON public.{table} TO {READER_GROUP}")

    for table in ("tenants", *TENANT_SCOPED_TABLES):
        column = "id" if table == "tenants" else "tenant_id"
        op.execute(f"ALTER TABLE public.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE public.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY bichat_owner ON public.{table} TO CURRENT_USER USING (true) "
            "WITH CHECK (true)"
        )
        op.execute(
            f"CREATE POLICY bichat_tenant_read ON public.{table} FOR SELECT TO {READER_GROUP} "
            f"USING ({column} = (SELECT public.bichat_reader_tenant_id()))"
        )

    op.execute(
        _each_revoked_function(
            "EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);"
            " EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER', f);"
        )
    )
    op.execute(TEMP_PRIVILEGE.format(action="REVOKE", direction="FROM"))


def downgrade() -> None:
    op.execute(TEMP_PRIVILEGE.format(action="GRANT", direction="TO"))
    op.execute(
        _each_revoked_function("EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);")
    )
    for table in ("tenants", *TENANT_SCOPED_TABLES):
        op.execute(f"DROP POLICY IF EXISTS bichat_tenant_read ON public.{table}")
        op.execute(f"DROP POLICY IF EXISTS bichat_owner ON public.{table}")
        op.execute(f"ALTER TABLE public.{table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE public.{table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP SCHEMA bi CASCADE")
    op.execute("DROP FUNCTION public.bichat_reader_tenant_id()")
    op.execute(f"""
DO $$
DECLARE r text;
BEGIN
  FOR r IN SELECT role_name FROM public.tenant_readers LOOP
    EXECUTE format('DROP ROLE IF EXISTS %I', r);
  END LOOP;
  DELETE FROM public.tenant_readers;
  EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {READER_GROUP}';
  EXECUTE 'REVOKE ALL ON SCHEMA public FROM {READER_GROUP}';
  BEGIN
    DROP ROLE {READER_GROUP};
  EXCEPTION WHEN dependent_objects_still_exist THEN
    NULL;  -- another database on this server still grants to it
  END;
END $$""")
