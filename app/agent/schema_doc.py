"""The schema the model is told about: columns the reader can see (from the database), with
their meaning from ``prompts/schema.yaml``. (Metric definitions come from the semantic model,
``app.semantic.prompt_text``.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.tools.sql import READER_SCHEMAS
from db.roles import READER_GROUP

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
SCHEMA_FILE = PROMPTS_DIR / "schema.yaml"
IMPLICIT_COLUMNS = frozenset({"tenant_id"})  # row-level security scopes every query already
SHORT_TYPES = {
    "timestamp with time zone": "timestamptz",
    "character varying": "text",
    "double precision": "float",
    "boolean": "bool",
    "integer": "int",
    "smallint": "int",
}

READABLE_COLUMNS_SQL = text(
    "SELECT c.relname AS table_name, a.attname AS column_name, "
    "format_type(a.atttypid, a.atttypmod) AS data_type "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE a.attnum > 0 AND NOT a.attisdropped AND (n.nspname || '.' || c.relname) = ANY(:names) "
    "AND has_column_privilege(:role, c.oid, a.attnum, 'SELECT') ORDER BY c.relname, a.attnum"
)


@dataclass(frozen=True)
class TableDoc:
    description: str
    columns: dict[str, str]
    joins: tuple[str, ...]
    internal: bool = False


@dataclass(frozen=True)
class SchemaDoc:
    notes: tuple[str, ...]
    tables: dict[str, TableDoc]


@functools.cache
def load_schema_doc(path: Path = SCHEMA_FILE) -> SchemaDoc:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    tables = {
        name: TableDoc(
            description=str(table["description"]),
            columns={str(k): str(v) for k, v in table["columns"].items()},
            joins=tuple(table.get("joins", ())),
            internal=bool(table.get("internal", False)),
        )
        for name, table in data["tables"].items()
    }
    return SchemaDoc(notes=tuple(data.get("notes", ())), tables=tables)


async def readable_columns(engine: AsyncEngine) -> dict[str, list[tuple[str, str]]]:
    """``table -> [(column, type)]`` for every column the reader roles may SELECT."""
    names = [f"{schema}.{table}" for table, schema in sorted(READER_SCHEMAS.items())]
    async with engine.connect() as connection:
        rows = await connection.execute(
            READABLE_COLUMNS_SQL, {"names": names, "role": READER_GROUP}
        )
    columns: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        columns.setdefault(row.table_name, []).append((row.column_name, short_type(row.data_type)))
    return columns


def short_type(data_type: str) -> str:
    base, _, rest = data_type.partition("(")
    short = SHORT_TYPES.get(base, base)
    return f"{short}({rest}" if rest and short == base else short


def undocumented(doc: SchemaDoc, columns: dict[str, list[tuple[str, str]]]) -> list[str]:
    """``table.column`` names the reader can see that ``schema.yaml`` does not describe."""
    missing = []
    for table, table_columns in columns.items():
        described = doc.tables.get(table)
        for column, _ in table_columns:
            if described is None or not described.columns.get(column, "").strip():
                missing.append(f"{table}.{column}")
    return missing


def render_schema(doc: SchemaDoc, columns: dict[str, list[tuple[str, str]]]) -> str:
    """Compact text: one line per table, then ``column type: meaning`` lines and join paths."""
    blocks = []
    for table, described in doc.tables.items():
        table_columns = columns.get(table)
        if not table_columns:
            continue
        names = {name for name, _ in table_columns}
        key = " (key id)" if "id" in names else ""
        lines = [f"{table}{key}: {described.description}"]
        if described.internal:
            blocks.append(lines[0])
            continue
        lines += [
            f"  {name} {kind}: {described.columns.get(name, '')}"
            for name, kind in table_columns
            if name not in IMPLICIT_COLUMNS and name != "id"
        ]
        lines += [f"  join {join}" for join in described.joins]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def render_notes(doc: SchemaDoc) -> str:
    return "\n".join(f"- {note}" for note in doc.notes)
