"""``DrainingServer``: uvicorn, with ``SIGTERM`` draining before it stops.

uvicorn stops at ``SIGTERM`` at once: it closes every websocket (the chat's sockets, with
their turns still streaming) and then waits for HTTP requests. Here the first ``SIGTERM``
first drains (``app.turn.drain``: ``/readyz`` says 503 so the balancer sends new users
elsewhere, new questions are refused, running turns get ``BICHAT_DRAIN_TIMEOUT_S`` to finish,
the rest are stored as interrupted), and only then lets uvicorn stop. A second ``SIGTERM``
or ``Ctrl+C`` stops without waiting further."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, drain: Callable[[], Awaitable[Any]]) -> None:
        super().__init__(config)
        self.drain = drain
        self.loop: asyncio.AbstractEventLoop | None = None
        self.draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self.should_exit or self.loop is None or self.draining:
            super().handle_exit(sig, frame)
            return
        log.info("SIGTERM: draining before stopping")
        self.loop.call_soon_threadsafe(self.start_draining, sig)

    def start_draining(self, sig: int) -> None:
        async def drain_then_stop() -> None:
            try:
                await self.drain()
            except Exception:
                log.exception("draining failed; stopping anyway")
            super(DrainingServer, self).handle_exit(sig, None)

        self.draining = asyncio.ensure_future(drain_then_stop())
