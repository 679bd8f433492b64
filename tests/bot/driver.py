"""Drive the app as Slack and its users do: signed HTTP requests to the running app.

The `slack` fixture (tests/bot/conftest.py) is a `SlackDriver` pointed at the app
served in-process (`app_server`) and at the fake Web API (`slack_api`):

    reply = slack.command("/accountplan", "new", user="U1")
    assert reply.status == 200 and reply.elapsed < 3
    modal = slack.wait_for("views.open")               # the modal the app opened
    reply = slack.submit_view(modal, {"Plan name": "Newton 2025", "Start date": "2025-01-01"})
    message = slack.wait_for("chat.postMessage")
    slack.click(message, "Mark done")

Views and messages are found from what the app sent (a fake-API `Call`, a `Reply`,
or a plain dict) and always used in their latest version (after views.update or
chat.update). Modal inputs are filled BY LABEL, buttons clicked BY TEXT, options
chosen BY TEXT, as a person would. Like the Slack client, `submit_view` refuses to
submit a required input left empty or a text longer than its max_length.

Every acknowledgement is timed (`Reply.elapsed`); one slower than 3 s, or an ack body
Slack would reject, is recorded as a violation on the fake API and fails the test.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.blockkit import (
    validate_message,
    validate_options_response,
    validate_view_submission_response,
)
from tests.bot import signing
from tests.bot.slack_api import Call, FakeSlackAPI

ACK_LIMIT = 3.0  # seconds Slack waits for an acknowledgement


@dataclass
class Reply:
    """The app's HTTP answer to one Slack request."""

    status: int
    body: str
    headers: dict[str, str]
    elapsed: float  # seconds from sending to the whole response
    channel: str | None = None  # where the request came from, for messages in the body
    sent: dict[str, Any] = field(default_factory=dict)  # the payload sent

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def text(self) -> str:
        """The `text` of a message in the body (e.g. an ephemeral ack), else the body."""
        data = self.json
        return data.get("text", "") if isinstance(data, dict) else self.body

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.elapsed:.3f}s, {self.body[:300]!r})"


# --------------------------------------------------------------------------- views


def text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else (obj or "")


def input_blocks(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view.get("blocks", []) if b.get("type") == "input"]


