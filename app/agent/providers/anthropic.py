"""Anthropic (``anthropic:claude-...``, needs ``pip install 'bichat[anthropic]'``): streamed
usage, the key from ``ANTHROPIC_API_KEY`` (read by the client), a timeout and retries."""

from __future__ import annotations

import os
from typing import Any

from app.agent.providers.base import Failure, Provider, classify_sdk, timeout_and_retries
from app.config import Settings
from app.errors import ConfigError

KEY_VARIABLE = "ANTHROPIC_API_KEY"


def options(settings: Settings, http_async_client: Any = None) -> dict[str, Any]:
    if not os.environ.get(KEY_VARIABLE):
        raise ConfigError(
            f"BICHAT_MODEL={settings.effective_model} needs {KEY_VARIABLE} "
            "(or set BICHAT_MODEL=offline)"
        )
    return timeout_and_retries(settings) | {"stream_usage": True}


def classify(error: BaseException) -> Failure | None:
    try:
        import anthropic
    except ImportError:  # not installed: its errors cannot occur
        return None
    return classify_sdk(error, anthropic)


PROVIDER = Provider(name="anthropic", options=options, classify=classify, key_variable=KEY_VARIABLE)
