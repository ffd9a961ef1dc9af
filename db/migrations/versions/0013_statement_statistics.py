"""``pg_stat_statements`` in bichat's database, when the server has it.

The admin page of slow reader queries reads its view. The extension is created only when the
server offers it (``pg_available_extensions``: the embedded server after ``.ci/install``, most
packaged servers) and the owner may create it (a superuser, or a managed service's own
privileged role); otherwise this migration does nothing and the page says how to enable it.
Its statistics are gathered only when the module is also in ``shared_preload_libraries``.
"""

from alembic import op

revision, down_revision = "0013", "0012"


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements')
          THEN
            CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'pg_stat_statements not created: %', SQLERRM;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
