"""``/dashboard``: a user's pinned tiles run through the guard at every view (cached for a
TTL, refreshed on demand), with charts; other users and shops see nothing unless shared in
the same shop, read-only; forms need their CSRF token."""

from __future__ import annotations

import re

import httpx
import pytest

from app.store import pins
from app.store.pins import Viewer
from db.engine import create_engine
from tests.app.web.api_client import owner_query
from tests.app.web.conftest import PASSWORD

ORDERS_BY_CHANNEL = {"metrics": ["orders"], "by": ["channel"]}
STATUS_SQL = "SELECT status, count(*) AS n FROM orders GROUP BY 1 ORDER BY 2 DESC"


def chat_client(web_server, username: str | None) -> httpx.Client:
    """A browser-like client logged in to the chat (its cookie is the dashboard's login)."""
    client = httpx.Client(base_url=web_server.base_url, follow_redirects=False, timeout=60)
    if username:
        response = client.post("/chat/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
    return client


def form_token(client: httpx.Client, path: str = "/dashboard") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found, "no form on the page"
    return found.group(1)


async def viewer(url: str, username: str) -> Viewer:
    [(tenant, user)] = await owner_query(
        url, "SELECT tenant_id, id FROM app_users WHERE username = :u", u=username
    )
    return Viewer(tenant, user)


async def pin(url: str, username: str, **tile) -> int:
    engine = create_engine(url)
    try:
        return await pins.add_tile(engine, await viewer(url, username), **tile)
    finally:
        await engine.dispose()


async def board_of(url: str, username: str) -> int:
    [(board,)] = await owner_query(
        url,
        "SELECT d.id FROM dashboards d JOIN app_users u ON u.id = d.user_id WHERE u.username = :u",
        u=username,
    )
    return int(board)


@pytest.fixture(scope="module")
async def tiles(web_server):
    url = web_server.database_url
    await owner_query(url, "DELETE FROM dashboards")
    metrics = await pin(
        url, "ann", title="Orders by channel", kind="metrics", query=ORDERS_BY_CHANNEL
    )
    chart = {"kind": "bar", "x": "status", "y": ["n"], "title": "Orders by status"}
    sql = await pin(url, "ann", title="Orders by status", kind="sql", sql=STATUS_SQL, chart=chart)
    await owner_query(url, "UPDATE dashboards SET shared = false")
    return {"metrics": metrics, "sql": sql, "board": await board_of(url, "ann")}


def test_without_a_login_the_dashboard_sends_to_the_chat_login(web_server):
    response = chat_client(web_server, None).get("/dashboard")
    assert (response.status_code, response.headers["location"]) == (303, "/chat/login")


async def test_the_owner_sees_tiles_with_tables_and_charts_under_the_strict_csp(web_server, tiles):
    page = chat_client(web_server, "ann").get("/dashboard")
    assert page.status_code == 200, page.text
    assert "script-src 'self';" in page.headers["content-security-policy"]
    html = page.text
    for tile in (tiles["metrics"], tiles["sql"]):
        assert f'id="tile-{tile}"' in html and f'id="tile-{tile}-error"' not in html
    [(delivered,)] = await owner_query(
        web_server.database_url,
        "SELECT count(*) FROM orders o JOIN tenants t ON t.id = o.tenant_id "
        "WHERE t.slug = 'web-shop' AND o.status = 'delivered'",
    )
    table = html.split(f'id="tile-{tiles["sql"]}-table"')[1].split("</table>")[0]
    assert f"<td>delivered</td><td>{delivered}</td>" in table  # the shop's own count
    assert html.count('<svg class="tile-chart"') == 2  # the pinned chart, and one by the engine
    assert "<script" not in html


async def test_a_cached_tile_is_served_until_refreshed(web_server, tiles):
    ann = chat_client(web_server, "ann")
    ann.get("/dashboard")
    tile = tiles["sql"]
    [(first,)] = await owner_query(
        web_server.database_url, "SELECT refreshed_at FROM dashboard_tiles WHERE id = :i", i=tile
    )
    again = ann.get("/dashboard").text
    assert f'id="tile-{tile}-when">Cached from' in again
    [(second,)] = await owner_query(
        web_server.database_url, "SELECT refreshed_at FROM dashboard_tiles WHERE id = :i", i=tile
    )
    assert second == first
    refreshed = ann.post(f"/dashboard/tiles/{tile}/refresh", data={"csrf": form_token(ann)})
    assert refreshed.status_code == 303
    [(third,)] = await owner_query(
        web_server.database_url, "SELECT refreshed_at FROM dashboard_tiles WHERE id = :i", i=tile
    )
    assert third > second


async def test_tampered_sql_is_refused_at_view_even_with_a_fresh_cache(web_server):
    url = web_server.database_url
    tile = await pin(url, "ann", title="Tampered", kind="sql", sql="SELECT 1 AS one")
    ann = chat_client(web_server, "ann")
    assert f'id="tile-{tile}-error"' not in ann.get("/dashboard").text  # ran and cached
    try:
        for unsafe in (
            "SELECT username, password_hash FROM app_users",
            "DELETE FROM orders",
            "SELECT 1; DROP TABLE orders",
        ):
            await owner_query(  # the cache looks fresh for it: only the guard can stop it
                url,
                "UPDATE dashboard_tiles SET sql = :s, result_sql = :s, refreshed_at = now() "
                "WHERE id = :i",
                s=unsafe,
                i=tile,
            )
            html = ann.get("/dashboard").text
            error = html.split(f'id="tile-{tile}-error">')[1].split("</p>")[0]
            assert "refused by the SQL guard" in error, unsafe
            assert "password_hash" not in html.split(f'id="tile-{tile}"')[1].split("</section>")[
                0
            ].replace(unsafe, "")
        [(count,)] = await owner_query(url, "SELECT count(*) FROM orders")
        assert count > 0
        await owner_query(
            url,
            "UPDATE dashboard_tiles SET kind = 'metrics', query = :q WHERE id = :i",
            q='{"metrics": ["orders"], "by": ["password_hash"]}',
            i=tile,
        )
        assert f'id="tile-{tile}-error"' in ann.get("/dashboard").text
    finally:
        await owner_query(url, "DELETE FROM dashboard_tiles WHERE id = :i", i=tile)


async def test_other_users_and_shops_see_no_unshared_tile(web_server, tiles):
    url = web_server.database_url
    board, tile = tiles["board"], tiles["sql"]
    for username in ("bob", "eve", "olga"):
        other = chat_client(web_server, username)
        assert other.get(f"/dashboard/{board}").status_code == 404
        assert f"tile-{tile}" not in other.get("/dashboard").text
        token = form_token(other)
        assert (
            other.post(f"/dashboard/tiles/{tile}/refresh", data={"csrf": token}).status_code == 404
        )
        assert (
            other.post(f"/dashboard/tiles/{tile}/remove", data={"csrf": token}).status_code == 404
        )
        assert other.post(f"/dashboard/{board}/refresh", data={"csrf": token}).status_code == 404
    assert await owner_query(url, "SELECT id FROM dashboard_tiles WHERE id = :i", i=tile) == [
        (tile,)
    ]


async def test_a_shared_dashboard_is_read_only_for_the_shop_and_hidden_from_others(
    web_server, tiles
):
    url = web_server.database_url
    board, tile = tiles["board"], tiles["sql"]
    ann = chat_client(web_server, "ann")
    assert (
        ann.post("/dashboard/share", data={"shared": "on", "csrf": form_token(ann)}).status_code
        == 303
    )
    try:
        bob = chat_client(web_server, "bob")
        assert f'href="/dashboard/{board}"' in bob.get("/dashboard").text
        shared = bob.get(f"/dashboard/{board}")
        assert shared.status_code == 200 and f'id="tile-{tile}"' in shared.text
        assert 'id="read-only"' in shared.text and f'id="remove-{tile}"' not in shared.text
        token = form_token(bob)
        assert bob.post(f"/dashboard/tiles/{tile}/remove", data={"csrf": token}).status_code == 404
        assert bob.post(f"/dashboard/tiles/{tile}/refresh", data={"csrf": token}).status_code == 303
        for username in ("eve", "olga"):
            assert chat_client(web_server, username).get(f"/dashboard/{board}").status_code == 404
        assert await owner_query(url, "SELECT id FROM dashboard_tiles WHERE id = :i", i=tile) == [
            (tile,)
        ]
    finally:
        ann.post("/dashboard/share", data={"shared": "", "csrf": form_token(ann)})
    assert chat_client(web_server, "bob").get(f"/dashboard/{board}").status_code == 404


def test_forms_without_their_token_are_refused(web_server, tiles):
    ann = chat_client(web_server, "ann")
    for path in ("/dashboard/share", f"/dashboard/tiles/{tiles['sql']}/remove"):
        assert ann.post(path, data={"shared": "on"}).status_code == 403
        assert ann.post(path, data={"shared": "on", "csrf": "0" * 64}).status_code == 403
    response = ann.post(
        "/dashboard/share",
        data={"shared": "on", "csrf": form_token(ann)},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403


async def test_admin_digests_lists_failed_runs_of_the_own_shop_only(web_server, tiles):
    from tests.app.web.test_admin import client_for

    url = web_server.database_url
    [(digest,)] = await owner_query(
        url,
        "INSERT INTO digests (tenant_id, user_id, dashboard_id, frequency, hour, webhook_url) "
        "SELECT d.tenant_id, d.user_id, d.id, 'daily', 7, 'https://hooks.example/x' "
        "FROM dashboards d WHERE d.id = :b RETURNING id",
        b=tiles["board"],
    )
    await owner_query(
        url,
        "INSERT INTO digest_runs (tenant_id, digest_id, due_at, status, attempts, error) "
        "SELECT tenant_id, id, now(), 'failed', 4, 'webhook https://hooks.example/x answered 500' "
        "FROM digests WHERE id = :d",
        d=digest,
    )
    try:
        page = client_for(web_server, "ann").get("/admin/digests?failed=1")
        assert page.status_code == 200
        assert f'id="digest-{digest}"' in page.text and "answered 500" in page.text
        other = client_for(web_server, "olga").get("/admin/digests")
        assert f'id="digest-{digest}"' not in other.text and "answered 500" not in other.text
        assert client_for(web_server, "bob").get("/admin/digests").status_code == 403
    finally:
        await owner_query(url, "DELETE FROM digests WHERE id = :d", d=digest)
