"""The digest's insight sections, behind one seam: the anomalies found and the top drivers of
each pinned metric's change, from ``app.insights`` (``find_anomalies``, ``explain``) when it
is installed; ``None`` (the section is left out, and says so) when it is not."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Protocol

from app.errors import BichatError
from app.tools.tool import ToolServices
from db.tenants import TenantRecord

MAX_ANOMALIES = 5
MAX_DRIVERS = 3


class DigestInsights(Protocol):
    async def anomalies(self, tenant: TenantRecord, *, days: int) -> list[str] | None: ...

    async def drivers(self, tenant: TenantRecord, query: dict[str, Any]) -> list[str] | None: ...


def module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


class LibraryInsights:
    """``app.insights`` over the shop's semantic layer, through the guard as its reader."""

    def __init__(self, services: ToolServices) -> None:
        self.services = services

    def source(self, tenant: TenantRecord) -> Any:
        found = module("app.insights.source")
        if found is None or self.services.semantic is None:
            return None
        return found.MetricSource(
            self.services.semantic, self.services.executor, tenant, context="digest"
        )

    async def anomalies(self, tenant: TenantRecord, *, days: int) -> list[str] | None:
        found, source = module("app.insights.anomalies"), self.source(tenant)
        if found is None or source is None:
            return None
        anomalies = await found.find_anomalies(source, days=days)
        return [a.sentence() for a in anomalies[:MAX_ANOMALIES]]

    async def drivers(self, tenant: TenantRecord, query: dict[str, Any]) -> list[str] | None:
        """The top drivers of a one-metric query's change over its period (None: nothing to
        explain: no period, several metrics, or no insights library)."""
        found, source = module("app.insights.explain"), self.source(tenant)
        metrics, period = query.get("metrics") or [], query.get("period")
        if found is None or source is None or len(metrics) != 1 or not period:
            return None
        try:
            explanation = await found.explain(source, metrics[0], period, "previous")
        except BichatError:
            return None
        return [driver_line(d) for d in explanation.drivers[:MAX_DRIVERS]]


def driver_line(driver: Any) -> str:
    share = f" ({driver.share_of_change:.0%} of the change)" if driver.share_of_change else ""
    return f"{driver.dimension_label} {driver.value}: {driver.contribution:+,.2f}{share}"
