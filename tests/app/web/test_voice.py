"""Voice questions (app.web.voice_input, app.voice): a spoken question sent over the chat's
socket as the page sends the microphone's chunks, transcribed by the local OpenAI-compatible
server's ``/v1/audio/transcriptions`` (the real ``openai`` client), answered as typed text
and stored with the channel ``voice`` and its length; failures stored and shown; without
speech to text, no microphone."""

from __future__ import annotations

import math
import re
import struct

import httpx
import pytest
from playwright.async_api import expect
from pydantic import SecretStr

from app.voice.transcription import NO_PROVIDER, Transcriber, transcriber_for
from app.web.voice_input import enable_voice
from tests.app.web.conftest import admin_login, db_rows
from tests.app.web.test_browser import ANSWER, ARTIFACTS, CHROMIUM, log_in
from tests.app.web.test_step_order import shown_in_order
from tests.openai_server import OpenAIServer, Transcript
from tests.scripted_model import Call, ScriptedChatModel

SAMPLE_RATE = 24_000  # Chainlit's default [features.audio] sample_rate
QUESTION = "How many orders were delivered last month?"


def spoken(seconds: float, *, chunk_s: float = 0.1) -> list[bytes]:
    """A 440 Hz tone as the page's recorder sends it: 16-bit mono PCM in chunks."""
    samples = [
        int(8000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE))
        for n in range(int(seconds * SAMPLE_RATE))
    ]
    pcm = struct.pack(f"<{len(samples)}h", *samples)
    size = int(chunk_s * SAMPLE_RATE) * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


@pytest.fixture
def speech_to_text(web_server):
    """The server transcribes through a local fake of the provider; the model is scripted."""
    fake = OpenAIServer().start()
    enable_voice(
        Transcriber(api_key="test-key", model="whisper-1", timeout_s=10, base_url=fake.base_url)
    )
    yield fake
    enable_voice(None)
    web_server.use_model(None)
    fake.stop()


async def stored_questions(web_server, thread_id: str) -> list:
    return await db_rows(
        web_server.database_url,
        "SELECT content, channel, audio_ms, error FROM chat_messages "
        "WHERE session_id = CAST(:s AS uuid) AND role = 'user' ORDER BY id",
        s=thread_id,
    )


async def test_a_spoken_question_is_transcribed_answered_and_stored(
    web_server, ann, speech_to_text
):
    speech_to_text.transcripts.append(Transcript(QUESTION))
    model = ScriptedChatModel(script=[lambda messages: f"You asked: {messages[-1].content}"])
    web_server.use_model(model)
    turn = await ann.turn(None, speech=spoken(1.5))

    shown = [s for s in turn.steps if s.get("type") == "user_message"]
    assert [s["output"] for s in shown] == [QUESTION]  # the words, as the user's question
    assert turn.answer()["output"] == f"You asked: {QUESTION}"  # answered as typed text
    assert await stored_questions(web_server, turn.thread_id) == [(QUESTION, "voice", 1500, None)]

    (upload,) = [r for r in speech_to_text.received if r.path.endswith("/audio/transcriptions")]
    assert upload.path == "/v1/audio/transcriptions"
    assert upload.headers["authorization"] == "Bearer test-key"
    assert upload.body["model"] == "whisper-1"
    assert upload.body["file"]["content_type"] == "audio/wav"
    assert upload.body["file"]["wav_ms"] == 1500

    with httpx.Client(base_url=web_server.base_url) as admin:  # the admin's transcript says so
        admin_login(admin, "ann")
        transcript = admin.get(f"/admin/conversations/{turn.thread_id}").text
    assert re.search(r'id="voice-\d+">spoken, 1.5 s<', transcript)


async def test_a_typed_question_is_stored_with_the_chat_channel(web_server, ann, speech_to_text):
    web_server.use_model(ScriptedChatModel(script=["Typed, answered."]))
    turn = await ann.turn("Typed: how are sales?")
    assert await stored_questions(web_server, turn.thread_id) == [
        ("Typed: how are sales?", "chat", None, None)
    ]


