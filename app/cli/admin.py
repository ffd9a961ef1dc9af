"""``bichat admin ...``: review a tenant's conversations, one conversation's every call, usage
and cost, exports, and its slowest reader queries; what ``/admin`` shows, for the terminal
and for scripts."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from app.cli.output import AS_JSON, print_json, stderr, stdout
from app.cli.runner import checked, fail
from app.cli.session_filters import FilterOptions, session_filters, with_filter_options
from app.cli.shop import Shop, run_in_shop
from app.cli.tenant_choice import TENANT
from app.errors import InvalidInput
from db.tenants import TenantRecord

if TYPE_CHECKING:  # the store modules load only when a command runs
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.store.review import MessageRow, SessionDetail, SessionFilters, SessionPage
    from app.store.slow_queries import StatementStatistics
    from app.store.usage import Period, UsageRow


T = TypeVar("T")

app = typer.Typer(
    help="Review conversations, tool calls, usage and cost of a tenant.", no_args_is_help=True
)


@app.command("sessions")
@with_filter_options
def sessions_command(
    tenant: str | None = TENANT,
    *,
    filters: FilterOptions,
    page: str | None = typer.Option(None, "--page", help="Page number (default 1)."),
    per_page: str | None = typer.Option(
        None, "--per-page", help="Conversations per page (default 50, at most 200)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """List conversations: filtered, sorted and paged, with their tokens, cost and errors."""
    from app.store.review import list_sessions

    parsed = session_filters(filters, as_json=as_json, page=page, per_page=per_page)

    async def work(shop: Shop) -> SessionPage:
        return await list_sessions(shop.engine, tenant_id=shop.tenant.id, filters=parsed)

    zone, result = read_in_zone(tenant, work, as_json=as_json)
    if as_json:
        print_json(result.to_dict())
        return
    print_whole(
        [
            "id",
            "updated",
            "user",
            "via",
            "title",
            "questions",
            "tokens",
            "cost",
            "errors",
            "feedback",
        ],
        [
            [
                row.id,
                local(row.updated_at, zone),
                row.username or "-",
                row.channel,
                row.title or "",
                row.questions,
                row.total_tokens,
                money(row.cost_usd, row.unpriced_calls),
                row.errors,
                thumbs(row.thumbs_up, row.thumbs_down),
            ]
            for row in result.rows
        ],
        title="conversations",
    )
    stdout.print(
        f"page {result.filters.page} of {result.pages} ({result.total} conversations)",
        highlight=False,
    )


@app.command("show")
def show_command(
    session_id: str = typer.Argument(..., metavar="ID", help="The conversation's id."),
    tenant: str | None = TENANT,
    as_json: bool = AS_JSON,
) -> None:
    """One conversation: every question, answer, model call and tool call (SQL, rows, errors)."""
    from app.store.review import session_detail

    async def work(shop: Shop) -> SessionDetail:
        return await session_detail(shop.engine, tenant_id=shop.tenant.id, session_id=session_id)

    zone, detail = read_in_zone(tenant, work, as_json=as_json)
    if as_json:
        print_json(detail.to_dict())
    else:
        show_transcript(detail, zone)


@app.command("usage")
def usage_command(
    tenant: str | None = TENANT,
    by: str = typer.Option("day", "--by", help="day, user or model."),
    since: str | None = typer.Option(
        None, "--since", help="First day (YYYY-MM-DD; default: 29 days before --until)."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Last day (YYYY-MM-DD; default: today in the shop's timezone)."
    ),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV (one row per day, user or model)."),
    as_json: bool = AS_JSON,
) -> None:
    """Model calls, tokens and cost per day, user or model over a period, with the total."""
    from app.store.review import choice
    from app.store.usage import GROUPINGS, parse_period, total_of, usage_by, usage_csv

    if as_csv and as_json:
        fail(InvalidInput("choose --json or --csv, not both", code="bad_option"), as_json=True)
    grouping = checked(lambda: choice(by, GROUPINGS, "by") or "day", as_json=as_json)

    async def work(shop: Shop) -> tuple[Period, list[UsageRow]]:
        period = parse_period(since, until, timezone=shop.tenant.timezone)
        rows = await usage_by(shop.engine, tenant_id=shop.tenant.id, by=grouping, period=period)
        return period, rows

    period, rows = run_in_shop(tenant, work, as_json=as_json)
    total = total_of(rows)
    if as_csv:
        sys.stdout.write(usage_csv(rows, by=grouping))
    elif as_json:
        print_json(
            {
                "by": grouping,
                "since": period.since.isoformat(),
                "until": period.until.isoformat(),
                "rows": [row.to_dict() for row in rows],
                "total": total.to_dict(),
            }
        )
    else:
        print_whole(
            [grouping, "calls", "input", "output", "cached", "cost", "unpriced", "errors"],
            [usage_cells(row) for row in rows],
            title=f"usage {period.since} to {period.until}",
        )
        stdout.print(
            f"total: {total.model_calls} model calls · {total.input_tokens} in / "
            f"{total.output_tokens} out tokens ({total.cached_input_tokens} cached) · "
            f"cost {money(total.cost_usd, total.unpriced_calls)} · {total.errors} errors",
            highlight=False,
        )


@app.command("slow-queries")
def slow_queries_command(
    tenant: str | None = TENANT,
    sort: str = typer.Option("mean", "--sort", help="mean (default) or total time."),
    limit: int = typer.Option(20, "--limit", min=1, max=200, help="How many (default 20)."),
    as_json: bool = AS_JSON,
) -> None:
    """The shop's slowest reader queries from pg_stat_statements (what /admin/queries shows)."""
    from app.store.slow_queries import StatisticsUnavailable, checked_sort, slow_queries
    from app.tools.sql import unwrapped

    order = checked(lambda: checked_sort(sort), as_json=as_json)

    async def work(shop: Shop) -> StatementStatistics:
        statistics = await slow_queries(
            shop.engine, tenant_id=shop.tenant.id, sort=order, limit=limit
        )
        if statistics.missing:
            raise StatisticsUnavailable(statistics.missing)
        return statistics

    statistics = run_in_shop(tenant, work, as_json=as_json)
    queries = [{**vars(query), "query": unwrapped(query.query)} for query in statistics.queries]
    if as_json:
        since = statistics.since.isoformat() if statistics.since else None
        print_json({"sort": statistics.sort, "since": since, "queries": queries})
        return
    if not queries:
        stderr.print("(no query run on this shop's data yet)")
    for number, query in enumerate(queries, 1):
        stdout.print(
            f"{number}. mean {query['mean_ms']:,.1f} ms · max {query['max_ms']:,.1f} ms · "
            f"total {query['total_ms']:,.1f} ms · {counted(query['calls'], 'call')} · "
            f"{counted(query['rows'], 'row')}",
            highlight=False,
        )
        stdout.print(Text(query["query"]), "", sep="\n")


