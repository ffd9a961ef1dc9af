"""Running the CLI's async work with typed errors turned into one line and an exit code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import typer

from app.cli.output import print_error
from app.config import Settings, load_settings
from app.errors import BichatError

T = TypeVar("T")
EXIT_ERROR = 1


def run(work: Callable[[Settings], Coroutine[Any, Any, T]], *, as_json: bool = False) -> T:
    """Load settings and run ``work(settings)``; a ``BichatError`` exits 1 with its message."""
    try:
        return asyncio.run(work(load_settings()))
    except BichatError as error:
        print_error(error, as_json=as_json)
        raise typer.Exit(EXIT_ERROR) from None


def checked(parse: Callable[[], T], *, as_json: bool) -> T:
    """``parse()``, or its error as one line (or JSON) and exit 1."""
    try:
        return parse()
    except BichatError as error:
        print_error(error, as_json=as_json)
        raise typer.Exit(EXIT_ERROR) from None


def fail(error: BichatError, *, as_json: bool = False) -> None:
    print_error(error, as_json=as_json)
    raise typer.Exit(EXIT_ERROR)
