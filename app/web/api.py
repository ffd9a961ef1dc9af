"""The REST API under ``/api/v1``: a FastAPI application of its own (mounted by
``app.web.server``), so its OpenAPI document (``/api/v1/openapi.json``) and reference
(``/api/v1/docs``) describe the API alone.

Every route acts as the principal of its bearer token (``app.web.api_access``: its user, in
its user's shop) and translates: the data goes through the same tools as the chat's (the SQL
tool's guard, the shop's reader role and caps; the semantic layer; product search), questions
through the same turn (``app.web.api_ask``). Errors are problem details
(``app.web.api_problems``).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Body, Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field

from app.errors import InvalidInput
from app.semantic.catalogue import catalogue
from app.store.tokens import Principal
from app.tools import registry
from app.tools.bundle_rules import MAX_TOP
from app.tools.product_list import MAX_PER_PAGE, ProductFilters, list_products
from app.tools.search import MAX_LIMIT as MAX_SEARCH_HITS
from app.tools.tool import Output, ToolContext
from app.web import api_ask, api_docs
from app.web.api_access import current_principal
from app.web.api_problems import ERROR_RESPONSES, install_problems
from app.web.state import get_state

API_PATH = "/api/v1"
CHANNEL = "api"
DESCRIPTION = """bichat's data and answers for scripts, other tools and agents.

Authenticate with a personal API token (`Authorization: Bearer bichat_...`), created with
`bichat tokens create --user U` or by an admin at `/admin/tokens`. A token acts as its user, in
its user's shop; each request reads it again, so a revoked token or a deactivated user is
refused at once. Rate limits per token answer 429 with `Retry-After`.

Data goes through the chat's own safety: SQL (yours, or compiled from a semantic query)
passes the guard and runs as the shop's read-only reader role with its row and byte caps.
Questions (`POST /ask`) are real turns of the agent, stored with the channel `api`.
Errors are `application/problem+json` with a stable `code`.
"""


class Product(BaseModel):
    sku: str
    name: str
    brand: str | None = None
    price: float
    stock_quantity: int
    category: str | None = Field(default=None, description="Category slug (listings).")
    category_path: str | None = Field(default=None, description="Department > ... > category")
    score: float | None = Field(default=None, description="Search relevance (with q).")
    matched: list[str] = Field(default_factory=list, description="vector, keyword (with q).")


class ProductsPage(BaseModel):
    interpretation: str
    sql: str | None = Field(description="The SQL that listed them (None for a text search).")
    search: str | None = Field(description="The search text, when ranked by relevance.")
    page: int
    per_page: int
    total: int = Field(description="Matching products (a text search finds at most 50).")
    pages: int
    products: list[Product]


class QueryResult(BaseModel):
    """Rows with the SQL that produced them; semantic queries add the interpretation, period,
    comparison, metrics and column roles."""

    model_config = ConfigDict(extra="allow")

    sql: str
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    truncated_by: str | None = None
    elapsed_ms: float
    interpretation: str | None = None


class TopProducts(QueryResult):
    products: list[dict[str, Any]] = Field(description="The rows as objects, best first.")


class Rule(BaseModel):
    antecedent_sku: str
    antecedent_name: str
    consequent_sku: str
    consequent_name: str
    support: float
    confidence: float
    lift: float
    order_count: int


class RulesPage(BaseModel):
    interpretation: str
    sql: str
    rules: list[Rule]
    row_count: int
    elapsed_ms: float


class SqlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(description="One read-only PostgreSQL query over the shop's tables.")


# The body of POST /query: the query_metrics tool's own input model (enums from the model)
QueryInput: Any = registry.BY_NAME[registry.QUERY_METRICS].input


def tool_context(principal: Principal) -> ToolContext:
    """A call outside any conversation, audited as ``api:token-N``."""
    services = get_state().runtime.agent.services
    return ToolContext(principal.tenant, None, services, purpose=f"{CHANNEL}:{principal.label}")


async def call_tool(name: str, principal: Principal, arguments: dict[str, Any]) -> Output:
    """A registry tool's call as the principal; without this-turn ids (there is no turn)."""
    tool = registry.BY_NAME[name]
    output, _ = await registry.call(tool, tool_context(principal), arguments)
    return {key: value for key, value in output.items() if key != "result_id"}


def create_api() -> FastAPI:
    api = FastAPI(
        title="bichat API",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        responses=ERROR_RESPONSES,
        dependencies=[],
    )
    install_problems(api)
    api_docs.install(api, prefix=API_PATH)
    add_data_routes(api)
    api.include_router(api_ask.router)
    return api


