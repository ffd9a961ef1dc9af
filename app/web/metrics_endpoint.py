"""``GET /metrics``: this process's figures (``app.metrics``) in Prometheus's text format, plus
what is read at scrape time: the owner engine's connection pool, the tenants' reader pools and,
when ``BICHAT_READER_DATABASE_URL`` names a standby, how far its replay is behind.

Scrape every instance on its own (each counts its own turns); the balancer does not pass
``/metrics`` on (deploy/haproxy.cfg, the Kubernetes Ingress)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from app.metrics import REGISTRY
from app.web.state import WebState, get_state
from db.engine import connect_raw, owner_url
from db.urls import with_credentials

log = logging.getLogger(__name__)
LAG_TIMEOUT_S = 1.0
REPLAY_LAG = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN coalesce(extract(epoch FROM now() - "
    "pg_last_xact_replay_timestamp()), 0) END"
)


class PoolUse(Collector):
    """Connections of this process, read when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            state = get_state()
        except RuntimeError:  # not started, or stopping
            return
        pool = state.runtime.engine.pool
        owner = GaugeMetricFamily(
            "bichat_db_pool_connections",
            "Connections of the owner pool (conversations, admin), by state.",
            labels=["state"],
        )
        owner.add_metric(["in_use"], float(pool.checkedout()))  # type: ignore[attr-defined]
        owner.add_metric(["idle"], float(pool.checkedin()))  # type: ignore[attr-defined]
        yield owner
        readers = state.runtime.executor.pool_use()
        yield GaugeMetricFamily(
            "bichat_reader_pools", "Tenant reader pools open.", value=readers.pools
        )
        connections = GaugeMetricFamily(
            "bichat_reader_connections",
            "Connections of the tenants' reader pools, by state.",
            labels=["state"],
        )
        connections.add_metric(["in_use"], float(readers.in_use))
        connections.add_metric(["idle"], float(readers.connections - readers.in_use))
        yield connections


async def replay_lag_s(state: WebState) -> float | None:
    """Seconds the standby's replay is behind (0 when it has replayed all it received); None
    without a standby, or when it does not answer within ``LAG_TIMEOUT_S``."""
    settings = state.settings
    if not settings.reader_database_url:
        return None
    parts = urlsplit(owner_url(settings))  # the owner's login, on the standby's server
    url = with_credentials(
        settings.reader_database_url, user=parts.username or "", password=parts.password
    )
    try:
        connection = await connect_raw(url, timeout_s=LAG_TIMEOUT_S)
        try:
            lag = await asyncio.wait_for(connection.fetchval(REPLAY_LAG), LAG_TIMEOUT_S)
        finally:
            await connection.close()
    except Exception as error:  # a scrape never fails for it: the gauge is left out
        log.warning("replica lag not measured: %s", error)
        return None
    return None if lag is None else float(lag)


REGISTRY.register(PoolUse())


def install_metrics(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body = generate_latest(REGISTRY)
        lag = await replay_lag_s(get_state())
        if lag is not None:
            body += (
                b"# HELP bichat_replica_lag_seconds How far the standby's replay is behind.\n"
                b"# TYPE bichat_replica_lag_seconds gauge\n"
                + f"bichat_replica_lag_seconds {lag}\n".encode()
            )
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)  # every Prometheus reads it
