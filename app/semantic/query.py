"""A semantic query, as people, the CLI and the agent's tool ask it: metrics, group-by
dimensions, filters, a period, a grain, a comparison, an order and a top or bottom N."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.semantic.errors import InvalidQuery

Grain = Literal["day", "week", "month", "quarter", "year", "weekday", "hour"]
Compare = Literal["previous", "year"]
Operator = Literal["in", "not_in", ">=", ">", "<=", "<"]
OPERATOR_ALIASES = {"=": "in", "==": "in", "!=": "not_in", "<>": "not_in", "not in": "not_in"}
MAX_ROWS = 500


class Filter(BaseModel):
    """``dimension op values``: ``channel in [web, mobile]``, ``placed >= 2026-01-01``."""

    model_config = ConfigDict(extra="forbid")

    dimension: str = Field(description="A dimension name.")
    op: Operator = Field(
        default="in",
        description="in / not_in for values (for a time dimension: periods such as 2025 or "
        "last-month); >=, >, <=, < with a date YYYY-MM-DD for time dimensions.",
    )
    values: list[str] = Field(
        min_length=1,
        max_length=200,
        description="Values as the shop names them (labels, codes, SKUs and synonyms work).",
    )

    @field_validator("op", mode="before")
    @classmethod
    def known_aliases(cls, value: Any) -> Any:
        return OPERATOR_ALIASES.get(str(value).strip().lower(), value)

    @field_validator("values", mode="before")
    @classmethod
    def one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int | float) else value


class SemanticQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: list[str] = Field(min_length=1, max_length=8, description="Metric names.")
    by: list[str] = Field(default_factory=list, max_length=4, description="Group by dimensions.")
    filters: list[Filter] = Field(default_factory=list, max_length=12)
    period: str | None = Field(default=None, description="A named period; omitted: all time.")
    from_date: date | None = Field(default=None, description="First day (YYYY-MM-DD).")
    to_date: date | None = Field(default=None, description="Last day, inclusive.")
    grain: Grain | None = Field(default=None, description="Time grain of the time dimension.")
    compare: Compare | None = Field(default=None, description="previous period or year ago")
    top: int | None = Field(default=None, ge=1, le=MAX_ROWS)
    bottom: int | None = Field(default=None, ge=1, le=MAX_ROWS)
    order_by: str | None = Field(default=None, description="A metric or dimension to sort by.")
    share: bool = Field(default=False, description="Add each row's % of the total.")
    decimals: int | None = Field(default=None, ge=0, le=6, description="Round to N decimals.")

    @model_validator(mode="after")
    def one_of_top_or_bottom(self) -> SemanticQuery:
        if self.top is not None and self.bottom is not None:
            raise ValueError("ask for top or bottom, not both")
        return self

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SemanticQuery:
        """Validate ``data``; problems become one ``InvalidQuery`` naming each field."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidQuery(describe_errors(error)) from None


def describe_errors(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        place = ".".join(str(part) for part in item["loc"]) or "query"
        problems.append(f"{place}: {item['msg']}")
    return "invalid semantic query: " + "; ".join(problems)
