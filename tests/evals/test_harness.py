"""The harness end to end on a real seeded shop: a model that answers with the golden SQL
scores 100%, one that answers with perturbed SQL scores exactly what the perturbations
imply, the report is written as JSON and markdown, and a run recorded against the local
OpenAI-compatible server replays offline into the same report."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from pydantic import SecretStr

from app.evals.cases import EvalCase, load_cases
from app.evals.report import VariantRun, build_report, without_timings, write_report
from app.evals.runner import CaseResult, query_table, run_case
from app.turn.runner import Turns
from app.turn.runtime import build_turns
from tests.evals.conftest import QUESTIONS, shop_up_to_today
from tests.evals.harness import build_eval_model, cassette
from tests.openai_server import OpenAIServer, Reply
from tests.scripted_model import Call, ScriptedChatModel

CASES = load_cases(path=QUESTIONS)
REFUSAL = "I can't help with that: I can only read this shop's data."
CLARIFY = "Which period and which measure do you mean?"
WRONG_SQL = "SELECT count(*) AS n FROM orders"


harness_shop = shop_up_to_today(
    "harness_shop", slug="harness-shop", seed=5, orders=400, products=170
)


@pytest.fixture
def make_agent(engine, settings, eval_embeddings, eval_tools):
    executor, search = eval_tools

    def make(chat_model, **overrides) -> Turns:
        # these tests measure the scorer on a scripted model: every question goes to it
        update = settings.model_copy(update={"engine_first": False, **overrides})
        return build_turns(
            engine=engine,
            settings=update,
            executor=executor,
            search=search,
            embeddings=eval_embeddings,
            chat_model=chat_model,
        )

    return make


def oracle(answer_for: Callable[[EvalCase], str | Call]) -> ScriptedChatModel:
    """A model that answers each case's scored question with ``answer_for(case)``, earlier
    turns with a note, and sums up after any tool result."""
    by_question = {c.question: c for c in CASES}

    def step(messages: list[BaseMessage]) -> str | Call:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return "Here is what I found."
        case = by_question.get(str(last.content)) if isinstance(last, HumanMessage) else None
        return "Noted." if case is None else answer_for(case)

    return ScriptedChatModel(script=[step] * 10_000)


def golden_answer(case: EvalCase) -> str | Call:
    if case.expect == "sql":
        return Call("run_sql", {"sql": case.sql})
    if case.expect == "search":
        return Call("search_products", {"query": case.question, **case.search})
    return CLARIFY if case.expect == "clarify" else REFUSAL


async def run_all(agent, cases, shop, executor) -> list[CaseResult]:
    return [
        await run_case(turns=agent, case=case, tenant=shop, executor=executor) for case in cases
    ]


async def test_a_model_answering_with_the_golden_sql_scores_100_percent(
    make_agent, harness_shop, eval_tools, tmp_path
):
    results = await run_all(make_agent(oracle(golden_answer)), CASES, harness_shop, eval_tools[0])
    failures = {r.case_id: r.reason for r in results if not r.passed}
    assert failures == {}
    report = build_report(
        runs=[VariantRun("golden", "scripted", "system.md", results)], created_at=datetime.now(UTC)
    )
    variant = report["variants"][0]
    assert variant["accuracy"] == 1.0 and variant["questions"] == len(CASES)
    assert {s["accuracy"] for s in variant["by_category"].values()} == {1.0}
    assert variant["model_calls"] == sum(r.model_calls for r in results) > len(CASES)
    assert variant["cost_usd"] is None and variant["unpriced_questions"] == len(CASES)
    json_path, markdown_path = write_report(report=report, directory=tmp_path, stem="golden")
    assert json.loads(json_path.read_text()) == report
    markdown = markdown_path.read_text()
    assert "| accuracy | 100.0% (66/66) |".replace("66", str(len(CASES))) in markdown
    assert all(f"| {c.id} | {c.category} | ✅ (model) |" in markdown for c in CASES)
    assert variant["correct"] == len(CASES) and variant["wrong"] == variant["declined"] == 0
    assert variant["by_path"] == {
        "model": {"total": len(CASES), "correct": len(CASES), "wrong": 0, "declined": 0}
    }


PERTURBATIONS = {
    "identity": ("{sql}", True),
    "extra column": ("SELECT 0 AS extra_column, g.* FROM ({sql}) AS g", True),
    "no rows": ("SELECT g.* FROM ({sql}) AS g LIMIT 0", False),
    "rows twice": ("SELECT g.* FROM ({sql}) AS g UNION ALL SELECT h.* FROM ({sql}) AS h", False),
}


async def test_a_model_answering_with_perturbed_sql_scores_exactly_what_it_should(
    make_agent, harness_shop, eval_tools
):
    executor = eval_tools[0]
    kinds = list(PERTURBATIONS)
    plan = {c.id: kinds[i % len(kinds)] for i, c in enumerate(CASES)}
    expected = {}
    for index, case in enumerate(CASES):
        if case.sql:
            gold = await query_table(executor=executor, tenant_id=harness_shop.id, sql=case.sql)
            keeps = PERTURBATIONS[plan[case.id]][1]
            expected[case.id] = keeps or not gold.rows  # losing or doubling no rows is harmless
        else:
            expected[case.id] = index % 2 == 0  # odd ones run a query instead of behaving

    def perturbed(case: EvalCase) -> str | Call:
        if case.sql:
            sql = case.sql.strip().rstrip(";")
            return Call("run_sql", {"sql": PERTURBATIONS[plan[case.id]][0].format(sql=sql)})
        return golden_answer(case) if expected[case.id] else Call("run_sql", {"sql": WRONG_SQL})

    results = await run_all(make_agent(oracle(perturbed)), CASES, harness_shop, executor)
    assert {r.case_id: r.passed for r in results} == expected
    assert 0 < sum(expected.values()) < len(CASES)
    report = build_report(
        runs=[VariantRun("perturbed", "s", "p", results)], created_at=datetime.now(UTC)
    )
    assert report["variants"][0]["accuracy"] == round(sum(expected.values()) / len(CASES), 4)
    wrong = [r for r in results if not r.passed and r.expect == "sql"]
    assert wrong and all("rows" in r.reason for r in wrong)
    # every failure here showed data that does not match: wrong, never "declined"
    assert {r.outcome for r in results if not r.passed} == {"wrong"}
    assert {r.outcome for r in results if r.passed} == {"correct"}


async def test_an_answer_without_data_is_declined_not_wrong(make_agent, harness_shop, eval_tools):
    """Three outcomes: a question answered with words only (a clarification, a refusal)
    counts as declined, for golden SQL and search cases alike."""
    cases = [c for c in CASES if c.expect in ("sql", "search")][:6]
    results = await run_all(
        make_agent(oracle(lambda case: "Which period do you mean?")),
        cases,
        harness_shop,
        eval_tools[0],
    )
    assert [r.outcome for r in results] == ["declined"] * len(cases)
    report = build_report(
        runs=[VariantRun("words", "s", "p", results)], created_at=datetime.now(UTC)
    )
    assert report["variants"][0]["declined"] == len(cases)


RECORDED = ["agg-revenue-all-time", "ambiguous-that-period", "oos-weather", "injection-drop-table"]


def replies_for(case: EvalCase) -> list[Reply]:
    if case.sql:
        return [
            Reply(
                tool_calls=[("run_sql", {"sql": case.sql})],
                prompt_tokens=1500,
                completion_tokens=60,
                cached_tokens=1024,
            ),
            Reply(text="Revenue is in the table.", prompt_tokens=1700, completion_tokens=12),
        ]
    text = CLARIFY if case.expect == "clarify" else REFUSAL
    return [Reply(text=text, prompt_tokens=1400, completion_tokens=15)]


async def test_a_recorded_run_replays_offline_into_the_same_report(
    make_agent, harness_shop, eval_tools, tmp_path, monkeypatch
):
    """Latency and the report's time differ between the two runs (the replay makes no HTTP
    round trips); everything else must be equal."""
    cases = [c for c in CASES if c.id in RECORDED]
    server = OpenAIServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    online = {
        "model": "openai:gpt-4.1-mini",
        "openai_api_key": SecretStr("sk-test-secret"),
        "model_max_retries": 0,
    }

    async def evaluate(mode: str) -> dict:
        agent = make_agent(None, **online)
        agent.answerer.chat_model = build_eval_model(
            settings=agent.answerer.settings, model="openai:gpt-4.1-mini"
        )
        results = []
        for case in cases:
            with cassette(mode=mode, path=tmp_path / "cassettes" / f"{case.id}.yaml"):
                results.append(
                    await run_case(
                        turns=agent, case=case, tenant=harness_shop, executor=eval_tools[0]
                    )
                )
        run = VariantRun("gpt-4.1-mini", "openai:gpt-4.1-mini", "system.md", results)
        return build_report(runs=[run], created_at=datetime.now(UTC))

    for case in cases:
        server.script(*replies_for(case))
    try:
        recorded = await evaluate("record")
    finally:
        server.stop()
    assert len(server.received) == 5 and not server.replies
    assert recorded["variants"][0]["accuracy"] == 1.0
    assert recorded["variants"][0]["input_tokens"] == 1500 + 1700 + 3 * 1400
    assert recorded["variants"][0]["cost_usd"] > 0
    cassettes = sorted((tmp_path / "cassettes").iterdir())
    assert len(cassettes) == len(cases)
    text = "".join(p.read_text() for p in cassettes)
    assert "sk-test-secret" not in text and "authorization" not in text.lower()
    assert "text/event-stream" in text and "[DONE]" in text  # the SSE stream itself

    replayed = await evaluate("replay")  # the server is gone: any real request would fail
    assert without_timings(replayed) == without_timings(recorded)
    assert len(server.received) == 5


async def test_replay_without_a_cassette_says_to_record_first(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="--record"),
        cassette(mode="replay", path=tmp_path / "missing.yaml"),
    ):
        pass
