"""The digest's insight sections, behind one seam: the anomalies found and the top drivers of
each pinned metric's change, from ``app.insights`` (``find_anomalies``, ``explain``); ``None``
(the section is left out, and says so) when there is nothing to say it with."""

from __future__ import annotations

from typing import Any, Protocol

from app.errors import BichatError
from app.insights.anomalies import find_anomalies
from app.insights.explain import Driver, explain
from app.insights.source import MetricSource
from app.tools.tool import ToolServices
from db.tenants import TenantRecord

MAX_ANOMALIES = 5
MAX_DRIVERS = 3


class DigestInsights(Protocol):
    async def anomalies(self, tenant: TenantRecord, *, days: int) -> list[str] | None: ...

    async def drivers(self, tenant: TenantRecord, query: dict[str, Any]) -> list[str] | None: ...


class LibraryInsights:
    """``app.insights`` over the shop's semantic layer, through the guard as its reader."""

    def __init__(self, services: ToolServices) -> None:
        self.services = services

    def source(self, tenant: TenantRecord) -> MetricSource | None:
        if self.services.semantic is None:
            return None
        return MetricSource(
            self.services.semantic, self.services.executor, tenant, context="digest"
        )

    async def anomalies(self, tenant: TenantRecord, *, days: int) -> list[str] | None:
        source = self.source(tenant)
        if source is None:
            return None
        anomalies = await find_anomalies(source, days=days)
        return [a.sentence() for a in anomalies[:MAX_ANOMALIES]]

    async def drivers(self, tenant: TenantRecord, query: dict[str, Any]) -> list[str] | None:
        """The top drivers of a one-metric query's change over its period (None: nothing to
        explain: no period, several metrics, or no semantic layer)."""
        source = self.source(tenant)
        metrics, period = query.get("metrics") or [], query.get("period")
        if source is None or len(metrics) != 1 or not period:
            return None
        try:
            explanation = await explain(source, metrics[0], period, "previous")
        except BichatError:
            return None
        return [driver_line(d) for d in explanation.drivers[:MAX_DRIVERS]]


def driver_line(driver: Driver) -> str:
    share = f" ({driver.share_of_change:.0%} of the change)" if driver.share_of_change else ""
    return f"{driver.dimension_label} {driver.value}: {driver.contribution:+,.2f}{share}"
