"""One FastAPI application: the Chainlit chat under /chat, the admin pages under /admin, the
REST API under /api/v1, the MCP server at /mcp, health at /healthz and /readyz
(``app.web.health``), Prometheus figures at /metrics. Chainlit reads its settings when first
imported, so ``create_app`` points it at a folder in the data dir (never the working
directory) before importing it.

Around everything: ``WebSecurity`` (origins, headers; ``app.web.security``) and, for the
chat, ``ChatSessions`` (the user re-read on every request; ``app.web.chat_session``).
``server_config`` is how uvicorn serves it (which proxies' forwarded headers it believes)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from langchain_core.language_models import BaseChatModel
from starlette.routing import Route

from app.config import Settings
from app.digests.insights import LibraryInsights
from app.digests.runner import DigestRunner, run_forever
from app.mcp.http import McpHttp
from app.store.tokens import Principal
from app.turn.runtime import AgentRuntime, open_agent
from app.voice.transcription import transcriber_for
from app.web.admin import install_admin
from app.web.api import API_PATH, create_api
from app.web.api_access import authorised
from app.web.api_problems import error_problem
from app.web.availability import install_availability
from app.web.branding import configure_chainlit, install_shop_name, prepare_branding
from app.web.chat_session import ChatSessions
from app.web.dashboard import install_dashboard
from app.web.first_run import auth_secret
from app.web.health import install_health
from app.web.metrics_endpoint import install_metrics
from app.web.request_ids import RequestIds
from app.web.security import install_security
from app.web.state import WebState, get_state, set_state

if TYPE_CHECKING:
    import uvicorn

CHAT_PATH = "/chat"
MCP_PATH = "/mcp"
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


async def count_ask(principal: Principal) -> None:
    """A question over MCP counts against its token's ask limit, like ``POST /ask``."""
    assert principal.token_id is not None
    await get_state().api_limits.hit(principal.token_id, "ask")


def create_app(settings: Settings, *, chat_model: BaseChatModel | None = None) -> FastAPI:
    prepare_chainlit(settings)
    from chainlit.config import config

    mcp = McpHttp(authorise=authorised, refuse=error_problem)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_agent(settings, chat_model=chat_model) as runtime:
            set_state(WebState(settings=settings, runtime=runtime))
            scheduler = start_digests(settings, runtime)
            try:
                async with mcp.running(runtime, ask_limit=count_ask):
                    yield
            finally:  # turns still running (sockets closed, Ctrl+C) are stored as interrupted
                if scheduler is not None:
                    scheduler.cancel()
                await runtime.turns.drain.drain(timeout_s=0)
                set_state(None)

    app = FastAPI(title="bichat", lifespan=lifespan)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{CHAT_PATH}/")

    install_health(app)
    install_availability(app)
    install_metrics(app)
    install_admin(app)
    install_dashboard(app)
    app.mount(API_PATH, create_api())
    for path in (MCP_PATH, MCP_PATH + "/"):  # the MCP server, as the token's user
        app.router.routes.append(Route(path, mcp, methods=["GET", "POST", "DELETE"]))
    install_shop_name(app)
    from app.web.chat_routes import install_chat_routes  # imports Chainlit: after its root is set

    install_chat_routes(app)  # ahead of Chainlit's routes of the same paths
    mount_chat(app)
    prepare_branding(Path(chainlit_root()), welcome=WELCOME)  # where Chainlit reads them
    configure_chainlit()
    config.features.unsafe_allow_html = False  # data is shown as text, never as HTML
    config.features.user_message_markdown = False  # questions (also suggested ones) as typed
    if config.features.spontaneous_file_upload is not None:
        config.features.spontaneous_file_upload.enabled = False  # nothing reads uploads
    config.project.user_session_timeout = settings.session_max_age_s  # the token's lifetime
    if config.features.audio is not None:  # the microphone: only with speech to text
        config.features.audio.enabled = transcriber_for(settings) is not None
    app.add_middleware(ChatSessions)
    install_security(app, settings, chat_page=chat_page())
    app.add_middleware(RequestIds)  # outermost: every log line of a request carries its id
    return app


def start_digests(settings: Settings, runtime: AgentRuntime) -> asyncio.Task[None] | None:
    """The digest scheduler in the background (every ``BICHAT_DIGEST_POLL_S``; 0: none)."""
    if not settings.digest_poll_s:
        return None
    services = runtime.agent.services
    runner = DigestRunner(runtime.engine, services, settings, insights=LibraryInsights(services))
    return asyncio.create_task(run_forever(runner, every_s=settings.digest_poll_s))


def chat_page() -> str:
    """The chat's HTML page as Chainlit serves it (its inline scripts get CSP hashes)."""
    from chainlit.server import get_html_template

    return str(get_html_template(CHAT_PATH))


def server_config(
    app: Any, settings: Settings, *, host: str, port: int, **options: Any
) -> uvicorn.Config:
    """uvicorn for ``app``: ``X-Forwarded-Proto`` and ``-For`` are believed only from
    ``BICHAT_TRUSTED_PROXIES`` (none by default; uvicorn's own default trusts 127.0.0.1)."""
    import uvicorn

    proxies = settings.proxies
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        **options,
    )
