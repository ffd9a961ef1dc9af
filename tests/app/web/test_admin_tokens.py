"""``/admin/tokens``: an admin makes, lists and revokes their shop's API tokens; the token is
shown once and stored hashed; analysts and other shops' admins cannot touch them."""

from __future__ import annotations

import hashlib
import re

import httpx

from tests.app.web.api_client import owner_query, problem_of
from tests.app.web.test_admin import client_for, csrf


async def user_id(url: str, username: str) -> int:
    [(found,)] = await owner_query(url, "SELECT id FROM app_users WHERE username = :u", u=username)
    return int(found)


async def test_an_admin_makes_a_token_that_is_shown_once_and_revokes_it(web_server):
    url = web_server.database_url
    ann = client_for(web_server, "ann")
    made = ann.post(
        "/admin/tokens",
        data={
            "user_id": await user_id(url, "bob"),
            "name": "cursor",
            "expires_days": "30",
            "csrf": csrf(ann, "/admin/tokens"),
        },
    )
    assert made.status_code == 200, made.text
    token = re.search(r'id="new-token">(bichat_[A-Za-z0-9_-]+)<', made.text).group(1)
    [(token_id, digest, prefix, creator)] = await owner_query(
        url,
        "SELECT k.id, k.token_sha256, k.prefix, u.username FROM api_tokens k "
        "JOIN app_users u ON u.id = k.created_by WHERE k.name = 'cursor' ORDER BY k.id DESC LIMIT 1",
    )
    assert digest == hashlib.sha256(token.encode()).hexdigest() and token.startswith(prefix)
    assert creator == "ann"
    stored = await owner_query(
        url, "SELECT count(*) FROM api_tokens WHERE row(api_tokens.*)::text LIKE :t", t=f"%{token}%"
    )
    assert stored == [(0,)]  # the token itself is nowhere in the table
    listing = ann.get("/admin/tokens").text
    assert token not in listing and f'id="token-{token_id}"' in listing
    headers = {"Authorization": f"Bearer {token}"}
    api = httpx.Client(base_url=f"{web_server.base_url}/api/v1", timeout=30)
    assert api.get("/metrics", headers=headers).status_code == 200
    revoked = ann.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf(ann, "/admin/tokens")}
    )
    assert revoked.status_code == 303
    refused = api.get("/metrics", headers=headers)
    assert (refused.status_code, problem_of(refused)["code"]) == (401, "token_revoked")
    assert "revoked" in ann.get("/admin/tokens").text


async def test_analysts_and_other_shops_cannot_manage_a_shops_tokens(web_server):
    url = web_server.database_url
    ann = client_for(web_server, "ann")
    ann.post(
        "/admin/tokens",
        data={
            "user_id": await user_id(url, "ann"),
            "name": "mine",
            "csrf": csrf(ann, "/admin/tokens"),
        },
    )
    [(token_id,)] = await owner_query(url, "SELECT max(id) FROM api_tokens WHERE name = 'mine'")
    assert client_for(web_server, "bob").get("/admin/tokens").status_code == 403
    olga = client_for(web_server, "olga")  # an admin of the other shop
    assert f'id="token-{token_id}"' not in olga.get("/admin/tokens").text
    theirs = olga.post(
        f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf(olga, "/admin/tokens")}
    )
    for_their_user = olga.post(
        "/admin/tokens",
        data={"user_id": await user_id(url, "bob"), "csrf": csrf(olga, "/admin/tokens")},
    )
    forged = ann.post(f"/admin/tokens/{token_id}/revoke", data={"csrf": "0" * 64})
    assert theirs.status_code == 404 and for_their_user.status_code == 400
    assert forged.status_code == 403
    assert await owner_query(
        url, "SELECT revoked_at FROM api_tokens WHERE id = :id", id=token_id
    ) == [(None,)]
