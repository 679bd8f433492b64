"""`accountplan manifest`: the Slack app manifest, made from what the app registers.

One source of truth: the slash commands, shortcuts and events are the ones the
listeners register (`bot.listeners.register`, recorded here on a stand-in app, plus the
two events Bolt itself handles in OAuth mode), and the bot scopes are the ones the
OAuth install asks for (bot/app.py BOT_SCOPES). This module adds only what Slack shows
people: names, descriptions, usage hints, and a comment saying why each scope and
event is there. A listener for something this module cannot describe (a new command
or shortcut without a line in COMMANDS/SHORTCUTS) is an error, not a silent gap.

Variants (`Variant`):
- Socket Mode (`--socket-mode`, the default): no URLs at all, token rotation off. For
  a first try on a laptop: nothing has to be reachable from the internet.
- HTTP (`--url https://HOST`): every request URL on HOST (/slack/events), token
  rotation off, for one workspace with a fixed SLACK_BOT_TOKEN.
- HTTP with OAuth (`--url https://HOST --oauth`): several workspaces install at
  /slack/install; adds the redirect URL /slack/oauth_redirect, the events that remove
  an uninstalled workspace, and token rotation (the app refreshes the tokens it keeps).

app_manifest.yml at the repository root is `accountplan manifest --url
https://accountplan.example.com --oauth`, byte for byte (tests/test_manifest.py).
"""

from __future__ import annotations

import json
import shlex
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.ids import Command, Shortcut

DEFAULT_NAME = "Account Plans"
NAME_MAX = 35  # Slack's limit for display_information.name
EXAMPLE_URL = "https://accountplan.example.com"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

DESCRIPTION = "Key account plans written together in Slack, from strategy to action item."
LONG_DESCRIPTION = (
    "Account Plans keeps each key account's plan where the account team already talks. "
    "Write the plan's strategies, objectives and action items together, keep its SWOT "
    "analysis beside it, copy last year's plan into the next cycle, get reminders for the "
    "action items you own, and post progress digests to the account's channel. Type "
    "/accountplan help to start."
)
BACKGROUND_COLOR = "#1d3557"

# What Slack shows for each command and shortcut the listeners register.
COMMANDS: dict[str, dict[str, Any]] = {
    Command.ACCOUNTPLAN: {
        "description": "Account plans, strategies, action items, SWOT and digests",
        "usage_hint": "help | new | list [mine|active|ACCOUNT] | show PLAN | mine "
                      "| digest PLAN [#channel] | qbr PLAN",
        # bot/listeners/commands.py reads channels and people as <#C…|name>, <@U…|name>.
        "should_escape": True,
    },
}
SHORTCUTS: dict[str, dict[str, str]] = {
    Shortcut.ADD_ACTION_ITEM: {
        "name": "Add as action item",
        "type": "message",
        "description": "Turn this message into an action item on an account plan",
    },
}

# Why each event is subscribed to (a comment in the manifest).
EVENT_REASONS = {
    "app_home_opened": "draw the Home tab",
    "user_change": "a person's new time zone moves their reminders",
    "app_uninstalled": "OAuth mode: forget the installation",
    "tokens_revoked": "OAuth mode: forget revoked tokens",
}
# Bolt's own listeners for these (bot/app.py: enable_token_revocation_listeners), in
# OAuth mode only: with one fixed token there is no installation to forget.
OAUTH_EVENTS = ("app_uninstalled", "tokens_revoked")

# Why the app needs each of BOT_SCOPES (a comment in the manifest; `doctor` says it too).
SCOPE_REASONS = {
    "commands": "/accountplan and the message shortcut",
    "chat:write": "plan messages, reminders, digests",
    "chat:write.public": "digests to public channels the bot has not joined",
    "im:write": "open the DM for reminders",
    "im:history": "after a time-out, see whether a reminder DM arrived before sending it again",
    "users:read": "people's time zones for due dates and reminders",
    "channels:read": "is a public channel shared with another organisation?",
    "groups:read": "the same for private channels",
    "im:read": "the same for DMs (a command typed in a DM with someone from another organisation)",
    "mpim:read": "the same for group DMs",
    "canvases:write": '"Publish as canvas": the written plan as a canvas, shared to a channel',
    "files:write": "the progress chart, uploaded into each digest's thread",
    "team:read": "the name of the customer's organisation when someone from it agrees to a plan",
    "mpim:write": "a customer's comment on a plan, sent to the owner and team in one group DM",
}

