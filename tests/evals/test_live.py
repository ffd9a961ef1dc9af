"""The live evals: every golden question asked of every variant (model x prompt), scored, and
gathered into the report written at the end of the session (``conftest.py``).

A question fails its test when the answer is wrong, so ``-k`` and ``--lf`` work on them; the
report holds all of them either way. Without ``--model`` one test skips with the reason.
Run them in one process (no ``-n``): the report is gathered in the process that ran them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.evals.cases import EvalCase, load_cases
from app.evals.runner import run_case
from app.turn.runner import Turns
from app.turn.runtime import build_turns
from tests.evals.conftest import (
    NO_MODEL,
    QUESTIONS,
    EvalResults,
    cassette_mode,
    configured_variants,
    option,
    shop_up_to_today,
)
from tests.evals.harness import REPLAY_KEY, Variant, build_eval_model, cassette


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "eval_case" not in metafunc.fixturenames:
        return
    variants = configured_variants(metafunc.config)
    if not variants:
        skipped = pytest.param(None, None, marks=pytest.mark.skip(reason=NO_MODEL), id="no-model")
        metafunc.parametrize(("eval_variant", "eval_case"), [skipped])
        return
    cases = load_cases(path=option(metafunc.config, "eval_questions", QUESTIONS))  # type: ignore[arg-type]
    metafunc.parametrize(
        ("eval_variant", "eval_case"),
        [pytest.param(v, c, id=f"{c.id}[{v.slug}]") for c in cases for v in variants],
    )


live_shop = shop_up_to_today("live_shop", slug="eval-shop", seed=9, orders=3000, products=340)


@pytest.fixture(scope="module")
def live_agents(engine, settings, eval_embeddings, eval_tools, pytestconfig):
    """Factory: the agent of a variant (built once)."""
    executor, search = eval_tools
    agents: dict[str, Turns] = {}
    replay = cassette_mode(pytestconfig) == "replay"

    def agent_for(variant: Variant) -> Turns:
        if variant.label not in agents:
            update: dict[str, object] = {"model": variant.model}
            if replay and settings.openai_api_key is None:
                update["openai_api_key"] = SecretStr(REPLAY_KEY)
            variant_settings = settings.model_copy(update=update)
            agents[variant.label] = build_turns(
                engine=engine,
                settings=variant_settings,
                executor=executor,
                search=search,
                embeddings=eval_embeddings,
                chat_model=build_eval_model(settings=variant_settings, model=variant.model),
                prompt_template=variant.prompt,
            )
        return agents[variant.label]

    return agent_for


async def test_golden_question(
    eval_variant: Variant,
    eval_case: EvalCase,
    live_agents,
    live_shop,
    eval_tools,
    eval_results: EvalResults,
    pytestconfig: pytest.Config,
) -> None:
    directory = option(pytestconfig, "eval_cassettes")
    path = directory / eval_variant.slug / f"{eval_case.id}.yaml"
    mode = None if eval_variant.model == "offline" else cassette_mode(pytestconfig)  # no HTTP
    with cassette(mode=mode, path=path):
        result = await run_case(
            turns=live_agents(eval_variant),
            case=eval_case,
            tenant=live_shop,
            executor=eval_tools[0],
        )
    eval_results.add(eval_variant, result)
    if not result.passed:
        pytest.fail(
            f"{eval_case.id}: {result.reason}\nSQL: {result.sql}\nanswer: {result.answer[:600]}",
            pytrace=False,
        )
