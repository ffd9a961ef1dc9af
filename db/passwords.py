"""Password hashing for app users (argon2 through pwdlib).

Checking a password costs tens of milliseconds of CPU by design. Servers check them with
``check_password``: in a small pool of worker threads (argon2 releases the GIL), so the event
loop keeps answering while logins are checked, and at most ``HASH_WORKERS`` hashes run at
once however many logins arrive (the rest wait their turn; the login throttle bounds how many
can arrive).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from pwdlib import PasswordHash

from db.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
HASH_WORKERS = 2
HASH_POOL = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="bichat-argon2")


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    if not password.strip():
        raise InvalidInput("the password is empty", code="empty_password")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters",
            code="weak_password",
        )
    return str(_hasher().hash(password))


def verify_password(password: str, password_hash: str) -> bool:
    return bool(_hasher().verify(password, password_hash))


async def check_password(password: str, password_hash: str) -> bool:
    """``verify_password`` in the hashing pool, off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(HASH_POOL, verify_password, password, password_hash)
