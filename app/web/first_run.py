"""What ``bichat serve`` does before it listens: a schema at head, and on an empty database a
demo shop (seeded, embedded, with bundle rules) and an admin whose password is shown once.
Also the secret that signs Chainlit's login tokens, kept in the data dir."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.embeddings import build_embeddings
from app.semantic.model import default_model
from app.semantic.values import refresh_values
from db.advisory import held
from db.bootstrap import initialise
from db.demo.generator import Progress
from db.embed import embed_tenant
from db.seed import LoadProgress, seed_tenant
from db.tenants import get_tenant, list_tenants
from db.users import count_users, create_user

DEMO_TENANT = "demo"
ADMIN_USERNAME = "admin"
FIRST_RUN_LOCK_KEY = 0x6269636861740015  # advisory lock: one process prepares at a time
AUTH_SECRET_FILE = "chainlit_auth_secret"  # noqa: S105 - a file name, not a secret


@dataclass
class FirstRun:
    seeded: str | None = None  # the demo tenant, when it was created now
    admin_password: str | None = None  # generated, to be shown once; None if not created now
    admin_username: str = ADMIN_USERNAME


@dataclass
class FirstRunProgress:
    generated: Progress
    loaded: LoadProgress
    embedded: Callable[[int, int], None]


async def prepare_database(
    engine: AsyncEngine, settings: Settings, *, progress: FirstRunProgress
) -> FirstRun:
    """Bring the schema to head; on a database without tenants, create the demo shop; without
    users, create the admin (password from ``BICHAT_ADMIN_PASSWORD`` or generated). Several
    instances started at once on one database take turns (an advisory lock): the first seeds,
    the others find the shop there."""
    async with held(engine, FIRST_RUN_LOCK_KEY):
        return await prepare_once(engine, settings, progress=progress)


async def prepare_once(
    engine: AsyncEngine, settings: Settings, *, progress: FirstRunProgress
) -> FirstRun:
    await initialise(engine, settings)
    outcome = FirstRun()
    async with engine.connect() as connection:
        no_tenants = not await list_tenants(connection)
    if no_tenants:
        await seed_demo(engine, settings, progress=progress)
        outcome.seeded = DEMO_TENANT
    async with engine.connect() as connection:
        no_users = await count_users(connection) == 0
    if no_users:
        outcome.admin_password = await create_admin(engine, settings)
    return outcome


async def seed_demo(engine: AsyncEngine, settings: Settings, *, progress: FirstRunProgress) -> None:
    await seed_tenant(
        engine,
        settings,
        slug=DEMO_TENANT,
        generation_progress=progress.generated,
        load_progress=progress.loaded,
    )
    async with engine.begin() as connection:
        tenant = await get_tenant(connection, DEMO_TENANT)
        await embed_tenant(
            connection,
            tenant_id=tenant.id,
            slug=tenant.slug,
            embeddings=build_embeddings(settings),
            advance=progress.embedded,
        )
    await refresh_values(engine, default_model(), tenant.id)  # the semantic layer's values


async def create_admin(engine: AsyncEngine, settings: Settings) -> str | None:
    """The admin of the first tenant; returns the password if it was generated."""
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(12)
    async with engine.begin() as connection:
        first = min(await list_tenants(connection), key=lambda tenant: tenant.created_at)
        await create_user(
            connection,
            username=ADMIN_USERNAME,
            tenant_slug=first.slug,
            password=password,
            admin=True,
        )
    return None if given else password


def auth_secret(settings: Settings) -> str:
    """``CHAINLIT_AUTH_SECRET``, or one generated once and kept (0600) in the data dir."""
    given = os.environ.get("CHAINLIT_AUTH_SECRET")
    if given:
        return given
    path = Path(settings.data_dir) / AUTH_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{AUTH_SECRET_FILE}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:  # whole or absent: a process starting at the same time never reads it half-made
            os.link(draft, path)
        except FileExistsError:  # another process made it just now: theirs is used
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
