"""``bichat db load-csv``: validate a folder of CSV files completely, then load it in one go.

1. Parse every file with its pydantic row model; every problem is collected as
   ``file:line: reason`` (header, values, duplicate keys, references, money that does not add up).
2. If there is any problem, nothing is written and all problems are reported.
3. Otherwise derived fields are filled in (unit prices from the catalogue, order subtotals from
   the items, totals), rows are COPYed into temporary staging tables and upserted by natural
   key with set-based SQL, in one transaction. Rows whose content did not change are not
   touched, so importing the same folder twice changes nothing.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.bulk import analyze, driver_connection
from db.csv_format import FILES, FILES_BY_NAME, CsvFile, CsvRow, OrderRow
from db.errors import BichatError
from db.tenants import TenantRecord

MAX_REPORTED_PROBLEMS = 1000


class CsvImportError(BichatError):
    code = "invalid_csv"

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = len(problems) - len(shown)
        suffix = f"\n... and {more} more" if more else ""
        super().__init__(
            f"{len(problems)} problem(s), nothing was written:\n" + "\n".join(shown) + suffix
        )
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": f"{len(self.problems)} problem(s), nothing was written",
                "problems": self.problems,
            }
        }


@dataclass
class ParsedFile:
    spec: CsvFile
    rows: list[Any] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


Parsed = dict[str, ParsedFile]


# ----- reading ---------------------------------------------------------------------------------


class UnreadableFile(Exception):
    """A file that is not UTF-8 CSV; the message is a ``file:line: reason`` problem."""


def read_records(path: Path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """The header and each non-blank record with the line it starts on."""
    found: list[tuple[int, list[str]]] = []
    start = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            start = reader.line_num + 1
            for values in reader:
                if any(v.strip() for v in values):
                    found.append((start, values))
                start = reader.line_num + 1
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"{path.name}: is not UTF-8 text (byte {error.start}): save it as UTF-8"
        ) from None
    except csv.Error as error:
        raise UnreadableFile(f"{path.name}:{start}: {error}") from None
    return header, found


def header_problems(spec: CsvFile, header: list[str] | None) -> list[str]:
    if not header:
        return [f"{spec.name}:1: the file is empty; expected a header: {','.join(spec.required)}"]
    names = [h.strip() for h in header]
    missing = [c for c in spec.required if c not in names]
    unknown = [c for c in names if c not in spec.columns]
    problems = []
    if missing:
        problems.append(
            f"{spec.name}:1: header is missing {', '.join(missing)} "
            f"(expected {','.join(spec.required)})"
        )
    if unknown:
        problems.append(
            f"{spec.name}:1: unknown column(s) {', '.join(unknown)} "
            f"(allowed: {','.join(spec.columns)})"
        )
    if len(set(names)) != len(names):
        problems.append(f"{spec.name}:1: a column appears twice in the header")
    return problems


def validation_reasons(error: ValidationError) -> list[str]:
    reasons = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        reasons.append(f"{where}: {message}" if where else message)
    return reasons


def parse_file(path: Path, spec: CsvFile, problems: list[str], zone: ZoneInfo) -> ParsedFile:
    parsed = ParsedFile(spec)
    try:
        header, found = read_records(path)
    except UnreadableFile as error:
        problems.append(str(error))
        return parsed
    header_issues = header_problems(spec, header)
    if header_issues or header is None:
        problems.extend(header_issues)
        return parsed
    names = [h.strip() for h in header]
    seen: dict[tuple[Any, ...], int] = {}
    for line, values in found:
        if len(values) != len(names):
            problems.append(
                f"{spec.name}:{line}: has {len(values)} cells, the header has {len(names)}"
            )
            continue
        record = dict(zip(names, values, strict=True))
        row = validate_record(spec, line, record, problems, zone)
        if row is not None and not duplicate(spec, row, line, seen, problems):
            parsed.rows.append(row)
            parsed.lines.append(line)
    return parsed


def validate_record(
    spec: CsvFile, line: int, record: dict[str, str], problems: list[str], zone: ZoneInfo
) -> CsvRow | None:
    try:
        row = spec.model.model_validate(record)
    except ValidationError as error:
        problems.extend(f"{spec.name}:{line}: {reason}" for reason in validation_reasons(error))
        return None
    localise_times(row, zone)  # before comparing times or keys
    for reason in row_rule_violations(row):
        problems.append(f"{spec.name}:{line}: {reason}")
        return None
    return row


def duplicate(
    spec: CsvFile, row: Any, line: int, seen: dict[tuple[Any, ...], int], problems: list[str]
) -> bool:
    if not spec.key:
        return False
    key = tuple(getattr(row, column) for column in spec.key)
    if key in seen:
        shown = ", ".join(f"{c}={v}" for c, v in zip(spec.key, key, strict=True))
        problems.append(f"{spec.name}:{line}: duplicate {shown} (first on line {seen[key]})")
        return True
    seen[key] = line
    return False


def row_rule_violations(row: CsvRow) -> list[str]:
    if not isinstance(row, OrderRow):
        return []
    problems = []
    if row.shipped_at and row.shipped_at < row.placed_at:
        problems.append("shipped_at is before placed_at")
    if row.delivered_at and row.delivered_at < (row.shipped_at or row.placed_at):
        problems.append("delivered_at is before shipped_at")
    return problems


def read_folder(folder: Path, zone: ZoneInfo) -> tuple[Parsed, list[str]]:
    if not folder.is_dir():
        raise CsvImportError([f"{folder}: not a folder"])
    problems: list[str] = []
    unknown = sorted(p.name for p in folder.glob("*.csv") if p.name not in FILES_BY_NAME)
    problems.extend(
        f"{name}: unknown file (expected any of {', '.join(FILES_BY_NAME)})" for name in unknown
    )
    parsed = {
        spec.name: parse_file(folder / spec.name, spec, problems, zone)
        for spec in FILES
        if (folder / spec.name).exists()
    }
    if not parsed and not unknown:
        problems.append(f"{folder}: no CSV files (expected any of {', '.join(FILES_BY_NAME)})")
    return parsed, problems


# ----- references and derived fields ---------------------------------------------------------


@dataclass
class ExistingKeys:
    categories: set[str]
    category_parents: dict[str, str | None]
    product_prices: dict[str, Decimal]
    customers: set[str]
    orders: set[str]
    order_subtotals: dict[str, Decimal]


async def existing_keys(connection: AsyncConnection, tenant_id: uuid.UUID) -> ExistingKeys:
    t = {"t": tenant_id}

    async def column(query: str) -> list[Any]:
        return list((await connection.execute(text(query), t)).all())

    parents = await column(
        "SELECT c.slug, p.slug FROM categories c LEFT JOIN categories p ON p.id = c.parent_id "
        "WHERE c.tenant_id = :t"
    )
    return ExistingKeys(
        {r[0] for r in parents},
        {r[0]: r[1] for r in parents},
        {r[0]: r[1] for r in await column("SELECT sku, price FROM products WHERE tenant_id = :t")},
        {r[0] for r in await column("SELECT customer_ref FROM customers WHERE tenant_id = :t")},
        {r[0] for r in await column("SELECT order_number FROM orders WHERE tenant_id = :t")},
        {
            r[0]: r[1]
            for r in await column(
                "SELECT o.order_number, coalesce(sum(i.line_total), 0) FROM orders o "
                "LEFT JOIN order_items i ON i.order_id = o.id WHERE o.tenant_id = :t "
                "GROUP BY o.order_number"
            )
        },
    )


def keys_in(parsed: Parsed, file: str, column: str) -> set[Any]:
    return {getattr(row, column) for row in parsed[file].rows} if file in parsed else set()


def reference_problems(parsed: Parsed, existing: ExistingKeys) -> list[str]:
    known = {
        "category": keys_in(parsed, "categories.csv", "slug") | existing.categories,
        "sku": keys_in(parsed, "products.csv", "sku") | set(existing.product_prices),
        "customer": keys_in(parsed, "customers.csv", "customer_ref") | existing.customers,
        "order": keys_in(parsed, "orders.csv", "order_number") | existing.orders,
    }
    checks = (
        ("categories.csv", "parent_slug", "category"),
        ("products.csv", "category_slug", "category"),
        ("orders.csv", "customer_ref", "customer"),
        ("order_items.csv", "order_number", "order"),
        ("order_items.csv", "sku", "sku"),
        ("reviews.csv", "sku", "sku"),
        ("reviews.csv", "customer_ref", "customer"),
    )
    problems = []
    for file, column, kind in checks:
        for row, line in rows_with_lines(parsed, file):
            value = getattr(row, column)
            if value is not None and value not in known[kind]:
                problems.append(f"{file}:{line}: unknown {kind} {value!r} in {column}")
    return problems + category_cycle_problems(parsed, existing)


def rows_with_lines(parsed: Parsed, file: str) -> Iterator[tuple[Any, int]]:
    if file in parsed:
        yield from zip(parsed[file].rows, parsed[file].lines, strict=True)


def category_cycle_problems(parsed: Parsed, existing: ExistingKeys) -> list[str]:
    """Cycles in the tree the import would leave: the file's parents over the database's."""
    parents = dict(existing.category_parents)
    parents.update({r.slug: r.parent_slug for r, _ in rows_with_lines(parsed, "categories.csv")})
    problems = []
    for row, line in rows_with_lines(parsed, "categories.csv"):
        seen, slug = {row.slug}, row.parent_slug
        while slug is not None and slug in parents:
            if slug in seen:
                problems.append(
                    f"categories.csv:{line}: parent_slug makes a cycle through {slug!r}"
                )
                break
            seen.add(slug)
            slug = parents[slug]
    return problems


def derive_fields(parsed: Parsed, existing: ExistingKeys) -> list[str]:
    """Fill unit prices, subtotals and totals. Returns problems."""
    prices = dict(existing.product_prices) | {
        r.sku: r.price for r in (parsed["products.csv"].rows if "products.csv" in parsed else [])
    }
    subtotals: dict[str, Decimal] = {}
    for item in parsed["order_items.csv"].rows if "order_items.csv" in parsed else []:
        if item.unit_price is None:
            item.unit_price = prices[item.sku]
        subtotals[item.order_number] = subtotals.get(item.order_number, Decimal(0)) + (
            item.quantity * item.unit_price - item.discount_amount
        )
    problems = [
        f"order_items.csv:{line}: discount_amount is larger than quantity * unit_price"
        for item, line in rows_with_lines(parsed, "order_items.csv")
        if item.discount_amount > item.quantity * item.unit_price
    ]
    for order, line in rows_with_lines(parsed, "orders.csv"):
        problems.extend(f"orders.csv:{line}: {p}" for p in derive_order(order, subtotals, existing))
    return problems


def derive_order(
    order: OrderRow, subtotals: dict[str, Decimal], existing: ExistingKeys
) -> list[str]:
    if order.subtotal is None:
        order.subtotal = subtotals.get(
            order.order_number, existing.order_subtotals.get(order.order_number, Decimal(0))
        )
    expected = order.subtotal - order.discount_amount + order.shipping_amount + order.tax_amount
    if order.total_amount is None:
        order.total_amount = expected
    elif order.total_amount != expected:
        return [
            f"total_amount {order.total_amount} does not equal subtotal - discount_amount + "
            f"shipping_amount + tax_amount = {expected}"
        ]
    if expected < 0:
        return ["discount_amount is larger than subtotal + shipping_amount + tax_amount"]
    return []


def localise_times(row: CsvRow, zone: ZoneInfo) -> None:
    """Times without an offset are in the tenant's timezone."""
    for name, value in row:
        if isinstance(value, datetime) and value.tzinfo is None:
            setattr(row, name, value.replace(tzinfo=zone))


