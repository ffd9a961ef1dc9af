"""``bichat db export-csv``: write a tenant's shop data in the import format."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.csv_format import FILES
from db.errors import AlreadyExists, InvalidInput

EXPORT_QUERIES: dict[str, str] = {
    "categories.csv": """
SELECT c.slug, c.name, p.slug, c.description, c.is_active
FROM categories c LEFT JOIN categories p ON p.id = c.parent_id
WHERE c.tenant_id = :t ORDER BY c.slug""",
    "products.csv": """
SELECT p.sku, p.name, p.description, c.slug, p.brand, p.price, p.cost, p.stock_quantity,
       p.specifications, p.is_active, p.image_url
FROM products p LEFT JOIN categories c ON c.id = p.category_id
WHERE p.tenant_id = :t ORDER BY p.sku""",
    "customers.csv": """
SELECT customer_ref, first_name, last_name, email, phone, city, region, country, segment,
       created_at, date_of_birth
FROM customers WHERE tenant_id = :t ORDER BY customer_ref""",
    "orders.csv": """
SELECT o.order_number, c.customer_ref, o.status, o.channel, o.payment_method, o.placed_at,
       o.subtotal, o.discount_amount, o.shipping_amount, o.tax_amount, o.total_amount,
       o.shipping_city, o.shipping_region, o.shipping_country, o.shipped_at, o.delivered_at
FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
WHERE o.tenant_id = :t ORDER BY o.order_number""",
    "order_items.csv": """
SELECT o.order_number, p.sku, i.quantity, i.unit_price, i.discount_amount
FROM order_items i JOIN orders o ON o.id = i.order_id JOIN products p ON p.id = i.product_id
WHERE i.tenant_id = :t ORDER BY o.order_number, i.id""",
    "reviews.csv": """
SELECT p.sku, c.customer_ref, r.rating, r.title, r.body, r.created_at
FROM reviews r JOIN products p ON p.id = r.product_id LEFT JOIN customers c ON c.id = r.customer_id
WHERE r.tenant_id = :t ORDER BY p.sku, c.customer_ref, r.created_at, r.id""",
}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def prepare_folder(folder: Path, *, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} exists and is not a folder", code="not_a_folder")
    clashes = [f.name for f in FILES if (folder / f.name).exists()]
    if clashes and not force:
        raise AlreadyExists(
            f"{folder} already has {', '.join(clashes)}: choose an empty folder or add --force",
            code="files_exist",
        )
    folder.mkdir(parents=True, exist_ok=True)


async def export_tenant(
    connection: AsyncConnection, tenant_id: uuid.UUID, folder: Path, *, force: bool = False
) -> dict[str, int]:
    """Write every file of the format; returns rows written per file."""
    prepare_folder(folder, force=force)
    counts = {}
    for spec in FILES:
        result = await connection.execute(text(EXPORT_QUERIES[spec.name]), {"t": tenant_id})
        rows = result.all()
        with (folder / spec.name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(spec.columns)
            writer.writerows([cell(v) for v in row] for row in rows)
        counts[spec.name] = len(rows)
    return counts
