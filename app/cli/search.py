"""``bichat search``: product search as the agent's tool does it."""

from __future__ import annotations

import typer

from app.cli.output import AS_JSON, print_json, print_table, stdout
from app.cli.shop import Shop, run_in_shop
from app.cli.tenant_choice import TENANT
from app.embeddings import build_embeddings
from app.tools.search import ProductSearch, SearchResult


def search_command(
    query: str = typer.Argument(..., help="What to look for, in plain words."),
    tenant: str | None = TENANT,
    category: str | None = typer.Option(
        None, "--category", help="Category slug (with subcategories)."
    ),
    min_price: float | None = typer.Option(None, "--min-price", help="Lowest price."),
    max_price: float | None = typer.Option(None, "--max-price", help="Highest price."),
    in_stock: bool = typer.Option(False, "--in-stock", help="Only products in stock."),
    limit: int = typer.Option(10, "--limit", help="How many results (1-50)."),
    as_json: bool = AS_JSON,
) -> None:
    """Find products by meaning and by words, with filters."""

    async def work(shop: Shop) -> SearchResult:
        async with shop.executor() as executor:
            embeddings = build_embeddings(shop.settings)
            search = ProductSearch(executor=executor, engine=shop.engine, embeddings=embeddings)
            return await search.search(
                tenant_id=shop.tenant.id,
                tenant_slug=shop.tenant.slug,
                query=query,
                category=category,
                min_price=min_price,
                max_price=max_price,
                in_stock=in_stock or None,
                limit=limit,
            )

    result = run_in_shop(tenant, work, as_json=as_json)
    if as_json:
        print_json(result.to_dict())
        return
    rows = [
        {
            "sku": h.sku,
            "name": h.name,
            "price": h.price,
            "stock": h.stock_quantity,
            "category": h.category_path,
            "matched": "+".join(h.matched),
        }
        for h in result.results
    ]
    print_table(rows, title="products")
    stdout.print(f"{len(rows)} result(s) in {result.response_time_ms} ms")
