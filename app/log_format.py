"""How a bichat process logs: one line per record on standard error, as text or as JSON
(``BICHAT_LOG_FORMAT``), each with the request and the turn it belongs to.

- ``REQUEST_ID``: set per HTTP request or socket by ``app.web.request_ids`` (the balancer's
  ``X-Request-ID`` when it sends a well-formed one, else a new one);
- ``TURN_ID``: the stored question's id (``chat_messages.id``) while its turn runs
  (``app.turn.runner``), so that every line of a turn can be found, and the turn in admin.

JSON lines: ``{"time", "level", "logger", "message", "request_id", "turn_id"}`` plus
``exception`` when there is one."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("bichat_request_id", default=None)
TURN_ID: ContextVar[int | None] = ContextVar("bichat_turn_id", default=None)
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(ids)s"


class ContextIds(logging.Filter):
    """Adds ``request_id``, ``turn_id`` and ``ids`` (their text form) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, turn_id = REQUEST_ID.get(), TURN_ID.get()
        parts = [f"request={request_id}"] if request_id else []
        parts += [f"turn={turn_id}"] if turn_id is not None else []
        record.__dict__.update(
            request_id=request_id, turn_id=turn_id, ids=f" [{' '.join(parts)}]" if parts else ""
        )
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "turn_id": getattr(record, "turn_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(
    log_format: str, *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route every logger (ours, uvicorn's, Chainlit's) to one handler on standard error."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextIds())
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()  # theirs would print the line twice
        logging.getLogger(name).propagate = True