# ----- loading ---------------------------------------------------------------------------------

STAGING_TYPES = {
    "categories.csv": "slug text, name text, parent_slug text, description text, is_active bool",
    "products.csv": "sku text, name text, description text, category_slug text, brand text, "
    "price numeric, cost numeric, stock_quantity int, specifications jsonb, is_active bool, "
    "image_url text",
    "customers.csv": "customer_ref text, first_name text, last_name text, email text, phone text, "
    "city text, region text, country text, segment text, created_at timestamptz, "
    "date_of_birth date",
    "orders.csv": "order_number text, customer_ref text, status text, channel text, "
    "payment_method text, placed_at timestamptz, subtotal numeric, discount_amount numeric, "
    "shipping_amount numeric, tax_amount numeric, total_amount numeric, shipping_city text, "
    "shipping_region text, shipping_country text, shipped_at timestamptz, delivered_at timestamptz",
    "order_items.csv": "order_number text, sku text, quantity int, unit_price numeric, "
    "discount_amount numeric, line int",
    "reviews.csv": "sku text, customer_ref text, rating int, title text, body text, "
    "created_at timestamptz",
}


def staging_name(file: str) -> str:
    return "stage_" + file.removesuffix(".csv")


def staging_records(parsed: ParsedFile) -> list[tuple[Any, ...]]:
    columns = parsed.spec.columns
    out = []
    for row in parsed.rows:
        values = [getattr(row, c) for c in columns]
        out.append(
            tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in values)
        )
    return out


