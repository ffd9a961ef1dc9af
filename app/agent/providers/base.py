"""What a model provider is to bichat (``Provider``), and its failures in words a shop owner can
act on. Each provider module classifies its own client's errors into a ``Failure``; the words
are the same for all of them, and the stored error says the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from app.config import Settings
from app.errors import BichatError

FailureKind = Literal[
    "rate_limited", "timed_out", "refused_key", "rejected", "failed", "unreachable"
]


class ModelCallFailed(BichatError):
    """The model call failed after its retries; the turn ends with this message."""

    code = "model_failed"

    def __init__(
        self, message: str, *, model: str | None = None, latency_ms: int | None = None
    ) -> None:
        super().__init__(message)
        self.model, self.latency_ms = model, latency_ms


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    status: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Provider:
    """One provider: the options its chat model is built with (from the settings; the eval
    harness may hand in an ``httpx.AsyncClient``), how its client's errors map to ours, the
    variable holding its key, and what to check when it cannot be reached. Its prices are
    under its name in ``pricing.json``."""

    name: str
    options: Callable[[Settings, Any], dict[str, Any]]
    classify: Callable[[BaseException], Failure | None]
    key_variable: str | None = None
    unreachable_hint: str = "Check the network."
    retries: bool = True  # a failed call may be tried again (``BICHAT_MODEL_MAX_RETRIES``)


def timeout_and_retries(settings: Settings, http_async_client: Any = None) -> dict[str, Any]:
    """The options every LangChain chat model takes: a timeout, and no retries of its own: the
    turn retries a failed call itself (``app.agent.reporter``), within the turn's deadline and
    telling the user which attempt it is on."""
    return {"timeout": settings.model_timeout_s, "max_retries": 0}


def classify_status(status: int, detail: str = "") -> Failure:
    if status == 429:
        return Failure("rate_limited", status)
    if status in (401, 403):
        return Failure("refused_key", status)
    if status < 500:
        return Failure("rejected", status, detail)
    return Failure("failed", status)


def classify_sdk(error: BaseException, sdk: Any) -> Failure | None:
    """Errors of the clients generated alike (``openai``, ``anthropic``): the same classes."""
    if isinstance(error, sdk.APITimeoutError):  # a subclass of APIConnectionError
        return Failure("timed_out")
    if isinstance(error, sdk.APIStatusError):
        return classify_status(error.status_code, error.message)
    if isinstance(error, sdk.APIConnectionError):
        return Failure("unreachable")
    return None


def classify_transport(error: BaseException) -> Failure | None:
    """Failures any HTTP client shows the same way: timeouts, status codes, no connection."""
    if isinstance(error, asyncio.TimeoutError | httpx.TimeoutException):
        return Failure("timed_out")
    if isinstance(error, httpx.HTTPStatusError):
        return classify_status(error.response.status_code, error.response.text[:300])
    if isinstance(error, httpx.TransportError):
        return Failure("unreachable")
    return None


def describe(failure: Failure, provider: Provider) -> str:
    key = provider.key_variable or "the provider's API key"
    return {
        "rate_limited": "The model provider is rate-limiting requests (HTTP 429) or the account "
        "is out of quota. Wait a minute and ask again.",
        "timed_out": "The model did not answer in time. Ask again, or ask a simpler question.",
        "refused_key": f"The model provider refused the API key (HTTP {failure.status}): "
        f"check {key}.",
        "rejected": f"The model provider rejected the request (HTTP {failure.status}): "
        f"{failure.detail or 'no reason given'}.",
        "failed": f"The model provider failed (HTTP {failure.status}). This is on their side: "
        "ask again in a moment.",
        "unreachable": "The model provider cannot be reached (connection failed). "
        + provider.unreachable_hint,
    }[failure.kind]


RETRYABLE: frozenset[FailureKind] = frozenset(
    {"rate_limited", "timed_out", "failed", "unreachable"}
)


def worth_retrying(error: BaseException, provider: Provider) -> bool:
    """A failure that may pass (429, 5xx, timeouts, a dropped connection), not a refused key or
    a rejected request."""
    failure = provider.classify(error) or classify_transport(error)
    return failure is not None and failure.kind in RETRYABLE


def describe_model_error(error: BaseException, provider: Provider) -> str:
    """The stored and shown message of a failed model call."""
    failure = provider.classify(error) or classify_transport(error)
    if failure is None:
        return f"The model call failed: {type(error).__name__}: {error}"
    return describe(failure, provider)


GENERIC = Provider(name="generic", options=timeout_and_retries, classify=classify_transport)
"""Any other ``init_chat_model`` provider: timeout and retries, errors mapped by HTTP status."""
