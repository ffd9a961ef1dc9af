"""The tool ``search_products``: the shop's products by meaning and by words, through
``ProductSearch`` (each search is logged with its conversation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from app.tools.inputs import OptionalFlag, OptionalNumber, OptionalText
from app.tools.search import MAX_LIMIT
from app.tools.tool import Facts, Output, Shown, Tool, ToolContext

NAME = "search_products"
SUMMARY_SKUS = 10  # SKUs of the hits kept in the store


class SearchProductsInput(BaseModel):
    query: str = Field(description="What to look for, in plain words.")
    category: OptionalText = Field(None, description="Category slug, e.g. tents.")
    min_price: OptionalNumber = Field(None, ge=0)
    max_price: OptionalNumber = Field(None, ge=0)
    in_stock: OptionalFlag = Field(None, description="Only products in stock.")
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)


class SearchProducts(Tool[SearchProductsInput]):
    name = NAME
    description = (
        "Find the shop's products by meaning and by words (\"a gift under $40 for someone who "
        'camps", a SKU, a brand). Filters: category slug (includes subcategories), min_price, '
        "max_price, in_stock. Returns JSON with sku, name, brand, price, stock, category path, "
        "score and which signals matched. Use run_sql for numbers about sales."
    )
    input = SearchProductsInput
    standalone = offline = True

    async def run(
        self, context: ToolContext, arguments: SearchProductsInput
    ) -> tuple[Output, list[Shown]]:
        found = await context.services.search.search(
            tenant_id=context.tenant.id,
            tenant_slug=context.tenant.slug,
            chat_session_id=context.session_id,
            requester=context.requester,
            **arguments.model_dump(),
        )
        return found.to_dict(), []

    def summarise(self, output: Output) -> Output:
        hits = output.get("results", [])
        return {"results_count": len(hits), "skus": [h.get("sku") for h in hits[:SUMMARY_SKUS]]}

    def outcome(self, output: Mapping[str, Any]) -> str | None:
        return f"{output['results_count']} product(s)" if "results_count" in output else None

    def facts(self, output: Mapping[str, Any]) -> Facts:
        return Facts([f"{output['results_count']} products"] if "results_count" in output else [])


TOOL = SearchProducts()
