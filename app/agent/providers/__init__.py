"""Model providers, one module each: the options its chat model is built with, how its client's
errors map to ours (``base.describe_model_error``), and its prices under its name in
``app/agent/pricing.json``. A provider without a module here still works through
``init_chat_model`` with a timeout and retries, its errors mapped by HTTP status."""

from __future__ import annotations

from app.agent.providers import anthropic, ollama, openai
from app.agent.providers.base import GENERIC, Provider

PROVIDERS: dict[str, Provider] = {
    p.name: p for p in (openai.PROVIDER, anthropic.PROVIDER, ollama.PROVIDER)
}


def provider_for(model: str) -> Provider:
    """The provider of a ``provider:model`` string (``GENERIC`` for one without a module)."""
    return PROVIDERS.get(model.split(":", 1)[0], GENERIC)
