"""``bichat db rules``: pairwise association rules ("bought together") computed in SQL.

For products X and Y over the tenant's paid, shipped and delivered orders:
support = orders with both / all orders; confidence = orders with both / orders with X;
lift = support / (support(X) * support(Y)). Only products whose own support reaches the
minimum can form a frequent pair (the apriori property), which keeps the self-join small.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.errors import InvalidInput
from db.models.business import REVENUE_STATUSES

DEFAULT_MIN_SUPPORT = 0.001
DEFAULT_MIN_CONFIDENCE = 0.05

_STATUSES = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
RULES_SQL = text(f"""
WITH baskets AS (
    SELECT DISTINCT oi.order_id, oi.product_id
    FROM order_items oi JOIN orders o ON o.id = oi.order_id
    WHERE o.tenant_id = :tenant AND oi.tenant_id = :tenant AND o.status IN ({_STATUSES})
), total AS (
    SELECT count(DISTINCT order_id)::float8 AS n FROM baskets
), singles AS (
    SELECT b.product_id, count(*)::float8 AS c
    FROM baskets b GROUP BY b.product_id
    HAVING count(*) >= :min_support * (SELECT n FROM total)
), frequent AS (
    SELECT b.order_id, b.product_id FROM baskets b JOIN singles s USING (product_id)
), pairs AS (
    SELECT a.product_id AS x, b.product_id AS y, count(*)::float8 AS c
    FROM frequent a JOIN frequent b ON a.order_id = b.order_id AND a.product_id <> b.product_id
    GROUP BY 1, 2
)
INSERT INTO bundle_rules (tenant_id, antecedent_product_id, consequent_product_id, support,
                          confidence, lift, order_count, computed_at)
SELECT :tenant, p.x, p.y, p.c / t.n, p.c / sx.c, (p.c / t.n) / ((sx.c / t.n) * (sy.c / t.n)),
       p.c::int, now()
FROM pairs p
JOIN singles sx ON sx.product_id = p.x
JOIN singles sy ON sy.product_id = p.y
CROSS JOIN total t
WHERE p.c / t.n >= :min_support AND p.c / sx.c >= :min_confidence
""")


def validate_thresholds(*, min_support: float, min_confidence: float) -> None:
    for name, value in (("--min-support", min_support), ("--min-confidence", min_confidence)):
        if not 0 < value <= 1:
            raise InvalidInput(f"{name} must be in (0, 1], got {value}", code="invalid_threshold")


async def compute_rules(
    connection: AsyncConnection,
    *,
    tenant_id: uuid.UUID,
    min_support: float = DEFAULT_MIN_SUPPORT,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> int:
    """Replace the tenant's bundle rules; returns how many were found."""
    validate_thresholds(min_support=min_support, min_confidence=min_confidence)
    # One computation per tenant at a time (two would both insert the same pairs).
    await connection.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('bichat-rules'), hashtext(:t))"),
        {"t": str(tenant_id)},
    )
    await connection.execute(
        text("DELETE FROM bundle_rules WHERE tenant_id = :t"), {"t": tenant_id}
    )
    # The CTEs' row estimates are poor (worst right after a bulk load), and a nested loop over
    # baskets x baskets is quadratic; this query always wants hash joins.
    await connection.execute(text("SET LOCAL enable_nestloop = off"))
    result = await connection.execute(
        RULES_SQL,
        {"tenant": tenant_id, "min_support": min_support, "min_confidence": min_confidence},
    )
    await connection.execute(text("RESET enable_nestloop"))
    return int(result.rowcount)
