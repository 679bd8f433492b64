"""Two `accountplan serve` instances on one PostgreSQL under faults (issue 10): mixed
signed Slack traffic to both, one instance SIGKILLed and restarted mid-load, every
database connection terminated once; then what was accepted, refused, lost and sent.

    python bench/bench_faults.py [--rate 10] [--duration 30] [--report FILE]
                                 [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Setup. A throwaway database (created on the --postgres-url server, dropped at the end)
gets the schema and, through `accountplan import`, 4 plans (owner U0OWNER, team
U0MEMBER, U0EDITA, U0EDITB) holding 100 open items for U0MEMBER (for "Mark done"),
40 items for 10 people whose reminders fall due during the run ("live") and 40 for 10
others due in 10 days ("future"). One `accountplan tick` makes their reminder rows.
The live rows are then snoozed until just before instance A's second scheduler pass
(a pass runs at start and every 30 s), so that A is sending them when it is killed.
Instances A and B (`accountplan serve`, scheduler on, same SIGNING_SECRET and
DATABASE_URL, SLACK_API_URL at one FakeSlackAPI in this process, SLACK_BOT_TOKEN
xoxb-test) listen on two ports. The fake API takes --dm-latency to answer
chat.postMessage (so that a kill finds DMs in flight, which Slack then posts without
the sender hearing of it), and its conversations.history answers from the messages
posted, as Slack does: that is how the app looks for a DM whose outcome it lost.

Load, --rate requests/s in all, each request to the next instance in turn (also while
A is down: Slack would retry those): `/accountplan show|list|mine`; strategy form
submissions (callback strategy_form, a unique title each); rounds of three people
opening `/accountplan edit` of the same plan at once and submitting it at once with
their own description (expected_version races); rounds of three "Mark done" clicks
on the same item at once. Faults: every database connection terminated once
(pg_terminate_backend) at 30 % of --duration; A SIGKILLed while it sends the live
reminders (at 75 % at the latest) and restarted --restart-after seconds later. The
load runs at least 5 s past A's return.

Afterwards: two `accountplan tick` at once (now), two at once as of now + 11 min (the
10-minute lease of rows the killed pass held has run out) and two at once as of the
future reminders' time. Then every check is made against the database and the calls
the fake API recorded, and the report (Markdown) is printed and written to --report.
Exit code 0 when every check passes, 1 when one fails. About 80 s with the defaults.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import itertools
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import func, make_url, select, update  # noqa: E402

from blocks import modals  # noqa: E402
from blocks.forms import encode_metadata  # noqa: E402
from blocks.ids import Action, Callback  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, make_session_factory, transaction  # noqa: E402
from storage.models import (  # noqa: E402
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    ItemReminder,
    ItemStatus,
    Notification,
    NotificationKind,
    Strategy,
)
from storage.reminder_calendar import Cadence, at_nine, zone  # noqa: E402
from storage.reminders import DEFAULT_LEAD_DAYS  # noqa: E402
from tests.bot import signing  # noqa: E402
from tests.bot.driver import fill  # noqa: E402
from tests.bot.slack_api import FakeSlackAPI  # noqa: E402

TEAM = signing.TEAM_ID
CHANNEL = signing.CHANNEL_ID
OWNER, MEMBER = "U0OWNER", "U0MEMBER"
EDITORS = (OWNER, "U0EDITA", "U0EDITB")  # the three people of an edit round
LIVE_PEOPLE = [f"U0LIVE{n:02d}" for n in range(10)]
FUTURE_PEOPLE = [f"U0FUT{n:02d}" for n in range(10)]
PLANS, CLICK_ITEMS, LIVE_ITEMS, FUTURE_ITEMS = 4, 25, 10, 10  # items per plan
TOKEN = "xoxb-test"
ACK_LIMIT = 3.0  # seconds Slack waits for an ack
HTTP_TIMEOUT = 15.0
LEASE_PLUS = dt.timedelta(minutes=11)  # bot/scheduler/sending.py LEASE is 10 minutes
CONFLICT = "Someone else changed"
KINDS = ("cmd_show", "cmd_list", "cmd_mine", "cmd_edit", "strategy_add", "plan_edit", "mark_done")


# ---------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """One `accountplan serve` process (restartable on the same port)."""

    def __init__(self, name: str, env: dict[str, str], logdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.logdir = logdir
        self.process: subprocess.Popen | None = None
        self.generation = 0
        self.logs: list[Path] = []

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait for GET /health; returns when it answered (monotonic)."""
        self.generation += 1
        log = self.logdir / f"serve-{self.name}-{self.generation}.log"
        self.logs.append(log)
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=self.env,
                                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"instance {self.name} exited at start:\n{log.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"instance {self.name} did not answer /health in {timeout:.0f} s")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def run_ticks(env: dict[str, str], now: dt.datetime | None, copies: int = 2,
              timeout: float = 240.0) -> list[str]:
    """`copies` `accountplan tick [--now]` processes started at once; their outputs."""
    command = [sys.executable, "-m", "bot.cli", "tick"]
    if now is not None:
        command += ["--now", now.isoformat()]
    processes = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True)
                 for _ in range(copies)]
    outputs = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
        lines = [line for line in out.decode("utf-8", "replace").splitlines() if line.strip()]
        summary = [line for line in lines if line.startswith("pass at")] or lines[-3:]
        outputs.append(f"exit {process.returncode}: " + " | ".join(summary))
    return outputs


# ---------------------------------------------------------------------------
# What the fake Web API saw, indexed as it arrives