def labels(view: dict[str, Any]) -> list[str]:
    return [text_of(b.get("label")) for b in input_blocks(view)]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def find_option(element: dict[str, Any], wanted: Any) -> dict[str, Any]:
    """The element's option whose text (or, failing that, value) is `wanted`."""
    if isinstance(wanted, dict):
        return wanted
    options = _options(element)
    for key in (lambda o: text_of(o.get("text")), lambda o: o.get("value")):
        for option in options:
            if key(option) == str(wanted):
                return option
    shown = [text_of(o.get("text")) for o in options]
    raise LookupError(f"no option {wanted!r} in {element.get('action_id')!r}; options: {shown}")


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The state.values entry Slack sends for `element` holding `value`."""
    kind = element.get("type")
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = None if value is None or value == "" else str(value)
    elif kind == "datepicker":
        state["selected_date"] = value.isoformat() if isinstance(value, dt.date) else value
    elif kind == "timepicker":
        state["selected_time"] = value.strftime("%H:%M") if isinstance(value, dt.time) else value
    elif kind == "datetimepicker":
        state["selected_date_time"] = (
            int(value.timestamp()) if isinstance(value, dt.datetime) else value
        )
    elif kind in ("static_select", "radio_buttons"):
        state["selected_option"] = None if value is None else find_option(element, value)
    elif kind == "external_select":
        state["selected_option"] = None if value is None else (
            value if isinstance(value, dict)
            else {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
        )
    elif kind in ("multi_static_select", "checkboxes"):
        state["selected_options"] = [find_option(element, v) for v in _many(value)]
    elif kind == "multi_external_select":
        state["selected_options"] = [
            v if isinstance(v, dict) else {"text": {"type": "plain_text", "text": str(v)}, "value": str(v)}
            for v in _many(value)
        ]
    elif kind == "users_select":
        state["selected_user"] = value
    elif kind == "multi_users_select":
        state["selected_users"] = _many(value)
    elif kind == "conversations_select":
        state["selected_conversation"] = value
    elif kind == "multi_conversations_select":
        state["selected_conversations"] = _many(value)
    elif kind == "channels_select":
        state["selected_channel"] = value
    elif kind == "multi_channels_select":
        state["selected_channels"] = _many(value)
    elif kind == "rich_text_input":
        state["rich_text_value"] = None if not value else {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section",
                          "elements": [{"type": "text", "text": str(value)}]}],
        }
    else:
        raise ValueError(f"cannot fill a {kind!r} element")
    return state


def initial_value(element: dict[str, Any]) -> Any:
    """What the element shows before anyone touches it."""
    kind = element.get("type")
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return element.get("initial_value")
    if kind == "datepicker":
        return element.get("initial_date")
    if kind == "timepicker":
        return element.get("initial_time")
    if kind == "datetimepicker":
        return element.get("initial_date_time")
    if kind in ("static_select", "radio_buttons", "external_select"):
        return element.get("initial_option")
    if kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        return element.get("initial_options") or []
    if kind == "users_select":
        return element.get("initial_user")
    if kind == "multi_users_select":
        return element.get("initial_users") or []
    if kind == "conversations_select":
        return element.get("initial_conversation")
    if kind == "multi_conversations_select":
        return element.get("initial_conversations") or []
    if kind == "channels_select":
        return element.get("initial_channel")
    if kind == "multi_channels_select":
        return element.get("initial_channels") or []
    return None


def _is_empty(state: dict[str, Any]) -> bool:
    values = [v for k, v in state.items() if k != "type"]
    return all(v in (None, "", []) for v in values)


def _input_for(view: dict[str, Any], key: str) -> dict[str, Any]:
    blocks = input_blocks(view)
    for match in (
        lambda b: text_of(b.get("label")) == key,
        lambda b: text_of(b.get("label")).strip().lower() == key.strip().lower(),
        lambda b: b.get("block_id") == key,
    ):
        found = [b for b in blocks if match(b)]
        if len(found) > 1:
            raise LookupError(f"{len(found)} inputs are labelled {key!r}")
        if found:
            return found[0]
    raise LookupError(f"no input labelled {key!r}; labels: {labels(view)}")


def fill(view: dict[str, Any], fields: dict[str, Any] | None = None, *,
         check_required: bool = True) -> dict[str, Any]:
    """The `state` Slack sends with `view` after a person fills `fields` (label -> value).

    Inputs not named keep their initial values. Keys may also be block ids.
    """
    chosen = {id(_input_for(view, key)): value for key, value in (fields or {}).items()}
    values: dict[str, dict[str, Any]] = {}
    for index, block in enumerate(input_blocks(view)):
        element = block.get("element") or {}
        block_id = block.get("block_id") or f"input{index}"
        action_id = element.get("action_id") or f"{block_id}_element"
        value = chosen[id(block)] if id(block) in chosen else initial_value(element)
        state = element_state(element, value)
        label = text_of(block.get("label"))
        if check_required:
            if _is_empty(state) and not block.get("optional"):
                raise ValueError(f"required input {label!r} is empty: Slack would not submit")
            text = state.get("value")
            if isinstance(text, str):
                if element.get("max_length") and len(text) > element["max_length"]:
                    raise ValueError(f"{label!r} is longer than its max_length "
                                     f"{element['max_length']}: Slack would not submit")
                if element.get("min_length") and len(text) < element["min_length"]:
                    raise ValueError(f"{label!r} is shorter than its min_length "
                                     f"{element['min_length']}: Slack would not submit")
        values.setdefault(block_id, {})[action_id] = state
    return {"values": values}


def _interactive_elements(blocks: list[dict[str, Any]]):
    """(block, element) for every element a person can press or pick in a surface."""
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                yield block, element
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]
        elif block.get("type") == "input" and block.get("dispatch_action"):
            yield block, block.get("element") or {}


def _pick(found: list, what: str, index: int | None, available: list[str]):
    if not found:
        raise LookupError(f"no {what}; there are: {available}")
    if index is None:
        if len(found) > 1:
            raise LookupError(f"{len(found)} matches for {what}: pass index= or block_id=")
        return found[0]
    return found[index]


# --------------------------------------------------------------------------- driver


class SlackDriver:
    def __init__(self, app_url: str, api: FakeSlackAPI, *,
                 signing_secret: str = signing.SIGNING_SECRET, team: str = signing.TEAM_ID,
                 user: str = signing.USER_ID, channel: str = signing.CHANNEL_ID) -> None:
        self.app_url = app_url.rstrip("/")
        self.api = api
        self.signing_secret = signing_secret
        self.team = team
        self.user = user
        self.channel = channel
        self.path = "/slack/events"
        # People from another organisation (Slack Connect): user id -> their own team.
        self.home_teams: dict[str, str] = {}

    def outsider(self, user: str, team: str = "T0CUSTOMER") -> str:
        """Make `user` a person from another organisation, as Slack shows them: their
        own team in interactive payloads (`user.team_id`) and in users.info."""
        self.home_teams[user] = team
        self.api.set_user(user, team_id=team)
        return user

    # ------------------------------------------------------------------ transport

    def post(self, body: str, content_type: str, *, path: str | None = None,
             secret: str | None = None, timestamp: int | None = None, signed: bool = True,
             channel: str | None = None, sent: dict | None = None) -> Reply:
        """POST a body to the app as Slack does (signed unless signed=False)."""
        headers = (signing.signed_headers(body, content_type, secret=secret or self.signing_secret,
                                          timestamp=timestamp)
                   if signed else {"Content-Type": content_type})
        return self.request("POST", path or self.path, body.encode(), headers,
                            channel=channel, sent=sent)

    def get(self, path: str) -> Reply:
        return self.request("GET", path, b"", {})

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str], *,
                channel: str | None = None, sent: dict | None = None) -> Reply:
        parts = urlsplit(self.app_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        started = time.monotonic()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read().decode("utf-8", "replace")
            elapsed = time.monotonic() - started
            reply = Reply(response.status, data, {k.lower(): v for k, v in response.getheaders()},
                          elapsed, channel=channel, sent=sent or {})
        finally:
            connection.close()
        if path == self.path and elapsed >= ACK_LIMIT:
            self.api.violations.append(f"ack: took {elapsed:.2f} s (Slack gives up after 3 s)")
        return reply

    def _check(self, problems: list[str], what: str) -> None:
        for problem in problems:
            self.api.violations.append(f"{what} ack: {problem}")

    def _interactive(self, payload: dict[str, Any], *, channel: str | None = None) -> Reply:
        person = payload.get("user")
        if isinstance(person, dict) and person.get("id") in self.home_teams:
            # Slack Connect: team.id is the app's workspace, user.team_id their own.
            payload["user"] = {**person, "team_id": self.home_teams[person["id"]]}
        return self.post(signing.encode_interactive(payload), signing.FORM, channel=channel,
                         sent=payload)

    # ------------------------------------------------------------------ requests

    def command(self, command: str, text: str = "", *, user: str | None = None,
                team: str | None = None, channel: str | None = None) -> Reply:
        """A slash command, e.g. slack.command("/accountplan", "show Newton")."""
        channel = channel or self.channel
        fields = signing.slash_command(
            command, text, user=user or self.user, team=team or self.team, channel=channel,
            response_url=self.api.response_url(channel=channel),
            trigger_id=self.api.trigger_id(),
        )
        reply = self.post(signing.encode_form(fields), signing.FORM, channel=channel, sent=fields)
        if reply.status == 200 and isinstance(reply.json, dict):
            self._check(validate_message(reply.json), command)
        return reply

    def event(self, event: dict[str, Any], *, team: str | None = None) -> Reply:
        """An Events API event (wrapped in its envelope), e.g. {"type": "app_home_opened", ...}."""
        envelope = signing.event_envelope(event, team=team or self.team,
                                          bot_user=self.api.bot_user_id)
        return self.post(signing.encode_event(envelope), signing.JSON, sent=envelope)

    def app_home_opened(self, user: str | None = None, *, tab: str = "home") -> Reply:
        user = user or self.user
        return self.event(signing.app_home_opened(user, tab=tab, view=self.api.home.get(user)))

    def shortcut(self, callback_id: str, *, user: str | None = None,
                 team: str | None = None) -> Reply:
        """A global shortcut."""
        return self._interactive(signing.global_shortcut(
            callback_id, user=user or self.user, team=team or self.team,
            trigger_id=self.api.trigger_id()))

    def message_shortcut(self, callback_id: str, message: dict[str, Any] | str | None = None, *,
                         channel: str | None = None, user: str | None = None,
                         team: str | None = None) -> Reply:
        """A message shortcut on `message` (a dict, or text of someone else's message)."""
        channel = channel or self.channel
        if not isinstance(message, dict):
            message = {"type": "message", "user": "U2", "ts": self.api._ts(),
                       "text": message if message is not None else "Please follow up"}
        return self._interactive(signing.message_shortcut(
            callback_id, message, user=user or self.user, team=team or self.team,
            channel=channel, trigger_id=self.api.trigger_id(),
            response_url=self.api.response_url(channel=channel)), channel=channel)

    def block_action(self, action_id: str, value: str | None = None, *,
                     source: Any = None, block_id: str = "", type: str = "button",  # noqa: A002
                     user: str | None = None, team: str | None = None,
                     fields: dict[str, Any] | None = None, **extra: Any) -> Reply:
        """A block_actions request for one element, from a view or message (`source`)."""
        entry = signing.action(action_id, block_id=block_id, type=type, value=value, **extra)
        return self._act(entry, source, user=user, team=team, fields=fields)

    def click(self, source: Any, text: str, *, index: int | None = None,
              block_id: str | None = None, user: str | None = None,
              fields: dict[str, Any] | None = None) -> Reply:
        """Press the button whose text is `text` in a view or message."""
        surface = self._surface(source)
        buttons = [(b, e) for b, e in _interactive_elements(surface["blocks"])
                   if e.get("type") == "button"]
        found = [(b, e) for b, e in buttons if text_of(e.get("text")) == text
                 and (block_id is None or b.get("block_id") == block_id)]
        block, element = _pick(found, f"button {text!r}", index,
                               [text_of(e.get("text")) for _, e in buttons])
        entry = signing.action(element.get("action_id", ""), block_id=block.get("block_id", ""),
                               value=element.get("value"), text=text_of(element.get("text")))
        return self._act(entry, surface, user=user, fields=fields)

    def choose(self, source: Any, option: str, *, index: int | None = None,
               block_id: str | None = None, action_id: str | None = None,
               user: str | None = None, fields: dict[str, Any] | None = None) -> Reply:
        """Pick the option `option` (text or value) in a select, overflow or radio menu."""
        surface = self._surface(source)
        menus = [(b, e) for b, e in _interactive_elements(surface["blocks"])
                 if _options(e) and (action_id is None or e.get("action_id") == action_id)
                 and (block_id is None or b.get("block_id") == block_id)]
        found = []
        for block, element in menus:
            try:
                found.append((block, element, find_option(element, option)))
            except LookupError:
                continue
        block, element, chosen = _pick(
            found, f"menu with option {option!r}", index,
            [text_of(o.get("text")) for _, e in menus for o in _options(e)])
        kind = element.get("type")
        extra: dict[str, Any] = (
            {"selected_options": [chosen]} if kind in ("checkboxes", "multi_static_select")
            else {"selected_option": chosen}
        )
        entry = signing.action(element.get("action_id", ""), block_id=block.get("block_id", ""),
                               type=kind, **extra)
        return self._act(entry, surface, user=user, fields=fields)

    def submit_view(self, source: Any, fields: dict[str, Any] | None = None, *,
                    user: str | None = None, team: str | None = None,
                    check_required: bool = True) -> Reply:
        """Submit a modal after filling `fields` ({label: value}); returns the ack.

        The ack's response_action (errors / update / push / clear) is applied to the
        fake API's copy of the view, as Slack would.
        """
        view = self._surface(source)
        submitted = {**view, "state": fill(view, fields, check_required=check_required)}
        reply = self._interactive(signing.view_submission(
            submitted, user=user or self.user, team=team or self.team,
            trigger_id=self.api.trigger_id()))
        body = reply.json if isinstance(reply.json, dict) else {}
        self._check(validate_view_submission_response(body, view), "view_submission")
        if body.get("response_action") == "update" and body.get("view"):
            self.api._store_view(body["view"], view_id=view["id"], previous=view)
        elif body.get("response_action") == "push" and body.get("view"):
            self.api._store_view(body["view"])
        return reply

    def close_view(self, source: Any, *, user: str | None = None) -> Reply:
        """Close a modal (the app hears it when the view has notify_on_close)."""
        return self._interactive(signing.view_closed(self._surface(source),
                                                     user=user or self.user, team=self.team))

    def options(self, action_id: str, value: str = "", *, block_id: str = "",
                source: Any = None, user: str | None = None) -> Reply:
        """An external select asking for options while the user types `value`."""
        view = self._surface(source) if source is not None else None
        reply = self._interactive(signing.block_suggestion(
            action_id, value, block_id=block_id, user=user or self.user, team=self.team,
            view=view))
        if isinstance(reply.json, dict):
            self._check(validate_options_response(reply.json), "block_suggestion")
        return reply

    def wait_for(self, method: str, predicate=None, timeout: float = 5.0, **kwargs: Any) -> Call:
        """The app's Web API call (made now or soon, after the ack): see FakeSlackAPI.wait_for."""
        return self.api.wait_for(method, predicate, timeout, **kwargs)

    def home(self, user: str | None = None) -> dict[str, Any] | None:
        """The Home tab last published for `user`."""
        return self.api.home.get(user or self.user)

    # ------------------------------------------------------------------ surfaces

    def _surface(self, source: Any) -> dict[str, Any]:
        """A view or message in its latest version, with where it lives.

        Views come back as the view dict; messages as {"blocks", "message", "channel",
        "ephemeral", "response_url"}.
        """
        if isinstance(source, dict) and source.get("_surface"):
            return source
        if isinstance(source, Call):
            if source.view is not None:
                return self._latest_view(source.view)
            if source.method in ("chat.postMessage", "chat.update"):
                channel, ts = source.response["channel"], source.response["ts"]
                message = self.api.messages.get((channel, ts), source.message)
                return self._message(message, channel)
            if source.method == "chat.postEphemeral":
                return self._message(source.params, source.params["channel"], ephemeral=True)
            if source.method == "response_url":
                key = source.url.rsplit("/", 1)[1]
                channel = self.api._response_urls.get(key, {}).get("channel", self.channel)
                ephemeral = source.params.get("response_type", "ephemeral") == "ephemeral"
                return self._message(source.params, channel, ephemeral=ephemeral)
            raise TypeError(f"{source.method} made no view or message")
        if isinstance(source, Reply):
            return self._message(source.json or {}, source.channel or self.channel, ephemeral=True)
        if isinstance(source, dict) and source.get("type") in ("modal", "home"):
            return self._latest_view(source)
        if isinstance(source, dict):
            channel = source.get("channel") or self.channel
            latest = self.api.messages.get((channel, source.get("ts")), source)
            return self._message(latest, channel)
        raise TypeError(f"not a view or message: {source!r}")

    def _latest_view(self, view: dict[str, Any]) -> dict[str, Any]:
        return self.api.view(view["id"]) if view.get("id") in self.api.views else view

    def _message(self, message: dict[str, Any], channel: str, *,
                 ephemeral: bool = False) -> dict[str, Any]:
        return {"_surface": "message", "blocks": message.get("blocks") or [], "message": message,
                "channel": channel, "ephemeral": ephemeral}

    def _act(self, entry: dict[str, Any], source: Any, *, user: str | None,
             team: str | None = None, fields: dict[str, Any] | None = None) -> Reply:
        user, team = user or self.user, team or self.team
        surface = self._surface(source) if source is not None else self._message({}, self.channel)
        if surface.get("_surface") == "message":
            payload = signing.block_actions(
                [entry], user=user, team=team, message=surface["message"],
                channel=surface["channel"], is_ephemeral=surface["ephemeral"],
                response_url=self.api.response_url(channel=surface["channel"]),
                trigger_id=self.api.trigger_id())
            return self._interactive(payload, channel=surface["channel"])
        view = {**surface, "state": fill(surface, fields, check_required=False)}
        payload = signing.block_actions([entry], user=user, team=team, view=view,
                                        trigger_id=self.api.trigger_id())
        return self._interactive(payload)
