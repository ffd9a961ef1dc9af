"""OpenAI, and any OpenAI-compatible server (vLLM, LM Studio, llama.cpp...) through
``OPENAI_BASE_URL``: streamed usage, the key from ``OPENAI_API_KEY``, a timeout and retries."""

from __future__ import annotations

from typing import Any

import openai

from app.agent.providers.base import Failure, Provider, classify_sdk, timeout_and_retries
from app.config import Settings
from app.errors import ConfigError


def options(settings: Settings, http_async_client: Any = None) -> dict[str, Any]:
    if settings.openai_api_key is None:
        raise ConfigError(
            f"BICHAT_MODEL={settings.effective_model} needs OPENAI_API_KEY "
            "(or set BICHAT_MODEL=offline)"
        )
    found = timeout_and_retries(settings)
    found |= {"stream_usage": True, "api_key": settings.openai_api_key}
    if http_async_client is not None:
        found["http_async_client"] = http_async_client
    return found


def classify(error: BaseException) -> Failure | None:
    return classify_sdk(error, openai)


PROVIDER = Provider(
    name="openai",
    options=options,
    classify=classify,
    key_variable="OPENAI_API_KEY",
    unreachable_hint="Check the network (and OPENAI_BASE_URL, if set).",
)
