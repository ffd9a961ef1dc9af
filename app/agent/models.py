"""The chat model behind the agent: any ``init_chat_model`` provider, or the offline model."""

from __future__ import annotations

from typing import Any

from langchain.chat_models import init_chat_model
from langchain_core.language_models import BaseChatModel

from app.agent.offline import OFFLINE_MODEL, OfflineChatModel
from app.config import Settings
from app.errors import ConfigError


def is_offline(settings: Settings) -> bool:
    return settings.effective_model == OFFLINE_MODEL


def build_chat_model(settings: Settings, *, http_async_client: Any = None) -> BaseChatModel:
    """The model named by ``BICHAT_MODEL`` with streaming usage, a timeout and retries.

    ``OPENAI_BASE_URL`` (read by the OpenAI client) points OpenAI models at any compatible
    server. ``offline`` needs no key and answers from verified questions only.
    ``http_async_client`` (an ``httpx.AsyncClient``) replaces the OpenAI client's own, so
    the eval harness's cassettes (vcrpy) see its requests."""
    name = settings.effective_model
    if name == OFFLINE_MODEL:
        return OfflineChatModel(min_similarity=settings.offline_min_similarity)
    provider = name.split(":", 1)[0]
    options: dict[str, Any] = {
        "timeout": settings.model_timeout_s,
        "max_retries": settings.model_max_retries,
    }
    if provider == "openai":
        if settings.openai_api_key is None:
            raise ConfigError(
                f"BICHAT_MODEL={name} needs OPENAI_API_KEY (or set BICHAT_MODEL=offline)"
            )
        options |= {"stream_usage": True, "api_key": settings.openai_api_key}
        if http_async_client is not None:
            options["http_async_client"] = http_async_client
    try:
        model: BaseChatModel = init_chat_model(name, **options)
    except (ImportError, ValueError) as error:
        raise ConfigError(f"cannot use BICHAT_MODEL={name}: {error}") from None
    return model
