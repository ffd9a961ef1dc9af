"""``bichat ask``: the answer and its SQL in the terminal, JSON for scripts, conversations
continued with --session, users checked against the tenant."""

from __future__ import annotations

import json

import pytest


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
    """Without a model the question engine answers: its interpretation first, then the
    figures, and the SQL it ran."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = bichat("ask", "--tenant", seeded, "How many orders came from each channel?")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "**Orders by channel · all time · paid, shipped or delivered orders**"
    )
    assert "SQL run:" in result.stdout and "m.channel AS channel" in result.stdout
    assert "query_metrics: " in result.stderr and "session " in result.stderr
    assert "no model call" in " ".join(result.stderr.split())  # however the terminal wraps


def test_ask_json_lists_the_sql_and_a_follow_up_reads_the_stored_query(bichat, seeded):
    """``--json`` lists every query the answer ran; ``--session`` goes on from the query
    stored with the conversation (a new process: nothing is kept in memory)."""
    first = bichat("ask", "--tenant", seeded, "--json", "Revenue by channel last month")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["offline"] is True and data["path"] == "engine" and data["error"] is None
    (call,) = [c for c in data["tool_calls"] if c["name"] == "query_metrics"]
    assert call["input"] == {"metrics": ["revenue"], "by": ["channel"], "period": "last-month"}
    assert data["sql"][0] == call["output"]["sql"] and "o.channel" in data["sql"][0]
    assert data["answer"].startswith("**Revenue by channel · ")  # then last month's dates
    assert "· order totals of paid, shipped or delivered orders**" in data["answer"]
    assert data["usage"] == {
        "model_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "cost_usd": 0.0,
        "model": None,
    }
    again = bichat(
        "ask",
        "--tenant",
        seeded,
        "--json",
        "--session",
        data["session_id"],
        "and by payment method?",
    )
    followed = json.loads(again.stdout)
    assert followed["session_id"] == data["session_id"]
    (call,) = [c for c in followed["tool_calls"] if c["name"] == "query_metrics"]
    assert call["input"]["by"] == ["payment_method"] and call["input"]["period"] == "last-month"


def test_ask_json_lists_the_sql_of_every_tool(bichat, seeded):
    rules = json.loads(
        bichat(
            "ask", "--tenant", seeded, "--json", "How many bought-together rules are there?"
        ).stdout
    )
    (call,) = rules["tool_calls"]
    assert call["name"] == "bundle_rules" and rules["sql"] == [call["output"]["sql"]]
    assert "FROM public.bundle_rules AS r" in rules["sql"][0]


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
