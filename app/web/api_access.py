"""Who an API request acts as, decided once at the edge: the bearer token read again on every
request (revoked, expired or a deactivated user: refused at once), then the token's rate
limit counted. Everything below gets the ``Principal`` (its shop and user), never an id from
the request."""

from __future__ import annotations

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.store.tokens import AccessRefused, Principal, principal_for_token
from app.web.state import get_state

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="API token",
    description="A personal API token: `bichat tokens create --user U` or /admin/tokens.",
)


def token_of(authorization: str | None) -> str:
    """The token of an ``Authorization`` header value, or ``AccessRefused``."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AccessRefused(
            "send a personal API token: Authorization: Bearer bichat_...", code="token_required"
        )
    return token.strip()


async def authorised(authorization: str | None) -> Principal:
    """The principal of a request's ``Authorization`` header, its request counted."""
    state = get_state()
    principal = await principal_for_token(state.runtime.engine, token_of(authorization))
    assert principal.token_id is not None
    await state.api_limits.hit(principal.token_id)
    return principal


async def current_principal(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    header = f"{credentials.scheme} {credentials.credentials}" if credentials else None
    return await authorised(header)