async def test_a_failed_transcription_is_stored_and_shown(web_server, ann, speech_to_text):
    speech_to_text.transcripts += [Transcript(status=503), Transcript(status=503)]  # + its retry
    web_server.use_model(ScriptedChatModel(script=[]))  # never called
    turn = await ann.turn(None, speech=spoken(2.0))

    said = [s for s in turn.steps if s.get("type") == "assistant_message"][-1]
    assert "could not be turned into text" in said["output"]
    assert "HTTP 503" in said["output"]
    assert [(a["label"], a["forId"]) for a in turn.of("action")] == [("Try again", said["id"])]
    (row,) = await stored_questions(web_server, turn.thread_id)
    assert row.content is None and row.channel == "voice" and row.audio_ms == 2000
    assert "could not be turned into text" in row.error


async def test_no_words_heard_is_said_plainly(web_server, ann, speech_to_text):
    speech_to_text.transcripts.append(Transcript("  "))
    web_server.use_model(ScriptedChatModel(script=[]))
    turn = await ann.turn(None, speech=spoken(1.0))
    assert "No words were heard" in turn.answer()["output"]
    (row,) = await stored_questions(web_server, turn.thread_id)
    assert row.channel == "voice" and "No words were heard" in row.error


async def test_a_recording_past_the_limit_is_refused_before_sending(
    web_server, ann, speech_to_text
):
    limit = web_server.settings.voice_max_audio_s
    web_server.settings.voice_max_audio_s = 1
    try:
        turn = await ann.turn(None, speech=spoken(1.5))
    finally:
        web_server.settings.voice_max_audio_s = limit
    assert "longer than 1 s" in turn.answer()["output"]
    assert not [r for r in speech_to_text.received if r.path.endswith("/audio/transcriptions")]


async def test_without_a_provider_the_microphone_is_hidden_and_the_mode_says_why(
    web_server, ann, offline
):
    async def microphone() -> bool:
        response = await ann.http.get("/project/settings")
        return bool(response.json()["features"]["audio"]["enabled"])

    assert web_server.settings.effective_model == "offline"
    assert not await microphone()
    turn = await ann.turn(None)  # a new chat: the mode shown
    (modes,) = turn.of("set_modes")
    assert NO_PROVIDER in modes[0]["options"][0]["description"]

    fake = OpenAIServer().start()
    try:
        enable_voice(
            Transcriber(api_key="k", model="whisper-1", timeout_s=5, base_url=fake.base_url)
        )
        assert await microphone()  # the same page with speech to text: a microphone
    finally:
        enable_voice(None)
        fake.stop()


async def test_the_recorders_worklets_are_allowed_only_with_voice_on(web_server, offline):
    async def script_sources() -> list[str]:
        async with httpx.AsyncClient(base_url=web_server.base_url) as client:
            policy = (await client.get("/chat/")).headers["content-security-policy"]
        return next(p for p in policy.split(";") if p.strip().startswith("script-src")).split()

    assert "blob:" not in await script_sources()
    fake = OpenAIServer().start()
    try:
        enable_voice(
            Transcriber(api_key="k", model="whisper-1", timeout_s=5, base_url=fake.base_url)
        )
        assert "blob:" in await script_sources()
    finally:
        enable_voice(None)
        fake.stop()


def test_speech_to_text_only_with_an_openai_compatible_provider(web_server):
    settings = web_server.settings
    assert (
        transcriber_for(settings.model_copy(update={"model": None, "openai_api_key": None})) is None
    )
    assert (
        transcriber_for(
            settings.model_copy(update={"model": "anthropic:claude-x", "openai_api_key": None})
        )
        is None
    )
    found = transcriber_for(
        settings.model_copy(
            update={"model": "openai:gpt-4.1-mini", "openai_api_key": SecretStr("sk-x")}
        )
    )
    assert found is not None and found.model == settings.transcription_model


