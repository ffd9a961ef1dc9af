"""A thread opened by its address is resumed even when the page asked for it late.

Chainlit's page connects its socket through a debounced call, and the thread named in the
address (``/chat/thread/<id>``) is set by an effect that may run after that call was
scheduled: the page then opens a first socket without a thread and, a moment later, a second
one with it, under the same session id. When the server has already seen the first, Chainlit
restores that session for the second and ignores the thread it asks for; the page waits for
the thread forever (seen under load). A restored session that has not been used yet (no
question, no resumed thread) takes the thread the new socket names, so it is resumed as a
fresh session would be. Chainlit's own connect runs first and has checked the login, that the
thread is the user's, and that the session is theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Connect = Callable[[str, dict[str, Any], Any], Awaitable[Any]]


def adopt_late_thread(session: Any, thread_id: str | None) -> bool:
    """Points an unused, restored session at ``thread_id``; says whether it did."""
    if not thread_id or not getattr(session, "restored", False):
        return False
    if session.has_first_interaction or session.thread_id_to_resume == thread_id:
        return False
    session.thread_id_to_resume = session.thread_id = thread_id
    session.restored = False  # so Chainlit's connection_successful resumes it
    return True


def resume_late_threads() -> None:
    """Wraps Chainlit's socket ``connect`` handler (once per process)."""
    from chainlit.server import sio
    from chainlit.session import WebsocketSession

    connect: Connect = sio.handlers["/"]["connect"]
    if getattr(connect, "adopts_late_threads", False):
        return

    async def connect_and_adopt(sid: str, environ: dict[str, Any], auth: Any) -> Any:
        accepted = await connect(sid, environ, auth)
        thread_id = auth.get("threadId") if isinstance(auth, dict) else None
        if accepted is not False:
            adopt_late_thread(WebsocketSession.get(sid), thread_id)
        return accepted

    connect_and_adopt.adopts_late_threads = True  # type: ignore[attr-defined]
    sio.on("connect", connect_and_adopt)
