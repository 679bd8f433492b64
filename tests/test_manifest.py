"""The Slack app manifest (bot/manifest.py, `accountplan manifest`): valid for Slack,
and in agreement with the code, in every variant; app_manifest.yml is one of them.

Agreement is checked by driving a fresh app: for each command, shortcut and event the
manifest declares, a signed request goes through `App.dispatch` and must not come back
404 ("unhandled request"). The other direction holds by construction: the manifest
lists what the listeners register (bot.manifest.registered).
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

from bot import cli
from bot import manifest as manifests
from bot.app import BOT_SCOPES, create_app
from bot.config import Settings
from bot.manifest import EXAMPLE_URL, ManifestError, Variant
from tests.bot import signing
from tests.bot.conftest import stop_listeners
from tests.bot.slack_api import FakeSlackAPI

REPO = Path(__file__).resolve().parents[1]
FILE_TEXT = (REPO / "app_manifest.yml").read_text()
MANIFEST = yaml.safe_load(FILE_TEXT)
SCHEMAS = Path("/work/shared/slack")
REMOTE = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"

# app_manifest.yml is this variant, byte for byte.
FILE_VARIANT = Variant(url=EXAMPLE_URL, oauth=True)
FILE_ARGV = ["manifest", "--url", EXAMPLE_URL, "--oauth"]
VARIANTS = {
    "socket-mode": Variant(),
    "http": Variant(url=EXAMPLE_URL),
    "http-oauth": FILE_VARIANT,
    "custom": Variant(url="https://plans.acme.test:8443", oauth=True, name="Acme \"Plans\" #1"),
}
# The app each variant is for: one fixed token, or OAuth installs.
MODE = {"socket-mode": "single", "http": "single", "http-oauth": "oauth", "custom": "oauth"}

# Listeners others are still writing. Each is expected to fail (strictly: once the
# listener exists the test passes, XPASS fails, and its line here must go).
PENDING: dict = {}  # (kind, name) -> why its listener is not written yet


def schema_validator() -> Draft7Validator:
    if not (SCHEMAS / "manifest.schema.json").exists():
        pytest.skip(f"Slack's manifest schema is not at {SCHEMAS}")
    top = json.loads((SCHEMAS / "manifest.schema.json").read_text())
    registry = Registry().with_resources(
        (REMOTE + name, Resource.from_contents(json.loads((SCHEMAS / name).read_text())))
        for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json")
    )
    return Draft7Validator(top, registry=registry)


def schema_errors(manifest: dict) -> list[str]:
    errors = sorted(schema_validator().iter_errors(manifest), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message}" for e in errors]


def test_manifest_is_valid_for_slack():
    assert not schema_errors(MANIFEST), "\n".join(schema_errors(MANIFEST))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_valid_for_slack(variant):
    errors = schema_errors(yaml.safe_load(manifests.render(VARIANTS[variant])))
    assert not errors, "\n".join(errors)


def test_schema_check_catches_mistakes():
    broken = json.loads(json.dumps(MANIFEST))
    broken["features"]["shortcuts"][0]["name"] = "A shortcut name far too long for Slack"
    assert list(schema_validator().iter_errors(broken))


def test_the_file_is_the_generated_manifest(capsys):
    """app_manifest.yml == `accountplan manifest --url https://accountplan.example.com --oauth`
    (after changing a listener or a scope: run that command > app_manifest.yml)."""
    assert cli.main(FILE_ARGV) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out == FILE_TEXT == manifests.render(FILE_VARIANT)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_yaml_says_what_the_data_says(variant):
    """The hand-written YAML (comments, folded text) reads back as the manifest's data."""
    assert yaml.safe_load(manifests.render(VARIANTS[variant])) == manifests.build(VARIANTS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_app_home_and_messages_tab_are_on(variant):
    home = manifests.build(VARIANTS[variant])["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True


def urls_in(node) -> list[str]:
    if isinstance(node, dict):
        return [url for value in node.values() for url in urls_in(value)]
    if isinstance(node, list):
        return [url for value in node for url in urls_in(value)]
    return [node] if isinstance(node, str) and node.startswith(("http://", "https://")) else []


def test_socket_mode_has_no_urls_and_no_token_rotation():
    manifest = manifests.build(Variant())
    assert urls_in({k: v for k, v in manifest.items() if k != "display_information"}) == []
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["token_rotation_enabled"] is False
    assert "redirect_urls" not in manifest["oauth_config"]
    assert not set(manifests.OAUTH_EVENTS) & set(manifest["settings"]["event_subscriptions"]["bot_events"])


@pytest.mark.parametrize(("variant", "oauth"), [("http", False), ("http-oauth", True), ("custom", True)])
def test_urls_are_the_routes_the_server_serves_on_the_host(variant, oauth):
    manifest = manifests.build(VARIANTS[variant])
    host = VARIANTS[variant].url
    settings = manifest["settings"]
    requests = [c["url"] for c in manifest["features"]["slash_commands"]]
    requests += [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert requests and all(url == f"{host}/slack/events" for url in requests)
    redirects = manifest["oauth_config"].get("redirect_urls", [])
    assert redirects == ([f"{host}/slack/oauth_redirect"] if oauth else [])
    assert sorted(set(urls_in(manifest["features"]) + urls_in(manifest["settings"]) + redirects)) == \
        sorted({f"{host}/slack/events", *redirects})
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is oauth
    events = settings["event_subscriptions"]["bot_events"]
    assert (set(manifests.OAUTH_EVENTS) <= set(events)) is oauth


@pytest.mark.parametrize("variant", VARIANTS)
def test_bot_scopes_are_the_ones_the_install_asks_for(variant):
    assert manifests.build(VARIANTS[variant])["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)


def test_every_scope_and_event_says_why():
    assert set(manifests.SCOPE_REASONS) == set(BOT_SCOPES)
    events = manifests.build(FILE_VARIANT)["settings"]["event_subscriptions"]["bot_events"]
    assert set(manifests.EVENT_REASONS) == set(events)
    lines = [line.strip() for line in FILE_TEXT.splitlines()]
    for word in [*BOT_SCOPES, *events]:
        assert any(line.startswith(f"- {word} ") and "  # " in line for line in lines), word


def test_custom_name_and_host():
    variant = VARIANTS["custom"]
    manifest = manifests.build(variant)
    assert manifest["display_information"]["name"] == manifest["features"]["bot_user"]["display_name"] \
        == 'Acme "Plans" #1'
    assert "accountplan manifest --url https://plans.acme.test:8443 --oauth --name" in \
        manifests.render(variant).replace("\n# ", " ")


@pytest.mark.parametrize(("argv", "message"), [
    (["--oauth"], "--oauth needs --url"),
    (["--url", "http://plans.acme.test"], "not an https URL"),
    (["--url", "https://plans.acme.test/slack/events"], "more than a host"),
    (["--name", "A name far too long for Slack's app names"], "--name must be"),
])
def test_manifest_command_refuses_what_slack_or_the_server_would(capsys, argv, message):
    assert cli.main(["manifest", *argv]) == 1
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1


def test_manifest_command_variants(capsys):
    assert cli.main(["manifest"]) == 0
    assert capsys.readouterr().out == manifests.render(Variant())
    assert cli.main(["manifest", "--socket-mode"]) == 0
    assert capsys.readouterr().out == manifests.render(Variant())
    assert cli.main(["manifest", "--url", "plans.acme.test"]) == 0  # https:// assumed
    assert capsys.readouterr().out == manifests.render(Variant(url="https://plans.acme.test"))


def test_a_listener_the_manifest_cannot_describe_is_an_error(monkeypatch):
    from bot import listeners

    def register(app):
        app.command("/another")(lambda: None)

    monkeypatch.setattr(listeners, "register", register)
    with pytest.raises(ManifestError, match="/another"):
        manifests.build()

    def register_message(app):
        app.message("hello")(lambda: None)

    monkeypatch.setattr(listeners, "register", register_message)
    with pytest.raises(ManifestError, match=r"app\.message"):
        manifests.build()


def test_registered_is_what_the_listeners_register():
    found = manifests.registered()
    assert found.commands == ("/accountplan",)
    assert found.shortcuts == ("add_action_item_shortcut",)
    assert {"app_home_opened", "user_change"} <= set(found.events)
    assert found.interactive


# ----------------------------------------------------------------------------- agreement


def declared() -> list:
    entries = []
    for variant, mode in MODE.items():
        manifest = manifests.build(VARIANTS[variant])
        features, events = manifest["features"], manifest["settings"]["event_subscriptions"]
        entries += [(variant, "command", c["command"]) for c in features.get("slash_commands", [])]
        entries += [(variant, "shortcut", s["callback_id"]) for s in features.get("shortcuts", [])]
        entries += [(variant, "event", e) for e in events.get("bot_events", [])]
    return [
        pytest.param(*entry, id=f"{entry[0]}-{entry[1]}:{entry[2]}",
                     marks=[pytest.mark.xfail(strict=True, reason=PENDING[entry[1:]])]
                     if entry[1:] in PENDING else [])
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


@pytest.fixture
def make_app(slack_api, session_factory):
    made = []

    def make(mode: str) -> App:
        if mode == "single":
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
        made.append(app)
        return app

    yield make
    for app in made:
        stop_listeners(app)


@pytest.mark.parametrize(("variant", "kind", "name"), declared())
def test_everything_declared_has_a_listener(make_app, variant, kind, name):
    """…in the app the variant is for (one fixed token, or OAuth installs)."""
    app = make_app(MODE[variant])
    assert dispatch(app, kind, name) != 404, f"no listener for {kind} {name} ({variant})"


@pytest.mark.parametrize("mode", ["single", "oauth"])
def test_an_undeclared_request_is_unhandled(make_app, mode):
    """The check above can fail: an unknown command comes back 404."""
    assert dispatch(make_app(mode), "command", "/not-in-the-manifest") == 404
