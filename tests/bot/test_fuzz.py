"""Fuzzing through Slack (issue 10): Hypothesis sends signed HTTP requests to the real
app (waitress, Bolt, the database) as Slack would for whatever a person types, picks
or a stale or odd client sends, and every example checks the same properties:

- HTTP: 200 within Slack's 3 s, never a 5xx (a 413 only for a body over the request
  guard's 1 MiB, which is no request Slack sends);
- logs: no ERROR record with a traceback: a person's mistake is a PlanError, not ours;
- an answer: a view_submission is answered with `errors` (each key an input of the
  view), `update` (a valid view) or `clear`, or it closes the form and a views call
  follows; a command or a button leads, within a few seconds, to a call on the fake
  API addressed to that person (views.open/push with their trigger, views.update of
  the view they clicked in, their response_url, a message or ephemeral to them, their
  App Home, the DM they clicked in);
- Slack: nothing was sent that Slack would reject (the fake API's violations);
- never leaks: when the person is from another organisation, nothing sent to Slack
  while handling their request contains the plan's SWOT or a team-only item.

The database is seeded once per test (`world`); the examples then run against the same
app, so what one example saved the next one sees, as in real life. Each example waits
until the app's listener and after-ack pools are idle (`Quiet`), so what it checks is
what its own request caused.

Every property runs on both databases, with fewer examples on PostgreSQL (`fuzz`);
`derandomize=True` makes every run (and CI) try the same examples. Statistics of what
the examples reached: pytest tests/bot/test_fuzz.py --hypothesis-show-statistics
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from sqlalchemy import select

from blocks.forms import metadata
from blocks.ids import Action, Verb
from bot.app import _AFTER_ACK
from bot.runtime.request_guard import MAX_BODY_BYTES
from storage import plans as ops
from storage import stakeholders
from storage.models import (
    AccountPlan,
    ActionItem,
    DigestSubscription,
    Objective,
    PlanTemplate,
    Stakeholder,
    Strategy,
    SwotEntry,
)
from storage.plans import Actor
from storage.stakeholders import StakeholderInput
from tests.blockkit import validate_view_submission_response
from tests.bot import signing
from tests.bot.driver import ACK_LIMIT, fill, input_blocks
from tests.bot.slack_api import Call
from tests.bot.test_digests import (
    MEMBER,
    OWNER,
    SECRET_ITEM,
    STRANGER,
    SWOT_TEXT,
    TEAM,
    push_from,
    seed,
)

CUSTOMER = "U0CUSTOMER"
SHARED = "C0SHARED"
PERSON, PERSON_NOTES = "Dr. Quiet Sponsor", "Prefers the CFO is not told"  # team only, like SWOT
ANSWER_WITHIN = 5.0  # seconds from the request to the person's answer

FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
            derandomize=True, database=None, print_blob=False)


def fuzz(engine, check, *, sqlite: int, postgres: int) -> None:
    """Run the property `check(data)` on Hypothesis' examples against this test's world:
    `sqlite` examples on SQLite, `postgres` on PostgreSQL (the same code paths, slower
    per example, and the database that refuses odd types)."""
    examples = sqlite if engine.dialect.name == "sqlite" else postgres
    settings(max_examples=examples, **FUZZ)(given(data=st.data())(check))()


# ---------------------------------------------------------------------------
# Waiting for the app to be idle


class Quiet:
    """Waits until the app is idle: every listener given to Bolt's pool has finished
    (tracked here), and the after-ack pool (bot/runtime/after_ack.py) has nothing queued or
    running, so an example sees all the work its request caused."""

    def __init__(self, listener_executor: concurrent.futures.Executor, after_ack: Any) -> None:
        self._futures: list[concurrent.futures.Future] = []
        self._lock = threading.Lock()
        self._after_ack = after_ack
        submit = listener_executor.submit

        def tracked(*args: Any, **kwargs: Any) -> concurrent.futures.Future:
            future = submit(*args, **kwargs)
            with self._lock:
                self._futures.append(future)
            return future

        listener_executor.submit = tracked  # type: ignore[method-assign]

    def wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                self._futures = [f for f in self._futures if not f.done()]
                pending = list(self._futures)
            if pending:
                concurrent.futures.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
            elif self._after_ack.idle():
                with self._lock:
                    if not self._futures:
                        return
            else:
                time.sleep(0.005)
        raise AssertionError(f"the app was still busy {timeout:.0f} s after the request")


# ---------------------------------------------------------------------------
# The world every example acts in


class World:
    """The app, its seeded plan (ids by kind), the forms it opened and the surfaces
    (views, messages) its buttons live on."""

    def __init__(self, slack, api, session_factory, quiet: Quiet, caplog, plan_id: int,
                 ids: dict[str, list[int]]) -> None:
        self.slack, self.api, self.session_factory, self.quiet, self.caplog = (
            slack, api, session_factory, quiet, caplog)
        self.plan_id, self.ids = plan_id, ids
        self.forms: dict[str, dict[str, Any]] = {}
        self.surfaces: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"World(plan {self.plan_id}, ids {self.ids})"


def snapshot(view: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(view))


def record_ids(session_factory) -> dict[str, list[int]]:
    with session_factory() as session:
        def ids(model) -> list[int]:
            return list(session.scalars(select(model.id).order_by(model.id)))
        return {"plan": ids(AccountPlan), "strategy": ids(Strategy), "objective": ids(Objective),
                "action_item": ids(ActionItem), "swot": ids(SwotEntry),
                "subscription": ids(DigestSubscription), "stakeholder": ids(Stakeholder),
                "template": ids(PlanTemplate)}


def next_call(slack_api, method: str, action) -> Call:
    """The first call to `method` that `action()` causes."""
    before = len(slack_api.calls_to(method))
    action()
    slack_api.wait_for(method, lambda c: len(slack_api.calls_to(method)) > before)
    return slack_api.calls_to(method)[before]


def open_plan_view(slack, slack_api) -> dict[str, Any]:
    return next_call(slack_api, "views.open",
                     lambda: slack.command("/accountplan", "show Newton", user=OWNER)).view


def build_world(slack, slack_api, session_factory, bolt_app, caplog) -> World:
    plan_id = seed(session_factory)
    with session_factory() as session, session.begin():
        # A strategy to offer for deletion, so a confirmed delete takes nothing else.
        ops.add_strategy(session, Actor(TEAM, OWNER), plan_id, "Spare strategy")
        stakeholders.add_stakeholder(session, Actor(TEAM, OWNER), plan_id, StakeholderInput(
            PERSON, "Chief Financial Officer", role="sponsor", notes=PERSON_NOTES))
    slack.outsider(CUSTOMER)
    slack_api.set_channel(SHARED, is_ext_shared=True)
    world = World(slack, slack_api, session_factory,
                  Quiet(bolt_app.listener_runner.listener_executor, _AFTER_ACK[bolt_app]),
                  caplog, plan_id, record_ids(session_factory))
    forms, surfaces = world.forms, world.surfaces

    forms["plan_new"] = snapshot(next_call(slack_api, "views.open", lambda: slack.command(
        "/accountplan", "new", user=OWNER)).view)
    view = open_plan_view(slack, slack_api)
    surfaces["plan"] = snapshot(view)
    for name, button in (("plan_edit", "Edit"), ("strategy_add", "Add strategy"),
                         ("objective_add", "Add objective"), ("item_add", "Add action item"),
                         ("swot_add", "Add SWOT entry"), ("copy", "Copy plan"), ("qbr", "Log QBR"),
                         ("digest", "Post digest"), ("canvas", "Publish as canvas"),
                         ("subscriptions", "Digest settings"), ("stakeholder_add", "Add stakeholder"),
                         ("template_save", "Save as template")):
        forms[name] = snapshot(push_from(slack, view, button))
    for name, option, action, index in (
            ("strategy_edit", "Edit", Action.STRATEGY_MENU, 0),
            ("objective_under", "Add objective", Action.STRATEGY_MENU, 0),
            ("objective_edit", "Edit", Action.OBJECTIVE_MENU, 0),
            ("item_under", "Add action item", Action.OBJECTIVE_MENU, 0),
            ("item_edit", "Edit", Action.ITEM_MENU, 1),  # the team-only item
            ("delete", "Delete", Action.STRATEGY_MENU, 1),  # the spare strategy
            ("stakeholder_edit", "Edit", Action.STAKEHOLDER_MENU, 0)):
        forms[name] = snapshot(next_call(slack_api, "views.push", lambda: slack.choose(
            view, option, action_id=action, index=index, user=OWNER)).view)
    surfaces["subscriptions"] = forms["subscriptions"]
    surfaces["plan_edit"] = forms["plan_edit"]

    swot = open_plan_view(slack, slack_api)
    surfaces["swot"] = snapshot(next_call(slack_api, "views.update", lambda: slack.click(
        swot, "Edit SWOT", user=OWNER)).view)
    forms["swot_edit"] = snapshot(next_call(slack_api, "views.push", lambda: slack.choose(
        surfaces["swot"], "Edit", action_id=Action.SWOT_MENU, user=OWNER)).view)

    surfaces["home"] = snapshot(next_call(slack_api, "views.publish", lambda: slack.app_home_opened(OWNER)).view)
    # "Update progress" as a check-in DM has it, and a template to list, rename, delete.
    forms["progress"] = snapshot(next_call(slack_api, "views.open", lambda: slack.block_action(
        Action.UPDATE_PROGRESS, str(world.ids["objective"][0]), user=OWNER)).view)
    slack.submit_view(forms["template_save"], {"Template name": "Fuzz template"}, user=OWNER)
    listed = next_call(slack_api, "response_url", lambda: slack.command("/accountplan", "templates", user=OWNER))
    surfaces["templates"] = {**listed.params, "ts": slack_api._ts(), "channel": "C1"}
    forms["template_rename"] = snapshot(next_call(slack_api, "views.open", lambda: slack.click(
        listed, "Rename", user=OWNER)).view)
    # A digest in the shared channel: where a customer may open the plan's customer view.
    slack.command("/accountplan", f"digest Newton <#{SHARED}|shared>", user=OWNER)
    posted = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == SHARED)
    surfaces["digest"] = {**posted.message, "channel": SHARED}
    # Every subscription form change needs one subscription to remove.
    slack.submit_view(forms["subscriptions"], {"Channel": "C1"}, user=OWNER)
    world.quiet.wait()
    world.ids = record_ids(session_factory)
    assert not slack_api.violations, slack_api.violations
    return world


@pytest.fixture
def world(slack, slack_api, session_factory, bolt_app, caplog) -> World:
    return build_world(slack, slack_api, session_factory, bolt_app, caplog)


# ---------------------------------------------------------------------------
# Sending as Slack does, and checking what came of it


@dataclass
class Outcome:
    status: int
    body: str
    elapsed: float
    size: int
    started: float
    calls: list[Call]
    errors: list[logging.LogRecord]
    violations: list[str]

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


def send(world: World, fields_or_payload: dict[str, Any], *, interactive: bool) -> Outcome:
    """POST one signed request, wait until the app is idle, and collect what it did."""
    api = world.api
    calls_before, logs_before, violations_before = len(api.calls), len(world.caplog.records), len(api.violations)
    if interactive:
        payload = fields_or_payload
        person = payload.get("user")
        if isinstance(person, dict) and person.get("id") in world.slack.home_teams:
            payload["user"] = {**person, "team_id": world.slack.home_teams[person["id"]]}
        body = signing.encode_interactive(payload)
    else:
        body = signing.encode_form(fields_or_payload)
    started = time.monotonic()
    reply = world.slack.post(body, signing.FORM)
    world.quiet.wait()
    records = world.caplog.records[logs_before:]
    return Outcome(
        status=reply.status, body=reply.body, elapsed=reply.elapsed, size=len(body.encode()),
        started=started, calls=api.calls[calls_before:],
        errors=[r for r in records if r.levelno >= logging.ERROR and r.exc_info],
        violations=api.violations[violations_before:])


def tally(text: str) -> None:
    """Count what an example reached (pytest --hypothesis-show-statistics)."""
    if currently_in_test_context():
        event(text)


def what_happened(outcome: Outcome) -> str:
    """For the statistics (pytest --hypothesis-show-statistics): the calls made, views by
    callback id ("notice": a problem explained)."""
    def one(call: Call) -> str:
        view = call.params.get("view")
        return f"{call.method}({view.get('callback_id', '')})" if isinstance(view, dict) else call.method
    return " ".join(sorted({one(c) for c in outcome.calls})) or "-"


def check_http_and_logs(outcome: Outcome) -> bool:
    """The properties every request has; False when the guard refused an oversized body."""
    if outcome.size > MAX_BODY_BYTES:
        assert outcome.status == 413, outcome.status
        return False
    assert outcome.status == 200, (outcome.status, outcome.body[:500])
    assert outcome.elapsed < ACK_LIMIT, f"ack took {outcome.elapsed:.2f} s"
    assert not outcome.errors, "\n".join(
        f"{r.name}: {r.getMessage()}\n{logging.Formatter().formatException(r.exc_info)}"
        for r in outcome.errors)
    assert not outcome.violations, outcome.violations
    return True


def dm_of(user: str) -> str:
    return "D" + user[1:]


def answers(outcome: Outcome, user: str, *, trigger_id: str | None = None,
            response_url: str | None = None, view_id: str | None = None,
            channel: str | None = None) -> list[Call]:
    """The calls addressed to `user` about this request, made in time."""
    found = []
    for call in outcome.calls:
        params = call.params
        if call.at - outcome.started > ANSWER_WITHIN:
            continue
        if (call.method in ("views.open", "views.push") and trigger_id
                and params.get("trigger_id") == trigger_id) or (
                call.method == "views.update" and view_id and params.get("view_id") == view_id) or (
                call.method == "response_url" and response_url and call.url == response_url) or (
                call.method == "chat.postMessage" and params.get("channel") in (user, dm_of(user))) or (
                call.method == "chat.postEphemeral" and params.get("user") == user) or (
                call.method == "views.publish" and params.get("user_id") == user) or (
                call.method == "chat.update" and channel and params.get("channel") == channel):
            found.append(call)
    return found


def assert_no_leak(outcome: Outcome) -> None:
    sent = json.dumps([c.params for c in outcome.calls], ensure_ascii=False) + outcome.body
    for secret in (SWOT_TEXT, SECRET_ITEM, PERSON, PERSON_NOTES):
        assert secret not in sent, f"{secret!r} reached Slack for a person from another organisation"


# ---------------------------------------------------------------------------
# Strategies: what people type and what odd clients send

SPECIAL_TEXTS = [
    "", " ", "\u200b\u200b", "\u200b", "\u00a0\u00a0", "\t\n\r", "\x00", "\x00\x01\x7f", "\x1b[31mred",
    "\ufeff", "\u202eevil", "e\u0301", "🙂", "&lt;!channel&gt;", "&lt;!here&gt;", "<!channel>",
    "<#C1|x>", f"<#{SHARED}>", "<#C1|x> <#C2>", "<@U1>", f"<@{CUSTOMER}|c>", "<!subteam^S1>",
    "&amp;", "&amp;lt;", "*bold* _it_ `code` ~s~", "```", "> quote", "Newton", "newton memorial",
    "%", "_", "\\", "'; drop table account_plans; --", "null", "NaN", "-1", "0", "2147483648",
    "١٢", "{}", "[]", '{"plan": 1}', "x" * 256, "y" * 3001,
]

any_char = st.characters(exclude_categories=["Cs"])  # every code point a form body can carry
short_text = st.text(any_char, max_size=40)


def _huge(unit: str, size: int) -> str:
    """`unit` repeated to about `size` bytes of UTF-8."""
    return (unit * (size // len(unit.encode()) + 1)).encode()[:size].decode(errors="ignore")


huge_text = st.builds(_huge, st.sampled_from(["x", "é", "\u200b", "🙂", "<&>", "Newton ", "\x00"]),
                      st.integers(3_001, 60_000))
texts = st.one_of(short_text, st.sampled_from(SPECIAL_TEXTS), short_text, st.sampled_from(SPECIAL_TEXTS),
                  huge_text)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), short_text,
                         st.sampled_from(["1", "-1", "0", "2147483648", "V123", "plan", "external"]))
junk = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["value", "text", "x", ""]), inner, max_size=2)),
    max_leaves=4)


def int_texts(world_ids: list[int]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from([str(i) for i in world_ids] or ["1"]),
                     st.sampled_from(["0", "-1", "+1", " 1 ", "1.0", "1e3", "0x1", "١", "2147483647",
                                      "2147483648", "9" * 30, "", "1:2", ":", "1:", ":1", "1:-1", "1:99999999999"]),
                     st.integers(-(2**64), 2**64).map(str))


DATES = ["2025-02-30", "2025-02-29", "2024-02-29", "abc", "", "2025-13-01", "0000-01-01", "0001-01-01",
         "9999-12-31", "2025-1-1", "20250101", "2025-01-01T00:00", "2025-01-01 ", "١٢٣٤-٠١-٠١",
         "2025-W01-1", "+2025-01-01"]
TIMES = ["25:99", "24:00", "abc", "", "09:00", "9:00", "23:59:59", "-1:00", "00:00", "12:60", "１２:００"]
NUMBERS = ["abc", "1e999", "NaN", "nan", "-0", "Infinity", "1.5", "-1", "99999999999999999999999999",
           "1,5", "0x10", " 3 ", "1_000", "0.0000000000000000000001", "", "٣"]
USERS = [OWNER, MEMBER, STRANGER, CUSTOMER, "", "<@U1>", "W123", "USLACKBOT", "B123", "U" * 300]
CHANNELS = ["C1", SHARED, "D123", "G1", "<#C1|x>", "", "C" * 300, "c1", "C1 ", "#general"]

PLAUSIBLE: dict[str, Any] = {
    "plain_text_input": lambda e: st.one_of(texts, st.none()),
    "number_input": lambda e: st.one_of(st.sampled_from(NUMBERS), st.integers(-(2**80), 2**80).map(str),
                                        st.decimals(allow_nan=False, allow_infinity=False).map(str), texts),
    "datepicker": lambda e: st.one_of(st.sampled_from(DATES), st.dates().map(dt.date.isoformat), texts,
                                      st.none()),
    "timepicker": lambda e: st.one_of(st.sampled_from(TIMES), st.times().map(lambda t: t.strftime("%H:%M")),
                                      texts, st.none()),
    "static_select": lambda e: option_states(e),
    "users_select": lambda e: st.one_of(st.sampled_from(USERS), texts, st.none()),
    "multi_users_select": lambda e: st.one_of(st.lists(st.sampled_from(USERS), max_size=4),
                                              st.lists(texts, max_size=2), st.lists(st.sampled_from(USERS),
                                                                                     min_size=60, max_size=200)),
    "conversations_select": lambda e: st.one_of(st.sampled_from(CHANNELS), texts, st.none()),
    "checkboxes": lambda e: st.lists(option_states(e), max_size=3),
}
STATE_KEY = {"plain_text_input": "value", "number_input": "value", "datepicker": "selected_date",
             "timepicker": "selected_time", "static_select": "selected_option",
             "users_select": "selected_user", "multi_users_select": "selected_users",
             "conversations_select": "selected_conversation", "checkboxes": "selected_options"}


def _all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def option_states(element: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A selected option: one the element offers, one it doesn't, or no option at all."""
    offered = _all_options(element)
    return st.one_of(
        st.sampled_from(offered) if offered else st.nothing(),
        st.builds(lambda value: {"text": {"type": "plain_text", "text": "?"}, "value": value},
                  st.one_of(texts, json_scalars)),
        st.none(), st.just({}), junk)


