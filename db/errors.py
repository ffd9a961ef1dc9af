"""Typed errors, shared by `db` and `app` (which re-exports them as `app.errors`). Each carries
a stable ``code`` and a message a person (or a model) can act on."""


class BichatError(Exception):
    """Base class for every error bichat reports to a user."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class ConfigError(BichatError):
    code = "config_error"


class DatabaseUnavailable(BichatError):
    code = "database_unavailable"


class SchemaNotReady(BichatError):
    code = "schema_not_ready"


class UnsupportedServer(BichatError):
    code = "unsupported_server"


class InvalidInput(BichatError):
    code = "invalid_input"


class NotFound(BichatError):
    code = "not_found"


class AlreadyExists(BichatError):
    code = "already_exists"
