"""Voice questions in the chat (its hooks are in ``app.web.chat``): Chainlit's microphone (``[features.audio]``, on only when
there is speech to text, ``app.voice.transcription``) records 16-bit PCM chunks over the
socket; when the user stops, the recording is transcribed, shown as the user's question and
answered through the same turn as typed text (``app.web.chat.answer``), stored with the
channel ``voice`` and the recording's length.

A recording that cannot be turned into text is stored as a question with that error (the
conversation keeps it; the model never sees it), the reason is shown, and the recording is
kept in the socket's session for a **Try again** button: nothing the user said is lost to a
passing failure of the provider.
"""

from __future__ import annotations

import logging
import uuid

import chainlit as cl
from chainlit.config import config
from chainlit.types import InputAudioChunk

from app.errors import BichatError
from app.turn.writer import store_unheard
from app.voice.recording import Recording
from app.voice.transcription import Transcriber, TranscriptionFailed
from app.web.state import get_state
from db.users import ActiveUser

log = logging.getLogger(__name__)

RECORDING = "bichat.recording"  # the recording in progress, in the socket's user session
UNHEARD = "bichat.unheard"  # the last recording that failed to transcribe (Try again)
TRY_AGAIN = "Try again"
TRY_AGAIN_ACTION = "voice_again"


def enable_voice(transcriber: Transcriber | None) -> None:
    """Speech to text for this process (None: no voice questions, the microphone hidden)."""
    get_state().transcriber = transcriber
    if config.features.audio is not None:
        config.features.audio.enabled = transcriber is not None


def start_recording() -> bool:
    """The microphone is on: a new recording (False: no voice questions here)."""
    state = get_state()
    if state.transcriber is None or config.features.audio is None:
        return False
    recording = Recording(config.features.audio.sample_rate, state.settings.voice_max_audio_s)
    cl.user_session.set(RECORDING, recording)
    return True


def keep_chunk(chunk: InputAudioChunk) -> None:
    recording = cl.user_session.get(RECORDING)
    if isinstance(recording, Recording):
        recording.add(bytes(chunk.data))


def take(key: str) -> Recording | None:
    """The recording in progress (``RECORDING``) or the one to try again (``UNHEARD``)."""
    recording = cl.user_session.get(key)
    cl.user_session.set(key, None)
    return recording if isinstance(recording, Recording) else None


async def transcribe(recording: Recording, user: ActiveUser) -> str | None:
    """The recording's words, or None when there are none (stored, shown, kept to try again)."""
    transcriber = get_state().transcriber
    try:
        if transcriber is None:
            raise TranscriptionFailed("Voice questions are off on this server: type it.")
        recording.check()
        return await transcriber.transcribe(recording)
    except BichatError as error:
        log.warning("a voice question was not transcribed: %s", error.message)
        await unheard(recording, error, user)
        return None


async def unheard(recording: Recording, error: BichatError, user: ActiveUser) -> None:
    """Store the failed question with its error, say why, and offer to try again."""
    if recording.pcm:
        await store_unheard(
            get_state().runtime.engine,
            tenant_id=user.tenant_id,
            session_id=uuid.UUID(cl.context.session.thread_id),
            user_id=user.id,
            audio_ms=recording.audio_ms,
            error=error.message,
        )
    actions = []
    if isinstance(error, TranscriptionFailed) and recording.pcm:
        cl.user_session.set(UNHEARD, recording)
        actions = [cl.Action(name=TRY_AGAIN_ACTION, payload={}, label=TRY_AGAIN, icon="mic")]
    await cl.Message(content=error.message, author="bichat", actions=actions).send()
