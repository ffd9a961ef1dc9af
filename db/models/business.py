"""The shop's business data (the brief's contract). Readable, tenant-scoped, by the SQL tool."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, TenantScoped, bigint_id, in_list, money, parent, timestamp_now

EMBEDDING_DIMENSIONS = 384
ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
REVENUE_STATUSES = ("paid", "shipped", "delivered")
CHANNELS = ("web", "mobile", "marketplace", "store")
PAYMENT_METHODS = ("card", "paypal", "bank_transfer", "cash", "gift_card")
SEGMENTS = ("consumer", "business", "vip")
EVENT_TYPES = ("view", "add_to_cart", "remove_from_cart", "wishlist", "purchase")
SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

PRODUCT_SEARCH_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(brand, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(sku, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')"
)


class Tenant(Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug_format"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint(in_list("week_start", WEEKDAYS), name="week_start_weekday"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=func.gen_random_uuid()
    )
    slug: Mapped[str] = mapped_column(String(63), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="USD")
    timezone: Mapped[str] = mapped_column(Text, nullable=False, server_default="UTC")
    created_at: Mapped[datetime] = timestamp_now()
    week_start: Mapped[str] = mapped_column(Text, nullable=False, server_default="monday")


class Category(TenantScoped, Base):
    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "slug"),
        CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug_format"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        Index(None, "tenant_id", "parent_id"),
    )

    id: Mapped[int] = bigint_id()
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    slug: Mapped[str] = mapped_column(String(63), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()


class Product(TenantScoped, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
        CheckConstraint("stock_quantity >= 0", name="stock_not_negative"),
        CheckConstraint("jsonb_typeof(specifications) = 'object'", name="specifications_object"),
        Index(None, "tenant_id", "category_id"),
        Index(None, "tenant_id", "brand"),
        Index("ix_products_search_document", "search_document", postgresql_using="gin"),
    )

    id: Mapped[int] = bigint_id()
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    sku: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = money()
    cost: Mapped[Decimal | None] = money(nullable=True)
    stock_quantity: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    specifications: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    image_url: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = timestamp_now()
    updated_at: Mapped[datetime] = timestamp_now()
    search_document: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(PRODUCT_SEARCH_DOCUMENT, persisted=True)
    )


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_ref"),
        CheckConstraint(in_list("segment", SEGMENTS), name="segment_known"),
        CheckConstraint("country IS NULL OR country ~ '^[A-Z]{2}$'", name="country_iso3166"),
        Index(None, "tenant_id", "region"),
        Index(None, "tenant_id", "country"),
        Index(None, "tenant_id", "segment"),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[int] = bigint_id()
    customer_ref: Mapped[str] = mapped_column(Text, nullable=False)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    segment: Mapped[str] = mapped_column(Text, nullable=False, server_default="consumer")
    created_at: Mapped[datetime] = timestamp_now()


class Order(TenantScoped, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_number"),
        CheckConstraint(in_list("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint(in_list("channel", CHANNELS), name="channel_known"),
        CheckConstraint(in_list("payment_method", PAYMENT_METHODS), name="payment_method_known"),
        CheckConstraint(
            "subtotal >= 0 AND discount_amount >= 0 AND shipping_amount >= 0 AND tax_amount >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint(
            "total_amount = subtotal - discount_amount + shipping_amount + tax_amount",
            name="total_adds_up",
        ),
        CheckConstraint(
            "(shipped_at IS NULL OR shipped_at >= placed_at) AND "
            "(delivered_at IS NULL OR delivered_at >= coalesce(shipped_at, placed_at))",
            name="dates_ordered",
        ),
        CheckConstraint(
            "shipping_country IS NULL OR shipping_country ~ '^[A-Z]{2}$'",
            name="shipping_country_iso3166",
        ),
        Index(None, "tenant_id", "placed_at"),
        Index(None, "tenant_id", "status", "placed_at"),
        Index(None, "tenant_id", "customer_id", "placed_at"),
        Index(None, "tenant_id", "channel", "placed_at"),
    )

    id: Mapped[int] = bigint_id()
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    order_number: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    payment_method: Mapped[str] = mapped_column(Text, nullable=False)
    subtotal: Mapped[Decimal] = money(default="0")
    discount_amount: Mapped[Decimal] = money(default="0")
    shipping_amount: Mapped[Decimal] = money(default="0")
    tax_amount: Mapped[Decimal] = money(default="0")
    total_amount: Mapped[Decimal] = money(default="0")
    shipping_city: Mapped[str | None] = mapped_column(Text)
    shipping_region: Mapped[str | None] = mapped_column(Text)
    shipping_country: Mapped[str | None] = mapped_column(String(2))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OrderItem(TenantScoped, Base):
    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= quantity * unit_price",
            name="discount_within_line",
        ),
        Index(None, "tenant_id", "order_id"),
        Index(None, "tenant_id", "product_id"),
    )

    id: Mapped[int] = bigint_id()
    order_id: Mapped[int] = parent("orders.id", ondelete="CASCADE")
    product_id: Mapped[int] = parent("products.id", ondelete="RESTRICT")
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = money()
    discount_amount: Mapped[Decimal] = money(default="0")
    line_total: Mapped[Decimal] = mapped_column(
        Numeric(12, 2),
        Computed("quantity * unit_price - discount_amount", persisted=True),
    )


class Review(TenantScoped, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        Index(None, "tenant_id", "product_id", "created_at"),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[int] = bigint_id()
    product_id: Mapped[int] = parent("products.id", ondelete="CASCADE")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = timestamp_now()


class ProductEvent(TenantScoped, Base):
    __tablename__ = "product_events"
    __table_args__ = (
        CheckConstraint(in_list("event_type", EVENT_TYPES), name="event_type_known"),
        CheckConstraint(f"channel IS NULL OR {in_list('channel', CHANNELS)}", name="channel_known"),
        Index(None, "tenant_id", "occurred_at"),
        Index(None, "tenant_id", "product_id", "event_type", "occurred_at"),
    )

    id: Mapped[int] = bigint_id()
    product_id: Mapped[int] = parent("products.id", ondelete="CASCADE")
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    session_ref: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text, nullable=False)
    channel: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class BundleRule(TenantScoped, Base):
    __tablename__ = "bundle_rules"
    __table_args__ = (
        UniqueConstraint("tenant_id", "antecedent_product_id", "consequent_product_id"),
        CheckConstraint("antecedent_product_id <> consequent_product_id", name="distinct_products"),
        CheckConstraint("support > 0 AND support <= 1", name="support_range"),
        CheckConstraint("confidence > 0 AND confidence <= 1", name="confidence_range"),
        CheckConstraint("lift >= 0", name="lift_not_negative"),
        CheckConstraint("order_count > 0", name="order_count_positive"),
        Index(None, "tenant_id", "lift"),
    )

    id: Mapped[int] = bigint_id()
    antecedent_product_id: Mapped[int] = parent("products.id", ondelete="CASCADE")
    consequent_product_id: Mapped[int] = parent("products.id", ondelete="CASCADE")
    support: Mapped[float] = mapped_column(Double, nullable=False)
    confidence: Mapped[float] = mapped_column(Double, nullable=False)
    lift: Mapped[float] = mapped_column(Double, nullable=False)
    order_count: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[datetime] = timestamp_now()


class ProductEmbedding(TenantScoped, Base):
    __tablename__ = "product_embeddings"
    __table_args__ = (
        CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="content_sha256_hex"),
        Index(None, "tenant_id", "model"),
        Index(
            "ix_product_embeddings_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
            # migration 0004; chosen from benchmarks/search.py (README, product search)
            postgresql_with={"m": 24, "ef_construction": 128},
        ),
    )

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(Text, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIMENSIONS), nullable=False)
    updated_at: Mapped[datetime] = timestamp_now()


class SearchLog(TenantScoped, Base):
    __tablename__ = "search_logs"
    __table_args__ = (
        CheckConstraint("results_count >= 0", name="results_count_not_negative"),
        Index(None, "tenant_id", "created_at"),
    )

    id: Mapped[int] = bigint_id()
    chat_session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="SET NULL"), index=True
    )
    query: Mapped[str] = mapped_column(Text, nullable=False)
    filters: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    search_type: Mapped[str] = mapped_column(Text, nullable=False)
    results_count: Mapped[int] = mapped_column(Integer, nullable=False)
    response_time_ms: Mapped[float] = mapped_column(Double, nullable=False)
    created_at: Mapped[datetime] = timestamp_now()


BUSINESS_TABLES: tuple[str, ...] = (
    "tenants",
    "categories",
    "products",
    "customers",
    "orders",
    "order_items",
    "reviews",
    "product_events",
    "bundle_rules",
    "product_embeddings",
    "search_logs",
)
"""Tables the SQL tool may read (tenant-scoped by row-level security)."""

PII_COLUMNS: dict[str, tuple[str, ...]] = {"customers": ("email", "phone", "date_of_birth")}
"""Columns the SQL tool never sees."""
