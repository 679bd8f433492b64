"""A local Slack-compatible Web API for tests: a real HTTP server that records calls.

    api = FakeSlackAPI().start()          # http://127.0.0.1:<port>/api/
    client = WebClient(token="xoxb-test", base_url=api.url)
    ...
    call = api.wait_for("chat.postMessage", lambda c: c.params["channel"] == "C1")
    call.params["blocks"]      # JSON params (blocks, view, ...) arrive decoded
    api.stop()

It answers like Slack (`POST /api/<method>`, form or JSON body, `Authorization: Bearer`)
with sensible data for the methods the app uses, and `{"ok": true}` for any other.
It also serves response URLs (`POST /response/<id>`, recorded as method "response_url").

Every message and view is checked against Block Kit limits (tests/blockkit.py); a
payload Slack would reject is answered as Slack would (invalid_blocks /
invalid_arguments) and recorded in `violations`, as are calls that miss a required
argument or use an expired trigger_id. The `slack_api` fixture fails the test at
teardown when anything was recorded there.

Programmable:
    api.set_user("U2", tz="Europe/Berlin")           # users.info answers; users.list pages them
    api.set_channel("C9", is_ext_shared=True)         # conversations.info answers
    api.on("chat.postMessage", {"ts": "1.0"})         # merge into the default answer
    api.on("users.info", lambda call: {...})          # or compute it
    api.rate_limit("chat.postMessage", retry_after=1, times=1)   # 429 + Retry-After
    api.rate_limit("chat.postMessage", after=40)      # …for the 41st call
    api.server_error("views.open", times=2)           # HTTP 500
    api.error("conversations.info", "channel_not_found")          # ok: false
    slow = api.slow("chat.postMessage", seconds=5)    # answer late (every call)…
    slow.release()                                    # …or now, once the test saw enough
    api.scopes = ["commands", "chat:write"]           # x-oauth-scopes a bot token holds
    api.app_token_scopes = []                         # …and an xapp- token (connections:write)

Every answer to a call with a token carries the token's scopes in the x-oauth-scopes
header, as Slack's do: by default all of BOT_SCOPES (bot/app.py) for a bot token.

File uploads (files_upload_v2): files.getUploadURLExternal answers with an upload URL on
this server (`POST /upload/<file id>`, recorded as method "file_upload" with the bytes in
params["data"]); files.completeUploadExternal shares the uploaded files, recorded in
`api.files` (id, filename, title, alt_txt, channel_id, thread_ts, data). A completion of a
file never uploaded, a length that differs from the bytes, or a thread_ts that is no
message of the channel is a violation.

Slack's rate limits, opt-in (`api.enforce_rate_limits()`): each method per workspace
(the tiers, SLACK_RATE_LIMITS) and chat.postMessage per channel too (about one a
second, short bursts), as token buckets; a call beyond them is answered 429 with
Retry-After, recorded, and kept in `api.refused`.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.app import BOT_SCOPES
from tests.blockkit import validate_message, validate_view

TEAM_ID = "T1"
TEAM_NAME = "Account Plan Test"
TEAM_DOMAIN = "accountplan-test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0ACCOUNTPLAN"
TRIGGER_TTL = 3.0  # seconds a trigger_id stays valid
USERS_LIST_MAX = 1000  # users.list's largest page

# Slack's published rate limits as (calls a second, burst) per workspace and method
# (https://api.slack.com/apis/rate-limits: Tier 2 20+ a minute, Tier 3 50+, Tier 4
# 100+, short bursts allowed); chat.postMessage: "several hundred a minute" per
# workspace, about one a second per channel.
TIER_2, TIER_3, TIER_4 = (20 / 60, 5), (50 / 60, 8), (100 / 60, 15)
SLACK_RATE_LIMITS: dict[str, tuple[float, float]] = {
    "chat.postMessage": (300 / 60, 20),
    "chat.update": TIER_3,
    "conversations.open": TIER_3,
    "conversations.history": TIER_3,
    "conversations.info": TIER_3,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "users.info": TIER_4,
    "users.list": TIER_2,
    "views.publish": TIER_4,
}
SLACK_OTHER_METHODS = TIER_2
SLACK_PER_CHANNEL = (1.0, 2)

JSON_PARAMS = ("blocks", "attachments", "view", "metadata", "document_content", "changes",
               "criteria", "options")
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage")
VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")
TRIGGER_METHODS = ("views.open", "views.push")
REQUIRED = {
    "chat.postMessage": ("channel",),
    "chat.postEphemeral": ("channel", "user"),
    "chat.update": ("channel", "ts"),
    "chat.delete": ("channel", "ts"),
    "chat.scheduleMessage": ("channel", "post_at"),
    "chat.getPermalink": ("channel", "message_ts"),
    "views.open": ("trigger_id", "view"),
    "views.push": ("trigger_id", "view"),
    "views.update": ("view",),
    "views.publish": ("user_id", "view"),
    "conversations.open": (),
    "conversations.info": ("channel",),
    "users.info": ("user",),
    "canvases.edit": ("canvas_id", "changes"),
}
NO_TOKEN_METHODS = ("oauth.v2.access", "oauth.v2.exchange", "api.test")
AUTH_ERRORS = ("not_authed", "invalid_auth", "token_revoked", "account_inactive", "token_expired")


@dataclass
class Call:
    """One request the app made to the fake API."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float  # time.monotonic() when it arrived
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    url: str = ""  # for response_url calls: the URL posted to
    refused_by: str = ""  # for a 429 of the enforced limits: "method" or "channel"

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def view(self) -> dict[str, Any] | None:
        """For views.* calls: the view as Slack stored it (with id, hash, block ids)."""
        return self.response.get("view")

    @property
    def message(self) -> dict[str, Any] | None:
        """For chat.postMessage/update: the message as Slack stored it (with ts)."""
        return self.response.get("message")

    def __repr__(self) -> str:
        return f"Call({self.method} {self.status} {json.dumps(self.params, default=repr)[:200]})"