def element_states(element: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = element.get("type", "plain_text_input")
    key = STATE_KEY.get(kind, "value")
    value = st.one_of(PLAUSIBLE[kind](element), PLAUSIBLE[kind](element), junk) if kind in PLAUSIBLE else junk
    other = st.sampled_from(sorted(set(STATE_KEY) - {kind}))
    return st.one_of(
        value.map(lambda v: {"type": kind, key: v}),
        value.map(lambda v: {"type": kind, key: v}),
        st.just({"type": kind}),  # the value's key missing
        st.tuples(other, value).map(lambda t: {"type": t[0], STATE_KEY[t[0]]: t[1]}),  # another element type
        st.builds(lambda v: {key: v}, value),  # no type
        junk,  # not an object at all
    )


def mix(*weighted: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each drawn about in proportion to its weight."""
    choices = [strategy for weight, strategy in weighted for _ in range(weight)]
    return st.integers(0, len(choices) - 1).flatmap(lambda n: choices[n])


@st.composite
def form_states(draw, view: dict[str, Any], valid: dict[str, Any]) -> Any:
    """`view.state` as an odd client could send it for `view`: each input as `valid`
    has it (the values that save the form), odd, or missing."""
    shape = draw(st.sampled_from(["values"] * 6 + ["odd"]))
    if shape == "odd":
        return draw(st.one_of(st.none(), st.just({}), st.just({"values": []}), st.just({"values": "x"}),
                              st.dictionaries(st.sampled_from(["values"]), junk, max_size=1)))
    values: dict[str, Any] = {}
    for block in input_blocks(view):
        element = block.get("element") or {}
        kind = draw(st.sampled_from(["valid"] * 4 + ["state"] * 4 + ["missing", "odd"]))
        if kind == "missing":
            continue
        action_id = element.get("action_id", "value")
        if kind == "valid":
            values[block["block_id"]] = valid[block["block_id"]]
        elif kind == "odd":
            values[block["block_id"]] = draw(st.one_of(junk, st.just({}), st.just({action_id: None}),
                                                       st.just({action_id: {}, "other": {"type": "x"}})))
        else:
            values[block["block_id"]] = {action_id: draw(element_states(element))}
    if draw(st.booleans()) and draw(st.booleans()):
        values[draw(st.sampled_from(["nope", "", "plan", "__proto__"]))] = {"value": draw(element_states({}))}
    return {"values": values}


def valid_state(name: str, view: dict[str, Any]) -> dict[str, Any]:
    """The state that saves the form `name` (its initial values, and VALID_FIELDS)."""
    return fill(view, VALID_FIELDS.get(name, {}), check_required=False)


metadata_texts = st.one_of(
    st.sampled_from(["", "{", "[]", "null", "1", '"x"', '{"plan": "x"}', '{"plan": -1}', '{"plan": 0}',
                     '{"plan": true}', '{"plan": 1.5}', '{"plan": 1e400}', '{"plan": [1]}',
                     '{"plan": {"id": 1}}', '{"plan": 99999999999999999999}', '{"plan": 2147483648}',
                     '{"entity":"nope","id":1}', '{"entity":"strategy","id":"1"}',
                     '{"entity":"swot","id":-1}', '{"entity": null}', '{"parent": 1}', '{"parent": "V0NOPE"}',
                     '{"page": "x"}', '{"page": -1}', '{"page": 1e9}', '{"mode": 1}', '{"mode": "swot"}',
                     '{"version": "x"}', '{"version": -1}', '{"audience": 1}', '{"tz": "Mars/Base"}',
                     '{"tz": 5}', '{"strategy": "abc"}', '{"strategy": -1}', '{"objective": "abc"}',
                     '{"objective": [1]}', '{"item": "abc"}', '{"entry": {}}', '{"source": 1}',
                     '{"plan": 1, "plan": "x"}', '{"__proto__": 1}', '\x00', "{" * 5000, "[" * 5000,
                     '{"plan": ' + "[" * 3000 + "]" * 3000 + "}", '{"plan": ' + "9" * 5000 + "}",
                     json.dumps({"plan": 1, "pad": "x" * 60_000})]),
    st.dictionaries(st.sampled_from(["plan", "version", "parent", "page", "mode", "audience", "entity", "id",
                                     "strategy", "objective", "item", "entry", "tz", "source"]),
                    junk, max_size=5).map(json.dumps),
    short_text,
)


def metadata_for(world: World) -> st.SearchStrategy[str]:
    """Odd private_metadata, and the app's own (of any of its forms) with one key made
    odd or left out."""
    real = [world.forms[name]["private_metadata"] for name in sorted(world.forms)]
    real_ids = st.sampled_from(world.ids["plan"] + world.ids["strategy"] + world.ids["swot"])
    left_out = object()

    def tampered(meta: str, key: str, value: Any) -> str:
        data = json.loads(meta or "{}")
        data[key] = value
        if value is left_out:
            del data[key]
        return json.dumps(data)

    return st.one_of(metadata_texts, st.builds(
        tampered, st.sampled_from(real),
        st.sampled_from(["plan", "version", "parent", "page", "mode", "entity", "id", "strategy", "objective",
                         "item", "entry", "tz", "audience"]),
        st.one_of(st.just(left_out), junk, real_ids)))


# ---------------------------------------------------------------------------
# Slash commands


COMMANDS = ["new", "show", "edit", "copy", "swot", "list", "mine", "digest", "qbr"]
WORDS = COMMANDS * 3 + ["", "help", "SHOW", "Digest", "lіst", "show\x00", "digest\u200b"]


@st.composite
def command_texts(draw) -> str:
    if draw(st.integers(0, 3)) == 0:
        return draw(texts)
    word = draw(st.sampled_from(WORDS))
    args = draw(st.one_of(st.sampled_from(["Newton", "newton memorial", "Newton <#C1|x>", "Newton\x00",
                                           f"Newton <#{SHARED}|s>", "Newton <#C1", "<#C1|x> Newton",
                                           "Newton &amp; Co", "&lt;!channel&gt;", "mine", "active",
                                           "1", "-1", "2147483648", "N", "%", "_"]), texts))
    return f"{word} {args}" if draw(st.booleans()) else f"  {word}\t{args}\n"


PEOPLE = [OWNER, MEMBER, STRANGER, CUSTOMER]


def slash_command(world: World, text: str, user: str, channel: str) -> Outcome:
    fields = signing.slash_command("/accountplan", text, user=user, channel=channel,
                                   response_url=world.api.response_url(channel=channel),
                                   trigger_id=world.api.trigger_id())
    outcome = send(world, fields, interactive=False)
    tally(f"command: {outcome.status} {what_happened(outcome)}")
    if check_http_and_logs(outcome):
        reply = outcome.json
        if not (isinstance(reply, dict) and reply.get("text")):
            assert answers(outcome, user, trigger_id=fields["trigger_id"], response_url=fields["response_url"]), (
                f"no answer to {user} for {text[:200]!r}: {outcome.calls}")
    return outcome


def test_any_command_text_is_answered(world, engine):
    def command(data):
        text = data.draw(command_texts(), label="text")
        user = data.draw(st.sampled_from(PEOPLE), label="user")
        channel = data.draw(st.sampled_from(["C1", SHARED, dm_of(user)]), label="channel")
        outcome = slash_command(world, text, user, channel)
        if user == CUSTOMER:
            assert_no_leak(outcome)

    fuzz(engine, command, sqlite=120, postgres=40)


# ---------------------------------------------------------------------------
# Form submissions

# Fields that make each form valid (by block id), so odd metadata reaches the save.
VALID_FIELDS = {
    "plan_new": {"name": "Fuzz plan", "account": "Fuzz account", "start_date": "2025-01-01",
                 "end_date": "2025-12-31"},
    "strategy_add": {"title": "Win the CFO"},
    "objective_add": {"title": "More IDNs"},
    "objective_under": {"title": "More IDNs"},
    "item_add": {"title": "Call", "assignee": OWNER},
    "item_under": {"title": "Call", "assignee": OWNER},
    "swot_add": {"kind": "Strength", "text": "Good"},
    "digest": {"channel": "C1"},
    "canvas": {"channel": "C1"},
    "subscriptions": {"channel": "C1"},
    "stakeholder_add": {"name": "Fuzz person"},
    "progress": {"status": "On track"},
    "template_save": {"name": "Another fuzz template"},
    "template_rename": {"name": "Renamed fuzz template"},
}


def submit(world: World, view: dict[str, Any], state: Any, user: str) -> Outcome:
    """Submit `view` (as the app opened it) with `state`, and check the answer."""
    payload = signing.view_submission({**view, "state": state}, user=user, trigger_id=world.api.trigger_id())
    outcome = send(world, payload, interactive=True)
    answer = (outcome.json or {}).get("response_action", "(closed)") if isinstance(outcome.json, dict) else "-"
    tally(f"{view['callback_id']}: {outcome.status} {answer}")
    if not check_http_and_logs(outcome):
        return outcome
    reply = outcome.json
    if outcome.body:
        assert isinstance(reply, dict), outcome.body[:300]
        assert reply.get("response_action") in ("errors", "update", "clear"), reply
        assert validate_view_submission_response(reply, view) == [], (
            validate_view_submission_response(reply, view), reply)
    else:
        # The form closed: what was done shows in a view the app redraws.
        assert [c for c in outcome.calls if c.method.startswith("views.")], (
            f"the form closed and nothing followed: {outcome.calls}")
    return outcome


def test_any_form_values_are_answered(world, engine):
    def form(data):
        name = data.draw(st.sampled_from(sorted(world.forms)), label="form")
        view = world.forms[name]
        state = data.draw(form_states(view, valid_state(name, view)["values"]), label="state")
        user = data.draw(st.sampled_from([OWNER, OWNER, MEMBER, STRANGER, CUSTOMER]), label="user")
        outcome = submit(world, view, state, user)
        if user == CUSTOMER:
            assert_no_leak(outcome)

    fuzz(engine, form, sqlite=160, postgres=40)


def test_any_private_metadata_is_answered(world, engine):
    def private_metadata(data):
        name = data.draw(st.sampled_from(sorted(world.forms)), label="form")
        meta = data.draw(metadata_for(world), label="private_metadata")
        view = {**world.forms[name], "private_metadata": meta}
        state = valid_state(name, view)
        user = data.draw(st.sampled_from([OWNER, OWNER, STRANGER, CUSTOMER]), label="user")
        outcome = submit(world, view, state, user)
        if user == CUSTOMER:
            assert_no_leak(outcome)

    fuzz(engine, private_metadata, sqlite=100, postgres=50)


# ---------------------------------------------------------------------------
# Buttons and menus

MENUS = {Action.STRATEGY_MENU, Action.OBJECTIVE_MENU, Action.ITEM_MENU, Action.SWOT_MENU,
         Action.STAKEHOLDER_MENU, Action.TEMPLATE_MENU}
# Where the app puts each action (a view name in World.surfaces, or "dm" / "digest").
SURFACES = {
    Action.NEW_PLAN: ["home"],
    Action.OPEN_PLAN: ["home", "dm", "digest"],
    Action.EDIT_PLAN: ["plan"], Action.COPY_PLAN: ["plan"],
    Action.PREVIOUS_PAGE: ["plan", "swot"], Action.NEXT_PAGE: ["plan", "swot"],
    Action.SHOW_SWOT: ["plan"], Action.BACK_TO_PLAN: ["swot"],
    Action.ADD_STRATEGY: ["plan"], Action.ADD_OBJECTIVE: ["plan"], Action.ADD_ACTION_ITEM: ["plan"],
    Action.ADD_SWOT: ["plan", "swot"],
    Action.STRATEGY_MENU: ["plan"], Action.OBJECTIVE_MENU: ["plan"], Action.ITEM_MENU: ["plan"],
    Action.SWOT_MENU: ["swot"],
    Action.MARK_DONE: ["home", "dm"],
    Action.POST_DIGEST: ["plan"], Action.LOG_QBR: ["plan", "digest"], Action.PUBLISH_CANVAS: ["plan"],
    Action.DIGEST_SETTINGS: ["plan"], Action.REMOVE_SUBSCRIPTION: ["subscriptions"],
    Action.REMINDER_DONE: ["dm"], Action.SNOOZE_DAY: ["dm"], Action.SNOOZE_WEEK: ["dm"],
    Action.MUTE_SUMMARY: ["home"], Action.UNMUTE_SUMMARY: ["home"],
    Action.REMINDER_LEAD: ["plan_edit"],
    Action.ADD_STAKEHOLDER: ["plan"], Action.STAKEHOLDER_MENU: ["plan"],
    Action.SAVE_AS_TEMPLATE: ["plan"], Action.TEMPLATE_MENU: ["templates"],
    Action.UPDATE_PROGRESS: ["dm"],
}


def test_every_action_is_fuzzed():
    assert set(SURFACES) == set(Action)


def menu_values(world: World) -> st.SearchStrategy[str]:
    ids = sorted({i for values in world.ids.values() for i in values})
    return st.one_of(
        st.builds(lambda verb, record: f"{verb}:{record}",
                  st.sampled_from([v.value for v in Verb] + ["explode", "", "EDIT", "edit "]),
                  st.one_of(st.sampled_from(ids), int_texts(ids))),
        texts)


def real_values(world: World, action: Action) -> list[str]:
    """The values the app itself gave `action` on its surfaces (buttons, menu options)."""
    found: set[str] = set()
    surfaces = list(world.surfaces.values()) + list(world.forms.values())
    for surface in surfaces:
        for block in surface.get("blocks") or []:
            for element in [block.get("accessory"), block.get("element"), *(block.get("elements") or [])]:
                if not isinstance(element, dict) or element.get("action_id") != action:
                    continue
                if isinstance(element.get("value"), str):
                    found.add(element["value"])
                found.update(o["value"] for o in _all_options(element))
    if action in (Action.MARK_DONE, Action.REMINDER_DONE, Action.SNOOZE_DAY, Action.SNOOZE_WEEK):
        found.update(str(i) for i in world.ids["action_item"])
    if action == Action.UPDATE_PROGRESS:
        found.update(str(i) for i in world.ids["objective"])
    return sorted(found)


def action_entries(world: World, action: Action) -> st.SearchStrategy[dict[str, Any]]:
    ids = sorted({i for values in world.ids.values() for i in values})
    real = real_values(world, action)
    odd = st.one_of(int_texts(ids), texts, st.builds(lambda a, b: f"{a}:{b}", int_texts(ids), int_texts(ids)))
    values = mix((1, st.sampled_from(real)), (1, odd)) if real else odd
    kind = "overflow" if action in MENUS else "static_select" if action == Action.REMINDER_LEAD else "button"
    chosen = mix(
        (4, st.builds(lambda v: {"text": {"type": "plain_text", "text": "?"}, "value": v},
                      mix((1, st.sampled_from(real)), (1, menu_values(world))) if action in MENUS else values)),
        (1, st.one_of(st.none(), st.just({}), junk)))
    return st.builds(
        lambda value, option, with_value, with_option: signing.action(
            action, type=kind, **({"value": value} if with_value else {}),
            **({"selected_option": option} if with_option else {})),
        values, chosen,
        st.booleans() if kind != "button" else st.just(True),
        st.just(True) if kind != "button" else st.booleans())


def click(world: World, entry: dict[str, Any], where: str, user: str, meta: str | None) -> tuple[Outcome, dict]:
    """Send one block_actions from the surface `where`; returns what came of it and how
    to recognise an answer to it."""
    api = world.api
    trigger_id = api.trigger_id()
    if where in ("dm", "digest", "templates"):
        channel = {"dm": dm_of(user), "digest": SHARED, "templates": "C1"}[where]
        message = world.surfaces[where] if where != "dm" else {
            "type": "message", "ts": api._ts(), "user": "UBOT", "text": "Reminder", "blocks": []}
        response_url = api.response_url(channel=channel)
        payload = signing.block_actions([entry], user=user, message=message, channel=channel,
                                        response_url=response_url, trigger_id=trigger_id)
        addressed = dict(trigger_id=trigger_id, response_url=response_url, channel=channel)
    else:
        view = dict(world.surfaces[where])
        if meta is not None:
            view["private_metadata"] = meta
        payload = signing.block_actions([entry], user=user, view={**view, "state": {"values": {}}},
                                        trigger_id=trigger_id)
        addressed = dict(trigger_id=trigger_id, view_id=view["id"])
    return send(world, payload, interactive=True), addressed


def lead_saved(world: World, entry: dict[str, Any], user: str, meta: str | None) -> bool:
    """Whether a "Reminders" choice was saved (the select itself shows it: no answer due)."""
    view = world.surfaces["plan_edit"]
    plan_id = metadata({"private_metadata": meta if meta is not None else view["private_metadata"]}).get("plan")
    option = entry.get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    if user != OWNER or type(plan_id) is not int or not isinstance(value, str):
        return False
    with world.session_factory() as session:
        plan = session.get(AccountPlan, plan_id) if 0 < plan_id < 2**31 else None
        return plan is not None and str(plan.reminder_lead_days) == value.strip()


def act(world: World, data, user: str) -> Outcome:
    action = data.draw(st.sampled_from(sorted(SURFACES)), label="action")
    where = data.draw(st.sampled_from(SURFACES[action]), label="surface")
    entry = data.draw(action_entries(world, action), label="action entry")
    meta = None
    if where not in ("dm", "digest", "templates") and data.draw(st.booleans(), label="odd metadata"):
        meta = data.draw(metadata_for(world), label="private_metadata")
    outcome, addressed = click(world, entry, where, user, meta)
    tally(f"{action}: {outcome.status} {what_happened(outcome)}")
    if check_http_and_logs(outcome):
        if not answers(outcome, user, **addressed):
            assert action == Action.REMINDER_LEAD and lead_saved(world, entry, user, meta), (
                f"no answer to {user} for {action} from {where}: {outcome.calls}")
    return outcome


def test_any_button_or_menu_value_is_answered(world, engine):
    def button_or_menu(data):
        user = data.draw(st.sampled_from([OWNER, OWNER, MEMBER, STRANGER, CUSTOMER]), label="user")
        outcome = act(world, data, user)
        if user == CUSTOMER:
            assert_no_leak(outcome)

    fuzz(engine, button_or_menu, sqlite=160, postgres=40)


# ---------------------------------------------------------------------------
# A person from another organisation


def test_nothing_reaches_a_customer_whatever_they_send(world, engine):
    def customer(data):
        kind = data.draw(st.sampled_from(["command", "form", "metadata", "action"]), label="kind")
        if kind == "command":
            outcome = slash_command(world, data.draw(command_texts(), label="text"), CUSTOMER,
                                    data.draw(st.sampled_from([SHARED, "C1", dm_of(CUSTOMER)]), label="channel"))
        elif kind in ("form", "metadata"):
            name = data.draw(st.sampled_from(sorted(world.forms)), label="form")
            view = world.forms[name]
            if kind == "metadata":
                view = {**view, "private_metadata": data.draw(metadata_for(world), label="private_metadata")}
                state = valid_state(name, view)
            else:
                state = data.draw(form_states(view, valid_state(name, view)["values"]), label="state")
            outcome = submit(world, view, state, CUSTOMER)
        else:
            outcome = act(world, data, CUSTOMER)
        assert_no_leak(outcome)

    fuzz(engine, customer, sqlite=80, postgres=60)


# ---------------------------------------------------------------------------
# Regressions: each a bug the properties above found (a traceback in the log and
# "Sorry, something went wrong" instead of the reason), sent once more as it was found.

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def field_errors(outcome: Outcome) -> dict[str, str]:
    assert check_http_and_logs(outcome)
    assert outcome.json["response_action"] == "errors", outcome.body[:300]
    return outcome.json["errors"]


@sqlite_only
def test_odd_values_in_forms_are_field_errors(world):
    plan_new, objective = world.forms["plan_new"], world.forms["objective_add"]
    # blocks/forms.element_value: ValueError from date.fromisoformat
    state = valid_state("plan_new", plan_new)
    state["values"]["start_date"]["value"]["selected_date"] = "2025-02-30"
    assert field_errors(submit(world, plan_new, state, OWNER)) == {"start_date": "required"}
    # blocks/forms.form_values: a text input's state in the date picker's block reached
    # storage as a str (TypeError comparing it with the plan's dates)
    item = world.forms["item_edit"]
    state = valid_state("item_edit", item)
    state["values"]["due_date"]["value"] = {"type": "plain_text_input", "value": "0002-01-01"}
    assert submit(world, item, state, OWNER).body == ""  # saved, without a due date
    # objectives.save: int() of a strategy option value that is no number
    state = valid_state("objective_add", objective)
    state["values"]["strategy"]["value"]["selected_option"] = {"value": "\xad"}
    assert "strategy" in field_errors(submit(world, objective, state, OWNER))


@sqlite_only
def test_odd_private_metadata_is_answered_with_the_reason(world):
    # plan_forms.save_copy read meta["plan"]: KeyError
    copy = {**world.forms["copy"], "private_metadata": ""}
    assert "No plan" in field_errors(submit(world, copy, valid_state("copy", copy), OWNER))["name"]
    # storage.plans.load_plan_tree bound an id no column holds (SQLite: OverflowError)
    copy = {**world.forms["copy"], "private_metadata": '{"plan": 99999999999999999999}'}
    assert "No plan" in field_errors(submit(world, copy, valid_state("copy", copy), OWNER))["name"]
    # plan_forms.on_delete_submitted: `[] in DELETERS`, unhashable
    delete = {**world.forms["delete"], "private_metadata": '{"entity": [], "id": 1}'}
    outcome = submit(world, delete, valid_state("delete", delete), OWNER)
    assert outcome.json["response_action"] == "update" and "gone already" in json.dumps(outcome.json)
    # plan_forms.on_delete_submitted deleted, closed the form and said nothing when the
    # confirmation named no plan view to redraw
    meta = {**json.loads(world.forms["delete"]["private_metadata"]), "parent": None}
    delete = {**world.forms["delete"], "private_metadata": json.dumps(meta)}
    outcome = submit(world, delete, valid_state("delete", delete), OWNER)
    assert outcome.json["response_action"] == "update" and "Deleted" in json.dumps(outcome.json)
    # plan_view drew page "x" (TypeError) after a menu choice on a view saying so
    entry = signing.action(Action.ITEM_MENU, type="overflow",
                           selected_option={"value": f"up:{world.ids['action_item'][1]}"})
    outcome, addressed = click(world, entry, "plan", OWNER, '{"plan": 1, "page": "x"}')
    assert check_http_and_logs(outcome)
    assert [c.method for c in answers(outcome, OWNER, **addressed)] == ["views.update"]


@sqlite_only
def test_a_menu_choice_that_is_no_option_is_refused_politely(world):
    # menus.handle_menu and reminders.on_lead_chosen: .get on a selected_option that
    # is no object (AttributeError)
    for action, where, option in ((Action.ITEM_MENU, "plan", ["up:1"]), (Action.REMINDER_LEAD, "plan_edit", True)):
        entry = signing.action(action, type="overflow", selected_option=option)
        outcome, addressed = click(world, entry, where, OWNER, None)
        assert check_http_and_logs(outcome)
        [answer] = answers(outcome, OWNER, **addressed)
        assert answer.method == "views.push" and answer.params["view"]["callback_id"] == "notice", action
