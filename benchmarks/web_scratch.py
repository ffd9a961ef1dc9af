"""A bichat web server for the browser benchmarks: a scratch database with the web tests' shop
and users, served in this process (uvicorn in a thread) with the offline model."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from scratch import scratch_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from app.config import load_settings
from tests.app.web.conftest import prepare, start_server


@asynccontextmanager
async def offline_web_server() -> AsyncIterator[tuple[str, str]]:
    """Yields the database URL and the server's base URL; stops the server, drops the database."""
    async with scratch_database() as url:
        settings = load_settings(
            database_url=url, data_dir=Path(tempfile.mkdtemp()), model="offline"
        )
        await prepare(url, settings)
        server, thread, base = start_server(settings)
        try:
            yield url, base
        finally:
            server.should_exit = True
            thread.join(timeout=10)
