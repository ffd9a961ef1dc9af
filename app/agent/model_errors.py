"""Model-provider failures in words a shop owner can act on (the stored error says the same)."""

from __future__ import annotations

import asyncio

import httpx
import openai

from app.errors import BichatError


class ModelCallFailed(BichatError):
    """The model call failed after its retries; the turn ends with this message."""

    code = "model_failed"

    def __init__(
        self, message: str, *, model: str | None = None, latency_ms: int | None = None
    ) -> None:
        super().__init__(message)
        self.model, self.latency_ms = model, latency_ms


def describe_model_error(error: BaseException) -> str:
    if isinstance(error, openai.RateLimitError):
        return (
            "The model provider is rate-limiting requests (HTTP 429) or the account is out of "
            "quota. Wait a minute and ask again."
        )
    if isinstance(error, openai.APITimeoutError | asyncio.TimeoutError | httpx.TimeoutException):
        return "The model did not answer in time. Ask again, or ask a simpler question."
    if isinstance(error, openai.AuthenticationError):
        return "The model provider refused the API key (HTTP 401): check OPENAI_API_KEY."
    if isinstance(error, openai.APIStatusError):
        return (
            f"The model provider failed (HTTP {error.status_code}). This is on their side: "
            "ask again in a moment."
        )
    if isinstance(error, openai.APIConnectionError | httpx.TransportError):
        return "The model provider cannot be reached (connection failed). Check the network."
    return f"The model call failed: {type(error).__name__}: {error}"
