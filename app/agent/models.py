"""The chat model behind the agent: any ``init_chat_model`` provider. Without one (``offline``)
the question engine (``app.questions``) answers instead of the agent."""

from __future__ import annotations

from typing import Any

from langchain.chat_models import init_chat_model
from langchain_core.language_models import BaseChatModel

from app.agent.providers import provider_for
from app.config import Settings
from app.errors import ConfigError

OFFLINE_MODEL = "offline"


def is_offline(settings: Settings) -> bool:
    return settings.effective_model == OFFLINE_MODEL


def build_chat_model(settings: Settings, *, http_async_client: Any = None) -> BaseChatModel:
    """The model named by ``BICHAT_MODEL`` with its provider's options (``app.agent.providers``:
    streamed usage, a timeout, retries, the key). ``http_async_client`` (an
    ``httpx.AsyncClient``) replaces the OpenAI client's own, so the eval harness's cassettes
    (vcrpy) see its requests."""
    name = settings.effective_model
    if name == OFFLINE_MODEL:
        raise ConfigError(
            "BICHAT_MODEL=offline has no chat model: the question engine answers without one"
        )
    options = provider_for(name).options(settings, http_async_client)
    try:
        model: BaseChatModel = init_chat_model(name, **options)
    except (ImportError, ValueError) as error:
        raise ConfigError(f"cannot use BICHAT_MODEL={name}: {error}") from None
    return model