class CallIndex:
    """Follows the fake API's calls (append-only) on a thread: views.open by trigger id,
    response_url posts by URL, and DMs by their metadata key."""

    def __init__(self, api: FakeSlackAPI) -> None:
        self.api = api
        self.seen = 0
        self.by_trigger: dict[str, Any] = {}
        self.by_url: dict[str, list[Any]] = collections.defaultdict(list)
        self.dm_keys: dict[str, list[Any]] = collections.defaultdict(list)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="call-index", daemon=True)

    def start(self) -> CallIndex:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(0.03):
            self.scan()

    def scan(self) -> None:
        with self.api._lock:  # noqa: SLF001 - the fake's record, read without copying it all
            new = self.api._calls[self.seen:]  # noqa: SLF001
            self.seen += len(new)
        with self.lock:
            for call in new:
                if call.method in ("views.open", "views.push"):
                    self.by_trigger.setdefault(call.params.get("trigger_id"), call)
                elif call.method == "response_url":
                    self.by_url[call.url].append(call)
                elif call.method == "chat.postMessage" and call.ok:
                    meta = call.params.get("metadata") or {}
                    key = (meta.get("event_payload") or {}).get("key") if isinstance(meta, dict) else None
                    if key:
                        self.dm_keys[key].append(call)

    def wait_trigger(self, trigger: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                call = self.by_trigger.get(trigger)
            if call is not None:
                return call
            time.sleep(0.05)
        return None

    def reminder_dms_since(self, since: float) -> int:
        with self.lock:
            return sum(1 for key, calls in self.dm_keys.items() if key.startswith("r")
                       for c in calls if c.at >= since)


def history_like_slack(api: FakeSlackAPI):
    """conversations.history answered from what was posted (newest first, with metadata),
    so the app's look-up of a DM whose outcome it lost works as with Slack."""

    def answer(call) -> dict[str, Any]:
        channel = call.params.get("channel")
        oldest = float(call.params.get("oldest") or 0)
        limit = int(call.params.get("limit") or 100)
        with api._lock:  # noqa: SLF001
            found = [dict(m) for (ch, ts), m in api.messages.items() if ch == channel and float(ts) >= oldest]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}

    return answer


class SlowPost:
    """chat.postMessage answered after `latency` seconds, then posted as the fake API
    posts it; counts the posts in flight, so that the kill can wait for some."""

    def __init__(self, api: FakeSlackAPI, latency: float) -> None:
        self.api = api
        self.latency = latency
        self.in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, call) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
        try:
            time.sleep(self.latency)
            return self.api._chat_postMessage(call.params, call)  # noqa: SLF001
        finally:
            with self.lock:
                self.in_flight -= 1


def settle(api: FakeSlackAPI, quiet: float = 2.0, limit: float = 45.0) -> None:
    """Wait until the app stops calling the Web API (bounded)."""
    deadline = time.monotonic() + limit
    seen = -1
    while time.monotonic() < deadline:
        count = len(api._calls)  # noqa: SLF001
        if count == seen:
            return
        seen = count
        time.sleep(quiet)


# ---------------------------------------------------------------------------
# Requests


@dataclass
class Result:
    kind: str
    instance: str
    started: float
    elapsed: float | None
    status: int  # 0: no HTTP answer (error says why)
    body: str = ""
    error: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def form_errors(self) -> dict[str, str] | None:
        data = self.json
        if isinstance(data, dict) and data.get("response_action") == "errors":
            return data.get("errors") or {}
        return None


class Load:
    def __init__(self, api: FakeSlackAPI, index: CallIndex, instances: list[Instance]) -> None:
        self.api = api
        self.index = index
        self.instances = instances
        self.turn = itertools.count()
        self.results: list[Result] = []
        self.lock = threading.Lock()
        self.measuring = False

    def next_instance(self) -> Instance:
        return self.instances[next(self.turn) % len(self.instances)]

    def post(self, kind: str, body: str, content_type: str, info: dict[str, Any] | None = None,
             instance: Instance | None = None) -> Result:
        instance = instance or self.next_instance()
        headers = signing.signed_headers(body, content_type)
        started = time.monotonic()
        result = Result(kind, instance.name, started, None, 0, info=info or {})
        connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=HTTP_TIMEOUT)
        try:
            connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
            response = connection.getresponse()
            result.body = response.read().decode("utf-8", "replace")
            result.status = response.status
            result.elapsed = time.monotonic() - started
        except TimeoutError:
            result.error = "timeout"
        except (OSError, http.client.HTTPException) as error:
            result.error = type(error).__name__
        finally:
            connection.close()
        if self.measuring:
            with self.lock:
                self.results.append(result)
        return result

    def command(self, kind: str, text: str, *, user: str = MEMBER, info: dict | None = None) -> Result:
        trigger, url = self.api.trigger_id(), self.api.response_url(channel=CHANNEL)
        fields = signing.slash_command("/accountplan", text, user=user, team=TEAM, channel=CHANNEL,
                                       response_url=url, trigger_id=trigger)
        return self.post(kind, signing.encode_form(fields), signing.FORM,
                         {"trigger_id": trigger, "response_url": url, **(info or {})})

    def submit(self, kind: str, view: dict[str, Any], values: dict[str, Any], *, user: str,
               info: dict[str, Any]) -> Result:
        submitted = {**view, "state": fill(view, values)}
        payload = signing.view_submission(submitted, user=user, team=TEAM, trigger_id=self.api.trigger_id())
        return self.post(kind, signing.encode_interactive(payload), signing.FORM, info)

    def click_done(self, item_id: int, *, user: str = MEMBER) -> Result:
        trigger, url = self.api.trigger_id(), self.api.response_url(channel=CHANNEL)
        entry = signing.action(Action.MARK_DONE, block_id=f"item_{item_id}", value=str(item_id),
                               text="Mark done")
        message = {"type": "message", "text": "Your open action items", "blocks": []}
        payload = signing.block_actions([entry], user=user, team=TEAM, message=message, channel=CHANNEL,
                                        is_ephemeral=True, response_url=url, trigger_id=trigger)
        return self.post("mark_done", signing.encode_interactive(payload), signing.FORM,
                         {"trigger_id": trigger, "response_url": url, "item": item_id})


