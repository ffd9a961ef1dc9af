"""``bichat search``: product search as the agent's tool does it."""

from __future__ import annotations

import typer

from app.cli.output import AS_JSON, print_json, print_table, stdout
from app.cli.runner import run
from app.cli.tenant_choice import TENANT, tenant_of
from app.config import Settings
from app.embeddings import build_embeddings
from app.tools.search import ProductSearch, SearchResult
from app.tools.sql import SqlExecutor
from db.engine import open_engine, owner_url


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

    async def work(settings: Settings) -> SearchResult:
        async with open_engine(settings) as engine:
            found = await tenant_of(engine, tenant)
            executor = SqlExecutor(engine=engine, settings=settings, owner_url=owner_url(settings))
            try:
                search = ProductSearch(
                    executor=executor, engine=engine, embeddings=build_embeddings(settings)
                )
                return await search.search(
                    tenant_id=found.id,
                    tenant_slug=found.slug,
                    query=query,
                    category=category,
                    min_price=min_price,
                    max_price=max_price,
                    in_stock=in_stock or None,
                    limit=limit,
                )
            finally:
                await executor.close()

    result = run(work, as_json=as_json)
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
