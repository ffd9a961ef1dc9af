"""The web layer's own protections over real HTTP and socket.io: CORS and the origin check
(another origin, another port of the same host included, gets nothing), login forms that
another site cannot post, uploads off, API docs off, Secure cookies behind a trusted TLS
proxy only, and the headers every response carries."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
import socketio
import uvicorn

from app.config import load_settings
from tests.app.web.conftest import ALLOWED_ORIGIN, PASSWORD, admin_login, free_port

OTHER_ORIGIN = "http://127.0.0.1:9"  # another port of the same host: same-site, other origin


THREADS = {"pagination": {"first": 20, "cursor": None}, "filter": {}}


async def test_another_origin_gets_no_credentialed_cors(web_server, ann):
    preflight = await ann.http.options(
        "/project/threads",
        headers={
            "Origin": OTHER_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code >= 400
    assert "access-control-allow-origin" not in preflight.headers
    read = await ann.http.post("/project/threads", json=THREADS, headers={"Origin": OTHER_ORIGIN})
    assert read.status_code == 403 and "access-control-allow-origin" not in read.headers
    user = await ann.http.get("/user", headers={"Origin": OTHER_ORIGIN})
    assert "access-control-allow-origin" not in user.headers  # a GET's answer stays unreadable


async def test_an_allowed_origin_gets_credentialed_cors(web_server, ann):
    preflight = await ann.http.options(
        "/project/threads",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    read = await ann.http.post("/project/threads", json=THREADS, headers={"Origin": ALLOWED_ORIGIN})
    assert read.status_code == 200
    assert read.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_the_own_origin_and_clients_without_one_pass(web_server, ann):
    own = await ann.http.post(
        "/project/threads", json=THREADS, headers={"Origin": web_server.base_url}
    )
    assert own.status_code == 200
    assert (await ann.http.post("/project/threads", json=THREADS)).status_code == 200


async def test_a_socket_from_another_origin_is_refused(web_server, offline, ann):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await ann.turn("How many orders are there?", headers={"Origin": OTHER_ORIGIN})
    polling = await ann.http.get(
        "/ws/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": OTHER_ORIGIN},
    )
    assert polling.status_code == 403
    turn = await ann.turn("How many orders are there?", headers={"Origin": web_server.base_url})
    assert turn.answer()["output"]


async def test_login_forms_cannot_be_posted_from_another_site(web_server):
    chat = httpx.AsyncClient(base_url=web_server.base_url)
    try:
        form = {"username": "ann", "password": PASSWORD}
        for headers in (
            {"Origin": OTHER_ORIGIN},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
        ):
            response = await chat.post("/chat/login", data=form, headers=headers)
            assert response.status_code == 403, headers
            assert "access_token" not in response.headers.get("set-cookie", "")
        same_origin = await chat.post(
            "/chat/login",
            data=form,
            headers={"Origin": web_server.base_url, "Sec-Fetch-Site": "same-origin"},
        )
        assert same_origin.status_code == 200
    finally:
        await chat.aclose()

    admin = httpx.Client(base_url=web_server.base_url, follow_redirects=False)
    no_token = admin.post("/admin/login", data={"username": "ann", "password": PASSWORD})
    assert no_token.status_code == 403 and "bichat_admin=" not in no_token.headers.get(
        "set-cookie", ""
    )
    forged = admin.post(
        "/admin/login",
        data={"username": "ann", "password": PASSWORD, "csrf": "0" * 64},
        cookies={"bichat_admin_login": "chosen-by-the-attacker"},
    )
    assert forged.status_code == 403
    browser = httpx.Client(base_url=web_server.base_url, follow_redirects=False)
    assert admin_login(browser, "ann").status_code == 303  # the form's own token works
    cross = httpx.Client(base_url=web_server.base_url, headers={"Origin": OTHER_ORIGIN})
    assert admin_login(cross, "ann").status_code == 403


async def test_uploads_are_refused(web_server, offline, ann):
    uploads = []

    async def upload() -> None:
        uploads.append(
            await ann.http.post(
                "/project/file",
                params={"session_id": session_id},
                files={"file": ("page.html", b"<script>alert(1)</script>", "text/html")},
            )
        )

    session_id = "upload-" + str(time.time_ns())
    await ann.turn(None, before_send=upload, session_id=session_id)
    assert uploads[0].status_code == 403, uploads[0].text
    settings = (await ann.http.get("/project/settings")).json()
    assert settings["features"]["spontaneous_file_upload"]["enabled"] is False


def test_api_docs_are_off(web_server):
    for path in ("/docs", "/redoc", "/openapi.json", "/chat/openapi.json", "/chat/docs"):
        response = httpx.get(web_server.base_url + path)
        assert "swagger" not in response.text.lower() and '"openapi"' not in response.text, path


async def test_cookies_are_secure_behind_a_trusted_tls_proxy(web_server):
    form = {"username": "ann", "password": PASSWORD}
    async with httpx.AsyncClient(base_url=web_server.base_url) as client:
        plain = await client.post("/chat/login", data=form)
        proxied = await client.post(
            "/chat/login", data=form, headers={"X-Forwarded-Proto": "https"}
        )
    assert "secure" not in cookie_flags(plain)
    assert "secure" in cookie_flags(proxied)
    admin = httpx.Client(base_url=web_server.base_url, follow_redirects=False)
    response = admin_login(admin, "ann")
    assert "secure" not in cookie_flags(response)
    behind_proxy = {"X-Forwarded-Proto": "https"}
    form_page = httpx.get(web_server.base_url + "/admin/login", headers=behind_proxy)
    assert "secure" in cookie_flags(form_page)
    proxied_admin = httpx.post(  # a browser sends the Secure cookie back over https
        web_server.base_url + "/admin/login",
        data={**form, "csrf": re.search(r'name="csrf" value="([^"]*)"', form_page.text)[1]},
        headers={**behind_proxy, "Cookie": form_page.headers["set-cookie"].split(";")[0]},
    )
    assert proxied_admin.status_code == 303 and "secure" in cookie_flags(proxied_admin)


def cookie_flags(response: httpx.Response) -> set[str]:
    cookies = response.headers.get_list("set-cookie")
    return {part.strip().lower() for cookie in cookies for part in cookie.split(";")[1:]}


def echo_server(settings) -> tuple[uvicorn.Server, str]:
    """A tiny app served as bichat serves (``server_config``): says what scheme and client
    address uvicorn gave it."""
    from app.web.server import server_config

    async def echo(scope, receive, send):
        if scope["type"] != "http":
            return
        body = f"{scope['scheme']} {scope['client'][0]}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    port = free_port()
    server = uvicorn.Server(
        server_config(echo, settings, host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base, timeout=1)
            return server, base
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("the echo server did not start")


@pytest.mark.parametrize(
    ("proxies", "seen"),
    [("", "http 127.0.0.1"), ("127.0.0.1", "https 203.0.113.7"), ("10.0.0.0/8", "http 127.0.0.1")],
)
def test_forwarded_headers_are_believed_from_trusted_proxies_only(tmp_path, proxies, seen):
    settings = load_settings(data_dir=tmp_path, trusted_proxies=proxies)
    server, base = echo_server(settings)
    try:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        assert httpx.get(base, headers=headers).text == seen
    finally:
        server.should_exit = True


async def test_every_response_carries_the_security_headers(web_server):
    async with httpx.AsyncClient(base_url=web_server.base_url) as client:
        chat = await client.get("/chat/")
        health = await client.get("/healthz")
        admin = await client.get("/admin/login")
    policy = dict(
        part.strip().split(" ", 1) for part in chat.headers["content-security-policy"].split(";")
    )
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    scripts = policy["script-src"].split()
    assert scripts[0] == "'self'" and all(
        re.fullmatch(r"'sha256-[A-Za-z0-9+/=]+'", s) for s in scripts[1:]
    )
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    for response in (chat, health, admin):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self';" in admin.headers["content-security-policy"]


async def test_a_forged_host_header_cannot_widen_the_policy(web_server):
    async with httpx.AsyncClient(base_url=web_server.base_url) as client:
        chat = await client.get("/chat/", headers={"Host": "x; script-src *; img-src *"})
    policy = chat.headers["content-security-policy"]
    assert "script-src *" not in policy and "img-src *" not in policy
    assert policy.count("script-src") == 1 and policy.count("img-src") == 1
