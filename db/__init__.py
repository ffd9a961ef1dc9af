"""Database layer: engines, ORM models, migrations, roles and row-level security."""
