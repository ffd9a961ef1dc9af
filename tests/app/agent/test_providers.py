"""Providers: each one's real client against a local HTTP server that fails on purpose, and the
message the owner sees (and the store keeps) for each failure; prices per provider."""

from __future__ import annotations

import socket
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from app.agent.models import build_chat_model
from app.agent.pricing import cost_usd
from app.agent.providers import GENERIC, provider_for
from app.agent.providers.base import describe_model_error
from app.errors import ConfigError
from tests.openai_server import OpenAIServer, Reply


@pytest.fixture
def server():
    server = OpenAIServer().start()
    yield server
    server.stop()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the probe is closed


def model_for(settings, monkeypatch, name: str, base_url: str, **overrides):
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url.removesuffix("/v1"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("OLLAMA_HOST", base_url.removesuffix("/v1"))
    update = {"model": name, "model_max_retries": 0, "openai_api_key": SecretStr("sk-test")}
    return build_chat_model(settings.model_copy(update=update | overrides))


async def failure_of(model, provider_name: str) -> str:
    with pytest.raises(Exception) as caught:
        await model.ainvoke("How many orders?")
    return describe_model_error(caught.value, provider_for(provider_name))


@pytest.mark.parametrize(
    ("name", "reply", "options", "words"),
    [
        ("openai:gpt-4.1-mini", Reply(status=401), {}, "check OPENAI_API_KEY"),
        ("openai:gpt-4.1-mini", Reply(status=400), {}, "rejected the request (HTTP 400)"),
        ("anthropic:claude-haiku-4-5", Reply(status=429), {}, "rate-limiting"),
        ("anthropic:claude-haiku-4-5", Reply(status=401), {}, "check ANTHROPIC_API_KEY"),
        ("anthropic:claude-haiku-4-5", Reply(status=529), {}, "failed (HTTP 529)"),
        (
            "anthropic:claude-haiku-4-5",
            Reply(delay_s=2.0, text="too late"),
            {"model_timeout_s": 0.5},
            "did not answer in time",
        ),
        ("ollama:llama3.1", Reply(status=500), {}, "failed (HTTP 500)"),
        ("ollama:llama3.1", Reply(status=404), {}, "rejected the request (HTTP 404)"),
    ],
    ids=[
        "openai-401",
        "openai-400",
        "anthropic-429",
        "anthropic-401",
        "anthropic-529",
        "anthropic-timeout",
        "ollama-500",
        "ollama-404",
    ],
)
async def test_each_providers_failures_read_as_ours(
    settings, monkeypatch, server, name, reply, options, words
):
    server.script(reply)
    model = model_for(settings, monkeypatch, name, server.base_url, **options)
    assert words in await failure_of(model, name.split(":")[0])
    assert server.received, "the real client made the request"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("anthropic:claude-haiku-4-5", "cannot be reached (connection failed). Check the network."),
        ("ollama:llama3.1", "cannot be reached (connection failed). Is Ollama running"),
    ],
)
async def test_a_provider_that_does_not_answer_says_what_to_check(
    settings, monkeypatch, name, words
):
    model = model_for(settings, monkeypatch, name, closed_port_url())
    assert words in await failure_of(model, name.split(":")[0])


async def test_other_providers_are_read_by_their_http_status(server):
    server.script(Reply(status=503))
    async with httpx.AsyncClient() as client:
        response = await client.post(server.base_url + "/anything", json={})
    with pytest.raises(httpx.HTTPStatusError) as caught:
        response.raise_for_status()
    assert "failed (HTTP 503)" in describe_model_error(caught.value, GENERIC)
    assert provider_for("mistralai:mistral-large") is GENERIC


def test_a_provider_needs_its_key(settings, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        build_chat_model(settings.model_copy(update={"model": "anthropic:claude-haiku-4-5"}))


def test_prices_are_per_provider_and_unknown_models_stay_unpriced():
    sonnet = cost_usd(
        "claude-sonnet-4-5-20250929",
        input_tokens=1_000_000,
        output_tokens=100_000,
        cached_input_tokens=500_000,
        cache_write_tokens=200_000,
    )
    # 300k input at 3.00, 500k cache reads at 0.30, 200k cache writes at 3.75, 100k out at 15
    assert sonnet == Decimal("0.90") + Decimal("0.15") + Decimal("0.75") + Decimal("1.50")
    assert cost_usd("anthropic:claude-haiku-4-5", input_tokens=10, output_tokens=0) is not None
    assert cost_usd("llama3.1:8b", provider="ollama", input_tokens=900, output_tokens=90) == 0
    assert cost_usd("ollama:llama3.1:8b", input_tokens=900, output_tokens=90) == 0
    assert cost_usd("llama3.1:8b", input_tokens=900, output_tokens=90) is None
    assert cost_usd("claude-next-9", provider="anthropic", input_tokens=9, output_tokens=9) is None
