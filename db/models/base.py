"""Declarative base, naming convention and column helpers shared by every model."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, MetaData, Numeric, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def money(*, nullable: bool = False, default: str | None = None) -> Mapped[Decimal]:
    return mapped_column(Numeric(12, 2), nullable=nullable, server_default=default)


def timestamp_now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def bigint_id() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=False), primary_key=True)


def parent(column: str, *, ondelete: str) -> Mapped[int]:
    """A required, indexed foreign key to ``column`` (``table.id``)."""
    return mapped_column(ForeignKey(column, ondelete=ondelete), nullable=False, index=True)


class TenantScoped:
    """Mixin: every business and application row belongs to one tenant."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL text for a CHECK that ``column`` is one of ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
