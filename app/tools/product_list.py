"""The shop's products, filtered and paged, through the SQL tool (``SqlExecutor``: guard,
tenant reader role, caps): what ``GET /api/v1/products`` lists when no search text is given
(with text, it ranks with ``ProductSearch``). Active products only, ordered by name and SKU; a
category includes its subcategories; prices are inclusive; ``in_stock`` means stock > 0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.tools.sql import SqlExecutor, SqlResult
from app.tools.sql_values import number_literal, text_literal
from db.tenants import TenantRecord

MAX_PER_PAGE = 100
PATHS = """WITH RECURSIVE paths AS (
    SELECT id, slug, name::text AS path FROM categories WHERE parent_id IS NULL
    UNION ALL
    SELECT c.id, c.slug, p.path || ' > ' || c.name FROM categories c JOIN paths p ON c.parent_id = p.id
)"""
SCOPE = """, scope AS (
    SELECT id FROM categories WHERE slug = {slug}
    UNION ALL
    SELECT c.id FROM categories c JOIN scope s ON c.parent_id = s.id
)"""


@dataclass(frozen=True)
class ProductFilters:
    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool | None = None
    page: int = 1
    per_page: int = 20

    def conditions(self) -> list[str]:
        found = ["p.is_active"]
        if self.category is not None:
            found.append("p.category_id IN (SELECT id FROM scope)")
        if self.min_price is not None:
            found.append(f"p.price >= {number_literal(self.min_price)}")
        if self.max_price is not None:
            found.append(f"p.price <= {number_literal(self.max_price)}")
        if self.in_stock is True:
            found.append("p.stock_quantity > 0")
        elif self.in_stock is False:
            found.append("p.stock_quantity <= 0")
        return found

    def describe(self) -> str:
        """One line a shop owner can check."""
        parts = ["Active products"]
        if self.category is not None:
            parts.append(f"in {self.category} and its subcategories")
        if self.min_price is not None and self.max_price is not None:
            parts.append(f"priced {self.min_price:g} to {self.max_price:g}")
        elif self.min_price is not None:
            parts.append(f"priced {self.min_price:g} or more")
        elif self.max_price is not None:
            parts.append(f"priced {self.max_price:g} or less")
        if self.in_stock is not None:
            parts.append("in stock" if self.in_stock else "out of stock")
        return " ".join(parts) + ", by name"


def product_list_sql(filters: ProductFilters) -> str:
    scope = SCOPE.format(slug=text_literal(filters.category)) if filters.category else ""
    offset = (filters.page - 1) * filters.per_page
    return (
        f"{PATHS}{scope}\n"
        "SELECT p.sku, p.name, p.brand, p.price, p.stock_quantity, paths.slug AS category,\n"
        "       paths.path AS category_path, count(*) OVER () AS total\n"
        "FROM products p LEFT JOIN paths ON paths.id = p.category_id\n"
        f"WHERE {' AND '.join(filters.conditions())}\n"
        f"ORDER BY p.name, p.sku LIMIT {int(filters.per_page)} OFFSET {int(offset)}"
    )


@dataclass
class ProductPage:
    filters: ProductFilters
    result: SqlResult

    @property
    def total(self) -> int:
        """Matching products on every page (0 past the last page: no row to carry it)."""
        return int(self.result.rows[0][-1]) if self.result.rows else 0  # type: ignore[arg-type]

    def products(self) -> list[dict[str, Any]]:
        columns = self.result.columns[:-1]
        return [dict(zip(columns, row[:-1], strict=True)) for row in self.result.rows]


async def list_products(
    executor: SqlExecutor, tenant: TenantRecord, filters: ProductFilters, *, context: str
) -> ProductPage:
    sql = product_list_sql(filters)
    result = await executor.run(
        tenant_id=tenant.id, sql=sql, max_rows=filters.per_page, context=context
    )
    return ProductPage(filters, result)