async def stage(connection: AsyncConnection, parsed: Parsed) -> None:
    driver = await driver_connection(connection)
    for file, spec in ((f.name, f) for f in FILES):
        await connection.execute(
            text(f"CREATE TEMP TABLE {staging_name(file)} ({STAGING_TYPES[file]}) ON COMMIT DROP")
        )
        if file in parsed:
            records = staging_records(parsed[file])
            columns = list(spec.columns)
            if file == "order_items.csv":  # items keep the file's order (their ids follow it)
                records = [(*r, line) for r, line in zip(records, parsed[file].lines, strict=True)]
                columns.append("line")
            await driver.copy_records_to_table(staging_name(file), records=records, columns=columns)


UPSERTS: tuple[tuple[str, str], ...] = (
    (
        "categories",
        """
INSERT INTO categories (tenant_id, slug, name, description, is_active)
SELECT :t, slug, name, description, is_active FROM stage_categories
ON CONFLICT (tenant_id, slug) DO UPDATE SET name = EXCLUDED.name,
  description = EXCLUDED.description, is_active = EXCLUDED.is_active, updated_at = now()
WHERE (categories.name, categories.description, categories.is_active)
  IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.is_active)""",
    ),
    (
        "category parents",
        """
UPDATE categories c SET parent_id = p.id, updated_at = now()
FROM stage_categories s LEFT JOIN categories p ON p.tenant_id = :t AND p.slug = s.parent_slug
WHERE c.tenant_id = :t AND c.slug = s.slug AND c.parent_id IS DISTINCT FROM p.id""",
    ),
    (
        "products",
        """
INSERT INTO products (tenant_id, category_id, sku, name, description, brand, price, cost,
                      stock_quantity, specifications, is_active, image_url)
SELECT :t, c.id, s.sku, s.name, s.description, s.brand, s.price, s.cost, s.stock_quantity,
       s.specifications, s.is_active, s.image_url
FROM stage_products s LEFT JOIN categories c ON c.tenant_id = :t AND c.slug = s.category_slug
ON CONFLICT (tenant_id, sku) DO UPDATE SET category_id = EXCLUDED.category_id,
  name = EXCLUDED.name, description = EXCLUDED.description, brand = EXCLUDED.brand,
  price = EXCLUDED.price, cost = EXCLUDED.cost, stock_quantity = EXCLUDED.stock_quantity,
  specifications = EXCLUDED.specifications, is_active = EXCLUDED.is_active,
  image_url = EXCLUDED.image_url, updated_at = now()
WHERE (products.category_id, products.name, products.description, products.brand, products.price,
       products.cost, products.stock_quantity, products.specifications, products.is_active,
       products.image_url)
  IS DISTINCT FROM (EXCLUDED.category_id, EXCLUDED.name, EXCLUDED.description, EXCLUDED.brand,
       EXCLUDED.price, EXCLUDED.cost, EXCLUDED.stock_quantity, EXCLUDED.specifications,
       EXCLUDED.is_active, EXCLUDED.image_url)""",
    ),
    (
        "customers",
        """
INSERT INTO customers (tenant_id, customer_ref, first_name, last_name, email, phone, city, region,
                       country, segment, created_at, date_of_birth)
SELECT :t, customer_ref, first_name, last_name, email, phone, city, region, country, segment,
       coalesce(created_at, now()), date_of_birth
FROM stage_customers
ON CONFLICT (tenant_id, customer_ref) DO UPDATE SET first_name = EXCLUDED.first_name,
  last_name = EXCLUDED.last_name, email = EXCLUDED.email, phone = EXCLUDED.phone,
  city = EXCLUDED.city, region = EXCLUDED.region, country = EXCLUDED.country,
  segment = EXCLUDED.segment, date_of_birth = EXCLUDED.date_of_birth,
  created_at = CASE WHEN (SELECT s.created_at FROM stage_customers s
                          WHERE s.customer_ref = EXCLUDED.customer_ref) IS NULL
                    THEN customers.created_at ELSE EXCLUDED.created_at END
WHERE (customers.first_name, customers.last_name, customers.email, customers.phone,
       customers.city, customers.region, customers.country, customers.segment,
       customers.date_of_birth)
  IS DISTINCT FROM (EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.email, EXCLUDED.phone,
       EXCLUDED.city, EXCLUDED.region, EXCLUDED.country, EXCLUDED.segment,
       EXCLUDED.date_of_birth)
  OR (EXCLUDED.created_at IS DISTINCT FROM customers.created_at AND
      (SELECT s.created_at FROM stage_customers s
       WHERE s.customer_ref = EXCLUDED.customer_ref) IS NOT NULL)""",
    ),
    (
        "orders",
        """
INSERT INTO orders (tenant_id, customer_id, order_number, status, channel, payment_method,
                    subtotal, discount_amount, shipping_amount, tax_amount, total_amount,
                    shipping_city, shipping_region, shipping_country, placed_at, shipped_at,
                    delivered_at)
SELECT :t, c.id, s.order_number, s.status, s.channel, s.payment_method, s.subtotal,
       s.discount_amount, s.shipping_amount, s.tax_amount, s.total_amount, s.shipping_city,
       s.shipping_region, s.shipping_country, s.placed_at, s.shipped_at, s.delivered_at
FROM stage_orders s LEFT JOIN customers c ON c.tenant_id = :t AND c.customer_ref = s.customer_ref
ON CONFLICT (tenant_id, order_number) DO UPDATE SET customer_id = EXCLUDED.customer_id,
  status = EXCLUDED.status, channel = EXCLUDED.channel, payment_method = EXCLUDED.payment_method,
  subtotal = EXCLUDED.subtotal, discount_amount = EXCLUDED.discount_amount,
  shipping_amount = EXCLUDED.shipping_amount, tax_amount = EXCLUDED.tax_amount,
  total_amount = EXCLUDED.total_amount, shipping_city = EXCLUDED.shipping_city,
  shipping_region = EXCLUDED.shipping_region, shipping_country = EXCLUDED.shipping_country,
  placed_at = EXCLUDED.placed_at, shipped_at = EXCLUDED.shipped_at,
  delivered_at = EXCLUDED.delivered_at
WHERE (orders.customer_id, orders.status, orders.channel, orders.payment_method, orders.subtotal,
       orders.discount_amount, orders.shipping_amount, orders.tax_amount, orders.total_amount,
       orders.shipping_city, orders.shipping_region, orders.shipping_country, orders.placed_at,
       orders.shipped_at, orders.delivered_at)
  IS DISTINCT FROM (EXCLUDED.customer_id, EXCLUDED.status, EXCLUDED.channel,
       EXCLUDED.payment_method, EXCLUDED.subtotal, EXCLUDED.discount_amount,
       EXCLUDED.shipping_amount, EXCLUDED.tax_amount, EXCLUDED.total_amount,
       EXCLUDED.shipping_city, EXCLUDED.shipping_region, EXCLUDED.shipping_country,
       EXCLUDED.placed_at, EXCLUDED.shipped_at, EXCLUDED.delivered_at)""",
    ),
    (
        "staged items",
        """
CREATE TEMP TABLE staged_items ON COMMIT DROP AS
SELECT o.id AS order_id, p.id AS product_id, s.quantity, s.unit_price, s.discount_amount,
       s.line
FROM stage_order_items s
JOIN orders o ON o.tenant_id = :t AND o.order_number = s.order_number
JOIN products p ON p.tenant_id = :t AND p.sku = s.sku""",
    ),
    (
        "changed orders",
        """
CREATE TEMP TABLE changed_orders ON COMMIT DROP AS
SELECT DISTINCT order_id FROM (
  (SELECT order_id, product_id, quantity, unit_price::numeric(12,2), discount_amount::numeric(12,2)
   FROM staged_items
   EXCEPT ALL
   SELECT order_id, product_id, quantity, unit_price, discount_amount FROM order_items
   WHERE tenant_id = :t AND order_id IN (SELECT order_id FROM staged_items))
  UNION ALL
  (SELECT order_id, product_id, quantity, unit_price, discount_amount FROM order_items
   WHERE tenant_id = :t AND order_id IN (SELECT order_id FROM staged_items)
   EXCEPT ALL
   SELECT order_id, product_id, quantity, unit_price::numeric(12,2),
          discount_amount::numeric(12,2) FROM staged_items)
) differences""",
    ),
    (
        "order items removed",
        """
DELETE FROM order_items WHERE tenant_id = :t AND order_id IN (SELECT order_id FROM changed_orders)""",
    ),
    (
        "order_items",
        """
INSERT INTO order_items (tenant_id, order_id, product_id, quantity, unit_price, discount_amount)
SELECT :t, order_id, product_id, quantity, unit_price, discount_amount FROM staged_items
WHERE order_id IN (SELECT order_id FROM changed_orders)
ORDER BY line""",
    ),
    (
        "order totals",
        """
UPDATE orders o SET subtotal = s.subtotal,
  total_amount = s.subtotal - o.discount_amount + o.shipping_amount + o.tax_amount
FROM (SELECT order_id, sum(line_total) AS subtotal FROM order_items
      WHERE tenant_id = :t AND order_id IN (SELECT order_id FROM changed_orders)
      GROUP BY order_id) s
WHERE o.id = s.order_id AND o.tenant_id = :t
  AND o.order_number NOT IN (SELECT order_number FROM stage_orders)
  AND o.subtotal IS DISTINCT FROM s.subtotal""",
    ),
    (
        "reviews updated",
        """
UPDATE reviews r SET rating = s.rating, title = s.title, body = s.body
FROM stage_reviews s
JOIN products p ON p.tenant_id = :t AND p.sku = s.sku
LEFT JOIN customers c ON c.tenant_id = :t AND c.customer_ref = s.customer_ref
WHERE r.tenant_id = :t AND r.product_id = p.id AND r.customer_id IS NOT DISTINCT FROM c.id
  AND r.created_at = s.created_at
  AND (r.rating, r.title, r.body) IS DISTINCT FROM (s.rating, s.title, s.body)""",
    ),
    (
        "reviews",
        """
INSERT INTO reviews (tenant_id, product_id, customer_id, rating, title, body, created_at)
SELECT :t, p.id, c.id, s.rating, s.title, s.body, s.created_at
FROM stage_reviews s
JOIN products p ON p.tenant_id = :t AND p.sku = s.sku
LEFT JOIN customers c ON c.tenant_id = :t AND c.customer_ref = s.customer_ref
WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.tenant_id = :t AND r.product_id = p.id
                  AND r.customer_id IS NOT DISTINCT FROM c.id AND r.created_at = s.created_at)""",
    ),
)
REPORTED_STEPS = {
    "categories",
    "category parents",
    "order totals",
    "products",
    "customers",
    "orders",
    "order_items",
    "reviews",
    "reviews updated",
}
ANALYZED_TABLES = ("categories", "products", "customers", "orders", "order_items", "reviews")


