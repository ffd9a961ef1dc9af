"""The evaluation report: accuracy overall and by category, tokens, cost, latency and model
calls per question, for one or more variants (model + prompt) side by side; JSON and a
markdown table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.evals.cases import CATEGORIES
from app.evals.runner import CaseResult

TIMING_FIELDS = frozenset({"latency_ms", "mean_latency_ms", "total_latency_ms", "created_at"})


@dataclass
class VariantRun:
    label: str
    model: str
    prompt: str
    results: list[CaseResult]


OUTCOMES = ("correct", "wrong", "declined")


def ratio(passed: int, total: int) -> float | None:
    return round(passed / total, 4) if total else None


def outcomes(results: Sequence[CaseResult]) -> dict[str, int]:
    return {name: sum(r.outcome == name for r in results) for name in OUTCOMES}


def summarize_variant(*, run: VariantRun) -> dict[str, Any]:
    results = run.results
    count = len(results)
    costs = [r.cost_usd for r in results]
    priced = [c for c in costs if c is not None]
    by_category = {}
    for category in [*CATEGORIES, *sorted({r.category for r in results} - set(CATEGORIES))]:
        mine = [r for r in results if r.category == category]
        if mine:
            passed = sum(r.passed for r in mine)
            by_category[category] = {
                "passed": passed,
                "total": len(mine),
                "accuracy": ratio(passed, len(mine)),
                **outcomes(mine),
            }
    by_path = {
        path: {"total": len(mine), **outcomes(mine)}
        for path in sorted({r.path for r in results})
        if (mine := [r for r in results if r.path == path])
    }
    tokens = sum(r.input_tokens + r.output_tokens for r in results)
    latency = sum(r.latency_ms for r in results)
    calls = sum(r.model_calls for r in results)
    return {
        "label": run.label,
        "model": run.model,
        "prompt": run.prompt,
        "questions": count,
        "passed": sum(r.passed for r in results),
        "accuracy": ratio(sum(r.passed for r in results), count),
        **outcomes(results),
        "by_category": by_category,
        "by_path": by_path,
        "input_tokens": sum(r.input_tokens for r in results),
        "output_tokens": sum(r.output_tokens for r in results),
        "cached_input_tokens": sum(r.cached_input_tokens for r in results),
        "mean_tokens": round(tokens / count, 1) if count else None,
        "cost_usd": round(sum(priced), 8) if priced else None,
        "unpriced_questions": len(costs) - len(priced),
        "mean_cost_usd": round(sum(priced) / len(priced), 8) if priced else None,
        "total_latency_ms": round(latency, 1),
        "mean_latency_ms": round(latency / count, 1) if count else None,
        "model_calls": calls,
        "mean_model_calls": round(calls / count, 2) if count else None,
        "cases": [r.to_dict() for r in results],
    }


def build_report(*, runs: Sequence[VariantRun], created_at: datetime) -> dict[str, Any]:
    return {
        "created_at": created_at.isoformat(timespec="seconds"),
        "variants": [summarize_variant(run=run) for run in runs],
    }


def without_timings(value: Any) -> Any:
    """The report without the fields that differ between two runs of the same answers
    (latencies and the creation time): what a replay must reproduce exactly."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.6f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"{value:,.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


SUMMARY_ROWS = (
    ("accuracy", "accuracy"),
    ("outcomes", "outcomes"),
    ("input tokens", "input_tokens"),
    ("output tokens", "output_tokens"),
    ("cached input tokens", "cached_input_tokens"),
    ("tokens per question", "mean_tokens"),
    ("cost (USD)", "cost_usd"),
    ("questions without a price", "unpriced_questions"),
    ("latency per question (ms)", "mean_latency_ms"),
    ("model calls per question", "mean_model_calls"),
    ("model", "model"),
    ("prompt", "prompt"),
)


def summary_cell(variant: dict[str, Any], key: str) -> str:
    if key == "accuracy":
        return f"{percent(variant['accuracy'])} ({variant['passed']}/{variant['questions']})"
    if key == "outcomes":
        return f"{variant['correct']} correct, {variant['wrong']} wrong, {variant['declined']} declined"
    return cell(variant[key])


def summary_lines(variants: list[dict[str, Any]], labels: list[str]) -> list[str]:
    rows = [[name, *[summary_cell(v, key) for v in variants]] for name, key in SUMMARY_ROWS]
    return table(["", *labels], rows)


def category_cell(variant: dict[str, Any], category: str) -> str:
    score = variant["by_category"].get(category)
    if not score:
        return "—"
    return (
        f"{percent(score['accuracy'])} ({score['passed']}/{score['total']}; "
        f"{score['wrong']} wrong, {score['declined']} declined)"
    )


def path_lines(variants: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """Per answer path (engine, model): how many questions it took and how they ended."""
    paths = list(dict.fromkeys(p for v in variants for p in v.get("by_path", {})))

    def path_cell(variant: dict[str, Any], path: str) -> str:
        score = variant.get("by_path", {}).get(path)
        if not score:
            return "—"
        return (
            f"{score['total']} questions: {score['correct']} correct, {score['wrong']} wrong, "
            f"{score['declined']} declined"
        )

    return table(["path", *labels], [[p, *[path_cell(v, p) for v in variants]] for p in paths])


def category_lines(variants: list[dict[str, Any]], labels: list[str]) -> list[str]:
    categories = list(dict.fromkeys(c for v in variants for c in v["by_category"]))
    rows = [[c, *[category_cell(v, c) for v in variants]] for c in categories]
    return table(["category", *labels], rows)


def case_cells(case: dict[str, Any] | None) -> list[str]:
    if case is None:
        return ["—"] * 5
    return [
        {"correct": "✅", "wrong": "❌ wrong", "declined": "❔ declined"}.get(
            case.get("outcome", ""), "✅" if case["passed"] else "❌"
        )
        + f" ({case.get('path', '')})",
        cell(case["input_tokens"] + case["output_tokens"]),
        cell(case["cost_usd"]),
        cell(case["latency_ms"]),
        cell(case["model_calls"]),
    ]


def question_lines(variants: list[dict[str, Any]], labels: list[str]) -> list[str]:
    header = ["id", "category"]
    for label in labels:
        header += [f"{label}: ok", "tokens", "cost", "ms", "calls"]
    by_id = [{c["case_id"]: c for c in v["cases"]} for v in variants]
    first: dict[str, dict[str, Any]] = {}
    for variant in variants:
        for case in variant["cases"]:
            first.setdefault(case["case_id"], case)
    rows = [
        [case_id, case["category"], *[x for cases in by_id for x in case_cells(cases.get(case_id))]]
        for case_id, case in first.items()
    ]
    return table(header, rows)


def failure_lines(variants: list[dict[str, Any]]) -> list[str]:
    return [
        f"- **{cell(v['label'])}** `{c['case_id']}`: {cell(c['reason'])}"
        for v in variants
        for c in v["cases"]
        if not c["passed"]
    ]


def render_markdown(*, report: dict[str, Any]) -> str:
    """Summary (variants side by side), accuracy by category, one row per question, and why
    each failed question failed."""
    variants = report["variants"]
    labels = [cell(v["label"]) for v in variants]
    lines = [f"# Evaluation report ({report['created_at']})", "", "## Summary", ""]
    lines += summary_lines(variants, labels)
    lines += ["", "## Accuracy by category", "", *category_lines(variants, labels)]
    lines += ["", "## Answer paths", "", *path_lines(variants, labels)]
    lines += ["", "## Questions", "", *question_lines(variants, labels)]
    failures = failure_lines(variants)
    if failures:
        lines += ["", "## Failures", "", *failures]
    return "\n".join(lines) + "\n"


def write_report(*, report: dict[str, Any], directory: Path, stem: str) -> tuple[Path, Path]:
    """``stem.json`` and ``stem.md`` in ``directory`` (created when missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    markdown_path.write_text(render_markdown(report=report))
    return json_path, markdown_path
