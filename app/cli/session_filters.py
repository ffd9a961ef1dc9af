"""The conversation filters of ``bichat admin sessions`` and ``bichat admin export``: one
definition of the options (the same names, types and help in both commands) and one way to
read them, through the store's own parser (the same checks and messages as ``/admin``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, get_type_hints

import typer

from app.cli.runner import checked

if TYPE_CHECKING:  # the store modules load only when a command runs
    from app.store.review import SessionFilters


def filter_option(*names: str, help: str, default: bool | None = None) -> Any:
    """A dataclass field whose metadata is its Typer option (default None; False for a flag)."""
    return field(default=default, metadata={"option": typer.Option(default, *names, help=help)})


@dataclass(frozen=True)
class FilterOptions:
    """The filters as typed; a command takes them as one ``filters`` parameter."""

    user: str | None = filter_option("--user", help="Only this user's conversations (username).")
    since: str | None = filter_option(
        "--since", help="Last active on or after this day (YYYY-MM-DD, shop's timezone)."
    )
    until: str | None = filter_option(
        "--until", help="Last active on or before this day (YYYY-MM-DD, shop's timezone)."
    )
    model: str | None = filter_option("--model", help="Only conversations that called this model.")
    has_error: bool | None = filter_option(
        "--has-error/--no-error", help="Only conversations with (or without) a failed call."
    )
    feedback: str | None = filter_option(
        "--feedback", help="up, down, any (either) or none: thumbs given on an answer."
    )
    text: str | None = filter_option("--text", help="Words in a question or an answer.")
    channel: str | None = filter_option(
        "--channel", help="Only conversations asked from chat, cli, api or mcp."
    )
    sort: str | None = filter_option(
        "--sort", help="date (last activity, default), tokens or cost."
    )
    ascending: bool = filter_option("--ascending", help="Smallest or oldest first.", default=False)


def filter_parameters() -> list[inspect.Parameter]:
    """One keyword parameter per filter, typed, with its Typer option as the default."""
    types = get_type_hints(FilterOptions)
    return [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.metadata["option"],
            annotation=types[f.name],
        )
        for f in fields(FilterOptions)
    ]


def with_filter_options(command: Callable[..., None]) -> Callable[..., None]:
    """The command with its ``filters: FilterOptions`` parameter spread into the filter options
    where it stands (so ``--help`` lists them there); it is called with them gathered."""
    own = list(inspect.signature(command, eval_str=True).parameters.values())
    at = [p.name for p in own].index("filters")
    names = [f.name for f in fields(FilterOptions)]
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in [*own[:at], *filter_parameters(), *own[at + 1 :]]
    ]

    @functools.wraps(command)
    def with_filters(**values: Any) -> None:
        filters = FilterOptions(**{name: values.pop(name) for name in names})
        command(filters=filters, **values)

    with_filters.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    with_filters.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return with_filters


def session_filters(
    options: FilterOptions,
    *,
    as_json: bool,
    page: str | None = None,
    per_page: str | None = None,
) -> SessionFilters:
    """The options read by the store's own parser (the same checks and messages as /admin)."""
    from app.store.review import parse_filters

    has_error = options.has_error
    values = {
        "user": options.user,
        "since": options.since,
        "until": options.until,
        "model": options.model,
        "has_error": None if has_error is None else ("yes" if has_error else "no"),
        "feedback": options.feedback,
        "text": options.text,
        "channel": options.channel,
        "sort": options.sort,
        "descending": "no" if options.ascending else None,
        "page": page,
        "per_page": per_page,
    }
    return checked(lambda: parse_filters(values), as_json=as_json)
