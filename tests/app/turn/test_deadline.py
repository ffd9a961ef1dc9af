"""One deadline per turn (``BICHAT_TURN_TIMEOUT_S``): a model provider that never answers (the
local OpenAI-compatible server, made to hang) ends the turn at its deadline, its retries fit
inside, and the turn says it still works, on which attempt, while it waits."""

from __future__ import annotations

import time

from app.turn.events import Failed, StillWorking
from tests.app.agent.conftest import stored_messages
from tests.openai_server import Reply

TURN_TIMEOUT_S = 8.0
MODEL_TIMEOUT_S = 6.0  # per attempt: three of them would take 18 s
HANGING = {
    "model": "openai:gpt-4.1-mini",
    "openai_api_key": "sk-test-key",
    "model_timeout_s": MODEL_TIMEOUT_S,
    "model_max_retries": 2,
    "turn_timeout_s": TURN_TIMEOUT_S,
}


async def test_a_model_that_never_answers_ends_the_turn_at_its_deadline(
    make_agent, shop, engine, openai_server
):
    openai_server.script(*[Reply(text="Far too late.", delay_s=60) for _ in range(3)])
    turns = make_agent(**HANGING)
    await turns.prepare()
    started = time.monotonic()
    events = [e async for e in turns.stream(tenant=shop, question="Revenue, slow model?")]
    elapsed = time.monotonic() - started

    assert elapsed < TURN_TIMEOUT_S + 2.5  # the deadline holds (before: 3 x 6 s and more)
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.result.answer.startswith(f"No answer within {TURN_TIMEOUT_S:g} s")
    waiting = [e for e in events if isinstance(e, StillWorking)]
    assert [(e.type, e.what, e.attempt, e.attempts) for e in waiting] == [
        ("still_working", "the model", 1, 3),  # after 5 s of the first attempt
        ("still_working", "the model", 2, 3),  # the retry, as it starts
    ]
    assert waiting[0].waited_s >= 5 and waiting[1].waited_s >= MODEL_TIMEOUT_S
    assert len(openai_server.received) == 2  # the third attempt did not fit
    rows = await stored_messages(engine, failed.result.session_id)
    assert [(r["role"], r["error"]) for r in rows] == [
        ("user", None),
        ("assistant", failed.result.answer),
    ]
