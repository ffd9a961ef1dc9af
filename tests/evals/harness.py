"""What the eval plugin needs beyond ``app.evals``: the chat model of a variant, and record /
replay of its HTTP traffic with vcrpy cassettes.

openai >= 3 talks through ``httpx2``, which vcrpy does not patch; the OpenAI client still
accepts an ``httpx.AsyncClient``, which vcrpy does patch (streamed SSE bodies included), so
OpenAI models are built here with one. Everything else about the model is what
``app.agent.models.build_chat_model`` does: streamed usage, the timeout and the retries."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import vcr
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from app.agent.models import build_chat_model
from app.config import Settings

REPLAY_KEY = "sk-replay-no-key"  # replays send no request, but the client wants a key
SECRET_HEADERS = ("authorization", "api-key", "x-api-key", "openai-organization", "openai-project")
RESPONSE_HEADERS_DROPPED = ("set-cookie", "openai-organization", "openai-project")


@dataclass(frozen=True)
class Variant:
    model: str
    prompt: Path
    label: str

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-zA-Z0-9.-]+", "_", self.label).strip("_")


def variants_for(*, models: list[str], prompts: list[Path]) -> list[Variant]:
    """Every model with every prompt; labels name only what differs."""
    return [
        Variant(
            model=model,
            prompt=prompt,
            label=" + ".join(
                ([model] if len(models) > 1 or len(prompts) == 1 else [])
                + ([prompt.name] if len(prompts) > 1 else [])
            ),
        )
        for model in models
        for prompt in prompts
    ]


def build_eval_model(*, settings: Settings, model: str) -> BaseChatModel | None:
    """The chat model of a variant; None lets the agent build it (offline, other providers).
    OpenAI models get a plain ``httpx.AsyncClient`` (vcrpy records and replays its requests;
    the OpenAI client's own transport bypasses it) and a placeholder key when replaying."""
    if not model.startswith("openai:"):
        return None
    variant = settings.model_copy(
        update={"model": model, "openai_api_key": settings.openai_api_key or SecretStr(REPLAY_KEY)}
    )
    return build_chat_model(
        variant,
        http_async_client=httpx.AsyncClient(timeout=settings.model_timeout_s),
    )


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in RESPONSE_HEADERS_DROPPED:
            del headers[name]
    return response


def recorder() -> vcr.VCR:
    """Requests match on method and path (the host differs between a provider and a local
    server; bodies carry today's date); recorded answers play back in order, once each."""
    return vcr.VCR(
        filter_headers=list(SECRET_HEADERS),
        match_on=["method", "path"],
        before_record_response=scrub_response,
        decode_compressed_response=True,
    )


@contextlib.contextmanager
def cassette(*, mode: str | None, path: Path) -> Iterator[None]:
    """``record``: every request goes out and is written to ``path`` (replacing it);
    ``replay``: requests are answered from ``path`` only, never from the network; None: live."""
    if mode is None:
        yield
        return
    if mode == "replay" and not path.exists():
        raise FileNotFoundError(f"no cassette {path}: record it first (--record)")
    if mode == "record":
        path.unlink(missing_ok=True)  # a new recording, not appended to an old one
    record_mode = "all" if mode == "record" else "none"
    with recorder().use_cassette(str(path), record_mode=record_mode):
        yield
