"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from db.models.application import (
    APPLICATION_TABLES,
    AppUser,
    ChatMessage,
    ChatSession,
    DimensionValue,
    DimensionValueRefresh,
    TenantReader,
    VerifiedQuery,
)
from db.models.base import Base
from db.models.business import (
    BUSINESS_TABLES,
    PII_COLUMNS,
    BundleRule,
    Category,
    Customer,
    Order,
    OrderItem,
    Product,
    ProductEmbedding,
    ProductEvent,
    Review,
    SearchLog,
    Tenant,
)

__all__ = [
    "APPLICATION_TABLES",
    "BUSINESS_TABLES",
    "PII_COLUMNS",
    "AppUser",
    "Base",
    "BundleRule",
    "Category",
    "ChatMessage",
    "ChatSession",
    "Customer",
    "DimensionValue",
    "DimensionValueRefresh",
    "Order",
    "OrderItem",
    "Product",
    "ProductEmbedding",
    "ProductEvent",
    "Review",
    "SearchLog",
    "Tenant",
    "TenantReader",
    "VerifiedQuery",
]
