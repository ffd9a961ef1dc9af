"""The chat while the model provider does not answer: a step says the turn still works, on
which attempt and for how long, until the turn's deadline ends it with a plain message."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.agent.models import build_chat_model
from tests.openai_server import Reply


@pytest.fixture
def hanging_model(web_server, openai_server):
    """The server's agent on an OpenAI-compatible provider that never answers, with a turn
    deadline of 8 s and attempts of 6 s."""
    from app.web.state import get_state

    openai_server.script(*[Reply(text="Far too late.", delay_s=60) for _ in range(3)])
    agent, turns = web_server.agent, get_state().runtime.turns
    kept = agent.settings, turns.timeout_s
    agent.settings = agent.settings.model_copy(
        update={
            "model": "openai:gpt-4.1-mini",
            "openai_api_key": SecretStr("sk-test"),
            "model_timeout_s": 6.0,
            "model_max_retries": 2,
            "turn_timeout_s": 8.0,
        }
    )
    turns.timeout_s = 8.0
    web_server.use_model(build_chat_model(agent.settings))
    yield openai_server
    agent.settings, turns.timeout_s = kept
    web_server.use_model(None)


async def test_the_chat_says_it_still_works_while_the_model_does_not_answer(ann, hanging_model):
    turn = await ann.turn("Revenue by month, from a slow model?", timeout_s=60)
    named = [
        d["name"]
        for _, event, d in turn.events
        if event in ("new_message", "update_message") and d.get("name", "").startswith("the ")
    ]
    assert [name.split(",")[0] for name in named] == [
        "the model (attempt 1 of 3",
        "the model (attempt 2 of 3",
    ]
    assert turn.of("delete_message"), "the step goes once the turn ends"
    assert turn.answer()["output"].startswith("No answer within 8 s")
