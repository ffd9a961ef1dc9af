"""The LangChain tool ``search_products``: the agent's handle on ``ProductSearch``."""

from __future__ import annotations

import json
import uuid

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from app.errors import BichatError
from app.tools.search import MAX_LIMIT, ProductSearch

DESCRIPTION = (
    "Find the shop's products by meaning and by words (\"a gift under $40 for someone who "
    'camps", a SKU, a brand). Filters: category slug (includes subcategories), min_price, '
    "max_price, in_stock. Returns JSON with sku, name, brand, price, stock, category path, "
    "score and which signals matched. Use run_sql for numbers about sales."
)


class SearchProductsInput(BaseModel):
    query: str = Field(description="What to look for, in plain words.")
    category: str | None = Field(default=None, description="Category slug, e.g. tents.")
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, ge=0)
    in_stock: bool | None = Field(default=None, description="Only products in stock.")
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)


def build_search_products_tool(
    search: ProductSearch,
    *,
    tenant_id: uuid.UUID,
    tenant_slug: str,
    chat_session_id: uuid.UUID | None = None,
) -> BaseTool:
    async def search_products(
        query: str,
        category: str | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        limit: int = 10,
    ) -> str:
        try:
            result = await search.search(
                tenant_id=tenant_id,
                tenant_slug=tenant_slug,
                query=query,
                category=category,
                min_price=min_price,
                max_price=max_price,
                in_stock=in_stock,
                limit=limit,
                chat_session_id=chat_session_id,
            )
        except BichatError as error:
            return json.dumps(error.to_dict(), ensure_ascii=False)
        return json.dumps(result.to_dict(), ensure_ascii=False)

    return StructuredTool.from_function(
        coroutine=search_products,
        name="search_products",
        description=DESCRIPTION,
        args_schema=SearchProductsInput,
    )
