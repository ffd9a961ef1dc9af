"""The eval plugin: options, the seeded shop, agents per variant, and the report written at
the end of the session.

    pytest tests/evals --model openai:gpt-4.1-mini [--model M2] [--prompt PATH [--prompt P2]]
                       [--questions PATH] [--record | --replay] [--cassettes-dir DIR]
                       [--reports-dir DIR]

Options are registered when this directory is on the command line (``pytest tests/evals``);
in the plain ``python -m pytest`` run they keep their defaults and the live evals skip."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from app.agent.prompt import SYSTEM_TEMPLATE
from app.embeddings import LocalEmbeddings
from app.evals.report import VariantRun, build_report, write_report
from app.evals.runner import CaseResult
from app.tools.search import ProductSearch
from app.tools.sql import SqlExecutor
from db.embed import embed_tenant
from db.seed import seed_tenant
from db.tenants import TenantRecord, get_tenant
from tests.evals.harness import Variant, variants_for

EVALS_DIR = Path(__file__).parent
QUESTIONS = EVALS_DIR / "questions.yaml"
CASSETTES_DIR = EVALS_DIR / "cassettes"
REPORTS_DIR = Path("reports/evals")
NO_MODEL = (
    "live evals need a model: pytest tests/evals --model openai:gpt-4.1-mini "
    "(or --model offline; --replay plays recorded cassettes without network or key)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("evals", "prompt evaluation (tests/evals)")
    group.addoption(
        "--model",
        action="append",
        dest="eval_models",
        default=[],
        help="model to evaluate (provider:model or offline); repeat to compare",
    )
    group.addoption(
        "--prompt",
        action="append",
        dest="eval_prompts",
        default=[],
        type=Path,
        help="system prompt template (default prompts/system.md); repeat to compare",
    )
    group.addoption(
        "--questions",
        dest="eval_questions",
        type=Path,
        default=QUESTIONS,
        help=f"the golden questions to ask (default {QUESTIONS}; any file in that format)",
    )
    group.addoption(
        "--record",
        action="store_true",
        dest="eval_record",
        help="record the model's HTTP traffic into cassettes",
    )
    group.addoption(
        "--replay",
        action="store_true",
        dest="eval_replay",
        help="answer from recorded cassettes only (no network, no key)",
    )
    group.addoption(
        "--cassettes-dir",
        dest="eval_cassettes",
        type=Path,
        default=CASSETTES_DIR,
        help=f"where cassettes are (default {CASSETTES_DIR})",
    )
    group.addoption(
        "--reports-dir",
        dest="eval_reports",
        type=Path,
        default=REPORTS_DIR,
        help=f"where reports are written (default {REPORTS_DIR})",
    )
    group.addoption(
        "--update-snapshots",
        action="store_true",
        dest="eval_update_snapshots",
        help="rewrite tests/evals/snapshots/examples.json from the demo data",
    )


def option(config: pytest.Config, name: str, default: object = None) -> object:
    return config.getoption(name, default=default)


def configured_variants(config: pytest.Config) -> list[Variant]:
    models = list(option(config, "eval_models", []) or [])  # type: ignore[call-overload]
    prompts = list(option(config, "eval_prompts", []) or []) or [SYSTEM_TEMPLATE]  # type: ignore[call-overload]
    missing = [str(p) for p in prompts if not Path(p).is_file()]
    if missing:
        raise pytest.UsageError(f"--prompt: no such file: {', '.join(missing)}")
    return variants_for(models=models, prompts=[Path(p) for p in prompts]) if models else []


def cassette_mode(config: pytest.Config) -> str | None:
    record, replay = option(config, "eval_record", False), option(config, "eval_replay", False)
    if record and replay:
        raise pytest.UsageError("--record and --replay exclude each other")
    return "record" if record else "replay" if replay else None


@dataclass
class EvalResults:
    """Results of the live evals, per variant, in the order they ran."""

    variants: dict[str, tuple[Variant, list[CaseResult]]] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    def add(self, variant: Variant, result: CaseResult) -> None:
        self.variants.setdefault(variant.label, (variant, []))[1].append(result)

    def runs(self) -> list[VariantRun]:
        return [
            VariantRun(label=v.label, model=v.model, prompt=str(v.prompt), results=results)
            for v, results in self.variants.values()
        ]


RESULTS = pytest.StashKey[EvalResults]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = EvalResults()


@pytest.fixture(scope="session")
def eval_results(pytestconfig: pytest.Config) -> EvalResults:
    if RESULTS not in pytestconfig.stash:
        pytestconfig.stash[RESULTS] = EvalResults()
    return pytestconfig.stash[RESULTS]


def pytest_sessionfinish(session: pytest.Session) -> None:
    results = session.config.stash.get(RESULTS, None)
    if results is None or not results.variants:
        return
    now = datetime.now(UTC)
    report = build_report(runs=results.runs(), created_at=now)
    directory = Path(option(session.config, "eval_reports", REPORTS_DIR))  # type: ignore[arg-type]
    results.written = list(
        write_report(report=report, directory=directory, stem=f"eval-{now:%Y%m%d-%H%M%S}")
    )


def outcome_lines(results: list[CaseResult]) -> list[str]:
    """Correct / wrong / declined per category and per answer path."""
    lines = []
    for key, name in (("category", "category"), ("path", "path")):
        for value in dict.fromkeys(getattr(r, key) for r in results):
            mine = [r for r in results if getattr(r, key) == value]
            counts = {
                o: sum(r.outcome == o for r in mine) for o in ("correct", "wrong", "declined")
            }
            lines.append(
                f"{name} {value}: {counts['correct']}/{len(mine)} correct, "
                f"{counts['wrong']} wrong, {counts['declined']} declined"
            )
    return lines


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    results = config.stash.get(RESULTS, None)
    if results is None or not results.variants:
        return
    terminalreporter.section("evaluation")
    for run in results.runs():
        passed = sum(r.passed for r in run.results)
        terminalreporter.write_line(f"{run.label}: {passed}/{len(run.results)} passed")
        for line in outcome_lines(run.results):
            terminalreporter.write_line(f"  {line}")
    for path in results.written:
        terminalreporter.write_line(f"report: {path}")


@pytest.fixture(scope="module")
def eval_embeddings() -> LocalEmbeddings:
    return LocalEmbeddings()


@pytest_asyncio.fixture(scope="module")
async def eval_tools(engine, settings, database_url, eval_embeddings):
    executor = SqlExecutor(engine=engine, settings=settings, owner_url=database_url)
    yield executor, ProductSearch(executor=executor, engine=engine, embeddings=eval_embeddings)
    await executor.close()


async def seed_eval_shop(
    engine,
    settings,
    *,
    slug: str,
    seed: int,
    orders: int,
    products: int,
    end: date,
    embeddings: LocalEmbeddings | None = None,
) -> TenantRecord:
    """A demo shop (deterministic for a seed and end date), its products embedded when
    ``embeddings`` is given (product search cases need them)."""
    await seed_tenant(
        engine, settings, slug=slug, seed=seed, orders=orders, end=end, products=products
    )
    async with engine.begin() as connection:
        tenant = await get_tenant(connection, slug)
        if embeddings is not None:
            await embed_tenant(connection, tenant_id=tenant.id, slug=slug, embeddings=embeddings)
    return tenant


def shop_up_to_today(name: str, *, slug: str, seed: int, orders: int, products: int):
    """A module fixture ``name``: the demo shop up to today (so that relative periods such as
    "last month" have data), its products embedded."""

    @pytest_asyncio.fixture(scope="module", name=name)
    async def shop(engine, settings, eval_embeddings) -> TenantRecord:
        today = datetime.now(UTC).date()
        return await seed_eval_shop(
            engine, settings, slug=slug, seed=seed, orders=orders, products=products, end=today,
            embeddings=eval_embeddings,
        )  # fmt: skip

    return shop