async def apply_upserts(
    connection: AsyncConnection, tenant_id: uuid.UUID, advance: Callable[[str], None]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step, sql in UPSERTS:
        result = await connection.execute(text(sql), {"t": tenant_id})
        if step in REPORTED_STEPS:
            counts[step] = max(int(result.rowcount), 0)
        advance(step)
    return counts


@dataclass
class ImportReport:
    tenant: str
    files: dict[str, int]
    written: dict[str, int]


async def import_folder(
    connection: AsyncConnection,
    tenant: TenantRecord,
    folder: Path,
    advance: Callable[[str], None] = lambda step: None,
) -> ImportReport:
    """Validate and import ``folder`` for ``tenant`` inside the caller's transaction."""
    parsed, problems = read_folder(folder, ZoneInfo(tenant.timezone))
    existing = await existing_keys(connection, tenant.id)
    problems += reference_problems(parsed, existing)  # of the rows that parsed, too
    if not problems:
        problems = derive_fields(parsed, existing)
    if problems:
        raise CsvImportError(problems)
    try:
        await stage(connection, parsed)
        written = await apply_upserts(connection, tenant.id, advance)
    except (DBAPIError, asyncpg.PostgresError) as error:
        reason = str(error.orig).splitlines()[0] if error.orig else str(error)
        raise CsvImportError([f"{folder}: the database refused the data: {reason}"]) from None
    await analyze(connection, ANALYZED_TABLES)
    files = {name: len(file.rows) for name, file in parsed.items()}
    return ImportReport(tenant.slug, files, written)
