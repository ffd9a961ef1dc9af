"""bichat serve's first run: demo shop and admin on an empty database, nothing on the next."""

from __future__ import annotations

import stat

from pydantic import SecretStr
from sqlalchemy import text

from app.web.first_run import FirstRunProgress, auth_secret, prepare_database
from db.passwords import verify_password


def quiet() -> FirstRunProgress:
    return FirstRunProgress(
        generated=lambda step, n: None,
        loaded=lambda table, rows, total: None,
        embedded=lambda done, total: None,
    )


async def test_an_empty_database_gets_a_demo_shop_and_an_admin_once(engine, settings):
    first = await prepare_database(engine, settings, progress=quiet())
    assert first.seeded == "demo" and first.admin_password and len(first.admin_password) >= 12
    async with engine.connect() as connection:
        counts = (
            await connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM product_embeddings), "
                    "(SELECT count(*) FROM bundle_rules), (SELECT password_hash FROM app_users "
                    "WHERE username = 'admin' AND role = 'admin'), "
                    "(SELECT count(*) FROM dimension_values)"
                )
            )
        ).one()
    assert counts[0] == 20_000 and counts[1] > 600 and counts[2] > 0
    assert verify_password(first.admin_password, counts[3])
    assert counts[4] > 600  # the semantic layer's values index (products, customers, ...)
    again = await prepare_database(engine, settings, progress=quiet())
    assert again.seeded is None and again.admin_password is None


async def test_the_admin_password_can_be_given(make_database, tmp_path):
    from app.config import load_settings
    from db.engine import create_engine
    from db.tenants import create_tenant

    url = await make_database()
    settings = load_settings(
        database_url=url, data_dir=tmp_path, admin_password=SecretStr("chosen-password")
    )
    engine = create_engine(url)
    try:
        from db.bootstrap import initialise

        await initialise(engine, settings)
        async with engine.begin() as connection:  # a tenant exists: no demo seeding
            await create_tenant(connection, slug="own-shop", name="Own", settings=settings)
        outcome = await prepare_database(engine, settings, progress=quiet())
        assert outcome.seeded is None and outcome.admin_password is None
        async with engine.connect() as connection:
            stored = await connection.scalar(text("SELECT password_hash FROM app_users"))
        assert verify_password("chosen-password", stored)
    finally:
        await engine.dispose()


def test_the_auth_secret_is_generated_once_and_private(settings, monkeypatch):
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    secret = auth_secret(settings)
    assert len(secret) >= 48 and auth_secret(settings) == secret
    mode = (settings.data_dir / "chainlit_auth_secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "from-env")
    assert auth_secret(settings) == "from-env"