class Workload:
    """The request mix; each job is run on the load's pool."""

    CYCLE = [("strategy", 1), ("show", 1), ("mine", 1), ("strategy", 1), ("plans_list", 1),
             ("edit_round", 6), ("strategy", 1), ("mine", 1), ("done_round", 3), ("show", 1),
             ("strategy", 1)]

    def __init__(self, load: Load, run_id: str, plan_ids: list[int], click_items: list[int]) -> None:
        self.load = load
        self.run_id = run_id
        self.plan_ids = plan_ids
        self.click_items = click_items
        self.counters = collections.Counter()
        self.lock = threading.Lock()
        self.rounds: list[dict[str, Any]] = []

    def _next(self, what: str) -> int:
        with self.lock:
            self.counters[what] += 1
            return self.counters[what] - 1

    def run(self, job: str) -> None:
        getattr(self, job)()

    def show(self) -> None:
        n = self._next("show")
        self.load.command("cmd_show", f"show {self.plan_ids[n % len(self.plan_ids)]}")

    def plans_list(self) -> None:
        self.load.command("cmd_list", "list")

    def mine(self) -> None:
        self.load.command("cmd_mine", "mine")

    def strategy(self) -> None:
        n = self._next("strategy")
        plan = self.plan_ids[n % len(self.plan_ids)]
        title = f"bench-{self.run_id}-s{n:05d}"
        view = modals.strategy_modal(Callback.STRATEGY_FORM, metadata=encode_metadata(plan=plan))
        view = {**view, "id": f"VSTRAT{n:06d}", "hash": f"{int(time.time())}.{n:08x}", "team_id": TEAM}
        self.load.submit("strategy_add", view, {"Strategy": title, "Description": "added under faults"},
                         user=EDITORS[n % len(EDITORS)], info={"title": title, "plan": plan})

    def edit_round(self) -> None:
        """Three people open the same plan's edit form at once, then all save at once."""
        r = self._next("edit_round")
        plan = self.plan_ids[r % len(self.plan_ids)]
        record = {"round": r, "plan": plan, "opened": 0, "acked_no_form": 0}

        def open_form(k: int):
            result = self.load.command("cmd_edit", f"edit {plan}", user=EDITORS[k], info={"plan": plan})
            if result.status != 200:
                return None
            call = self.load.index.wait_trigger(result.info["trigger_id"], timeout=6.0)
            if call is not None and call.ok and call.view:
                return k, call.view
            with self.lock:
                record["acked_no_form"] += 1
            return None

        def save(opened) -> None:
            k, view = opened
            meta = json.loads(view.get("private_metadata") or "{}")
            token = f"bench-{self.run_id}-e{r:04d}-{k}"
            self.load.submit("plan_edit", view, {"Description": token}, user=EDITORS[k],
                             info={"plan": plan, "version": meta.get("version"), "token": token})

        with ThreadPoolExecutor(len(EDITORS)) as pool:
            forms = [f for f in pool.map(open_form, range(len(EDITORS))) if f]
            record["opened"] = len(forms)
            list(pool.map(save, forms))
        with self.lock:
            self.rounds.append(record)

    def done_round(self) -> None:
        """Three "Mark done" clicks on one item at once."""
        r = self._next("done_round")
        if r >= len(self.click_items):
            return
        item = self.click_items[r]
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda _k: self.load.click_done(item), range(3)))


# ---------------------------------------------------------------------------
# Seeding


def plan_file(today: dt.date, live_due: dt.date, future_due: dt.date) -> dict[str, Any]:
    plans = []
    for p in range(PLANS):
        click = [{"title": f"Click item {p}-{i}", "assignee": MEMBER,
                  "due_date": (today + dt.timedelta(days=60 + i)).isoformat(), "status": "open"}
                 for i in range(CLICK_ITEMS)]
        live = [{"title": f"Live reminder {p}-{i}", "assignee": LIVE_PEOPLE[(p * LIVE_ITEMS + i) % 10],
                 "due_date": live_due.isoformat(), "status": "open"} for i in range(LIVE_ITEMS)]
        future = [{"title": f"Future reminder {p}-{i}", "assignee": FUTURE_PEOPLE[(p * FUTURE_ITEMS + i) % 10],
                   "due_date": future_due.isoformat(), "status": "open"} for i in range(FUTURE_ITEMS)]
        plans.append({
            "name": f"Fault bench plan {p}",
            "account": f"Fault bench account {p}",
            "start_date": (today - dt.timedelta(days=30)).isoformat(),
            "end_date": (today + dt.timedelta(days=150)).isoformat(),
            "status": "active",
            "owner": OWNER,
            "team": [MEMBER, EDITORS[1], EDITORS[2]],
            "strategies": [
                {"title": "Close the open items", "objectives": [
                    {"title": "Everything marked done", "action_items": click}]},
                {"title": "Keep people reminded", "objectives": [
                    {"title": "Reminders during the run", "action_items": live},
                    {"title": "Reminders in ten days", "action_items": future}]},
            ],
            "swot": [{"kind": "strength", "text": "A team that answers"},
                     {"kind": "threat", "text": "Instances that die"}],
        })
    return {"plans": plans}


def cli(env: dict[str, str], *args: str, timeout: float = 180.0) -> str:
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"accountplan {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def terminate_connections(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return sum(1 for (ok,) in rows if ok)


# ---------------------------------------------------------------------------
# Numbers


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The run


