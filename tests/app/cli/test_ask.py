"""``bichat ask``: the answer and its SQL in the terminal, JSON for scripts, conversations
continued with --session, users checked against the tenant."""

from __future__ import annotations

import json

import pytest

from app.agent.offline import OFFLINE_LABEL


@pytest.fixture
def seeded(bichat):
    """The shop 'ask-shop', seeded once per module database."""
    tenants = json.loads(bichat("tenants", "list", "--json").stdout)
    if "ask-shop" not in {t["slug"] for t in tenants}:
        result = bichat(
            "db", "seed", "--tenant", "ask-shop", "--orders", "120", "--end-date", "2026-11-22"
        )
        assert result.exit_code == 0, result.output
    return "ask-shop"


def test_ask_prints_the_answer_and_the_sql_offline(bichat, seeded, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = bichat("ask", "--tenant", seeded, "How many orders are in each status?")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(OFFLINE_LABEL)
    assert "GROUP BY o.status" in result.stdout
    assert "run_sql: " in result.stderr and "session " in result.stderr


def test_ask_json_gives_session_answer_tool_calls_usage_and_continues(bichat, seeded):
    first = bichat(
        "ask", "--tenant", seeded, "--json", "Which payment methods do customers use most?"
    )
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["offline"] is True and data["answer"].startswith(OFFLINE_LABEL)
    assert data["tool_calls"][0]["name"] == "run_sql" and data["tool_calls"][0]["error"] is None
    assert data["usage"] == {
        "model_calls": 2,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "cost_usd": 0.0,
        "model": "offline",
    }
    again = bichat(
        "ask", "--tenant", seeded, "--json", "--session", data["session_id"], "Revenue by country."
    )
    assert json.loads(again.stdout)["session_id"] == data["session_id"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--session", "not-a-uuid"], "invalid_session"),
        (["--session", "00000000-0000-0000-0000-000000000000"], "unknown_session"),
        (["--user", "nobody"], "unknown_user"),
        (["--tenant", "no-such-shop"], "unknown_tenant"),
    ],
)
def test_ask_refuses_bad_input_as_json_errors(bichat, seeded, args, code):
    options = ["--tenant", seeded, *args] if "--tenant" not in args else args
    result = bichat("ask", *options, "--json", "Revenue?")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == code


def test_ask_as_a_user_of_another_tenant_is_refused(bichat, seeded):
    bichat("tenants", "create", "ask-other", "--name", "Other")
    made = bichat(
        "users",
        "create",
        "ask-bob",
        "--tenant",
        "ask-other",
        "--password-stdin",
        stdin="long-password\n",
    )
    assert made.exit_code == 0, made.output
    refused = bichat("ask", "--tenant", seeded, "--user", "ask-bob", "Revenue?")
    assert refused.exit_code == 1 and "no active user 'ask-bob'" in refused.stderr
    bichat(
        "users",
        "create",
        "ask-amy",
        "--tenant",
        seeded,
        "--password-stdin",
        stdin="long-password\n",
    )
    asked = bichat("ask", "--tenant", seeded, "--user", "ask-amy", "--json", "Revenue by country.")
    assert asked.exit_code == 0, asked.output
