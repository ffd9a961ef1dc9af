"""One FastAPI application: the Chainlit chat under /chat, the admin pages under /admin,
health at /healthz. Chainlit reads its settings when first imported, so ``create_app`` points
it at a folder in the data dir (never the working directory) before importing it."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from langchain_core.language_models import BaseChatModel

from app.config import Settings
from app.turn.runtime import open_agent
from app.web.admin import install_admin
from app.web.first_run import auth_secret
from app.web.state import WebState, set_state

CHAT_PATH = "/chat"
CHAT_MODULE = Path(__file__).with_name("chat.py")
WELCOME = Path(__file__).resolve().parents[2] / "chainlit.md"


def prepare_chainlit(settings: Settings) -> Path:
    """The folder Chainlit keeps its config, translations and uploads in; set up before import."""
    root = Path(settings.data_dir) / "web"
    root.mkdir(parents=True, exist_ok=True)
    if WELCOME.exists():
        shutil.copyfile(WELCOME, root / "chainlit.md")
    os.environ["CHAINLIT_APP_ROOT"] = str(root)
    os.environ["CHAINLIT_AUTH_SECRET"] = auth_secret(settings)
    os.environ.setdefault("CHAINLIT_ENV_FILE", str(root / ".env"))  # not the cwd's .env
    return root


def create_app(settings: Settings, *, chat_model: BaseChatModel | None = None) -> FastAPI:
    prepare_chainlit(settings)
    from chainlit.config import config
    from chainlit.utils import mount_chainlit

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_agent(settings, chat_model=chat_model) as runtime:
            set_state(WebState(settings=settings, runtime=runtime))
            try:
                yield
            finally:
                set_state(None)

    app = FastAPI(title="bichat", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{CHAT_PATH}/")

    install_admin(app)
    mount_chainlit(app=app, target=str(CHAT_MODULE), path=CHAT_PATH)
    config.ui.name = "bichat"
    config.features.unsafe_allow_html = False  # data is shown as text, never as HTML
    return app