def main() -> int:
    intro, _, rest = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=" ".join(intro.split()),
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=rest)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second, both instances together")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (it runs at least 5 s "
                        "past the killed instance's return)")
    parser.add_argument("--restart-after", type=float, default=3.0, help="seconds between SIGKILL and restart")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL")
                        or "postgresql://postgres@127.0.0.1:5432/test",
                        help="server to create the throwaway database on (default: %(default)s)")
    parser.add_argument("--dm-latency", type=float, default=0.3, metavar="SECONDS",
                        help="how long the fake Web API takes to answer chat.postMessage (default %(default)s)")
    parser.add_argument("--report", metavar="FILE", help="also write the Markdown report here")
    parser.add_argument("--logs", metavar="DIR", help="keep the instances' logs here (default: discarded)")
    args = parser.parse_args()
    if args.rate <= 0 or not 5 <= args.duration <= 300:
        parser.error("--rate must be > 0 and --duration between 5 and 300")

    admin_url = make_url(args.postgres_url).set(drivername="postgresql")
    if admin_url.host not in ("127.0.0.1", "localhost", "::1", None):
        parser.error("this bench only talks to a PostgreSQL server on this machine")
    run_id = f"{os.getpid()}{int(time.time()) % 100000}"
    db_name = f"bench_faults_{run_id}"
    db_url = admin_url.set(database=db_name)
    db_conninfo = db_url.render_as_string(hide_password=False)
    admin_conninfo = admin_url.render_as_string(hide_password=False)

    with psycopg.connect(admin_conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{db_name}"')
    tmp = tempfile.TemporaryDirectory(prefix="bench_faults_")
    logdir = Path(args.logs) if args.logs else Path(tmp.name)
    logdir.mkdir(parents=True, exist_ok=True)
    api = FakeSlackAPI().start()
    api.on("conversations.history", history_like_slack(api))
    # Slack takes a while to post: a DM whose sender is killed meanwhile is still
    # posted, and its sender never hears so (the case the look-up is for).
    posting = SlowPost(api, args.dm_latency)
    api.on("chat.postMessage", posting)
    # A sender killed mid-call leaves the fake a closed socket to answer: not an error.
    api._server.handle_error = lambda *_args: None  # noqa: SLF001
    index = CallIndex(api).start()
    instances: list[Instance] = []
    engine = None
    try:
        engine = make_engine(db_conninfo)
        migrate.upgrade(engine)
        report, passed = run(args, run_id, db_conninfo, engine, api, index, instances, logdir, posting)
    finally:
        for instance in instances:
            instance.stop()
        index.stop.set()
        api.stop()
        if engine is not None:
            engine.dispose()
        with psycopg.connect(admin_conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        tmp.cleanup()
    print(report)
    if args.report:
        Path(args.report).write_text(report + "\n", encoding="utf-8")
    return 0 if passed else 1


def run(args, run_id: str, db_url: str, engine, api: FakeSlackAPI, index: CallIndex,
        instances: list[Instance], logdir: Path, posting: SlowPost) -> tuple[str, bool]:
    session_factory = make_session_factory(engine)
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": signing.SIGNING_SECRET,
           "SLACK_API_URL": api.url, "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1",
           "ACCOUNTPLAN_TIMEZONE": "UTC"}
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("SLACK_CLIENT_ID", None)
    env.pop("SLACK_CLIENT_SECRET", None)
    wall0 = dt.datetime.now(dt.timezone.utc)
    today = wall0.date()
    utc = zone("UTC")
    future_due = today + dt.timedelta(days=10)
    future_at = at_nine(Cadence(future_due, DEFAULT_LEAD_DAYS, utc).soon_day, utc) + dt.timedelta(hours=1)
    live_due = today + dt.timedelta(days=40)
    notes: list[str] = []
    timeline: list[tuple[float, str]] = []

    # --- seed
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(plan_file(today, live_due, future_due), handle)
        path = handle.name
    try:
        cli(env, "import", path, "--team", TEAM)
    finally:
        os.unlink(path)
    seed_tick = run_ticks(env, None, copies=1)
    with session_factory() as session:
        plan_ids = list(session.scalars(select(AccountPlan.id).order_by(AccountPlan.id)))
        initial_versions = {i: ver for i, ver in session.execute(select(AccountPlan.id, AccountPlan.version))}
        items = session.execute(select(ActionItem.id, ActionItem.title)).all()
        # "Click item {plan}-{n}": clicks go round the plans, so that every plan sees
        # clicks and edits together.
        click_items = [i for _, i in sorted(
            (tuple(int(x) for x in t.split()[-1].split("-"))[::-1], i)
            for i, t in items if t.startswith("Click item"))]
        live_items = {i for i, t in items if t.startswith("Live reminder")}
        future_items = {i for i, t in items if t.startswith("Future reminder")}
        rows = {i: r for i, r in session.execute(select(ItemReminder.action_item_id, ItemReminder.id))}
    live_rows = {rows[i] for i in live_items if i in rows}
    future_rows = {rows[i] for i in future_items if i in rows}
    if len(live_rows) != len(live_items) or len(future_rows) != len(future_items):
        notes.append(f"seeding: only {len(live_rows)}/{len(live_items)} live and "
                     f"{len(future_rows)}/{len(future_items)} future reminder rows after the first tick")

    # --- instances
    a = Instance("A", env, logdir)
    b = Instance("B", env, logdir)
    instances += [a, b]
    t_start = time.monotonic()
    a_ready = a.start()
    # A's second scheduler pass: ~30 s after its first (which runs as it starts). The
    # live reminders fall due just before it; B starts later, so A takes them first.
    due_mono = a_ready + 28.0
    due_wall = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=due_mono - time.monotonic())
    with transaction(session_factory) as session:
        session.execute(update(ItemReminder).where(ItemReminder.id.in_(sorted(live_rows))).values(
            snoozed_until=due_wall, next_run_at=due_wall, needs_schedule=False, locked_until=None))
    time.sleep(max(0.0, a_ready + 5.0 - time.monotonic()))
    b.start()

    load = Load(api, index, [a, b])
    work = Workload(load, run_id, plan_ids, click_items)
    for text in ("list", "mine", f"show {plan_ids[0]}"):  # warm-up, not measured
        for _ in range(2):
            load.command("warmup", text)

    # The kill should land mid-load, while A sends the live reminders (~a_ready + 30).
    load_start = max(time.monotonic(), a_ready + 30.0 - args.duration / 2)
    time.sleep(max(0.0, load_start - time.monotonic()))
    load_start = time.monotonic()
    load.measuring = True
    state: dict[str, Any] = {"kill": None, "ready_again": None, "db_kill": None, "terminated": 0,
                             "kill_reason": ""}

    def at(t: float) -> float:
        return t - load_start

    def faults() -> None:
        # (b) every database connection, once
        time.sleep(max(0.0, load_start + 0.3 * args.duration - time.monotonic()))
        state["db_kill"] = time.monotonic()
        try:
            state["terminated"] = terminate_connections(db_url)
        except psycopg.Error as error:
            notes.append(f"pg_terminate_backend failed: {error}")
        timeline.append((at(state["db_kill"]), f"terminated {state['terminated']} database connections"))
        # (a) SIGKILL A while it sends the live reminders (once some went out, with DMs
        # in flight), at 75 % of the run at the latest
        latest = load_start + 0.75 * args.duration
        started_sending = None
        while time.monotonic() < latest:
            now = time.monotonic()
            if started_sending is None and now >= due_mono and index.reminder_dms_since(due_mono - 1) >= 1:
                started_sending = now
            if started_sending is not None and (posting.in_flight >= 2 or now > started_sending + 3):
                state["kill_reason"] = (f"{index.reminder_dms_since(due_mono - 1)} live reminder DMs "
                                        f"had gone out, {posting.in_flight} DMs in flight")
                break
            time.sleep(0.01)
        else:
            state["kill_reason"] = "no live reminder DM seen yet: killed at 75 % of the run"
        state["kill"] = time.monotonic()
        a.kill()
        timeline.append((at(state["kill"]), f"SIGKILL instance A ({state['kill_reason']})"))
        time.sleep(args.restart_after)
        timeline.append((at(time.monotonic()), "restarting A"))
        try:
            state["ready_again"] = a.start()
        except SystemExit as error:
            notes.append(f"instance A did not come back: {error}")
            state["ready_again"] = time.monotonic()
            return
        timeline.append((at(state["ready_again"]), "A answers /health again"))

    fault_thread = threading.Thread(target=faults, name="faults", daemon=True)
    fault_thread.start()
    timeline.append((0.0, f"load starts at {args.rate:g} requests/s (instances ready "
                          f"{at(a_ready):+.1f} s and later; live reminders due at {at(due_mono):+.1f} s)"))

    pool = ThreadPoolExecutor(32, thread_name_prefix="load")
    hard_stop = load_start + args.duration + 90
    next_at = load_start
    jobs = 0
    for n in itertools.count():
        now = time.monotonic()
        done_enough = now >= load_start + args.duration and state["ready_again"] is not None \
            and now >= state["ready_again"] + 5.0
        if done_enough or now >= hard_stop or n > 100_000:
            break
        job, cost = Workload.CYCLE[n % len(Workload.CYCLE)]
        time.sleep(max(0.0, next_at - time.monotonic()))
        pool.submit(work.run, job)
        jobs += 1
        next_at += cost / args.rate
    load_end = time.monotonic()
    timeline.append((at(load_end), f"load stops ({jobs} jobs started)"))
    pool.shutdown(wait=True)
    fault_thread.join(timeout=120)
    load.measuring = False
    settle(api)
    index.scan()
    timeline.append((at(time.monotonic()), "Web API calls settled"))

    # --- scheduler sweeps: both "instances" at once, as cron on two machines would
    with session_factory() as session:
        now_db = dt.datetime.now(dt.timezone.utc)
        held = session.scalar(select(func.count()).select_from(ItemReminder).where(
            ItemReminder.locked_until > now_db + dt.timedelta(minutes=2)))
        attempted_rows = set(session.scalars(select(ItemReminder.id).where(
            ItemReminder.attempted_at.is_not(None))))
        attempted = len(attempted_rows)
        held_notes = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.locked_until > now_db + dt.timedelta(minutes=2)))
        live_sent_in_run = session.scalar(select(func.count()).select_from(ItemReminder).where(
            ItemReminder.id.in_(sorted(live_rows)), ItemReminder.sends > 0))
    sweeps = []
    for label, when in (("now", None),
                        ("now + 11 min (leases of the killed pass run out)",
                         dt.datetime.now(dt.timezone.utc) + LEASE_PLUS),
                        (f"{future_at.isoformat()} (future reminders due)", future_at)):
        mark = time.monotonic()
        before = index.seen
        outputs = run_ticks({k: v for k, v in env.items() if k != "PORT"}, when)
        settle(api, quiet=1.0, limit=20)
        index.scan()
        reminders_in = sum(1 for key, calls in index.dm_keys.items() if key.startswith("r")
                           for c in calls if c.at >= mark)
        sweeps.append((label, outputs, reminders_in, index.seen - before))

    for instance in instances:
        instance.stop()
    settle(api, quiet=1.0, limit=10)
    index.scan()
    total_wall = time.monotonic() - t_start

    return build_report(args, locals())


