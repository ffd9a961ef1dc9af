"""The semantic layer's data: the values index and the shop's first day of the week.

- ``dimension_values``: each distinct value of a categorical dimension per shop (channel,
  status, countries with their names, regions, cities, segments, categories with their
  parents, brands, products, customers), with its label, parent and synonyms; rebuilt by
  bichat after ``db seed``, ``db load-csv`` and ``db embed`` (app/semantic/values.py), so
  filters can be checked and questions' words recognised without scanning the facts.
- ``dimension_value_refreshes``: when each shop's index was last rebuilt.
- ``tenants.week_start``: the day weeks start on (Monday unless the shop says otherwise),
  for week grains and "this week". Not granted to readers: bichat reads it, queries don't.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision, down_revision = "0007", "0006"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def upgrade() -> None:
    op.add_column(
        "tenants", sa.Column("week_start", sa.Text(), server_default="monday", nullable=False)
    )
    names = ", ".join(f"'{day}'" for day in WEEKDAYS)
    op.create_check_constraint(
        op.f("ck_tenants_week_start_weekday"), "tenants", f"week_start IN ({names})"
    )
    op.create_table(
        "dimension_values",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("parent", sa.Text(), nullable=True),
        sa.Column(
            "synonyms",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("occurrences", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dimension_values_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "dimension", "value", name=op.f("pk_dimension_values")
        ),
    )
    op.create_table(
        "dimension_value_refreshes",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column(
            "refreshed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("value_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dimension_value_refreshes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_dimension_value_refreshes")),
    )


def downgrade() -> None:
    op.drop_table("dimension_value_refreshes")
    op.drop_table("dimension_values")
    op.drop_constraint(op.f("ck_tenants_week_start_weekday"), "tenants", type_="check")
    op.drop_column("tenants", "week_start")
