"""A spoken question as the chat's page records it: 16-bit mono PCM at the chat's sample rate,
sent in chunks while the microphone is on; kept up to ``BICHAT_VOICE_MAX_AUDIO_S`` and handed
to speech-to-text as a WAV file."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field

from app.errors import InvalidInput

SAMPLE_BYTES = 2  # 16-bit PCM, mono


class TooLong(InvalidInput):
    """The recording went past ``BICHAT_VOICE_MAX_AUDIO_S``."""

    code = "voice_too_long"


@dataclass
class Recording:
    sample_rate: int
    max_s: int
    pcm: bytearray = field(default_factory=bytearray)
    too_long: bool = False  # chunks past the limit were dropped

    def add(self, chunk: bytes) -> None:
        room = self.max_s * self.sample_rate * SAMPLE_BYTES - len(self.pcm)
        if len(chunk) > room:
            self.too_long = True
            chunk = chunk[: max(0, room)]
        self.pcm += chunk

    @property
    def audio_ms(self) -> int:
        """How long the recording is, in milliseconds."""
        return len(self.pcm) * 1000 // (self.sample_rate * SAMPLE_BYTES)

    def check(self) -> None:
        """``InvalidInput`` for a recording that cannot be a question: empty or too long."""
        if self.too_long:
            raise TooLong(
                f"The recording is longer than {self.max_s} s, the most taken for one "
                "question (BICHAT_VOICE_MAX_AUDIO_S): ask it in shorter words, or type it."
            )
        if self.audio_ms < 100:
            raise InvalidInput(
                "Nothing was recorded: check that the browser may use the microphone, then "
                "speak after clicking it.",
                code="voice_empty",
            )

    def wav(self) -> bytes:
        """The recording as a WAV file (what speech-to-text services take)."""
        out = io.BytesIO()
        with wave.open(out, "wb") as file:
            file.setnchannels(1)
            file.setsampwidth(SAMPLE_BYTES)
            file.setframerate(self.sample_rate)
            file.writeframes(bytes(self.pcm))
        return out.getvalue()