@dataclass
class Fault:
    method: str  # "*" for any method
    times: int | None  # None: every call from now on
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    after: int = 0  # calls of the method that pass before the fault starts
    # Ends the delay early: a test that has seen what it waited for (the ack came
    # back while the call hung) need not wait the delay out. See release().
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    def release(self) -> None:
        """Answer the calls this fault holds back now, and later ones without delay."""
        self.released.set()


class Bucket:
    """A token bucket: `burst` tokens refilled at `rate` a second."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.capacity, self.tokens, self.updated = rate, float(burst), float(burst), now

    def take(self, now: float) -> float:
        """0 if a token was taken, else the seconds until there is one."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class FakeSlackAPI:
    def __init__(self, *, team_id: str = TEAM_ID, bot_user_id: str = BOT_USER_ID,
                 bot_id: str = BOT_ID) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.scopes: list[str] | None = list(BOT_SCOPES)  # x-oauth-scopes of bot tokens: all granted
        self.app_token_scopes: list[str] | None = ["connections:write"]  # …of app-level tokens
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}  # view id -> latest stored view
        self.home: dict[str, dict[str, Any]] = {}  # user id -> published Home view
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.files: dict[str, dict[str, Any]] = {}  # file id -> shared file (files.completeUploadExternal)
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> files.getUploadURLExternal + bytes
        self.violations: list[str] = []
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._limits: dict[str, tuple[float, float]] | None = None  # enforce_rate_limits()
        self._buckets: dict[str, Bucket] = {}
        self.refused: list[Call] = []  # answered 429 by the rate limits
        self._overrides: dict[str, dict[str, Any] | Callable[[Call], Any]] = {}
        self._triggers: dict[str, float] = {}
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlackAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                api._handle(self)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # stop() waits for the loop to notice, up to one poll: every bot test pays it once.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.005},
                                        name="fake-slack-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake API first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """SLACK_API_URL for the app: http://127.0.0.1:<port>/api/"""
        return self.base_url + "/api/"

    # ------------------------------------------------------------------ programming

    def set_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """users.info for this user answers with the defaults updated by `fields`."""
        with self._lock:
            user = self._default_user(user_id)
            profile = {**user["profile"], **fields.pop("profile", {})}
            user.update(fields)
            user["profile"] = profile
            self.users[user_id] = user
            return user

    def set_channel(self, channel_id: str, **fields: Any) -> dict[str, Any]:
        """conversations.info for this channel answers with the defaults updated by `fields`."""
        with self._lock:
            channel = {**self._default_channel(channel_id), **fields}
            self.channels[channel_id] = channel
            return channel

    def on(self, method: str, answer: dict[str, Any] | Callable[[Call], Any]) -> None:
        """Override a method's answer.

        A dict is merged into the default answer. A callable gets the Call and returns a
        dict (the whole answer; add "ok") or (status, headers, body dict).
        """
        with self._lock:
            self._overrides[method] = answer

    def fail(self, method: str = "*", *, times: int | None = 1, status: int = 200,
             error: str | None = None, retry_after: int | None = None,
             delay: float = 0.0, after: int = 0) -> Fault:
        """Inject a fault for the next `times` calls of `method` ("*": any; None: all),
        once `after` calls of it have gone through."""
        fault = Fault(method, times, status, error, retry_after, delay, after)
        with self._lock:
            self._faults.append(fault)
        return fault

    def rate_limit(self, method: str = "*", *, retry_after: int = 1, times: int = 1,
                   after: int = 0) -> Fault:
        return self.fail(method, times=times, status=429, error="ratelimited",
                         retry_after=retry_after, after=after)

    def enforce_rate_limits(self, limits: dict[str, tuple[float, float]] | None = None, *,
                            per_channel: tuple[float, float] = SLACK_PER_CHANNEL,
                            other: tuple[float, float] = SLACK_OTHER_METHODS) -> None:
        """From now on answer 429 + Retry-After to calls beyond Slack's rate limits:
        SLACK_RATE_LIMITS updated by `limits`, (calls a second, burst) per method, and
        `per_channel` for chat.postMessage in one channel."""
        with self._lock:
            self._limits = {**SLACK_RATE_LIMITS, **(limits or {}), "*": other, "#": per_channel}
            self._buckets.clear()

    def server_error(self, method: str = "*", *, status: int = 500, times: int = 1) -> Fault:
        return self.fail(method, times=times, status=status)

    def error(self, method: str, error: str, *, times: int | None = 1) -> Fault:
        return self.fail(method, times=times, error=error)

    def slow(self, method: str = "*", *, seconds: float, times: int | None = None) -> Fault:
        return self.fail(method, times=times, delay=seconds)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def trigger_id(self) -> str:
        """A new trigger_id, valid for views.open/push for 3 seconds from now."""
        trigger = f"{next(self._ids)}.{int(time.time())}.{'%032x' % next(self._ids)}"
        with self._lock:
            self._triggers[trigger] = time.monotonic()
        return trigger

    def response_url(self, **context: Any) -> str:
        """A new response URL; posts to it are recorded as method "response_url"."""
        key = f"R{next(self._ids):06d}"
        with self._lock:
            self._response_urls[key] = context
        return f"{self.base_url}/response/{key}"

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, predicate: Callable[[Call], bool] | None = None,
                 timeout: float = 5.0, *, failed: bool = False) -> Call:
        """The first call to `method` (already made or still to come) matching `predicate`.

        Only calls answered ok count unless failed=True. Raises AssertionError on timeout,
        listing the calls that were made.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for call in self._calls:
                    if call.method == method and (failed or call.ok) and (
                        predicate is None or predicate(call)
                    ):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    made = "\n  ".join(repr(c) for c in self._calls) or "(none)"
                    raise AssertionError(
                        f"no {method} call matched within {timeout} s; calls made:\n  {made}"
                    )
                self._changed.wait(left)

    def view(self, view_id: str) -> dict[str, Any]:
        """The latest version of a view (after any views.update)."""
        with self._lock:
            return json.loads(json.dumps(self.views[view_id]))

    # ------------------------------------------------------------------ HTTP

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if parts.path.startswith("/upload/"):  # a file's bytes, not a form
            self._handle_upload(request, parts.path.rsplit("/", 1)[1], raw)
            return
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            if content_type == "application/json" and raw:
                body = json.loads(raw)
                params.update(body if isinstance(body, dict) else {"_body": body})
            elif raw:
                params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            self._reply(request, 400, {}, {"ok": False, "error": "invalid_json"})
            return
        for key in JSON_PARAMS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass

        if parts.path.startswith("/response/"):
            self._handle_response_url(request, parts.path.rsplit("/", 1)[1], params)
            return
        if not parts.path.startswith("/api/"):
            self._reply(request, 404, {}, {"ok": False, "error": "unknown_path"})
            return

        method = parts.path[len("/api/"):]
        auth = request.headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else params.pop("token", None)
        call = Call(method=method, params=params, token=token, at=time.monotonic())

        fault = self._take_fault(method)
        if fault is not None and fault.delay:
            fault.released.wait(fault.delay)
        if fault is not None and (fault.status != 200 or fault.error):
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            body = {"ok": False, "error": fault.error or "internal_error"}
            self._record(call, fault.status, body)
            self._reply(request, fault.status, headers, body)
            return
        wait = self._over_limit(call)
        if wait:
            body = {"ok": False, "error": "ratelimited"}
            self._record(call, 429, body)
            with self._lock:
                self.refused.append(call)
            self._reply(request, 429, {"Retry-After": str(max(1, math.ceil(wait)))}, body)
            return

        status, headers, body = self._answer(call)
        if call.token and status == 200 and body.get("error") not in AUTH_ERRORS:
            held = self.app_token_scopes if call.token.startswith("xapp-") else self.scopes
            if held is not None:  # None: no header at all
                headers = {"x-oauth-scopes": ",".join(held), **headers}
        self._record(call, status, body)
        self._reply(request, status, headers, body)

    def _handle_response_url(self, request: BaseHTTPRequestHandler, key: str,
                             params: dict[str, Any]) -> None:
        call = Call(method="response_url", params=params, token=None, at=time.monotonic(),
                    url=f"{self.base_url}/response/{key}")
        with self._lock:
            known = key in self._response_urls
        if not known:
            self._violation("response_url", f"unknown response URL {key}")
            self._record(call, 404, {"ok": False, "error": "invalid_response_url"})
            self._reply(request, 404, {}, {"ok": False, "error": "invalid_response_url"})
            return
        problems = [] if params.get("delete_original") else validate_message(params)
        for problem in problems:
            self._violation("response_url", problem)
        body = {"ok": not problems, **({"error": "invalid_blocks"} if problems else {})}
        self._record(call, 200 if not problems else 400, body)
        self._reply(request, 200 if not problems else 400, {}, body)

    def _handle_upload(self, request: BaseHTTPRequestHandler, file_id: str, raw: bytes) -> None:
        """The POST of a file's bytes to the URL files.getUploadURLExternal gave."""
        call = Call(method="file_upload", params={"file_id": file_id, "data": raw}, token=None,
                    at=time.monotonic(), url=f"{self.base_url}/upload/{file_id}")
        fault = self._take_fault("file_upload")
        if fault is not None and fault.status != 200:
            self._record(call, fault.status, {"ok": False})
            self._reply(request, fault.status, {}, {"ok": False})
            return
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is not None:
                upload["data"] = raw
        if upload is None:
            self._violation("file_upload", f"no upload URL was issued for {file_id}")
            self._record(call, 404, {"ok": False})
            self._reply(request, 404, {}, {"ok": False})
            return
        if upload["length"] != len(raw):
            self._violation("file_upload", f"{file_id}: length {upload['length']} announced, "
                                           f"{len(raw)} bytes sent")
        self._record(call, 200, {"ok": True})
        self._reply(request, 200, {}, {"ok": True})

    def _reply(self, request: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
               body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(raw)

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in ("*", method) and (fault.times is None or fault.times > 0):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _over_limit(self, call: Call) -> float:
        """0 when the call is within the rate limits (or none are enforced), else the
        seconds until it would be."""
        with self._lock:
            if self._limits is None:
                return 0.0
            now = time.monotonic()

            def bucket(key: str, limit: tuple[float, float]) -> Bucket:
                if key not in self._buckets:
                    self._buckets[key] = Bucket(*limit, now)
                return self._buckets[key]

            method = bucket(call.method, self._limits.get(call.method, self._limits["*"]))
            wait = method.take(now)
            call.refused_by = "method" if wait else ""
            channel = str(call.params.get("channel") or "")
            if not wait and call.method == "chat.postMessage" and channel:
                if channel.startswith(("U", "W")):
                    channel = self._dm_channel(channel)
                wait = bucket("#" + channel, self._limits["#"]).take(now)
                if wait:  # refused: the method's token goes back
                    call.refused_by = "channel"
                    method.tokens += 1
            return wait

    def _record(self, call: Call, status: int, body: dict[str, Any]) -> None:
        call.status = status
        call.response = body
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _violation(self, method: str, problem: str) -> None:
        with self._lock:
            self.violations.append(f"{method}: {problem}")

    # ------------------------------------------------------------------ answers

    def _answer(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        method, params = call.method, call.params
        if method not in NO_TOKEN_METHODS and not call.token:
            return 200, {}, {"ok": False, "error": "not_authed"}

        missing = [p for p in REQUIRED.get(method, ()) if params.get(p) in (None, "")]
        if method == "chat.postMessage" and not any(params.get(k) for k in ("text", "blocks", "attachments")):
            missing.append("text or blocks")
        if method == "views.update" and not (params.get("view_id") or params.get("external_id")):
            missing.append("view_id or external_id")
        if missing:
            self._violation(method, f"missing {', '.join(missing)}")
            return 200, {}, {"ok": False, "error": "invalid_arguments",
                             "response_metadata": {"messages": [f"missing {m}" for m in missing]}}

        problems = self._validate(call)
        if problems:
            for problem in problems:
                self._violation(method, problem)
            error = "invalid_blocks" if method in MESSAGE_METHODS else "invalid_arguments"
            return 200, {}, {"ok": False, "error": error,
                             "response_metadata": {"messages": problems}}

        if method in TRIGGER_METHODS:
            with self._lock:
                issued = self._triggers.get(params["trigger_id"])
            if issued is not None and time.monotonic() - issued > TRIGGER_TTL:
                self._violation(method, f"trigger_id used {time.monotonic() - issued:.1f} s after "
                                        "the interaction (Slack allows 3 s)")
                return 200, {}, {"ok": False, "error": "expired_trigger_id"}

        override = self._overrides.get(method)
        if callable(override):
            result = override(call)
            if isinstance(result, tuple):
                return result
            return 200, {}, result

        handler = getattr(self, "_" + method.replace(".", "_"), None)
        body = handler(params, call) if handler else {"ok": True}
        if isinstance(override, dict):
            body = {**body, **override}
        return 200, {}, body

    def _validate(self, call: Call) -> list[str]:
        params = call.params
        if call.method in MESSAGE_METHODS:
            return validate_message(params)
        if call.method in VIEW_METHODS:
            view = params.get("view")
            if not isinstance(view, dict):
                return ["view: must be a JSON object"]
            return validate_view(view)
        return []

    def _ts(self) -> str:
        return f"{time.time():.6f}"[:-6] + f"{next(self._ids):06d}"

    def _dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    def _default_user(self, user_id: str) -> dict[str, Any]:
        name = user_id.lower()
        return {
            "id": user_id, "team_id": self.team_id, "name": name, "deleted": False,
            "real_name": f"User {user_id}", "tz": "UTC", "tz_label": "Coordinated Universal Time",
            "tz_offset": 0, "is_bot": False, "is_admin": False, "is_restricted": False,
            "profile": {"real_name": f"User {user_id}", "display_name": name,
                        "email": f"{name}@example.com"},
        }

    def _default_channel(self, channel_id: str) -> dict[str, Any]:
        is_im = channel_id.startswith("D")
        return {
            "id": channel_id, "name": channel_id.lower(), "is_channel": not is_im,
            "is_group": False, "is_im": is_im, "is_private": channel_id.startswith("G"),
            "is_archived": False, "is_member": True, "is_shared": False,
            "is_ext_shared": False, "is_org_shared": False, "context_team_id": self.team_id,
        }

    # One method per Web API method the app uses: _<method with dots as underscores>.

    def _auth_test(self, params: dict, call: Call) -> dict[str, Any]:
        return {"ok": True, "url": f"https://{TEAM_DOMAIN}.slack.com/", "team": TEAM_NAME,
                "user": "accountplan", "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "app_id": APP_ID, "is_enterprise_install": False}

    def _store_message(self, channel: str, ts: str, params: dict) -> dict[str, Any]:
        message = {"type": "message", "ts": ts, "user": self.bot_user_id, "bot_id": self.bot_id,
                   "app_id": APP_ID, "team": self.team_id, "text": params.get("text", "")}
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if params.get(key) is not None:
                message[key] = params[key]
        with self._lock:
            self.messages[(channel, ts)] = message
        return message

    def _chat_postMessage(self, params: dict, call: Call) -> dict[str, Any]:  # noqa: N802
        channel = params["channel"]
        if channel.startswith(("U", "W")):
            channel = self._dm_channel(channel)
        ts = self._ts()
        return {"ok": True, "channel": channel, "ts": ts,
                "message": self._store_message(channel, ts, params)}

    def _chat_postEphemeral(self, params: dict, call: Call) -> dict[str, Any]:  # noqa: N802
        return {"ok": True, "message_ts": self._ts()}

    def _chat_update(self, params: dict, call: Call) -> dict[str, Any]:
        channel, ts = params["channel"], params["ts"]
        message = self._store_message(channel, ts, params)
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"],
                "message": message}

    def _chat_delete(self, params: dict, call: Call) -> dict[str, Any]:
        with self._lock:
            self.messages.pop((params["channel"], params["ts"]), None)
        return {"ok": True, "channel": params["channel"], "ts": params["ts"]}

    def _chat_scheduleMessage(self, params: dict, call: Call) -> dict[str, Any]:  # noqa: N802
        return {"ok": True, "channel": params["channel"], "post_at": int(params["post_at"]),
                "scheduled_message_id": f"Q{next(self._ids):08d}"}

    def _chat_getPermalink(self, params: dict, call: Call) -> dict[str, Any]:  # noqa: N802
        ts = str(params["message_ts"]).replace(".", "")
        return {"ok": True, "channel": params["channel"],
                "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{params['channel']}/p{ts}"}

    def _store_view(self, view: dict, *, view_id: str | None = None,
                    previous: dict | None = None) -> dict[str, Any]:
        stored = json.loads(json.dumps(view))
        for block in stored.get("blocks") or []:
            # Slack fills in the block and action ids an app leaves out.
            block.setdefault("block_id", f"b{next(self._ids)}")
            elements = [block.get("element"), block.get("accessory")]
            if block.get("type") == "actions":
                elements += block.get("elements") or []
            for element in elements:
                if isinstance(element, dict) and element.get("type") != "image":
                    element.setdefault("action_id", f"a{next(self._ids)}")
        view_id = view_id or f"V{next(self._ids):08d}"
        stored.update({
            "id": view_id, "team_id": self.team_id, "app_id": APP_ID, "bot_id": self.bot_id,
            "hash": f"{int(time.time())}.{next(self._ids):08x}",
            "state": {"values": {}},
            "private_metadata": stored.get("private_metadata", ""),
            "callback_id": stored.get("callback_id", ""),
            "external_id": stored.get("external_id", ""),
            "root_view_id": (previous or {}).get("root_view_id", view_id),
            "previous_view_id": (previous or {}).get("previous_view_id"),
        })
        with self._lock:
            self.views[view_id] = stored
        return stored

    def _views_open(self, params: dict, call: Call) -> dict[str, Any]:
        return {"ok": True, "view": self._store_view(params["view"])}

    def _views_push(self, params: dict, call: Call) -> dict[str, Any]:
        return {"ok": True, "view": self._store_view(params["view"])}

    def _views_update(self, params: dict, call: Call) -> dict[str, Any]:
        with self._lock:
            if params.get("view_id"):
                current = self.views.get(params["view_id"])
            else:
                current = next((v for v in self.views.values()
                                if v.get("external_id") == params["external_id"]), None)
            if current is None:
                return {"ok": False, "error": "not_found"}
            if params.get("hash") and params["hash"] != current["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            stored = self._store_view(params["view"], view_id=current["id"], previous=current)
        return {"ok": True, "view": stored}

    def _views_publish(self, params: dict, call: Call) -> dict[str, Any]:
        user = params["user_id"]
        with self._lock:
            current = self.home.get(user)
            if params.get("hash") and current and params["hash"] != current["hash"]:
                return {"ok": False, "error": "hash_conflict"}
            stored = self._store_view(params["view"], view_id=current["id"] if current else None)
            self.home[user] = stored
        return {"ok": True, "view": stored}

    def _conversations_open(self, params: dict, call: Call) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if len(users) != 1:
            return {"ok": True, "channel": {"id": f"G{next(self._ids):08d}"}}
        return {"ok": True, "channel": {"id": self._dm_channel(users[0])}}

    def _conversations_info(self, params: dict, call: Call) -> dict[str, Any]:
        channel = params["channel"]
        with self._lock:
            found = self.channels.get(channel)
        return {"ok": True, "channel": found or self._default_channel(channel)}

    def _users_info(self, params: dict, call: Call) -> dict[str, Any]:
        with self._lock:
            found = self.users.get(params["user"])
        return {"ok": True, "user": found or self._default_user(params["user"])}

    def _users_list(self, params: dict, call: Call) -> dict[str, Any]:
        """The users set with set_user, in pages of `limit` (at most 1,000; 0: all at
        once) with opaque cursors, as Slack pages it."""
        with self._lock:
            members = sorted(self.users.values(), key=lambda u: u["id"])
        start = 0
        if params.get("cursor"):
            try:
                kind, _, offset = base64.b64decode(str(params["cursor"])).decode().partition(":")
                start = int(offset)
                assert kind == "offset" and 0 <= start <= len(members)
            except (ValueError, AssertionError, UnicodeDecodeError):
                return {"ok": False, "error": "invalid_cursor"}
        limit = min(int(params.get("limit") or 0), USERS_LIST_MAX) or len(members)
        page = members[start:start + limit]
        end = start + len(page)
        cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(members) else ""
        return {"ok": True, "members": page, "cache_ts": int(time.time()),
                "response_metadata": {"next_cursor": cursor}}

    def _apps_connections_open(self, params: dict, call: Call) -> dict[str, Any]:
        if not (call.token or "").startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if "connections:write" not in (self.app_token_scopes or ()):
            return {"ok": False, "error": "missing_scope", "needed": "connections:write",
                    "provided": ",".join(self.app_token_scopes or ())}
        return {"ok": True, "url": f"wss://wss-primary.slack.test/link/?ticket={next(self._ids)}"
                                   f"&app_id={APP_ID}"}

    def _team_info(self, params: dict, call: Call) -> dict[str, Any]:
        return {"ok": True, "team": {"id": self.team_id, "name": TEAM_NAME, "domain": TEAM_DOMAIN}}

    def _canvases_create(self, params: dict, call: Call) -> dict[str, Any]:
        return {"ok": True, "canvas_id": f"F{next(self._ids):08d}"}

    def _conversations_canvases_create(self, params: dict, call: Call) -> dict[str, Any]:
        return {"ok": True, "canvas_id": f"F{next(self._ids):08d}"}

    def _files_getUploadURLExternal(self, params: dict, call: Call) -> dict[str, Any]:  # noqa: N802
        missing = [name for name in ("filename", "length") if not params.get(name)]
        if missing:
            self._violation(call.method, f"missing {', '.join(missing)}")
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self._uploads[file_id] = {"filename": params["filename"], "length": int(params["length"]),
                                      "alt_txt": params.get("alt_txt") or "", "data": None}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def _files_completeUploadExternal(self, params: dict, call: Call) -> dict[str, Any]:  # noqa: N802
        try:
            files = json.loads(params.get("files") or "")
        except ValueError:
            files = None
        if not isinstance(files, list) or not files:
            self._violation(call.method, "files: must be a JSON list of {id, title}")
            return {"ok": False, "error": "invalid_arguments"}
        channel, thread_ts = params.get("channel_id") or None, params.get("thread_ts") or None
        if thread_ts and not channel:
            self._violation(call.method, "thread_ts without channel_id")
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        with self._lock:
            if thread_ts and (channel, thread_ts) not in self.messages:
                self._violation(call.method, f"thread_ts {thread_ts} is no message in {channel}")
                return {"ok": False, "error": "invalid_thread_ts"}
            for entry in files:
                upload = self._uploads.get(str(entry.get("id")))
                if upload is None or upload["data"] is None:
                    self._violation(call.method, f"file {entry.get('id')} was never uploaded")
                    return {"ok": False, "error": "file_not_found"}
                stored = {"id": entry["id"], "name": upload["filename"],
                          "title": entry.get("title") or upload["filename"],
                          "alt_txt": upload["alt_txt"], "channel_id": channel,
                          "thread_ts": thread_ts, "data": upload["data"]}
                self.files[entry["id"]] = stored
                shared.append({k: v for k, v in stored.items() if k != "data"})
        return {"ok": True, "files": shared}

    def _oauth_v2_access(self, params: dict, call: Call) -> dict[str, Any]:
        n = next(self._ids)
        return {
            "ok": True, "app_id": APP_ID, "authed_user": {"id": "U1"},
            "scope": "commands,chat:write", "token_type": "bot",
            "access_token": f"xoxe.xoxb-{n}-rotated", "refresh_token": f"xoxe-{n}-refresh",
            "expires_in": 43200, "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": TEAM_NAME}, "enterprise": None,
            "is_enterprise_install": False,
        }
