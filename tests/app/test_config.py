"""Settings: defaults, .env files, and one-line errors that name the variable."""

from __future__ import annotations

import pytest

from app.config import Settings, load_settings
from app.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("BICHAT_") or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_use_the_embedded_server_and_offline_model():
    settings = load_settings()
    assert settings.embedded and settings.database_url is None
    assert settings.effective_model == "offline"
    assert settings.embeddings == "local"
    assert settings.statement_timeout_ms == 5000
    assert settings.turn_timeout_s == 120 and settings.database_retry_s == 10


def test_an_api_key_switches_the_default_model_online(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings().effective_model == "openai:gpt-4.1-mini"
    monkeypatch.setenv("BICHAT_MODEL", "offline")
    assert load_settings().effective_model == "offline"


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        "BICHAT_STATEMENT_TIMEOUT_MS=1234\nBICHAT_DATABASE_URL=postgresql://u:p@db:5432/shop\n"
    )
    settings = load_settings()
    assert settings.statement_timeout_ms == 1234
    assert not settings.embedded


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BICHAT_DATABASE_URL", "mysql://u@h/db", "must start with one of postgresql://"),
        ("BICHAT_DATABASE_URL", "postgresql:///shop", "has no host"),
        ("BICHAT_DATABASE_URL", "postgresql://u@db:99999/shop", "port that is not a number"),
        ("BICHAT_DATABASE_URL", "postgresql://u@db:5432", "names no database"),
        ("BICHAT_READER_DATABASE_URL", "http://replica/db", "must start with one of"),
        ("BICHAT_STATEMENT_TIMEOUT_MS", "soon", "valid integer"),
        ("BICHAT_STATEMENT_TIMEOUT_MS", "10", "greater than or equal to 100"),
        ("BICHAT_MODEL", "gpt4", "must be 'offline' or 'provider:model'"),
        ("BICHAT_EMBEDDINGS", "openai:ada", "must be one of local"),
        ("BICHAT_READER_TEMP_FILE_LIMIT_KB", "3000000000", "less than or equal to 2147483647"),
        ("BICHAT_READER_IDLE_IN_TRANSACTION_TIMEOUT_MS", "3000000000", "less than or equal to"),
        ("BICHAT_TURN_TIMEOUT_S", "0", "greater than 0"),
        ("BICHAT_TURN_TIMEOUT_S", "a minute", "valid number"),
        ("BICHAT_DATABASE_RETRY_S", "-1", "greater than or equal to 0"),
        ("BICHAT_API_RATE_LIMIT", "lots", "is not a rate"),
        ("BICHAT_API_ASK_RATE_LIMIT", "10 a minute", "is not a rate"),
        ("BICHAT_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("BICHAT_DRAIN_TIMEOUT_S", "-1", "greater than or equal to 0"),
    ],
)
def test_malformed_values_name_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert raised.value.message.startswith(f"invalid setting: {variable} ")
    assert message in raised.value.message
    assert "\n" not in raised.value.message


def test_socket_urls_are_accepted():
    url = "postgresql://postgres:@/bichat?host=/tmp/pg"
    assert load_settings(database_url=url).database_url == url


def test_every_setting_has_a_unit_or_is_unitless_by_nature():
    unitless = {
        "database_url",
        "reader_database_url",
        "data_dir",
        "model",
        "transcription_model",
        "embeddings",
        "openai_api_key",
        "reader_connection_limit",
        "reader_max_connections",  # a count of connections
        "model_max_retries",  # counts
        "agent_max_model_calls",
        "agent_max_tool_calls",
        "agent_max_tool_errors",
        "verified_min_similarity",  # cosine similarity, 0-1
        "engine_first",  # on or off
        "admin_password",
        "public_url",
        "allowed_origins",
        "trusted_proxies",
        "api_docs",
        "login_limit_per_ip",  # rates: the unit is in the value ("30/minute")
        "login_limit_per_username",
        "api_rate_limit",  # rates carry their own units: 120/minute
        "api_ask_rate_limit",
        "digest_max_attempts",  # a count
        "smtp_host",
        "smtp_port",
        "smtp_username",
        "smtp_password",
        "smtp_from",
        "smtp_starttls",  # on or off
        "log_format",  # text or json
    }
    for name in Settings.model_fields:
        assert name in unitless or name.rsplit("_", 1)[-1] in {"ms", "s", "kb", "tokens"}, name
