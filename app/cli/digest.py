"""``bichat digest ...``: scheduled digests of a dashboard or one pinned answer (create, list),
sending what is due (``run``, for cron: ``bichat serve`` does it by itself too) and the runs
with their outcome (``runs``)."""

from __future__ import annotations

from typing import Any

import typer

from app.cli.output import print_json, print_table, stdout
from app.cli.runner import fail, run
from app.cli.tenant_choice import TENANT, chosen_tenant
from app.config import Settings
from app.digests.runner import RunOutcome, open_runner
from app.errors import InvalidInput
from app.store import digests as store
from db.engine import open_engine
from db.users import user_id_for

app = typer.Typer(help="Scheduled digests by e-mail and webhook.", no_args_is_help=True)
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


def schedule_of(daily: bool, weekly: str | None) -> tuple[str, int | None]:
    if daily == (weekly is not None):
        raise InvalidInput("choose one of --daily or --weekly DAY", code="invalid_schedule")
    if weekly is None:
        return "daily", None
    day = weekly.strip().lower()
    matches = [i for i, name in enumerate(store.WEEKDAYS) if name.startswith(day[:3])]
    if len(day) < 3 or len(matches) != 1:
        raise InvalidInput(
            f"--weekly takes a day ({', '.join(store.WEEKDAYS)}), not {weekly!r}",
            code="invalid_schedule",
        )
    return "weekly", matches[0]


def check_channels(email: str | None, webhook: str | None) -> None:
    if not email and not webhook:
        raise InvalidInput("give --email ADDRESS, --webhook URL or both", code="no_channel")
    if email and ("@" not in email or any(c in email for c in " \r\n,;<>")):
        raise InvalidInput(f"{email!r} is not one e-mail address", code="invalid_email")
    if webhook and not webhook.startswith(("https://", "http://")):
        raise InvalidInput("--webhook must be an http:// or https:// URL", code="invalid_webhook")


@app.command("create")
def create_command(
    tenant: str | None = TENANT,
    user: str = typer.Option(..., "--user", help="Sent as this user (what they may see)."),
    tile: int | None = typer.Option(None, "--tile", help="One pinned answer (its tile id)."),
    daily: bool = typer.Option(False, "--daily", help="Every day at --hour."),
    weekly: str | None = typer.Option(None, "--weekly", help="Every week on DAY at --hour."),
    hour: int = typer.Option(8, "--hour", min=0, max=23, help="Hour in the shop's timezone."),
    email: str | None = typer.Option(None, "--email", help="Send by e-mail to this address."),
    webhook: str | None = typer.Option(None, "--webhook", help="POST Slack-style JSON here."),
    as_json: bool = AS_JSON,
) -> None:
    """A digest of the user's dashboard (or of one tile they may see)."""

    async def work(settings: Settings) -> dict[str, Any]:
        frequency, weekday = schedule_of(daily, weekly)
        check_channels(email, webhook)
        async with open_engine(settings) as engine:
            async with engine.connect() as connection:
                found = await chosen_tenant(connection, tenant)
                user_id = await user_id_for(connection, username=user, tenant_id=found.id)
            digest_id = await store.create_digest(
                engine,
                tenant_id=found.id,
                user_id=user_id,
                dashboard=tile is None,
                tile_id=tile,
                frequency=frequency,
                weekday=weekday,
                hour=hour,
                email=email,
                webhook_url=webhook,
            )
            row = await store.digest(engine, digest_id)
        assert row is not None
        return digest_dict(row)

    made = run(work, as_json=as_json)
    if as_json:
        print_json(made)
        return
    stdout.print(f"digest {made['id']}: {made['target']}, {made['when']}")


def digest_dict(row: store.DigestRow) -> dict[str, Any]:
    keys = ("id", "tenant", "username", "dashboard_id", "tile_id", "frequency", "weekday", "hour")
    return {k: getattr(row, k) for k in keys} | {
        "email": row.email,
        "webhook_url": row.webhook_url,
        "is_active": row.is_active,
        "target": row.target,
        "when": row.when,
    }


@app.command("list")
def list_command(tenant: str | None = TENANT, as_json: bool = AS_JSON) -> None:
    """The shop's digests."""

    async def work(settings: Settings) -> list[dict[str, Any]]:
        async with open_engine(settings) as engine:
            async with engine.connect() as connection:
                found = await chosen_tenant(connection, tenant)
            return [digest_dict(row) for row in await store.digests_of(engine, found.id)]

    rows = run(work, as_json=as_json)
    if as_json:
        print_json(rows)
        return
    shown = ("id", "username", "target", "when", "email", "webhook_url", "is_active")
    print_table([{k: r[k] for k in shown} for r in rows], title="digests")


@app.command("run")
def run_command(as_json: bool = AS_JSON) -> None:
    """Send every digest that is due (all shops) and the retries that are due, once; for cron.
    Several at once are safe: each due digest is sent by one of them."""

    async def work(settings: Settings) -> list[RunOutcome]:
        async with open_runner(settings) as runner:
            return await runner.run_due()

    outcomes = run(work, as_json=as_json)
    if as_json:
        print_json([o.to_dict() for o in outcomes])
    else:
        print_table([o.to_dict() for o in outcomes], title="digest runs")
    if any(o.status != "sent" for o in outcomes):
        fail(InvalidInput("some digests were not sent (see the errors above)", code="not_sent"))


@app.command("runs")
def runs_command(
    tenant: str | None = TENANT,
    failed: bool = typer.Option(False, "--failed", help="Only runs with an error."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = AS_JSON,
) -> None:
    """The shop's digest runs, newest first: due time, status, attempts, channels reached, error."""

    async def work(settings: Settings) -> list[dict[str, Any]]:
        async with open_engine(settings) as engine:
            async with engine.connect() as connection:
                found = await chosen_tenant(connection, tenant)
            found_runs = await store.runs(engine, tenant_id=found.id, failed=failed, limit=limit)
        keys = ("id", "digest_id", "due_at", "status", "attempts", "next_attempt_at", "error")
        return [{k: getattr(r, k) for k in keys} | {"delivered": r.delivered} for r in found_runs]

    rows = run(work, as_json=as_json)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, title="digest runs")
