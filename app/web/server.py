"""One FastAPI application: the Chainlit chat under /chat, the admin pages under /admin,
health at /healthz and /readyz (``app.web.health``). Chainlit reads its settings when first
imported, so ``create_app`` points it at a folder in the data dir (never the working
directory) before importing it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from langchain_core.language_models import BaseChatModel

from app.config import Settings
from app.turn.runtime import open_agent
from app.web.admin import install_admin
from app.web.availability import install_availability
from app.web.branding import configure_chainlit, install_shop_name, prepare_branding
from app.web.first_run import auth_secret
from app.web.health import install_health
from app.web.state import WebState, set_state

CHAT_PATH = "/chat"
CHAT_MODULE = Path(__file__).with_name("chat.py")
WELCOME = Path(__file__).resolve().parents[2] / "chainlit.md"


def prepare_chainlit(settings: Settings) -> Path:
    """The folder Chainlit keeps its config, translations and uploads in; set up before import."""
    root = Path(settings.data_dir) / "web"
    root.mkdir(parents=True, exist_ok=True)
    os.environ["CHAINLIT_APP_ROOT"] = str(root)
    os.environ["CHAINLIT_AUTH_SECRET"] = auth_secret(settings)
    os.environ.setdefault("CHAINLIT_ENV_FILE", str(root / ".env"))  # not the cwd's .env
    return root


def chainlit_root() -> str:
    """The app root Chainlit uses: fixed when ``chainlit.config`` is first imported, which is
    after ``prepare_chainlit`` in ``bichat serve`` but may be earlier in a test process."""
    from chainlit.config import APP_ROOT

    return APP_ROOT


def mount_chat(app: FastAPI) -> None:
    """Chainlit at ``CHAT_PATH``: what ``chainlit.utils.mount_chainlit`` does, without the
    ``BaseHTTPMiddleware`` it wraps Chainlit in. That middleware only re-checks the path prefix
    (``Mount`` already routes by it) and raises ``RuntimeError: No response returned.``, with a
    traceback on the console, whenever a browser drops a request before the answer (the login
    page's logo and favicon, when the page moves on)."""
    from chainlit.auth import ensure_jwt_secret
    from chainlit.config import config, load_module
    from chainlit.server import app as chainlit_app

    config.run.debug = bool(os.environ.get("CHAINLIT_DEBUG"))
    os.environ["CHAINLIT_ROOT_PATH"] = CHAT_PATH
    config.run.module_name = str(CHAT_MODULE)
    load_module(config.run.module_name)
    ensure_jwt_secret()
    app.mount(CHAT_PATH, chainlit_app)


def create_app(settings: Settings, *, chat_model: BaseChatModel | None = None) -> FastAPI:
    prepare_chainlit(settings)
    from chainlit.config import config

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_agent(settings, chat_model=chat_model) as runtime:
            set_state(WebState(settings=settings, runtime=runtime))
            try:
                yield
            finally:
                set_state(None)

    app = FastAPI(title="bichat", lifespan=lifespan)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{CHAT_PATH}/")

    install_health(app)
    install_availability(app)
    install_admin(app)
    install_shop_name(app)
    mount_chat(app)
    prepare_branding(Path(chainlit_root()), welcome=WELCOME)  # where Chainlit reads them
    configure_chainlit()
    config.features.unsafe_allow_html = False  # data is shown as text, never as HTML
    return app
