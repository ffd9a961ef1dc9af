"""``bichat sql``: guarded SQL against a tenant's data, for people and scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from app.cli.output import print_grid, print_json, stdout
from app.cli.runner import EXIT_ERROR, fail, run
from app.cli.tenant_choice import TENANT, tenant_of
from app.config import Settings
from app.errors import BichatError, InvalidInput
from app.tools.sql import SqlExecutor, SqlResult
from db.engine import open_engine, owner_url


def read_stdin() -> str:
    if sys.stdin.isatty():
        return ""
    return sys.stdin.read()


def parse_jsonl(lines: list[str]) -> list[str | BichatError]:
    """One ``{"sql": ...}`` object per line; a bad line becomes its error."""
    jobs: list[str | BichatError] = []
    for number, line in enumerate(lines, start=1):
        try:
            sql = json.loads(line)["sql"]
            if not isinstance(sql, str):
                raise TypeError
            jobs.append(sql)
        except (ValueError, KeyError, TypeError):
            jobs.append(
                InvalidInput(
                    f'line {number}: expected a JSON object {{"sql": "..."}}', code="invalid_jsonl"
                )
            )
    return jobs


async def run_jobs(
    settings: Settings, tenant: str | None, jobs: list[str | BichatError]
) -> list[Any]:
    async with open_engine(settings) as engine:
        tenant_id = (await tenant_of(engine, tenant)).id
        executor = SqlExecutor(engine=engine, settings=settings, owner_url=owner_url(settings))
        outcomes: list[Any] = []
        try:
            for job in jobs:
                if isinstance(job, BichatError):
                    outcomes.append(job)
                    continue
                try:
                    outcomes.append(await executor.run(tenant_id=tenant_id, sql=job))
                except BichatError as error:
                    outcomes.append(error)
        finally:
            await executor.close()
        return outcomes


def sql_command(
    sql: str | None = typer.Argument(None, help="The query (read from standard input if omitted)."),
    tenant: str | None = TENANT,
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    jsonl: bool = typer.Option(
        False, "--jsonl", help='Read {"sql": ...} per line from stdin; write one result per line.'
    ),
) -> None:
    """Run one read-only query through the SQL guard and the tenant's reader role."""
    machine = as_json or jsonl
    if jsonl:
        jobs = parse_jsonl([line for line in read_stdin().splitlines() if line.strip()])
    else:
        text = sql if sql is not None else read_stdin()
        if not text.strip():
            fail(
                InvalidInput(
                    "no SQL given: pass it as an argument or on standard input", code="empty_query"
                ),
                as_json=machine,
            )
        jobs = [text]
    outcomes = run(lambda settings: run_jobs(settings, tenant, jobs), as_json=machine)
    failed = any(isinstance(o, BichatError) for o in outcomes)
    for outcome in outcomes:
        show(outcome, machine=machine)
    if failed:
        raise typer.Exit(EXIT_ERROR)


def show(outcome: SqlResult | BichatError, *, machine: bool) -> None:
    if isinstance(outcome, BichatError):
        if machine:
            print_json(outcome.to_dict())
        else:
            sys.stderr.write(f"error: {outcome.message}\n")
        return
    if machine:
        print_json(outcome.to_dict())
        return
    print_grid(outcome.columns, outcome.rows, title="rows")
    more = " (truncated: more rows exist)" if outcome.truncated else ""
    stdout.print(f"{outcome.row_count} row(s){more} in {outcome.elapsed_ms} ms")