# Registrations that need interactivity (Slack's "Interactivity & Shortcuts").
_INTERACTIVE = {"action", "block_action", "view", "view_submission", "view_closed", "shortcut",
                "global_shortcut", "message_shortcut"}


class ManifestError(Exception):
    """The manifest cannot be made as asked; the message is one line for people."""


@dataclass(frozen=True)
class Variant:
    url: str | None = None  # https://HOST; None: Socket Mode
    oauth: bool = False
    name: str = DEFAULT_NAME

    def __post_init__(self) -> None:
        if self.oauth and self.url is None:
            raise ManifestError(
                "--oauth needs --url https://HOST: the OAuth install pages are served over HTTP, "
                "which Socket Mode does not do"
            )
        name = self.name.strip()
        if not name or len(name) > NAME_MAX:
            raise ManifestError(f"--name must be 1 to {NAME_MAX} characters (Slack's limit)")

    @property
    def socket_mode(self) -> bool:
        return self.url is None

    def command_line(self) -> str:
        words = ["accountplan", "manifest"]
        words += ["--socket-mode"] if self.socket_mode else ["--url", str(self.url)]
        if self.oauth:
            words.append("--oauth")
        if self.name != DEFAULT_NAME:
            words += ["--name", self.name]
        return shlex.join(words)


def base_url(text: str) -> str:
    """https://HOST from what people type (HOST alone means https://HOST)."""
    text = text.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(
            f"--url {text!r} is not an https URL: Slack sends requests only to https://HOST "
            "(put `accountplan serve` behind TLS)"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ManifestError(
            f"--url {text!r} has more than a host: give only https://HOST[:PORT]; the app "
            f"serves {EVENTS_PATH} at the root"
        )
    return f"https://{parts.netloc.lower()}"


# ---------------------------------------------------------------------------
# What the app registers


@dataclass(frozen=True)
class Registered:
    commands: tuple[str, ...]
    shortcuts: tuple[str, ...]
    events: tuple[str, ...]
    interactive: bool


class _Recorder:
    """A stand-in for the Bolt app that records what listeners register."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, kind: str):
        def register(*args: Any, **_kwargs: Any):
            self.calls.append((kind, args[0] if args else None))
            return lambda function: function

        return register


def registered() -> Registered:
    """The commands, shortcuts and events the app's listeners register (in order)."""
    from bot import listeners  # noqa: PLC0415 - every listener module loads only here

    recorder = _Recorder()
    listeners.register(recorder)  # type: ignore[arg-type]
    commands: list[str] = []
    shortcuts: list[str] = []
    events: list[str] = []
    interactive = False
    for kind, what in recorder.calls:
        if kind == "command":
            commands.append(str(what))
        elif kind in ("shortcut", "global_shortcut", "message_shortcut"):
            shortcuts.append(str(what.get("callback_id") if isinstance(what, dict) else what))
        elif kind == "event":
            events.append(str(what.get("type") if isinstance(what, dict) else what))
        elif kind not in _INTERACTIVE:
            raise ManifestError(
                f"a listener registers app.{kind}(…), which bot/manifest.py does not know how "
                "to declare: teach it (settings and scopes) before using it"
            )
        interactive = interactive or kind in _INTERACTIVE
    unique = lambda items: tuple(dict.fromkeys(items))  # noqa: E731
    return Registered(unique(commands), unique(shortcuts), unique(events), interactive)


def bot_scopes() -> tuple[str, ...]:
    from bot.app import BOT_SCOPES  # noqa: PLC0415

    return tuple(BOT_SCOPES)


# ---------------------------------------------------------------------------
# The manifest


class _Note:
    """A value with a comment: after it on its line, or on the line above its key."""

    def __init__(self, value: Any, comment: str | None = None, *, above: str | None = None) -> None:
        self.value, self.comment, self.above = value, comment, above


class _Folded(str):
    """A long string written as a folded block (>-)."""


def _documented(table: dict[str, Any], name: str, what: str) -> Any:
    try:
        return table[name]
    except KeyError:
        raise ManifestError(
            f"the app registers the {what} {name!r} but bot/manifest.py does not describe it: "
            f"add it there"
        ) from None


def _tree(variant: Variant, found: Registered, scopes: Iterable[str]) -> dict[str, Any]:
    """The manifest with comments (_Note) and layout hints (_Folded)."""
    url = variant.url
    events_url = f"{url}{EVENTS_PATH}" if url else None

    slash_commands = []
    for command in found.commands:
        about = _documented(COMMANDS, command, "slash command")
        entry: dict[str, Any] = {"command": command}
        if events_url:
            entry["url"] = events_url
        entry["description"] = about["description"]
        entry["usage_hint"] = about["usage_hint"]
        entry["should_escape"] = _Note(
            about["should_escape"],
            above="Channels and people typed after the command arrive as ids (<#C…|name>, <@U…|name>).",
        )
        slash_commands.append(entry)

    shortcuts = []
    for callback_id in found.shortcuts:
        about = _documented(SHORTCUTS, callback_id, "shortcut")
        shortcuts.append({"name": about["name"], "type": about["type"], "callback_id": callback_id,
                          "description": about["description"]})

    events = list(found.events)
    if variant.oauth:
        events += [event for event in OAUTH_EVENTS if event not in events]
    bot_events = [_Note(event, EVENT_REASONS.get(event)) for event in events]

    features: dict[str, Any] = {
        "app_home": {
            "home_tab_enabled": True,
            "messages_tab_enabled": True,
            "messages_tab_read_only_enabled": False,
        },
        "bot_user": {"display_name": variant.name, "always_online": True},
    }
    if slash_commands:
        features["slash_commands"] = slash_commands
    if shortcuts:
        features["shortcuts"] = shortcuts

    oauth_config: dict[str, Any] = {}
    if variant.oauth:
        oauth_config["redirect_urls"] = [f"{url}{REDIRECT_PATH}"]
    oauth_config["scopes"] = {"bot": [_Note(scope, SCOPE_REASONS.get(scope)) for scope in scopes]}

    settings: dict[str, Any] = {}
    if bot_events:
        subscriptions: dict[str, Any] = {}
        if events_url:
            subscriptions["request_url"] = events_url
        subscriptions["bot_events"] = bot_events
        settings["event_subscriptions"] = subscriptions
    interactivity: dict[str, Any] = {"is_enabled": found.interactive}
    if events_url and found.interactive:
        interactivity["request_url"] = events_url
    settings["interactivity"] = interactivity
    settings["org_deploy_enabled"] = False
    settings["socket_mode_enabled"] = variant.socket_mode
    # Rotating tokens expire after 12 hours; only the OAuth mode keeps the refresh token.
    settings["token_rotation_enabled"] = variant.oauth

    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": variant.name,
            "description": DESCRIPTION,
            "background_color": BACKGROUND_COLOR,
            "long_description": _Folded(LONG_DESCRIPTION),
        },
        "features": features,
        "oauth_config": oauth_config,
        "settings": settings,
    }