@pytest.fixture
async def microphone_page(web_server):
    """Chromium with a fake microphone (a tone) that needs no permission prompt."""
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        context = await browser.new_context(viewport={"width": 1300, "height": 950})
        tab = await context.new_page()
        tab.problems = []
        tab.on("console", lambda m: tab.problems.append(m.text) if m.type == "error" else None)
        yield tab
        await browser.close()


async def toggle_microphone(tab) -> None:
    """The microphone's shortcut (``p``, outside the message box), as a user presses it."""
    await tab.evaluate("document.activeElement && document.activeElement.blur()")
    await tab.keyboard.press("p")


async def speak(tab, *, seconds: float) -> None:
    """Switch the microphone on, speak (the fake device plays a tone), switch it off."""
    listening = tab.get_by_text("Listening", exact=True)
    for _ in range(3):  # until the socket is up, the shortcut does nothing
        await toggle_microphone(tab)
        try:
            await expect(listening).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            continue
    await tab.wait_for_timeout(seconds * 1000)
    await tab.screenshot(path=str(ARTIFACTS / "chat-voice-listening.png"))
    await toggle_microphone(tab)
    await expect(listening).to_be_hidden(timeout=5_000)


async def test_a_question_spoken_in_the_browser(web_server, microphone_page, speech_to_text):
    tab = microphone_page
    speech_to_text.transcripts.append(Transcript(QUESTION))
    web_server.use_model(
        ScriptedChatModel(
            script=[
                Call("run_sql", {"sql": "SELECT count(*) AS orders FROM orders"}),
                "Spoken, and answered. Done.",
            ]
        )
    )
    await log_in(tab, web_server)
    await speak(tab, seconds=2)
    await expect(tab.locator('[data-step-type="user_message"]').last).to_contain_text(
        QUESTION, timeout=20_000
    )
    await expect(tab.locator(ANSWER).last).to_contain_text("Done.", timeout=20_000)
    await tab.screenshot(path=str(ARTIFACTS / "chat-voice-question.png"))
    assert await shown_in_order(tab) == ["question", "step", "answer"]  # as a typed one
    assert not [p for p in tab.problems if "Content Security Policy" in p], tab.problems
    (row,) = await db_rows(
        web_server.database_url,
        "SELECT channel, audio_ms FROM chat_messages WHERE role = 'user' AND content = :q "
        "ORDER BY id DESC LIMIT 1",
        q=QUESTION,
    )
    assert row.channel == "voice" and 1_000 <= row.audio_ms <= 5_000


async def test_a_failed_transcription_is_tried_again_in_the_browser(
    web_server, microphone_page, speech_to_text
):
    """Nothing said is lost: after the provider failed, **Try again** sends the same
    recording again, and the question is answered."""
    tab = microphone_page
    speech_to_text.transcripts += [Transcript(status=503), Transcript(status=503)]
    speech_to_text.transcripts.append(Transcript("Spoken once, heard the second time?"))
    web_server.use_model(ScriptedChatModel(script=["Heard at last. Done."]))
    await log_in(tab, web_server)
    await speak(tab, seconds=1.5)
    said = tab.locator(ANSWER).last
    await expect(said).to_contain_text("could not be turned into text", timeout=20_000)
    await tab.screenshot(path=str(ARTIFACTS / "chat-voice-failed.png"))
    await tab.get_by_role("button", name="Try again").click()
    await expect(tab.locator('[data-step-type="user_message"]').last).to_contain_text(
        "Spoken once, heard the second time?", timeout=20_000
    )
    await expect(tab.locator(ANSWER).last).to_contain_text("Heard at last. Done.", timeout=20_000)
    uploads = [r for r in speech_to_text.received if r.path.endswith("/audio/transcriptions")]
    assert len(uploads) == 3 and len({u.body["file"]["bytes"] for u in uploads}) == 1
