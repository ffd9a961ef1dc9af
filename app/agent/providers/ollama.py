"""Ollama (``ollama:llama3.1``, needs ``pip install 'bichat[ollama]'``): models on your own
machine, at ``OLLAMA_HOST`` (default http://127.0.0.1:11434). No key, no retries (a local
server that fails will fail again), the timeout on its HTTP client. Calls cost 0
(``pricing.json``: no per-token price)."""

from __future__ import annotations

from typing import Any

import httpx

from app.agent.providers.base import Failure, Provider, classify_status
from app.config import Settings


def options(settings: Settings, http_async_client: Any = None) -> dict[str, Any]:
    return {"client_kwargs": {"timeout": settings.model_timeout_s}}


def classify(error: BaseException) -> Failure | None:
    if isinstance(error, ConnectionError | httpx.ConnectError):  # the client's "is it running?"
        return Failure("unreachable")
    try:
        import ollama
    except ImportError:  # not installed: its errors cannot occur
        return None
    if isinstance(error, ollama.ResponseError) and error.status_code > 0:
        return classify_status(error.status_code, error.error)
    return None


PROVIDER = Provider(
    name="ollama",
    options=options,
    classify=classify,
    unreachable_hint="Is Ollama running (ollama serve) at OLLAMA_HOST?",
    retries=False,
)
