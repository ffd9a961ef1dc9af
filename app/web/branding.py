"""How the chat looks: bichat's name and logo instead of Chainlit's, a "Username" field on the
login page, the shop's name in the header once logged in, SQL that wraps instead of being cut
off, and nothing loaded from other sites.

Chainlit is configured through its app root (``CHAINLIT_APP_ROOT``, prepared by
``app.web.server``): ``public/`` holds the logos, favicon, ``theme.json`` and our CSS and JS
(served by Chainlit at ``/chat/public/``); ``.chainlit/translations/en-US.json`` its texts.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.web.chat_session import current_chat_user

PUBLIC = Path(__file__).with_name("chainlit_public")
LANGUAGE = "en-US"  # bichat's own texts (starters, answers, modes) are English
TEXTS = {  # Chainlit's login texts, for a login with a username
    "auth.login.title": "Log in to bichat",
    "auth.login.form.email.label": "Username",
    "auth.login.form.email.placeholder": "your username",
    "auth.login.form.email.required": "the username is required",
    "auth.login.form.actions.signin": "Log in",
    "auth.login.errors.credentialsSignin": "Wrong username or password.",
    # the detail of a 503 from the login (app.web.availability): the database is away
    "auth.login.errors.unavailable": "bichat is briefly unavailable: its database is not "
    "answering (it may be restarting). Try again in a moment.",
}
# <link> tags of the page Chainlit serves that point at other sites (Google Fonts, a CDN's
# KaTeX stylesheet): a login page should not tell third parties who opens it
REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>", re.S)


def prepare_branding(root: Path, *, welcome: Path | None = None) -> None:
    """Write the logos, theme, CSS, JS, texts and the welcome page (the header's Readme, in
    the language the chat uses) into Chainlit's app root."""
    if welcome is not None and welcome.exists():
        for name in ("chainlit.md", f"chainlit_{LANGUAGE}.md"):
            if (root / name).resolve() != welcome.resolve():
                shutil.copyfile(welcome, root / name)
    public = root / "public"
    public.mkdir(parents=True, exist_ok=True)
    for source in PUBLIC.iterdir():
        shutil.copyfile(source, public / source.name)
    translations = root / ".chainlit" / "translations"
    translations.mkdir(parents=True, exist_ok=True)
    (translations / f"{LANGUAGE}.json").write_text(
        json.dumps(with_texts(chainlit_texts(LANGUAGE), TEXTS), indent=2, ensure_ascii=False)
    )


def chainlit_texts(language: str) -> dict[str, Any]:
    import chainlit

    shipped = Path(chainlit.__file__).parent / "translations" / f"{language}.json"
    texts: dict[str, Any] = json.loads(shipped.read_text(encoding="utf-8"))
    return texts


def with_texts(texts: dict[str, Any], changes: dict[str, str]) -> dict[str, Any]:
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = texts
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return texts


def configure_chainlit() -> None:
    """Chainlit's settings for our look (after its import has read its config)."""
    import chainlit.server
    from chainlit.config import config

    config.ui.name = "bichat"
    config.ui.description = "Ask your shop's data questions in plain words."
    config.ui.language = LANGUAGE
    config.ui.custom_css = "/public/bichat.css"  # Chainlit prefixes its root path (/chat)
    config.ui.custom_js = "/public/bichat.js"
    config.ui.custom_meta_image_url = "/chat/public/favicon.svg"
    chainlit.server.get_html_template = without_remote_links(chainlit.server.get_html_template)


def without_remote_links(render: Callable[[str], str]) -> Callable[[str], str]:
    if getattr(render, "bichat_local_only", False):  # one app per process, but tests make more
        return render

    def local_only(root_path: str) -> str:
        return REMOTE_LINK.sub("", render(root_path))

    local_only.bichat_local_only = True  # type: ignore[attr-defined]
    return local_only


def install_shop_name(app: FastAPI) -> None:
    """``GET /api/chat/shop``: the shop of the user logged into the chat (for the header),
    and whether they are its admin (the header then links to ``/admin``, one sign-on); the
    user is the one ``ChatSessions`` read again for this request (401 without one)."""

    @app.get("/api/chat/shop", include_in_schema=False)
    async def chat_shop() -> JSONResponse:
        user = current_chat_user()
        if user is None:
            return JSONResponse({"error": "not logged in"}, status_code=401)
        found = {"name": user.tenant_name, "admin": user.role == "admin"}
        return JSONResponse(found, headers={"Cache-Control": "no-store"})
