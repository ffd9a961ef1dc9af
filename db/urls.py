"""Conversions between the URL spellings of PostgreSQL that our libraries expect."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


def plain_url(url: str) -> str:
    """``postgresql://...`` (libpq and asyncpg spelling)."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme in ("postgres", "postgresql+asyncpg") else url


def sqlalchemy_url(url: str) -> str:
    """``postgresql+asyncpg://...`` (SQLAlchemy async spelling)."""
    return "postgresql+asyncpg://" + plain_url(url).split("://", 1)[1]


def with_credentials(url: str, *, user: str, password: str | None) -> str:
    """The same server and database, logged in as ``user``."""
    parts = urlsplit(plain_url(url))
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{auth}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def redact(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")
