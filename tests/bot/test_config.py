"""Settings from the environment: defaults, and one clear line for each mistake."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings

HTTP = {"SLACK_BOT_TOKEN": "xoxb-1-secret-bot", "SLACK_SIGNING_SECRET": "secret-signing"}
OAUTH = {"SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "secret-client",
         "SLACK_SIGNING_SECRET": "secret-signing"}


def test_defaults_follow_the_run_contract():
    settings = Settings.from_env(HTTP)
    assert settings.bot_token == "xoxb-1-secret-bot"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///accountplan.db"
    assert settings.port == 3000
    assert settings.timezone == "UTC"
    assert settings.retention_days == 90
    assert settings.log_format == "plain" and settings.metrics_port is None
    assert not settings.socket_mode and not settings.oauth


def test_every_variable_is_read():
    settings = Settings.from_env({
        **OAUTH,
        "SLACK_API_URL": "http://127.0.0.1:9999/api",
        "DATABASE_URL": "postgresql://app:pw@db/plans",
        "PORT": "8080",
        "ACCOUNTPLAN_TIMEZONE": "Europe/Berlin",
        "ACCOUNTPLAN_RETENTION_DAYS": "30",
        "ACCOUNTPLAN_LOG_FORMAT": "JSON",
    })
    assert settings.oauth and settings.client_id == "123.456"
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"  # WebClient needs the slash
    assert settings.database_url == "postgresql://app:pw@db/plans"
    assert settings.port == 8080
    assert settings.timezone == "Europe/Berlin"
    assert settings.retention_days == 30
    assert settings.log_format == "json"
    assert settings.metrics_port is None  # over HTTP, /metrics is on PORT


def test_socket_mode_serves_health_and_metrics_only_when_asked():
    socket = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
    assert Settings.from_env(socket).metrics_port is None  # a laptop: no port opened
    assert Settings.from_env({**socket, "PORT": "8080"}).metrics_port == 8080  # a platform's PORT
    assert Settings.from_env({**socket, "PORT": "8080", "ACCOUNTPLAN_METRICS_PORT": "9102"}).metrics_port == 9102


def test_socket_mode_needs_no_signing_secret():
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert settings.socket_mode


def test_empty_values_count_as_unset():
    assert Settings.from_env({**HTTP, "PORT": "", "SLACK_APP_TOKEN": " "}).port == 3000


def test_repr_never_shows_secrets():
    settings = Settings.from_env({**OAUTH, "SLACK_APP_TOKEN": "",
                                  "DATABASE_URL": "postgresql://app:db-password@db/plans"})
    for shown in (repr(settings), str(settings), repr(Settings.from_env(HTTP))):
        for secret in ("secret-bot", "secret-signing", "secret-client", "db-password"):
            assert secret not in shown
    assert "client_secret=<set>" in repr(settings)


@pytest.mark.parametrize(
    ("environ", "variable", "advice"),
    [
        ({}, "SLACK_BOT_TOKEN", "SLACK_CLIENT_ID"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN", "xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"),
        ({**HTTP, "SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN", "xoxb-"),
        ({**HTTP, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN", "xapp-"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET", "both"),
        ({"SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_ID", "both"),
        ({**HTTP, **OAUTH}, "SLACK_BOT_TOKEN and SLACK_CLIENT_ID", "unset"),
        ({**OAUTH, "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN", "unset"),
        ({**HTTP, "PORT": "http"}, "PORT", "1 to 65535"),
        ({**HTTP, "PORT": "70000"}, "PORT", "1 to 65535"),
        ({**HTTP, "PORT": "-1"}, "PORT", "1 to 65535"),
        ({**HTTP, "ACCOUNTPLAN_TIMEZONE": "Mars/Olympus"}, "ACCOUNTPLAN_TIMEZONE", "IANA"),
        ({**HTTP, "ACCOUNTPLAN_TIMEZONE": "../etc/passwd"}, "ACCOUNTPLAN_TIMEZONE", "IANA"),
        ({**HTTP, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", "https://slack.com/api/"),
        ({**HTTP, "DATABASE_URL": "not a url"}, "DATABASE_URL", "postgresql://"),
        ({**HTTP, "ACCOUNTPLAN_RETENTION_DAYS": "0"}, "ACCOUNTPLAN_RETENTION_DAYS", "1 or more"),
        ({**HTTP, "ACCOUNTPLAN_RETENTION_DAYS": "90d"}, "ACCOUNTPLAN_RETENTION_DAYS", "unset it for 90"),
        ({**HTTP, "ACCOUNTPLAN_LOG_FORMAT": "xml"}, "ACCOUNTPLAN_LOG_FORMAT", "plain or json"),
        ({**HTTP, "ACCOUNTPLAN_METRICS_PORT": "9102"}, "ACCOUNTPLAN_METRICS_PORT", "served on PORT"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "ACCOUNTPLAN_METRICS_PORT": "0"},
         "ACCOUNTPLAN_METRICS_PORT", "1 to 65535"),
    ],
)
def test_each_mistake_is_one_line_naming_the_variable(environ, variable, advice):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environ)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(variable)
    assert advice in message
    for value in environ.values():
        if "secret" in value:
            assert value not in message