# Over 50 lines: one nested function per route keeps each route's parameters (its OpenAPI
# description) beside its body; each body is a few lines.
def add_data_routes(api: FastAPI) -> None:
    @api.get("/products", response_model=ProductsPage, tags=["data"], summary="Products")
    async def products(
        q: str | None = Query(None, max_length=500, description="Search text (meaning and words)."),
        category: str | None = Query(None, max_length=200, description="Category slug."),
        min_price: float | None = Query(None, ge=0),
        max_price: float | None = Query(None, ge=0),
        in_stock: bool | None = Query(None, description="true: stock > 0; false: none left."),
        page: int = Query(1, ge=1, le=10_000),
        per_page: int = Query(20, ge=1, le=MAX_PER_PAGE),
        principal: Principal = Depends(current_principal),
    ) -> ProductsPage:
        """The shop's active products: ranked by relevance to `q` (hybrid search, the best 50)
        or listed by name, filtered by category (with its subcategories), price range (inclusive)
        and stock, in pages."""
        if min_price is not None and max_price is not None and min_price > max_price:
            raise InvalidInput(
                f"min_price ({min_price:g}) is above max_price ({max_price:g})",
                code="invalid_price_range",
            )
        filters = ProductFilters(category, min_price, max_price, in_stock, page, per_page)
        if q is not None and q.strip():
            return await searched(principal, q, filters)
        found = await list_products(
            get_state().runtime.executor,
            principal.tenant,
            filters,
            context=tool_context(principal).audit_label,
        )
        return ProductsPage(
            interpretation=filters.describe(),
            sql=found.result.sql,
            search=None,
            page=page,
            per_page=per_page,
            total=found.total,
            pages=max(1, -(-found.total // per_page)),
            products=[Product(**item) for item in found.products()],
        )

    @api.get(
        "/analytics/top-products",
        response_model=TopProducts,
        tags=["data"],
        summary="Best-selling products",
    )
    async def top_products(
        period: str = Query("last-30-days", max_length=100, description="A named period."),
        metric: Literal["revenue", "units"] = Query("revenue"),
        limit: int = Query(10, ge=1, le=100),
        category: str | None = Query(None, max_length=200, description="Only this category."),
        principal: Principal = Depends(current_principal),
    ) -> TopProducts:
        """The best-selling products over a period by revenue or units, from the semantic
        layer (the `query_metrics` tool's metrics and their definitions)."""
        query: dict[str, Any] = {"metrics": [metric], "by": ["product"], "period": period}
        query["top"] = limit
        if category:
            query["filters"] = [{"dimension": "category", "values": [category]}]
        output = await call_tool(registry.QUERY_METRICS, principal, query)
        records = [dict(zip(output["columns"], row, strict=True)) for row in output["rows"]]
        return TopProducts(**output, products=records)

    @api.get("/rules", response_model=RulesPage, tags=["data"], summary="Bundle rules")
    async def rules(
        product: str | None = Query(None, max_length=200, description="SKU bought first."),
        min_lift: float | None = Query(None, ge=0, le=1_000_000),
        min_confidence: float | None = Query(None, ge=0, le=1),
        limit: int = Query(20, ge=1, le=MAX_TOP),
        principal: Principal = Depends(current_principal),
    ) -> RulesPage:
        """Bundle rules ("bought together"): for each pair, customers who bought the first
        product also bought the second; strongest (lift) first."""
        arguments = {"product": product, "min_lift": min_lift, "min_confidence": min_confidence}
        query = {key: value for key, value in arguments.items() if value is not None}
        output = await call_tool(registry.BUNDLE_RULES, principal, query | {"top": limit})
        rules = [dict(zip(output["columns"], row, strict=True)) for row in output["rows"]]
        return RulesPage(**output, rules=rules)

    @api.get("/metrics", tags=["semantic layer"], summary="Metrics and dimensions")
    async def metrics(principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """The metrics and dimensions `POST /query` answers, with this shop's values."""
        semantic = get_state().runtime.agent.semantic
        return catalogue(semantic.model, await semantic.index(principal.tenant))

    @api.post(
        "/query", response_model=QueryResult, tags=["semantic layer"], summary="Semantic query"
    )
    async def query(
        body: QueryInput = Body(...),
        principal: Principal = Depends(current_principal),
    ) -> QueryResult:
        """A semantic query (the `query_metrics` tool's schema): metrics by dimensions,
        filtered, over a period, compared; compiled to SQL and run through the guard."""
        arguments = body.model_dump(mode="json", exclude_unset=True)
        return QueryResult(**await call_tool(registry.QUERY_METRICS, principal, arguments))

    @api.post("/sql", response_model=QueryResult, tags=["sql"], summary="Read-only SQL")
    async def sql(
        body: SqlRequest, principal: Principal = Depends(current_principal)
    ) -> QueryResult:
        """One read-only query, through the guard, as the shop's reader role, within the row,
        byte and time caps. Refused SQL answers 400 with the guard's rule as `code`."""
        return QueryResult(**await call_tool(registry.RUN_SQL, principal, {"sql": body.sql}))


async def searched(principal: Principal, text: str, filters: ProductFilters) -> ProductsPage:
    """A page of the hybrid search's best ``MAX_SEARCH_HITS`` (the chat's product search)."""
    if filters.in_stock is False:
        raise InvalidInput(
            "a text search finds products in stock (in_stock=true) or all of them; list the "
            "ones out of stock without q",
            code="invalid_filter",
        )
    wanted = min(MAX_SEARCH_HITS, filters.page * filters.per_page)
    arguments = {
        "query": text,
        "category": filters.category,
        "min_price": filters.min_price,
        "max_price": filters.max_price,
        "in_stock": filters.in_stock,
        "limit": max(1, wanted),
    }
    output = await call_tool(registry.SEARCH_PRODUCTS, principal, arguments)
    hits = output["results"]
    start = (filters.page - 1) * filters.per_page
    shown = ", ".join(f"{k} {v}" for k, v in output["filters"].items())
    return ProductsPage(
        interpretation=f"Products matching {text!r} by meaning and words"
        + (f" ({shown})" if shown else "")
        + f", most relevant first (the best {MAX_SEARCH_HITS} at most)",
        sql=None,
        search=text,
        page=filters.page,
        per_page=filters.per_page,
        total=len(hits),
        pages=max(1, -(-len(hits) // filters.per_page)),
        products=[Product(**hit) for hit in hits[start : start + filters.per_page]],
    )
