"""Speech to text through the configured provider's OpenAI-compatible
``/v1/audio/transcriptions`` (``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, as its chat model
uses them; model ``BICHAT_TRANSCRIPTION_MODEL``). Only a provider that speaks the OpenAI API
(``openai:...``) has one: without it (offline, or another provider) there are no voice
questions and the chat hides its microphone."""

from __future__ import annotations

from dataclasses import dataclass

import openai

from app.agent.providers import openai as openai_provider
from app.agent.providers.base import classify_sdk, describe
from app.config import Settings
from app.errors import BichatError
from app.voice.recording import Recording

NO_PROVIDER = (
    "Voice questions need a language model provider with speech to text (BICHAT_MODEL="
    "openai:..., OPENAI_API_KEY): the microphone is hidden."
)


class TranscriptionFailed(BichatError):
    """The speech-to-text call failed: the message says why and what to do."""

    code = "transcription_failed"


@dataclass(frozen=True)
class Transcriber:
    """Speech to text at ``base_url`` (None: the client's own, ``OPENAI_BASE_URL`` or
    OpenAI's) with ``api_key`` and ``model``."""

    api_key: str
    model: str
    timeout_s: float
    base_url: str | None = None

    async def transcribe(self, recording: Recording) -> str:
        """The recording's words; ``TranscriptionFailed`` saying why when there are none."""
        client = openai.AsyncOpenAI(
            api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=1
        )
        try:
            async with client:
                reply = await client.audio.transcriptions.create(
                    model=self.model, file=("question.wav", recording.wav(), "audio/wav")
                )
        except openai.OpenAIError as error:
            raise TranscriptionFailed(failure_words(error)) from error
        text = (reply.text or "").strip()
        if not text:
            raise TranscriptionFailed(
                "No words were heard in the recording: speak closer to the microphone, or type "
                "the question.",
                code="transcription_empty",
            )
        return text


def failure_words(error: BaseException) -> str:
    found = classify_sdk(error, openai)
    reason = describe(found, openai_provider.PROVIDER) if found else f"{type(error).__name__}."
    return f"Your spoken question could not be turned into text. {reason} Or type it."


def transcriber_for(settings: Settings) -> Transcriber | None:
    """Speech to text for these settings, or None (offline, or a provider without it)."""
    provider = settings.effective_model.split(":", 1)[0]
    if provider != openai_provider.PROVIDER.name or settings.openai_api_key is None:
        return None
    return Transcriber(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.transcription_model,
        timeout_s=settings.model_timeout_s,
    )