@app.command("export")
@with_filter_options
def export_command(
    tenant: str | None = TENANT,
    *,
    filters: FilterOptions,
    output: Path | None = typer.Option(
        None, "--output", help="Write to this file (replaced atomically) instead of stdout."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Conversations with all their messages as JSON Lines, one conversation per line."""
    parsed = session_filters(filters, as_json=as_json)
    if output is not None:
        checked(lambda: check_output(output), as_json=as_json)

    async def work(shop: Shop) -> tuple[int, int]:
        if output is None:
            return await write_export(shop.engine, shop.tenant, parsed, sys.stdout)
        return await export_to_file(shop.engine, shop.tenant, parsed, output)

    conversations, messages = run_in_shop(tenant, work, as_json=as_json)
    if output is None:
        return
    if as_json:
        print_json({"file": str(output), "conversations": conversations, "messages": messages})
    else:
        stdout.print(
            f"exported {conversations} conversations ({messages} messages) to {output}",
            highlight=False,
        )


def check_output(path: Path) -> None:
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder: name a file", code="bad_output")
    if not path.parent.is_dir():
        raise InvalidInput(f"no folder {path.parent} to write {path.name} in", code="bad_output")


async def write_export(
    engine: AsyncEngine, tenant: TenantRecord, filters: SessionFilters, handle: Any
) -> tuple[int, int]:
    """One JSON object per conversation (with its messages) per line; (conversations, messages)."""
    from app.store.review import export_sessions

    conversations = messages = 0
    async for item in export_sessions(engine, tenant_id=tenant.id, filters=filters):
        handle.write(json.dumps(item, default=str, ensure_ascii=False) + "\n")
        conversations += 1
        messages += len(item["messages"])
    return conversations, messages


async def export_to_file(
    engine: AsyncEngine, tenant: TenantRecord, filters: SessionFilters, path: Path
) -> tuple[int, int]:
    """Written to a temporary file next to ``path``, then renamed over it: readers see the old
    file or the whole new one, and a failure leaves nothing behind. Mode 0600 (conversations
    are private)."""
    try:
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise InvalidInput(
            f"cannot write in {path.parent}: {error.strerror}", code="bad_output"
        ) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            counts = await write_export(engine, tenant, filters, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except ConnectionError:  # the database's, not the file's
        raise
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}", code="bad_output") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return counts


def read_in_zone(
    tenant: str | None, read: Callable[[Shop], Awaitable[T]], *, as_json: bool
) -> tuple[ZoneInfo, T]:
    """``read(shop)`` with the shop's timezone, in which the tables show its times."""

    async def work(shop: Shop) -> tuple[ZoneInfo, T]:
        return ZoneInfo(shop.tenant.timezone), await read(shop)

    return run_in_shop(tenant, work, as_json=as_json)


def show_transcript(detail: SessionDetail, zone: ZoneInfo) -> None:
    s = detail.session
    stdout.print(Text(f"{s.title or '(untitled)'}", style="bold"))
    lines = [
        f"conversation {s.id} · user {s.username or '-'} · started {local(s.created_at, zone)} "
        f"· last activity {local(s.updated_at, zone)} ({zone.key})",
        f"{s.questions} questions · {s.model_calls} model calls · {s.tool_calls} tool calls · "
        f"{s.total_tokens} tokens ({s.input_tokens} in / {s.output_tokens} out, "
        f"{s.cached_input_tokens} cached) · cost {money(s.cost_usd, s.unpriced_calls)} · "
        f"{s.errors} errors · models {', '.join(s.models) or '-'} · "
        f"feedback {thumbs(s.thumbs_up, s.thumbs_down) or '-'}",
    ]
    for line in lines:
        stdout.print(line, markup=False, highlight=False)
    for message in detail.messages:
        stdout.print()
        stdout.print(Text(message_heading(message, zone), style="bold"))
        for line in message_body(message):
            stdout.print("  " + line, markup=False, highlight=False)
    if not detail.messages:
        stderr.print("(no messages)")


def message_heading(m: MessageRow, zone: ZoneInfo) -> str:
    parts = [m.created_at.astimezone(zone).strftime("%H:%M:%S"), m.role]
    if m.role == "tool":
        from app.tools import registry  # the tools load plotly: only when showing a call

        parts[-1] = f"tool {m.tool_name or '?'}"
        parts += registry.facts(m.tool_name, m.tool_output).heading
    elif m.model:
        parts.append(m.model)
        if m.input_tokens is not None or m.output_tokens is not None:
            cached = f", {m.cached_input_tokens} cached" if m.cached_input_tokens else ""
            parts.append(f"{m.input_tokens or 0} in / {m.output_tokens or 0} out tokens{cached}")
        if m.cost_usd is not None or m.error is None:  # a failed call costs nothing
            parts.append("cost " + money(m.cost_usd, 0 if m.cost_usd is not None else 1))
    if m.latency_ms is not None:
        parts.append(f"{m.latency_ms} ms")
    return " · ".join(parts)


def message_body(m: MessageRow) -> list[str]:
    lines: list[str] = []
    if m.role == "tool" and m.tool_input is not None:
        from app.tools import registry

        shown = registry.shown_input(m.tool_name, m.tool_input)
        lines += shown.text.splitlines() if shown.language == "sql" else [f"input: {shown.text}"]
        lines += registry.facts(m.tool_name, m.tool_output).lines
    if m.role == "assistant" and isinstance(m.tool_input, dict):
        calls = m.tool_input.get("tool_calls") or []
        names = [str(c.get("name")) for c in calls if isinstance(c, dict)]
        if names:
            lines.append("calls " + ", ".join(names))
    if m.content:
        lines += m.content.splitlines()
    if m.error:
        lines.append(f"error: {m.error}")
    if m.feedback:
        verdict = "up" if m.feedback > 0 else "down"
        comment = f": {m.feedback_comment}" if m.feedback_comment else ""
        lines.append(f"feedback: {verdict}{comment}")
    return lines


def usage_cells(row: UsageRow) -> list[Any]:
    cost = "-" if row.cost_usd is None else f"${row.cost_usd:.6f}"
    return row.cells(key=row.key, cost=cost)


def print_whole(columns: list[str], rows: list[list[Any]], *, title: str) -> None:
    """A table whose cells stay whole (ids can be copied): as wide as it needs when piped; on a
    terminal only the ``title`` column wraps (the terminal wraps lines too wide for it)."""
    if not rows:
        stderr.print(f"(no {title})")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column != "title")
    for row in rows:
        table.add_row(*(Text(str(value)) for value in row))
    width = Measurement.get(stdout, stdout.options.update_width(10_000), table).maximum
    if stdout.is_terminal and "title" in columns:  # titles may wrap down to 30 characters
        at = columns.index("title")
        longest = max(cell_len(str(row[at])) for row in rows)
        width = max(stdout.width, width - max(0, longest - 30))
    Console(width=width, soft_wrap=True).print(table)


def counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def money(cost: Decimal | None, unpriced: int) -> str:
    """A cost in USD; calls without a price are said, not counted as free."""
    if cost is None:
        return "unknown" if unpriced else "-"
    return f"${cost:.6f}" + (f" (+{unpriced} unpriced)" if unpriced else "")


def thumbs(up: int, down: int) -> str:
    return " ".join(part for part in (f"+{up}" if up else "", f"-{down}" if down else "") if part)