def _plain(node: Any) -> Any:
    if isinstance(node, _Note):
        return _plain(node.value)
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)  # StrEnum members and _Folded as plain str
    return node


def build(variant: Variant = Variant()) -> dict[str, Any]:
    """The manifest as data (what Slack's schema and the tests look at)."""
    return _plain(_tree(variant, registered(), bot_scopes()))


# ---------------------------------------------------------------------------
# YAML with comments


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    dumped = yaml.safe_dump(text, default_flow_style=True, width=10**6, allow_unicode=True)
    dumped = dumped.removesuffix("\n...\n").rstrip("\n")
    if dumped.startswith(("'", '"')) or any(mark in text for mark in "[]{}|#"):
        # Double quotes, as JSON writes them (valid YAML), for anything not plain.
        return json.dumps(text, ensure_ascii=False)
    return dumped


def _with_comment(text: str, comment: str | None, width: int = 0) -> str:
    return f"{text.ljust(width)}  # {comment}" if comment else text


def _unwrap(node: Any) -> tuple[Any, str | None, str | None]:
    if isinstance(node, _Note):
        return node.value, node.comment, node.above
    return node, None, None


def _mapping(node: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, raw in node.items():
        value, comment, above = _unwrap(raw)
        if above:
            lines.append(f"{pad}# {above}")
        if isinstance(value, dict):
            lines.append(_with_comment(f"{pad}{key}:", comment))
            lines += _mapping(value, indent + 2)
        elif isinstance(value, list):
            if not value:
                lines.append(_with_comment(f"{pad}{key}: []", comment))
            else:
                lines.append(_with_comment(f"{pad}{key}:", comment))
                lines += _sequence(value, indent + 2)
        elif isinstance(value, _Folded):
            lines.append(f"{pad}{key}: >-")
            lines += [f"{pad}  {line}" for line in textwrap.wrap(
                value, width=max(40, 90 - indent - 2), break_long_words=False, break_on_hyphens=False)]
        else:
            lines.append(_with_comment(f"{pad}{key}: {_scalar(value)}", comment))
    return lines


def _sequence(items: list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    scalars = [_unwrap(item) for item in items if not isinstance(_unwrap(item)[0], dict)]
    width = max((len(f"{pad}- {_scalar(value)}") for value, _, _ in scalars), default=0)
    for raw in items:
        value, comment, above = _unwrap(raw)
        if above:
            lines.append(f"{pad}# {above}")
        if isinstance(value, dict):
            inner = _mapping(value, indent + 2)
            first = next(i for i, line in enumerate(inner) if not line.lstrip().startswith("#"))
            inner[first] = f"{pad}- {inner[first][indent + 2:]}"
            lines += inner
        else:
            lines.append(_with_comment(f"{pad}- {_scalar(value)}", comment, width))
    return lines


def _header(variant: Variant) -> list[str]:
    url = variant.url
    paragraphs = [
        f"Slack app manifest for accountplan, made by `{variant.command_line()}`. Paste it at "
        "https://api.slack.com/apps > Create New App > From a manifest.",
    ]
    if variant.socket_mode:
        paragraphs.append(
            "Socket Mode: the app connects out to Slack, so nothing has to be reachable from the "
            "internet. After creating the app: Basic Information > App-Level Tokens > Generate, "
            "with the scope connections:write, into SLACK_APP_TOKEN (xapp-…); Install to "
            "Workspace, and the Bot User OAuth Token (OAuth & Permissions) into SLACK_BOT_TOKEN "
            "(xoxb-…); then `accountplan serve`. Token rotation is off: the bot token stays valid "
            "until the app is uninstalled. For production over HTTP: "
            "`accountplan manifest --url https://HOST`."
        )
    elif not variant.oauth:
        paragraphs.append(
            f"HTTP, one workspace: Slack sends every request to {url}{EVENTS_PATH}, where "
            "`accountplan serve` answers (behind TLS). Set SLACK_SIGNING_SECRET (Basic "
            "Information > App Credentials) and, after Install to Workspace, SLACK_BOT_TOKEN "
            "(the Bot User OAuth Token, xoxb-…). Token rotation is off: the bot token stays valid "
            "until the app is uninstalled. Several workspaces: add --oauth."
        )
    else:
        paragraphs.append(
            f"HTTP with OAuth, any number of workspaces: Slack sends every request to "
            f"{url}{EVENTS_PATH}, where `accountplan serve` answers (behind TLS). Set "
            "SLACK_SIGNING_SECRET, SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Basic Information > "
            f"App Credentials), not SLACK_BOT_TOKEN. Each workspace installs at {url}{INSTALL_PATH} "
            f"and Slack sends it back to {url}{REDIRECT_PATH}. Token rotation is on: bot tokens "
            "expire after 12 hours and the app refreshes them from the installations it keeps in "
            "the database. Other workspaces can install once Manage Distribution > Activate "
            "Public Distribution is done."
        )
    if url == EXAMPLE_URL:
        paragraphs.append(
            "PLACEHOLDER HOST: accountplan.example.com stands for your server; make your own "
            f"with `accountplan manifest --url https://YOUR-HOST{' --oauth' if variant.oauth else ''}`."
        )
    paragraphs.append(
        "The commands, shortcut and events are the ones the app's listeners register, and the "
        "bot scopes the ones its install asks for (bot/manifest.py, bot/app.py BOT_SCOPES)."
    )
    lines: list[str] = []
    for paragraph in paragraphs:
        if lines:
            lines.append("#")
        lines += [f"# {line}" for line in textwrap.wrap(
            paragraph, width=86, break_long_words=False, break_on_hyphens=False)]
    return lines


def render(variant: Variant = Variant()) -> str:
    """The manifest as YAML to paste into Slack, with comments saying why."""
    tree = _tree(variant, registered(), bot_scopes())
    return "\n".join(_header(variant) + _mapping(tree, 0)) + "\n"
