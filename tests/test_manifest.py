"""app_manifest.yml: valid for Slack, and in agreement with the code.

Agreement is checked by driving a fresh app: for each command, shortcut and event the
manifest declares, a signed request goes through `App.dispatch` and must not come back
404 ("unhandled request").
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from slack_bolt import App, BoltRequest
from slack_sdk.oauth.installation_store import Installation

from bot.app import BOT_SCOPES, create_app
from bot.config import Settings
from tests.bot import signing
from tests.bot.conftest import stop_listeners
from tests.bot.slack_api import FakeSlackAPI

REPO = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((REPO / "app_manifest.yml").read_text())
SCHEMAS = Path("/work/shared/slack")
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

# Listeners others are still writing. Each is expected to fail (strictly: once the
# listener exists the test passes, XPASS fails, and its line here must go).
PENDING: dict = {}  # (kind, name) -> why its listener is not written yet
# Bolt handles these itself, with an installation store: in OAuth mode only.
OAUTH_ONLY_EVENTS = {"app_uninstalled", "tokens_revoked"}


def schema_validator() -> Draft7Validator:
    if not (SCHEMAS / "manifest.schema.json").exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMAS}")
    top = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    registry = Registry().with_resources(
        (REMOTE + name, Resource.from_contents(json.loads((SCHEMAS / name).read_text())))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")
    )
    return Draft7Validator(top, registry=registry)


def test_manifest_is_valid_for_slack():
    errors = sorted(schema_validator().iter_errors(MANIFEST), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_check_catches_mistakes():
    broken = json.loads(json.dumps(MANIFEST))
    broken["features"]["shortcuts"][0]["name"] = "A shortcut name far too long for Slack"
    assert list(schema_validator().iter_errors(broken))


def test_app_home_and_messages_tab_are_on():
    home = MANIFEST["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True


def test_urls_are_the_routes_the_server_serves():
    settings = MANIFEST["settings"]
    urls = [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    urls += [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert all(url.endswith("/slack/events") for url in urls)
    assert all(url.endswith("/slack/oauth_redirect") for url in MANIFEST["oauth_config"]["redirect_urls"])
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is True


def test_bot_scopes_are_the_ones_the_install_asks_for():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)


# ----------------------------------------------------------------------------- agreement


def declared() -> list:
    features, events = MANIFEST["features"], MANIFEST["settings"]["event_subscriptions"]
    entries = [("command", c["command"]) for c in features.get("slash_commands", [])]
    entries += [("shortcut", s["callback_id"]) for s in features.get("shortcuts", [])]
    entries += [("event", e) for e in events.get("bot_events", [])]
    return [
        pytest.param(*entry, id=f"{entry[0]}:{entry[1]}",
                     marks=[pytest.mark.xfail(strict=True, reason=PENDING[entry])]
                     if entry in PENDING else [])
        for entry in entries
    ]


def request_for(kind: str, name: str) -> tuple[str, str]:
    if kind == "command":
        return signing.encode_form(signing.slash_command(name, "help")), signing.FORM
    if kind == "shortcut":
        shortcut = next(s for s in MANIFEST["features"]["shortcuts"] if s["callback_id"] == name)
        if shortcut["type"] == "message":
            message = {"type": "message", "user": "U2", "ts": "1700000000.000100", "text": "Call Dr. Lee"}
            payload = signing.message_shortcut(name, message)
        else:
            payload = signing.global_shortcut(name)
        return signing.encode_interactive(payload), signing.FORM
    event = {"type": name}
    if name == "app_home_opened":
        event = signing.app_home_opened()
    elif name == "tokens_revoked":
        event["tokens"] = {"bot": ["UBOT"]}
    return signing.encode_event(signing.event_envelope(event)), signing.JSON


def dispatch(app: App, kind: str, name: str) -> int:
    body, content_type = request_for(kind, name)
    response = app.dispatch(BoltRequest(body=body, headers=signing.signed_headers(body, content_type)))
    return response.status


@pytest.fixture
def slack_api():
    with FakeSlackAPI() as api:
        yield api


@pytest.fixture(params=["single", "oauth"])
def fresh_app(request, slack_api, session_factory):
    if request.param == "single":
        settings = Settings(bot_token="xoxb-test", signing_secret=signing.SIGNING_SECRET,
                            slack_api_url=slack_api.url)
        app = create_app(settings, session_factory)
    else:
        settings = Settings(client_id="1.2", client_secret="s", signing_secret=signing.SIGNING_SECRET,
                            slack_api_url=slack_api.url)
        app = create_app(settings, session_factory)
        app.installation_store.save(Installation(
            app_id=signing.API_APP_ID, team_id=signing.TEAM_ID, user_id=signing.USER_ID,
            bot_token="xoxb-installed", bot_id="BBOT", bot_user_id="UBOT",
            bot_scopes=list(BOT_SCOPES),
        ))
    yield request.param, app
    stop_listeners(app)


@pytest.mark.parametrize(("kind", "name"), declared())
def test_everything_declared_has_a_listener(fresh_app, kind, name):
    mode, app = fresh_app
    if mode == "single" and name in OAUTH_ONLY_EVENTS:
        pytest.skip("Bolt handles this event only with an installation store (OAuth mode)")
    assert dispatch(app, kind, name) != 404, f"no listener for {kind} {name} ({mode})"


def test_an_undeclared_request_is_unhandled(fresh_app):
    """The check above can fail: an unknown command comes back 404."""
    assert dispatch(fresh_app[1], "command", "/not-in-the-manifest") == 404
