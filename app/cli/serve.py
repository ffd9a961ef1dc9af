"""``bichat serve``: the chat (and, next, the admin pages), after a first-run setup."""

from __future__ import annotations

import typer

from app.cli.output import stdout
from app.cli.progress import step_progress
from app.cli.runner import run
from app.config import Settings
from app.web.first_run import FirstRun, FirstRunProgress, prepare_database
from db.engine import open_engine


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Start the chat: on an empty database, first a demo shop and an admin user."""

    async def first_run(settings: Settings) -> FirstRun:
        async with open_engine(settings) as engine:
            with step_progress() as bars:

                def embedded(done: int, total: int) -> None:
                    task = bars.task("embed products", total)
                    bars.progress.update(task, completed=done, total=total)

                progress = FirstRunProgress(bars.generated, bars.loaded, embedded)
                return await prepare_database(engine, settings, progress=progress)

    outcome = run(first_run)
    if outcome.seeded:
        stdout.print(f"Created the demo shop '{outcome.seeded}'.")
    if outcome.admin_password:
        stdout.print(
            f"Log in as [bold]{outcome.admin_username}[/bold] with password "
            f"[bold]{outcome.admin_password}[/bold] (shown once; set BICHAT_ADMIN_PASSWORD to "
            "choose it)."
        )
    run(lambda settings: listen(settings, host=host, port=port))


async def listen(settings: Settings, *, host: str, port: int) -> None:
    """Serve until stopped; ``SIGTERM`` drains first (``app.web.draining_server``)."""
    from app.log_format import configure_logging
    from app.web.draining_server import DrainingServer
    from app.web.server import CHAT_PATH, create_app, server_config
    from app.web.state import get_state

    async def drain() -> int:
        return await get_state().runtime.turns.drain.drain(timeout_s=settings.drain_timeout_s)

    configure_logging(settings.log_format)
    stdout.print(f"bichat is at http://{host}:{port}{CHAT_PATH}/ (Ctrl+C stops it)")
    config = server_config(create_app(settings), settings, host=host, port=port, log_config=None)
    await DrainingServer(config, drain=drain).serve()
