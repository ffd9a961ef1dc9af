"""Typed errors (defined in ``db.errors``, below both packages, and re-exported here so that
application code names them from ``app``)."""

from db.errors import (
    AlreadyExists,
    BichatError,
    ConfigError,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    SchemaNotReady,
    UnsupportedServer,
)

__all__ = [
    "AlreadyExists",
    "BichatError",
    "ConfigError",
    "DatabaseUnavailable",
    "InvalidInput",
    "NotFound",
    "SchemaNotReady",
    "UnsupportedServer",
]