# ---------------------------------------------------------------------------
# Checks and the report


def answer_of(index: CallIndex, result: Result):
    """The first thing the app sent back for a request after its ack, if any."""
    found = []
    trigger = result.info.get("trigger_id")
    if trigger and trigger in index.by_trigger:
        found.append(index.by_trigger[trigger])
    url = result.info.get("response_url")
    if url and index.by_url.get(url):
        found.append(index.by_url[url][0])
    return min(found, key=lambda c: c.at) if found else None


def is_notice(call) -> bool:
    text = json.dumps(call.params.get("view") or call.params)
    return "Sorry" in text or "Not done" in text or "try again" in text


def build_report(args, v: dict[str, Any]) -> tuple[str, bool]:
    results: list[Result] = v["load"].results
    index: CallIndex = v["index"]
    api: FakeSlackAPI = v["api"]
    session_factory = v["session_factory"]
    state = v["state"]
    a_down = (state["kill"] or 0, state["ready_again"] or 0)
    out: list[str] = []
    problems: list[str] = []

    def to_killed(r: Result) -> bool:
        return r.instance == "A" and state["kill"] is not None and \
            a_down[0] - HTTP_TIMEOUT <= r.started <= (a_down[1] or r.started)

    # ---- per kind
    rows = []
    for kind in KINDS:
        rs = [r for r in results if r.kind == kind]
        answered = [r for r in rs if r.status]
        times = [r.elapsed for r in answered if r.elapsed is not None]
        accepted = refused = 0
        for r in answered:
            if r.status != 200:
                continue
            if r.form_errors is not None:
                refused += 1
            else:
                accepted += 1
        rows.append([kind, len(rs), sum(1 for r in answered if r.status == 200),
                     sum(1 for r in answered if 500 <= r.status),
                     sum(1 for r in answered if 400 <= r.status < 500),
                     sum(1 for r in rs if not r.status and to_killed(r)),
                     sum(1 for r in rs if not r.status and not to_killed(r)),
                     sum(1 for t in times if t > ACK_LIMIT), ms(pct(times, 0.5)), ms(pct(times, 0.99)),
                     ms(max(times) if times else None)])
    all_times = [r.elapsed for r in results if r.status and r.elapsed is not None]
    totals = [sum(row[i] for row in rows) for i in range(1, 8)]
    rows.append(["**all**", *totals, ms(pct(all_times, 0.5)), ms(pct(all_times, 0.99)),
                 ms(max(all_times) if all_times else None)])
    span = v["load_end"] - v["load_start"]

    # ---- strategies: accepted exactly once, refused not at all
    with session_factory() as session:
        titles = collections.Counter(session.scalars(
            select(Strategy.title).where(Strategy.title.like(f"bench-{v['run_id']}-s%"))))
    strat = [r for r in results if r.kind == "strategy_add"]
    s_acc = [r for r in strat if r.status == 200 and r.form_errors is None]
    s_ref = [r for r in strat if r.status == 200 and r.form_errors is not None]
    s_lost = [r for r in strat if r.status != 200]
    s_missing = [r for r in s_acc if titles[r.info["title"]] == 0]
    s_dup = [r for r in strat if titles[r.info["title"]] > 1]
    s_half = [r for r in s_ref if titles[r.info["title"]] > 0]
    s_lost_saved = sum(1 for r in s_lost if titles[r.info["title"]] > 0)
    sent_titles = {r.info["title"] for r in strat}
    s_stray = [t for t in titles if t not in sent_titles]
    s_reasons = collections.Counter(next(iter(r.form_errors.values()), "")[:90] for r in s_ref)

    # ---- plan edits: no lost update, the log and the versions agree
    edits = [r for r in results if r.kind == "plan_edit"]
    e_acc = [r for r in edits if r.status == 200 and r.form_errors is None]
    e_ref = [r for r in edits if r.status == 200 and r.form_errors is not None]
    e_conflict = [r for r in e_ref if any(CONFLICT in m for m in r.form_errors.values())]
    e_unknown = [r for r in edits if r.status != 200]
    lost_updates = 0
    edit_rows = []
    with session_factory() as session:
        for plan_id in v["plan_ids"]:
            plan = session.get(AccountPlan, plan_id)
            logged = session.scalar(select(func.count()).select_from(ChangeLogEntry).where(
                ChangeLogEntry.plan_id == plan_id, ChangeLogEntry.entity == "plan",
                ChangeLogEntry.action == "updated"))
            mine = [r for r in e_acc if r.info["plan"] == plan_id]
            versions = collections.Counter(r.info["version"] for r in mine)
            lost = sum(n - 1 for n in versions.values() if n > 1)
            lost_updates += lost
            unknown = [r for r in e_unknown if r.info["plan"] == plan_id]
            landed_unknown = sum(1 for r in unknown if r.info["token"] == plan.vision)
            last = max(mine, key=lambda r: r.info["version"], default=None)
            moved = plan.version - v["initial_versions"][plan_id]
            final_ok = last is None or plan.vision == last.info["token"] or bool(unknown)
            ok = lost == 0 and moved == logged and len(mine) <= logged <= len(mine) + len(unknown) and final_ok
            if not ok:
                problems.append(f"plan {plan_id}: {len(mine)} accepted edits, version moved {moved}, "
                                f"{logged} 'updated' log entries, lost updates {lost}, final description "
                                f"{'is' if final_ok else 'is NOT'} the last accepted edit")
            edit_rows.append([plan_id, len(mine), sum(1 for r in e_conflict if r.info["plan"] == plan_id),
                              len(unknown), moved, logged, lost, "yes" if final_ok else "**no**"])
    e_other_reasons = collections.Counter(next(iter(r.form_errors.values()), "")[:90]
                                          for r in e_ref if r not in e_conflict)
    rounds = v["work"].rounds
    forms_missing = sum(len(EDITORS) - r["opened"] for r in rounds)
    forms_acked_missing = sum(r["acked_no_form"] for r in rounds)

    # ---- Mark done: each clicked item done once, its assigner told once
    clicks = [r for r in results if r.kind == "mark_done"]
    clicked = sorted({r.info["item"] for r in clicks if r.status == 200})
    with session_factory() as session:
        status = {i: st for i, st in session.execute(
            select(ActionItem.id, ActionItem.status).where(ActionItem.id.in_(clicked)))}
        completed = collections.Counter(session.scalars(select(ChangeLogEntry.entity_id).where(
            ChangeLogEntry.entity == "action_item", ChangeLogEntry.action == "completed",
            ChangeLogEntry.entity_id.in_(clicked))))
        done_notes = session.execute(select(Notification.id, Notification.action_item_id).where(
            Notification.kind == NotificationKind.DONE, Notification.action_item_id.in_(clicked))).all()
    not_done = [i for i in clicked if status.get(i) != ItemStatus.DONE]
    completed_wrong = [i for i in clicked if completed[i] != 1]
    notes_per_item = collections.Counter(item for _, item in done_notes)
    notes_wrong = [i for i in clicked if notes_per_item[i] != 1]
    done_dms = {row: len(index.dm_keys.get(f"n{row}", [])) for row, _ in done_notes}
    done_dm_missing = sum(1 for n in done_dms.values() if n == 0)
    done_dm_dup = sum(n - 1 for n in done_dms.values() if n > 1)

    # ---- every acked request that answers later got its answer
    unanswered = collections.Counter()
    unanswered_killed = collections.Counter()
    notices = collections.Counter()
    answer_times = collections.defaultdict(list)
    for r in results:
        if r.kind in ("strategy_add", "plan_edit") or r.status != 200:
            continue
        call = answer_of(index, r)
        if call is None:
            if r.instance == "A" and state["kill"] is not None and a_down[0] - 12 <= r.started <= a_down[0]:
                unanswered_killed[r.kind] += 1
            else:
                unanswered[r.kind] += 1
            continue
        answer_times[r.kind].append(call.at - r.started)
        if is_notice(call):
            notices[r.kind] += 1

    # ---- reminders: each due DM exactly once
    rem_rows = []
    rem_missing = rem_dup = 0
    for label, wanted in (("live (due during the run)", v["live_rows"]), ("future (tick --now)", v["future_rows"])):
        counts = {row: sum(len(calls) for key, calls in index.dm_keys.items() if key.startswith(f"r{row}-"))
                  for row in wanted}
        missing = sum(1 for n in counts.values() if n == 0)
        dup = sum(n - 1 for n in counts.values() if n > 1)
        rem_missing += missing
        rem_dup += dup
        rem_rows.append([label, len(wanted), sum(1 for n in counts.values() if n == 1), missing, dup])
    all_dup = {key: len(calls) for key, calls in index.dm_keys.items() if len(calls) > 1}
    # Rows the killed pass had begun to send: did the DM arrive before the kill? Then the
    # next attempt must find it (conversations.history) and not post it again.
    arrived = sum(1 for row in v["attempted_rows"] if state["kill"] is not None and any(
        c.at < state["kill"] for key, calls in index.dm_keys.items() if key.startswith(f"r{row}-")
        for c in calls))

    # ---- server logs
    errors = collections.Counter()
    tracebacks = 0
    for instance in v["instances"]:
        for log in instance.logs:
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
            # One chain of exceptions is one failure.
            tracebacks += text.count("Traceback (most recent call last)") \
                - text.count("The above exception was the direct cause") \
                - text.count("During handling of the above exception")
            for line in text.splitlines():
                if " ERROR " in line or " CRITICAL " in line:
                    errors[re.sub(r"^\S+ \S+ ", "", line)[:160]] += 1

    # ---- verdicts
    n5xx = sum(1 for r in results if r.status >= 500)
    slow = sum(1 for r in results if r.status and r.elapsed and r.elapsed > ACK_LIMIT)
    unexpected_conn = sum(1 for r in results if not r.status and not to_killed(r))
    checks = [
        ("HTTP 5xx", "0", n5xx),
        ("acks slower than 3 s", "0", slow),
        ("connection errors not explained by the kill", "0", unexpected_conn),
        ("accepted strategies missing from the database", "0", len(s_missing)),
        ("strategies in the database more than once", "0", len(s_dup)),
        ("refused strategies saved anyway", "0", len(s_half)),
        ("strategies in the database nobody sent", "0", len(s_stray)),
        ("plan edits: lost updates (two accepted from one version)", "0", lost_updates),
        ("plan edits: plans whose version/log/description disagree with the accepted edits", "0",
         sum(1 for p in problems if p.startswith("plan "))),
        ("clicked items not done", "0", len(not_done)),
        ("clicked items without exactly one 'completed' log entry", "0", len(completed_wrong)),
        ("clicked items without exactly one 'done' notification", "0", len(notes_wrong)),
        ("'done' DMs to the assigner missing / duplicated", "0 / 0", f"{done_dm_missing} / {done_dm_dup}"),
        ("acked commands and clicks never answered (outside the kill)", "0", sum(unanswered.values())),
        ("reminder DMs missing", "0", rem_missing),
        ("reminder DMs duplicated", "0", rem_dup),
        ("any DM key posted more than once", "0", len(all_dup)),
        ("fake Web API violations", "0", len(api.violations)),
    ]
    failed = [c for c in checks if str(c[2]) != c[1]]

    # ---- Markdown
    when = v["wall0"].strftime("%Y-%m-%d %H:%M UTC")
    out.append(f"# bench_faults: two instances under faults ({when})\n")
    out.append(f"{platform.node() or 'host'}: {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"PostgreSQL database `{v['db_url'].rsplit('/', 1)[-1]}` (dropped afterwards). "
               f"Load {args.rate:g} requests/s for {span:.1f} s "
               f"({len(results)} requests, {len(results) / span:.1f}/s), round-robin over A and B; "
               f"whole bench {v['total_wall']:.0f} s.\n")
    out.append("**Verdict: " + ("all checks pass" if not failed else
                                f"{len(failed)} check(s) fail: " + "; ".join(c[0] for c in failed)) + "**\n")
    out.append("## Timeline (seconds from the start of the load)\n")
    out += [f"- {t:+6.1f} s  {what}" for t, what in sorted(v["timeline"])]
    out.append("")
    out.append("## Requests\n")
    out.append("Ack times are from sending the request to the whole HTTP answer, over requests that got one. "
               "\"conn. err. (kill)\": no HTTP answer from A while it was down or killed with the request in "
               "flight; Slack retries those (commands, clicks) or shows the person an error (forms).\n")
    out.append(table(["kind", "sent", "200", "5xx", "4xx", "conn. err. (kill)", "conn. err. (other)",
                      "> 3 s", "p50 ms", "p99 ms", "max ms"], rows))
    out.append("")
    if state["ready_again"] is not None:
        back = [r for r in results if r.instance == "A" and r.started >= state["ready_again"]]
        out.append(f"After its return A answered {sum(1 for r in back if r.status == 200)} of the "
                   f"{len(back)} requests sent to it; in the "
                   f"{state['ready_again'] - state['kill']:.1f} s it was away, "
                   f"{sum(1 for r in results if r.instance == 'A' and not r.status)} requests to it got no "
                   "HTTP answer.\n")
    answers = [[k, len(answer_times[k]), notices[k], unanswered[k], unanswered_killed[k],
                ms(pct(answer_times[k], 0.5)), ms(pct(answer_times[k], 0.99))]
               for k in KINDS if k not in ("strategy_add", "plan_edit")]
    out.append("Answers after the ack (views.open by trigger id, or a post to the response URL):\n")
    out.append(table(["kind", "answered", "of which a notice (sorry / not done)", "unanswered",
                      "unanswered, acked by A just before its kill", "p50 ms", "p99 ms"], answers))
    out.append("")
    out.append("## Checks\n")
    out.append(table(["check", "expected", "found"], [[c[0], c[1], c[2] if str(c[2]) == c[1] else f"**{c[2]}**"]
                                                    for c in checks]))
    out.append("")
    out.append("## Changes\n")
    out.append(f"- Strategy form: {len(strat)} sent, {len(s_acc)} accepted (all in the database once: "
               f"{'yes' if not s_missing and not s_dup else 'no'}), {len(s_ref)} refused with field errors "
               f"(none saved: {'yes' if not s_half else 'no'}), {len(s_lost)} without an HTTP answer "
               f"({s_lost_saved} of them saved before the answer was lost).")
    for reason, n in s_reasons.most_common(5):
        out.append(f"  - refused ×{n}: “{reason}”")
    out.append(f"- Plan edits: {len(rounds)} rounds of {len(EDITORS)} people on one plan "
               f"({forms_missing} edit forms never opened, {forms_acked_missing} of them after a 200 ack), "
               f"{len(edits)} saves: {len(e_acc)} accepted, "
               f"{len(e_conflict)} refused as a conflict, {len(e_ref) - len(e_conflict)} refused otherwise, "
               f"{len(e_unknown)} without an HTTP answer.")
    for reason, n in e_other_reasons.most_common(5):
        out.append(f"  - refused ×{n}: “{reason}”")
    out.append("")
    out.append(table(["plan", "accepted edits", "conflicts", "no answer", "version moved",
                      "'updated' log entries", "lost updates", "description = last accepted"], edit_rows))
    out.append("")
    out.append(f"- Mark done: {len(clicks)} clicks on {len({r.info['item'] for r in clicks})} items "
               f"(3 at once each); {len(clicked)} items with a 200 click, {len(not_done)} of them not done, "
               f"{len(done_notes)} 'done' notifications, {sum(done_dms.values())} 'done' DMs.")
    out.append("")
    out.append("## Reminders\n")
    out.append(f"Live reminders fell due at {v['at'](v['due_mono']):+.1f} s (A's second scheduler pass); "
               f"{v['live_sent_in_run']} of {len(v['live_rows'])} went out during the load. After the load "
               f"{v['held']} reminder rows (and {v['held_notes']} notifications) were still held by the killed "
               f"pass's lease, {v['attempted']} with an attempt whose outcome was unknown: in production "
               "they go out when the lease runs out, up to 10 minutes late (the second sweep). "
               f"Of those attempts, {arrived} had reached Slack before the kill (the retry must find "
               "them with conversations.history and not post them again).\n")
    out.append(table(["sweep (two `accountplan tick` at once)", "tick output", "reminder DMs", "Web API calls"],
                     [[label, "<br>".join(outputs), n, calls] for label, outputs, n, calls in v["sweeps"]]))
    out.append("")
    out.append(table(["reminders", "due", "sent once", "missing", "duplicates"], rem_rows))
    out.append("")
    if all_dup:
        out.append("DM keys posted more than once: " + ", ".join(f"{k} ×{n}" for k, n in sorted(all_dup.items())[:20]))
        out.append("")
    out.append("## Server logs\n")
    out.append(f"{tracebacks} tracebacks; ERROR lines by message (first 160 characters):\n")
    if errors:
        out += [f"- ×{n}: `{line}`" for line, n in errors.most_common(12)]
    else:
        out.append("- none")
    out.append("")
    if api.violations:
        out.append("## Fake Web API violations\n")
        for text, n in collections.Counter(api.violations).most_common(10):
            out.append(f"- ×{n}: {text[:200]}")
        out.append("")
    if problems or v["notes"]:
        out.append("## Notes\n")
        out += [f"- {p}" for p in v["notes"] + problems]
        out.append("")
    out.append(f"Seed tick: {'; '.join(v['seed_tick'])}")
    return "\n".join(out), not failed


if __name__ == "__main__":
    sys.exit(main())
