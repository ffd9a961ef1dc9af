"""The server around the chat: Chainlit mounted at /chat without console noise."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlparse

import httpx


def drop_request(base_url: str, path: str) -> None:
    """Send a request and hang up at once, as a browser does with the login page's logo and
    favicon when it moves on to another page."""
    url = urlparse(base_url)
    with socket.create_connection((url.hostname, url.port)) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())


async def test_requests_dropped_by_the_browser_log_no_traceback(web_server, server_errors):
    paths = ["/chat/logo?theme=dark", "/chat/favicon", "/chat/login", "/chat/auth/config"]
    for path in paths * 5:
        drop_request(web_server.base_url, path)
    await asyncio.sleep(1)  # the server handles the dropped requests
    assert httpx.get(f"{web_server.base_url}/chat/logo?theme=light").status_code == 200
    messages = [record.getMessage() for record in server_errors]
    tracebacks = [str(record.exc_info[1]) for record in server_errors if record.exc_info]
    assert not messages, f"{messages} {tracebacks}"


def test_importing_the_server_leaves_chainlit_unimported():
    """Chainlit fixes its app root (where it writes its config and bichat its branding) when
    first imported: ``create_app`` must get there first, or ``bichat serve`` writes into the
    working directory."""
    import subprocess
    import sys

    check = "import sys, app.web.server; sys.exit('chainlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], check=False).returncode == 0
