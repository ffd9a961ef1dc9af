"""business and application schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:03:45.482444
"""

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision, down_revision = "0001", None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="USD", nullable=False),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_tenants_currency_iso4217")),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'", name=op.f("ck_tenants_slug_format")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "app_users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default="analyst", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'analyst')", name=op.f("ck_app_users_role_known")),
        sa.CheckConstraint(
            "username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$'",
            name=op.f("ck_app_users_username_format"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_app_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_users")),
        sa.UniqueConstraint("username", name=op.f("uq_app_users_username")),
    )
    op.create_index(op.f("ix_app_users_tenant_id"), "app_users", ["tenant_id"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'",
            name=op.f("ck_categories_slug_format"),
        ),
        sa.CheckConstraint(
            "parent_id IS NULL OR parent_id <> id", name=op.f("ck_categories_not_own_parent")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["categories.id"],
            name=op.f("fk_categories_parent_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_categories_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("tenant_id", "slug", name=op.f("uq_categories_tenant_id_slug")),
    )
    op.create_index(op.f("ix_categories_parent_id"), "categories", ["parent_id"], unique=False)
    op.create_index(
        op.f("ix_categories_tenant_id_parent_id"),
        "categories",
        ["tenant_id", "parent_id"],
        unique=False,
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_ref", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("segment", sa.Text(), server_default="consumer", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "country IS NULL OR country ~ '^[A-Z]{2}$'", name=op.f("ck_customers_country_iso3166")
        ),
        sa.CheckConstraint(
            "segment IN ('consumer', 'business', 'vip')", name=op.f("ck_customers_segment_known")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "tenant_id", "customer_ref", name=op.f("uq_customers_tenant_id_customer_ref")
        ),
    )
    op.create_index(
        op.f("ix_customers_tenant_id_country"), "customers", ["tenant_id", "country"], unique=False
    )
    op.create_index(
        op.f("ix_customers_tenant_id_created_at"),
        "customers",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customers_tenant_id_region"), "customers", ["tenant_id", "region"], unique=False
    )
    op.create_index(
        op.f("ix_customers_tenant_id_segment"), "customers", ["tenant_id", "segment"], unique=False
    )
    op.create_table(
        "tenant_readers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("role_name", sa.Text(), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_readers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_readers")),
        sa.UniqueConstraint("role_name", name=op.f("uq_tenant_readers_role_name")),
    )
    op.create_table(
        "verified_queries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), server_default="examples", nullable=False),
        sa.Column(
            "verified_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_verified_queries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verified_queries")),
    )
    op.create_index(
        op.f("ix_verified_queries_tenant_id_is_active"),
        "verified_queries",
        ["tenant_id", "is_active"],
        unique=False,
    )
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_users.id"],
            name=op.f("fk_chat_sessions_user_id_app_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
    )
    op.create_index(
        op.f("ix_chat_sessions_tenant_id_updated_at"),
        "chat_sessions",
        ["tenant_id", "updated_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_chat_sessions_user_id_updated_at"),
        "chat_sessions",
        ["user_id", "updated_at"],
        unique=False,
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("order_number", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("payment_method", sa.Text(), nullable=False),
        sa.Column(
            "subtotal", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "discount_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "shipping_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "tax_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "total_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column("shipping_city", sa.Text(), nullable=True),
        sa.Column("shipping_region", sa.Text(), nullable=True),
        sa.Column("shipping_country", sa.String(length=2), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('web', 'mobile', 'marketplace', 'store')",
            name=op.f("ck_orders_channel_known"),
        ),
        sa.CheckConstraint(
            "payment_method IN ('card', 'paypal', 'bank_transfer', 'cash', 'gift_card')",
            name=op.f("ck_orders_payment_method_known"),
        ),
        sa.CheckConstraint(
            "shipping_country IS NULL OR shipping_country ~ '^[A-Z]{2}$'",
            name=op.f("ck_orders_shipping_country_iso3166"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')",
            name=op.f("ck_orders_status_known"),
        ),
        sa.CheckConstraint(
            "(shipped_at IS NULL OR shipped_at >= placed_at) AND (delivered_at IS NULL OR delivered_at >= coalesce(shipped_at, placed_at))",
            name=op.f("ck_orders_dates_ordered"),
        ),
        sa.CheckConstraint(
            "subtotal >= 0 AND discount_amount >= 0 AND shipping_amount >= 0 AND tax_amount >= 0",
            name=op.f("ck_orders_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "total_amount = subtotal - discount_amount + shipping_amount + tax_amount",
            name=op.f("ck_orders_total_adds_up"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_orders_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "tenant_id", "order_number", name=op.f("uq_orders_tenant_id_order_number")
        ),
    )
    op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False)
    op.create_index(
        op.f("ix_orders_tenant_id_channel_placed_at"),
        "orders",
        ["tenant_id", "channel", "placed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orders_tenant_id_customer_id_placed_at"),
        "orders",
        ["tenant_id", "customer_id", "placed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orders_tenant_id_placed_at"), "orders", ["tenant_id", "placed_at"], unique=False
    )
    op.create_index(
        op.f("ix_orders_tenant_id_status_placed_at"),
        "orders",
        ["tenant_id", "status", "placed_at"],
        unique=False,
    )
    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("category_id", sa.BigInteger(), nullable=True),
        sa.Column("sku", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("cost", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("stock_quantity", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "specifications",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "search_document",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(brand, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(sku, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "jsonb_typeof(specifications) = 'object'",
            name=op.f("ck_products_specifications_object"),
        ),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name=op.f("ck_products_cost_not_negative")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price_not_negative")),
        sa.CheckConstraint("stock_quantity >= 0", name=op.f("ck_products_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_products_category_id_categories"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_products_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_products_tenant_id_sku")),
    )
    op.create_index(op.f("ix_products_category_id"), "products", ["category_id"], unique=False)
    op.create_index(
        "ix_products_search_document",
        "products",
        ["search_document"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        op.f("ix_products_tenant_id_brand"), "products", ["tenant_id", "brand"], unique=False
    )
    op.create_index(
        op.f("ix_products_tenant_id_category_id"),
        "products",
        ["tenant_id", "category_id"],
        unique=False,
    )
    op.create_table(
        "bundle_rules",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("antecedent_product_id", sa.BigInteger(), nullable=False),
        sa.Column("consequent_product_id", sa.BigInteger(), nullable=False),
        sa.Column("support", sa.Double(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("lift", sa.Double(), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "antecedent_product_id <> consequent_product_id",
            name=op.f("ck_bundle_rules_distinct_products"),
        ),
        sa.CheckConstraint(
            "confidence > 0 AND confidence <= 1", name=op.f("ck_bundle_rules_confidence_range")
        ),
        sa.CheckConstraint("lift >= 0", name=op.f("ck_bundle_rules_lift_not_negative")),
        sa.CheckConstraint("order_count > 0", name=op.f("ck_bundle_rules_order_count_positive")),
        sa.CheckConstraint(
            "support > 0 AND support <= 1", name=op.f("ck_bundle_rules_support_range")
        ),
        sa.ForeignKeyConstraint(
            ["antecedent_product_id"],
            ["products.id"],
            name=op.f("fk_bundle_rules_antecedent_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consequent_product_id"],
            ["products.id"],
            name=op.f("fk_bundle_rules_consequent_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_bundle_rules_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bundle_rules")),
        sa.UniqueConstraint(
            "tenant_id",
            "antecedent_product_id",
            "consequent_product_id",
            name=op.f("uq_bundle_rules_tenant_id_antecedent_product_id_consequent_product_id"),
        ),
    )
    op.create_index(
        op.f("ix_bundle_rules_antecedent_product_id"),
        "bundle_rules",
        ["antecedent_product_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_bundle_rules_consequent_product_id"),
        "bundle_rules",
        ["consequent_product_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_bundle_rules_tenant_id_lift"), "bundle_rules", ["tenant_id", "lift"], unique=False
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cached_input_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=8), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("tool_name", sa.Text(), nullable=True),
        sa.Column("tool_input", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tool_output", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("feedback", sa.SmallInteger(), nullable=True),
        sa.Column("feedback_comment", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "role IN ('user', 'assistant', 'tool')", name=op.f("ck_chat_messages_role_known")
        ),
        sa.CheckConstraint(
            "coalesce(input_tokens, 0) >= 0 AND coalesce(output_tokens, 0) >= 0 AND coalesce(cached_input_tokens, 0) >= 0",
            name=op.f("ck_chat_messages_tokens_not_negative"),
        ),
        sa.CheckConstraint(
            "feedback IS NULL OR feedback IN (-1, 1)", name=op.f("ck_chat_messages_feedback_thumbs")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_chat_messages_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index(
        op.f("ix_chat_messages_session_id_created_at"),
        "chat_messages",
        ["session_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_chat_messages_tenant_id_created_at"),
        "chat_messages",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "order_items",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column(
            "discount_amount", sa.Numeric(precision=12, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "line_total",
            sa.Numeric(precision=12, scale=2),
            sa.Computed("quantity * unit_price - discount_amount", persisted=True),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= quantity * unit_price",
            name=op.f("ck_order_items_discount_within_line"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_items_unit_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_order_items_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_order_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
    )
    op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_items_product_id"), "order_items", ["product_id"], unique=False)
    op.create_index(
        op.f("ix_order_items_tenant_id_order_id"),
        "order_items",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_order_items_tenant_id_product_id"),
        "order_items",
        ["tenant_id", "product_id"],
        unique=False,
    )
    op.create_table(
        "product_embeddings",
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "content_sha256 ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_product_embeddings_content_sha256_hex"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_embeddings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_product_embeddings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_embeddings")),
    )
    op.create_index(
        "ix_product_embeddings_embedding_hnsw",
        "product_embeddings",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_index(
        op.f("ix_product_embeddings_tenant_id_model"),
        "product_embeddings",
        ["tenant_id", "model"],
        unique=False,
    )
    op.create_table(
        "product_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("session_ref", sa.Text(), nullable=True),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "channel IS NULL OR channel IN ('web', 'mobile', 'marketplace', 'store')",
            name=op.f("ck_product_events_channel_known"),
        ),
        sa.CheckConstraint(
            "event_type IN ('view', 'add_to_cart', 'remove_from_cart', 'wishlist', 'purchase')",
            name=op.f("ck_product_events_event_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_product_events_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_events_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_product_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_events")),
    )
    op.create_index(
        op.f("ix_product_events_customer_id"), "product_events", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_product_events_product_id"), "product_events", ["product_id"], unique=False
    )
    op.create_index(
        op.f("ix_product_events_tenant_id_occurred_at"),
        "product_events",
        ["tenant_id", "occurred_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_product_events_tenant_id_product_id_event_type_occurred_at"),
        "product_events",
        ["tenant_id", "product_id", "event_type", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_reviews_rating_range")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_reviews_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_reviews_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_reviews_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reviews_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_customer_id"), "reviews", ["customer_id"], unique=False)
    op.create_index(op.f("ix_reviews_order_id"), "reviews", ["order_id"], unique=False)
    op.create_index(op.f("ix_reviews_product_id"), "reviews", ["product_id"], unique=False)
    op.create_index(
        op.f("ix_reviews_tenant_id_created_at"),
        "reviews",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reviews_tenant_id_product_id_created_at"),
        "reviews",
        ["tenant_id", "product_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "search_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("chat_session_id", sa.Uuid(), nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column(
            "filters",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("search_type", sa.Text(), nullable=False),
        sa.Column("results_count", sa.Integer(), nullable=False),
        sa.Column("response_time_ms", sa.Double(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "results_count >= 0", name=op.f("ck_search_logs_results_count_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["chat_session_id"],
            ["chat_sessions.id"],
            name=op.f("fk_search_logs_chat_session_id_chat_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_search_logs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_logs")),
    )
    op.create_index(
        op.f("ix_search_logs_chat_session_id"), "search_logs", ["chat_session_id"], unique=False
    )
    op.create_index(
        op.f("ix_search_logs_tenant_id_created_at"),
        "search_logs",
        ["tenant_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_search_logs_tenant_id_created_at"), table_name="search_logs")
    op.drop_index(op.f("ix_search_logs_chat_session_id"), table_name="search_logs")
    op.drop_table("search_logs")
    op.drop_index(op.f("ix_reviews_tenant_id_product_id_created_at"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_tenant_id_created_at"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_product_id"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_order_id"), table_name="reviews")
    op.drop_index(op.f("ix_reviews_customer_id"), table_name="reviews")
    op.drop_table("reviews")
    op.drop_index(
        op.f("ix_product_events_tenant_id_product_id_event_type_occurred_at"),
        table_name="product_events",
    )
    op.drop_index(op.f("ix_product_events_tenant_id_occurred_at"), table_name="product_events")
    op.drop_index(op.f("ix_product_events_product_id"), table_name="product_events")
    op.drop_index(op.f("ix_product_events_customer_id"), table_name="product_events")
    op.drop_table("product_events")
    op.drop_index(op.f("ix_product_embeddings_tenant_id_model"), table_name="product_embeddings")
    op.drop_index(
        "ix_product_embeddings_embedding_hnsw",
        table_name="product_embeddings",
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_table("product_embeddings")
    op.drop_index(op.f("ix_order_items_tenant_id_product_id"), table_name="order_items")
    op.drop_index(op.f("ix_order_items_tenant_id_order_id"), table_name="order_items")
    op.drop_index(op.f("ix_order_items_product_id"), table_name="order_items")
    op.drop_index(op.f("ix_order_items_order_id"), table_name="order_items")
    op.drop_table("order_items")
    op.drop_index(op.f("ix_chat_messages_tenant_id_created_at"), table_name="chat_messages")
    op.drop_index(op.f("ix_chat_messages_session_id_created_at"), table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index(op.f("ix_bundle_rules_tenant_id_lift"), table_name="bundle_rules")
    op.drop_index(op.f("ix_bundle_rules_consequent_product_id"), table_name="bundle_rules")
    op.drop_index(op.f("ix_bundle_rules_antecedent_product_id"), table_name="bundle_rules")
    op.drop_table("bundle_rules")
    op.drop_index(op.f("ix_products_tenant_id_category_id"), table_name="products")
    op.drop_index(op.f("ix_products_tenant_id_brand"), table_name="products")
    op.drop_index("ix_products_search_document", table_name="products", postgresql_using="gin")
    op.drop_index(op.f("ix_products_category_id"), table_name="products")
    op.drop_table("products")
    op.drop_index(op.f("ix_orders_tenant_id_status_placed_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_placed_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_customer_id_placed_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_channel_placed_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_customer_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_chat_sessions_user_id_updated_at"), table_name="chat_sessions")
    op.drop_index(op.f("ix_chat_sessions_tenant_id_updated_at"), table_name="chat_sessions")
    op.drop_table("chat_sessions")
    op.drop_index(op.f("ix_verified_queries_tenant_id_is_active"), table_name="verified_queries")
    op.drop_table("verified_queries")
    op.drop_table("tenant_readers")
    op.drop_index(op.f("ix_customers_tenant_id_segment"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_region"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_created_at"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_country"), table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_categories_tenant_id_parent_id"), table_name="categories")
    op.drop_index(op.f("ix_categories_parent_id"), table_name="categories")
    op.drop_table("categories")
    op.drop_index(op.f("ix_app_users_tenant_id"), table_name="app_users")
    op.drop_table("app_users")
    op.drop_table("tenants")
    op.execute("DROP EXTENSION IF EXISTS vector")
