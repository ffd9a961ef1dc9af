"""``bichat ask``: one question to the agent, answered in the terminal (streamed) or as JSON."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from app.cli.output import print_json, stderr, stdout
from app.cli.runner import EXIT_ERROR, run
from app.cli.tenant_choice import TENANT, tenant_and_user
from app.config import Settings

if TYPE_CHECKING:  # the agent (LangChain, plotly) loads in seconds: only when asking
    from app.turn.events import TurnEvent
    from app.turn.result import TurnResult


def ask_command(
    question: str = typer.Argument(..., help="The question, in plain words."),
    tenant: str | None = TENANT,
    user: str | None = typer.Option(None, "--user", help="Ask as this user of the tenant."),
    session: str | None = typer.Option(
        None, "--session", help="Continue this conversation (its id, from an earlier answer)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print session id, answer, tool calls, usage and cost as JSON."
    ),
) -> None:
    """Ask the shop's data a question; prints the answer and the SQL that produced it."""

    async def work(settings: Settings) -> TurnResult:
        from app.turn.events import Answered, Failed
        from app.turn.runtime import open_agent

        async with open_agent(settings) as runtime:
            found, user_id = await tenant_and_user(runtime.engine, tenant, user or None)
            result: TurnResult | None = None
            async for event in runtime.turns.stream(
                tenant=found, question=question, session_id=session, user_id=user_id, channel="cli"
            ):
                if isinstance(event, Answered | Failed):
                    result = event.result
                if not as_json:
                    show_progress(event)
            assert result is not None
            return result

    result = run(work, as_json=as_json)
    if as_json:
        print_json(result.to_dict())
    else:
        show_result(result)
    if result.error and result.error != "turn_limit":
        raise typer.Exit(EXIT_ERROR)


def show_progress(event: TurnEvent) -> None:
    from app.tools import registry
    from app.turn.events import StillWorking, Token, ToolFinished, ToolStarted

    match event:
        case Token(text):
            sys.stdout.write(text)
            sys.stdout.flush()
        case ToolStarted(_, tool):
            stderr.print(f"[dim]… {tool}[/dim]")
        case ToolFinished(call):
            outcome = call.error or registry.outcome(call.name, call.output) or "done"
            stderr.print(f"[dim]  {call.name}: {outcome} ({call.elapsed_ms} ms)[/dim]")
        case StillWorking(what, attempt, attempts, waited_s):
            stderr.print(
                f"[dim]… still waiting for {what} (attempt {attempt} of {attempts}, "
                f"{waited_s:.0f} s)[/dim]"
            )


def show_result(result: TurnResult) -> None:
    if result.error:
        sys.stderr.write(f"\nerror: {result.answer}\n")
    else:
        sys.stdout.write("\n")
    for sql in (s for s in result.sql if s not in result.answer):
        stdout.print("\n[bold]SQL run:[/bold]")
        stdout.print(sql, markup=False, highlight=False)
    usage = result.log.usage
    cost = "unknown" if usage.cost_usd is None else f"${usage.cost_usd:.6f}"
    stderr.print(
        f"[dim]session {result.session_id} · answered by the {result.path} · "
        f"{usage.model or 'no model call'} · "
        f"{usage.model_calls} model call(s) · {usage.input_tokens} in / "
        f"{usage.output_tokens} out tokens · cost {cost}[/dim]"
    )
