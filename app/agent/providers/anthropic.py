"""Anthropic (``anthropic:claude-...``, needs ``pip install 'bichat[anthropic]'``): streamed
usage, the key from ``ANTHROPIC_API_KEY`` (read by the client), a timeout and retries."""

from __future__ import annotations

import os
from typing import Any

from app.agent.providers.base import Failure, Provider, classify_status, timeout_and_retries
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
    if isinstance(error, anthropic.APITimeoutError):  # a subclass of APIConnectionError
        return Failure("timed_out")
    if isinstance(error, anthropic.APIStatusError):
        return classify_status(error.status_code, error.message)
    if isinstance(error, anthropic.APIConnectionError):
        return Failure("unreachable")
    return None


PROVIDER = Provider(name="anthropic", options=options, classify=classify, key_variable=KEY_VARIABLE)
