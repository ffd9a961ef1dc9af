"""The CSV import/export format (``bichat db load-csv`` / ``export-csv``): files, columns, rows.

Each file has the brief's required columns, in any order, and may add the optional ones
listed here (written by ``export-csv`` so that a round trip loses nothing). Empty cells mean
"absent": defaults apply and derived fields are computed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from db.models.business import (
    CHANNELS,
    ORDER_STATUSES,
    PAYMENT_METHODS,
    SEGMENTS,
    SLUG_PATTERN,
)

INT4_MAX = 2_147_483_647


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not allowed in JSON", name, 0)


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
CountryCode = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[A-Z]{2}$"),
]


class CsvRow(BaseModel):
    """Common behaviour: strip cells, treat empty cells as absent, reject unknown values."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, record: Any) -> Any:
        """An empty cell is an absent value: the field's default applies."""
        if isinstance(record, dict):
            for name, value in record.items():
                if isinstance(value, str) and "\x00" in value:
                    raise ValueError(f"{name} contains a NUL character")
            return {k: v for k, v in record.items() if not (isinstance(v, str) and not v.strip())}
        return record


def one_of(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}")
    return value


class CategoryRow(CsvRow):
    slug: Slug
    name: Text
    parent_slug: Slug | None = None
    description: str | None = None
    is_active: bool = True


class ProductRow(CsvRow):
    sku: Text
    name: Text
    description: str | None = None
    category_slug: Slug | None = None
    brand: str | None = None
    price: Money
    cost: Money | None = None
    stock_quantity: Annotated[int, Field(ge=0, le=INT4_MAX)] = 0
    specifications: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    image_url: str | None = None

    @field_validator("specifications", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value, parse_constant=_no_constants)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"is not valid JSON ({error.msg} at column {error.colno})"
                ) from None
            if "\\u0000" in json.dumps(value):
                raise ValueError("contains a NUL character, which PostgreSQL cannot store")
        if not isinstance(value, dict):
            raise ValueError('must be a JSON object such as {"weight_kg": 1.2}')
        return value


class CustomerRow(CsvRow):
    customer_ref: Text
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    region: str | None = None
    country: CountryCode | None = None
    segment: str = "consumer"
    created_at: datetime | None = None
    date_of_birth: date | None = None

    @field_validator("segment")
    @classmethod
    def _segment(cls, value: str) -> str:
        return one_of(value, SEGMENTS, "segment") or "consumer"


class OrderRow(CsvRow):
    order_number: Text
    customer_ref: str | None = None
    status: str
    channel: str
    payment_method: str
    placed_at: datetime
    subtotal: Money | None = None
    discount_amount: Money = Decimal(0)
    shipping_amount: Money = Decimal(0)
    tax_amount: Money = Decimal(0)
    total_amount: Money | None = None
    shipping_city: str | None = None
    shipping_region: str | None = None
    shipping_country: CountryCode | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        return one_of(value, ORDER_STATUSES, "status") or value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return one_of(value, CHANNELS, "channel") or value

    @field_validator("payment_method")
    @classmethod
    def _payment(cls, value: str) -> str:
        return one_of(value, PAYMENT_METHODS, "payment_method") or value


class OrderItemRow(CsvRow):
    order_number: Text
    sku: Text
    quantity: Annotated[int, Field(gt=0, le=INT4_MAX)]
    unit_price: Money | None = None
    discount_amount: Money = Decimal(0)


class ReviewRow(CsvRow):
    sku: Text
    customer_ref: str | None = None
    rating: Annotated[int, Field(ge=1, le=5)]
    title: str | None = None
    body: str | None = None
    created_at: datetime


@dataclass(frozen=True)
class CsvFile:
    name: str
    model: type[CsvRow]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    key: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


FILES: tuple[CsvFile, ...] = (
    CsvFile(
        "categories.csv",
        CategoryRow,
        ("slug", "name", "parent_slug", "description"),
        ("is_active",),
        ("slug",),
    ),
    CsvFile(
        "products.csv",
        ProductRow,
        (
            "sku",
            "name",
            "description",
            "category_slug",
            "brand",
            "price",
            "cost",
            "stock_quantity",
            "specifications",
            "is_active",
        ),
        ("image_url",),
        ("sku",),
    ),
    CsvFile(
        "customers.csv",
        CustomerRow,
        (
            "customer_ref",
            "first_name",
            "last_name",
            "email",
            "phone",
            "city",
            "region",
            "country",
            "segment",
            "created_at",
        ),
        ("date_of_birth",),
        ("customer_ref",),
    ),
    CsvFile(
        "orders.csv",
        OrderRow,
        (
            "order_number",
            "customer_ref",
            "status",
            "channel",
            "payment_method",
            "placed_at",
            "subtotal",
            "discount_amount",
            "shipping_amount",
            "tax_amount",
            "total_amount",
            "shipping_city",
            "shipping_region",
            "shipping_country",
        ),
        ("shipped_at", "delivered_at"),
        ("order_number",),
    ),
    CsvFile(
        "order_items.csv",
        OrderItemRow,
        ("order_number", "sku", "quantity", "unit_price", "discount_amount"),
    ),
    CsvFile(
        "reviews.csv",
        ReviewRow,
        ("sku", "customer_ref", "rating", "title", "body", "created_at"),
        (),
        ("sku", "customer_ref", "created_at"),
    ),
)
FILES_BY_NAME = {f.name: f for f in FILES}
