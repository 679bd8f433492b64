"""What people wait for (issue 8): an open-loop benchmark of `/accountplan` answers,
from the command sent to the modal opened or the response posted, beside a bare Bolt app.

    python bench/bench_answers.py --quick             # 1k and 10k plans, 10 s a rate: ~10 minutes
    python bench/bench_answers.py                     # 1k, 10k, 100k plans, 60 s a rate: about an hour
    python bench/bench_answers.py --databases sqlite --sizes 10000 --workers 2 --rates 1,20 --seconds 20

It writes bench/reports/answers-<date>.md (tables, targets met or missed, plots
answers-<date>-rate.png and -size.png, raw numbers in answers-<date>.json) and prints
the tables.

Open loop: commands are sent at a fixed offered rate on a schedule, each on its own
thread and connection, whether or not earlier ones were answered, round-robin over
`help`, `list`, `show <a plan>` (60 items), `show <the 1,500-item plan>` and `mine`
(both plans named in full, as a person types them). Each is signed as Slack signs it
and carries its own trigger_id and response_url from a Slack-compatible Web API
(tests/bot/slack_api.py, in a process of its own so that it never shares a GIL with
the sender) which records when each call arrived.

For each command:
  - ack: from the request sent to its HTTP answer read (what Slack waits 3 s for);
  - end-to-end: from the request sent to the answer the person sees: `show`, the Web
    API recorded a successful views.open with the command's trigger_id (Slack honours a
    trigger for 3 s; the fake API refuses it after 3 s, as Slack does); `list` and
    `mine`, the command's response_url received its message; `help`, which the app
    answers in the ack itself, the ack;
  - answered: the right kind of answer arrived. A "try again" answer (busy, too late for
    the modal, database away) counts as answered-but-failed (column "try again"), any
    other failure (a refused views.open, an apology) as "failed", nothing at all within
    the wait (10 s past the last send, longer while answers still come) as "none".
    Percentiles are over all commands sent; a command not answered counts as infinitely
    late (shown as "inf"), so p99 is finite only when 99 % were answered. Nearest rank:
    with n samples p99 is the ceil(0.99 n)-th smallest.

Beside it, at the same rates and on the same server type (waitress for one worker,
gunicorn gthread with the same threads for several), a bare Bolt app doing the least
work with Bolt's defaults: a listener that acks (the guide in the ack for `help`), then
posts one response_url message or opens one trivial modal.

Workspaces grow by people, as in bench_queries.py: each owns 20 plans, with a teammate
assigned all their items; 60 items a plan (5 strategies x 4 objectives x 3 items) up to
10,000 plans, 12 a plan (2 x 2 x 3) for the plans beyond, to keep writing 100,000 plans
to a few minutes. The person running the commands owns 20 plans of 60 items (the newest,
so `list` shows the same page at every size) and the 1,500-item plan (5 x 10 x 30), and
has 30 open items. SQLite: a file in a temporary folder; PostgreSQL: a database of its
own (bench_answers_<pid>, ANALYZEd after each growth), dropped afterwards.

The app runs as `accountplan serve --no-scheduler --workers N` (the scheduler has nothing
due here). The rate sweep, per database and worker count, runs at `--sweep-size` plans
(default 10,000): every rate up to the target's 20/s, then higher ones until the first
where fewer than 99 % were answered within 1 s; then `--refine` more rates halve the gap
between the highest passing and the lowest failing rate. 1 command/s is the workspace-size
series' rate: at every size, with the most workers asked for only. A 1/s run lasts at
least 20 s (4 of each command).
Each run also notes the CPU the server's processes used per command (/proc, its process
group) and the machine's load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bot import signing  # noqa: E402
from tests.bot.slack_api import FakeSlackAPI  # noqa: E402

TEAM = signing.TEAM_ID
PERSON = "U0PERSON"  # who runs the commands
TEAMMATE = "U0TEAMMATE"
COMMANDS = ("help", "list", "show", "show big", "mine")
PLANS_EACH = 20
FULL_SHAPE_UP_TO = 10_000  # plans beyond this many get the small shape
PERSON_OPEN_ITEMS = 30

TARGET_RATE = 20.0
TARGET_SIZE = 10_000
TARGET_SECONDS = 60
TARGET_E2E = 1.0  # s
TARGET_ACK_RATIO = 1.3
TARGET_SIZE_RATIO = 1.5
TARGET_WORKERS_RATIO = 1.7
WITHIN = 0.99  # share answered within TARGET_E2E for a rate to pass
SIZE_RATE = 1.0  # commands/s of the workspace-size series

HTTP_TIMEOUT = 10.0  # s, one request's connection
ANSWER_WAIT = 10.0  # s after the last send: the app's deadline for a message (bot/after_ack.py)
ANSWER_WAIT_MAX = 60.0  # s, even while answers still come
MIN_LOW_RATE_COMMANDS = 20
INF = float("inf")


# ---------------------------------------------------------------------------
# The Web API, in a process of its own


class _TriggerClock(dict):
    """trigger_id -> when it was issued (monotonic, system-wide on Linux): the sender
    writes it into the trigger id itself, so this process needs no registration."""

    def get(self, trigger, default=None):  # noqa: D102
        try:
            return int(str(trigger).rsplit(".", 1)[1], 16) / 1e9
        except (IndexError, ValueError):
            return default


class BenchSlackAPI(FakeSlackAPI):
    """FakeSlackAPI that knows every response URL and trigger the sender made up, and
    forgets what it stored between runs (a run at 40/s stores thousands of views)."""

    def __init__(self) -> None:
        super().__init__()
        self._triggers = _TriggerClock()

    def _handle_response_url(self, request, key, params):
        with self._lock:
            self._response_urls.setdefault(key, {})
        super()._handle_response_url(request, key, params)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self.views.clear()
            self.messages.clear()
            self._response_urls.clear()
            self.violations.clear()

    def summary(self, since: int) -> tuple[int, list[tuple]]:
        """Calls from index `since`, each (method, at, ok, error, key, text, callback_id)."""
        with self._lock:
            calls = self._calls[since:]
            total = len(self._calls)
        out = []
        for call in calls:
            key, text, callback = "", "", ""
            if call.method == "response_url":
                key = call.url.rsplit("/", 1)[1]
                text = str(call.params.get("text") or "")[:300]
            elif call.method in ("views.open", "views.push"):
                key = str(call.params.get("trigger_id") or "")
                view = call.params.get("view")
                callback = view.get("callback_id", "") if isinstance(view, dict) else ""
            out.append((call.method, call.at, call.ok, str(call.response.get("error") or ""), key, text,
                        callback))
        return total, out


def _api_main(connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    api = BenchSlackAPI().start()
    connection.send(api.base_url)
    deadline = time.monotonic() + 6 * 3600  # bounded: no run lasts this long
    while time.monotonic() < deadline:
        if not connection.poll(60):
            continue
        command, arg = connection.recv()
        if command == "calls":
            connection.send(api.summary(arg))
        elif command == "count":
            with api._lock:
                connection.send(len(api._calls))
        elif command == "reset":
            api.reset()
            connection.send(True)
        elif command == "stop":
            break
    api.stop()


class WebAPI:
    """The parent's handle on the Web API process (used from one thread)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_api_main, args=(child,), daemon=True, name="fake-slack-api")
        self._process.start()
        if not self._connection.poll(60):
            raise SystemExit("the fake Web API did not start")
        self.base_url = self._connection.recv()
        self.url = self.base_url + "/api/"

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._connection.send((command, arg))
        if not self._connection.poll(60):
            raise SystemExit("the fake Web API stopped answering")
        return self._connection.recv()

    def calls(self, since: int = 0) -> tuple[int, list[tuple]]:
        return self._ask("calls", since)

    def count(self) -> int:
        return self._ask("count")

    def reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        try:
            self._connection.send(("stop", None))
        except OSError:
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()

    def settle(self, quiet: float = 0.5, limit: float = 60.0) -> float:
        """Wait until nothing calls the Web API for `quiet` seconds (at most `limit`):
        work still queued from one run must not be measured in the next. Returns the
        seconds waited."""
        started = time.monotonic()
        seen = -1
        while time.monotonic() - started < limit:
            count = self.count()
            if count == seen:
                break
            seen = count
            time.sleep(quiet)
        return time.monotonic() - started


# ---------------------------------------------------------------------------
# Data


@dataclass
class Workspace:
    url: str
    dialect: str
    plans: int = 0
    others: int = 0  # other people's plans
    show_name: str = ""
    big_name: str = ""
    items: int = 0
    drop: Any = None  # callable that removes the database


def _grow_people(engine, have: int, want: int) -> None:
    """Other people's plans, from `have` to `want` of them: PLANS_EACH a person (the
    last one may have fewer), the full shape for the first FULL_SHAPE_UP_TO plans of the
    workspace and the small one beyond."""
    from bench.data import Shape, bulk_plans

    full_limit = FULL_SHAPE_UP_TO - PLANS_EACH - 1  # the person's plans count too
    while have < want:
        person = have // PLANS_EACH
        n = min(PLANS_EACH - have % PLANS_EACH, want - have)
        if have < full_limit:
            n, shape = min(n, full_limit - have), Shape(5, 4, 3)
        else:
            shape = Shape(2, 2, 3)
        bulk_plans(engine, team_id=TEAM, plans=n, shape=shape,
                   owner=f"UOWN{person}", member=f"UMEM{person}", name_prefix=f"Plan {person}",
                   start=dt.date(2020 + person % 6, 1 + person % 12, 1))
        have += n


def make_workspace(kind: str, workdir: Path, postgres_url: str) -> Workspace:
    from sqlalchemy import select, update

    from bench.data import Shape, bulk_plans
    from storage import migrate
    from storage.db import make_engine
    from storage.models import AccountPlan, ActionItem, ItemStatus

    drop = None
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'answers.db'}"
    else:
        from sqlalchemy.engine import make_url

        name = f"bench_answers_{os.getpid()}"
        admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"drop database if exists {name}")
            connection.exec_driver_sql(f"create database {name}")
        admin.dispose()
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)

        def drop_database() -> None:
            engine = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.exec_driver_sql(f"drop database if exists {name} with (force)")
            engine.dispose()

        drop = drop_database
    engine = make_engine(url)
    migrate.upgrade(engine)
    start = dt.date(2026, 1, 1)  # newer than everybody else's: `list` shows them first
    mine = bulk_plans(engine, team_id=TEAM, plans=PLANS_EACH, shape=Shape(5, 4, 3), owner=PERSON,
                      member=TEAMMATE, name_prefix="Northwind", start=start)
    (big,) = bulk_plans(engine, team_id=TEAM, plans=1, shape=Shape(5, 10, 30), owner=PERSON,
                        member=TEAMMATE, name_prefix="Big plan", start=start)
    with engine.begin() as connection:
        ids = list(connection.scalars(
            select(ActionItem.id).where(ActionItem.plan_id.in_(mine), ActionItem.status == ItemStatus.OPEN)
            .order_by(ActionItem.plan_id, ActionItem.id)))
        # 30 open items spread over the person's plans (one or two in each)
        picked = [ids[(n * len(ids)) // PERSON_OPEN_ITEMS] for n in range(PERSON_OPEN_ITEMS)]
        connection.execute(update(ActionItem).where(ActionItem.id.in_(picked)).values(assignee_id=PERSON))
        names = dict(connection.execute(select(AccountPlan.id, AccountPlan.name)
                                        .where(AccountPlan.id.in_([mine[7], big]))).all())
    engine.dispose()
    return Workspace(url=url, dialect=kind, plans=PLANS_EACH + 1, show_name=names[mine[7]],
                     big_name=names[big], items=PLANS_EACH * 60 + 1500, drop=drop)


def grow(workspace: Workspace, size: int) -> float:
    """Add other people's plans until the workspace has `size`; seconds taken."""
    from sqlalchemy import func, select

    from storage.db import make_engine
    from storage.models import AccountPlan, ActionItem

    started = time.perf_counter()
    engine = make_engine(workspace.url)
    try:
        want = max(0, size - PLANS_EACH - 1)
        _grow_people(engine, workspace.others, want)
        workspace.others = max(workspace.others, want)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("analyze")
        with engine.connect() as connection:
            workspace.plans = connection.scalar(select(func.count()).select_from(AccountPlan))
            workspace.items = connection.scalar(select(func.count()).select_from(ActionItem))
    finally:
        engine.dispose()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path


def start_server(name: str, command: list[str], env: dict[str, str], log: Path) -> Server:
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env={**env, "PORT": str(port)}, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited at start: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return Server(name, process, port, log)
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(Server(name, process, port, log))
    raise SystemExit(f"{name} did not answer /health within 90 s")


def stop_server(server: Server) -> None:
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)


def cpu_seconds(server: Server) -> float:
    """CPU time (user + system) of the server's processes so far: every process in its
    process group (waitress, or gunicorn's arbiter and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == server.process.pid:  # pgrp: the server leads its own group
            total += int(fields[11]) + int(fields[12])
    return total / tick


def server_env(api: WebAPI, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")}
    env.update({"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": signing.SIGNING_SECRET,
                "SLACK_API_URL": api.url, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"})
    return env


# ---------------------------------------------------------------------------
# The bare Bolt app (run as `bench_answers.py --serve-bare N`)

TRIVIAL_MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Plan"},
                 "close": {"type": "plain_text", "text": "Close"},
                 "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "A plan"}}]}


def bare_wsgi():
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    from bot.listeners.commands import help_response

    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
    guide = help_response()

    @app.command("/accountplan")
    def answer(ack, command, respond, client):
        word = (command.get("text") or "").split()[:1]
        if not word or word[0] == "help":
            ack(guide)
            return
        ack()
        if word[0] == "show":
            client.views_open(trigger_id=command["trigger_id"], view=TRIVIAL_MODAL)
        else:
            respond(text="A list", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "A list"}}])

    handler = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == "/health":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return handler(environ, start_response)

    return wsgi


def serve_bare(workers: int) -> None:
    """The same server as `accountplan serve --workers N`: waitress with HTTP_THREADS for
    one worker, gunicorn's gthread workers with HTTP_THREADS each for several."""
    from bot.server import HTTP_THREADS

    port = int(os.environ["PORT"])
    if workers == 1:
        import waitress

        waitress.serve(bare_wsgi(), host="127.0.0.1", port=port, threads=HTTP_THREADS, _quiet=True)
        return
    from gunicorn.app.base import BaseApplication

    class Bare(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": f"127.0.0.1:{port}", "workers": workers, "worker_class": "gthread",
                               "threads": HTTP_THREADS, "accesslog": None, "errorlog": "-",
                               "loglevel": "warning", "timeout": 60, "graceful_timeout": 10}.items():
                self.cfg.set(key, value)

        def load(self):
            return bare_wsgi()  # in each worker, after the fork

    Bare().run()


# ---------------------------------------------------------------------------
# Open-loop load


@dataclass
class Sent:
    command: str
    scheduled: float
    sent: float = 0.0
    acked: float = INF  # monotonic when the HTTP answer was read
    status: int = 0
    body: str = ""
    trigger: str = ""
    response_key: str = ""


_serial = iter(range(1, 10**12))
_serial_lock = threading.Lock()


def _ids() -> tuple[str, str]:
    with _serial_lock:
        n = next(_serial)
    # Slack-like trigger id; its last part is when it was issued (monotonic ns), read by
    # the Web API process to refuse it after 3 s.
    return f"{n}.{int(time.time())}.{time.monotonic_ns():x}", f"B{uuid.uuid4().hex[:12]}{n}"


def send_one(port: int, api_base: str, record: Sent, text: str) -> None:
    trigger, key = _ids()
    record.trigger, record.response_key = trigger, key
    fields = signing.slash_command("/accountplan", text, user=PERSON, team=TEAM,
                                   response_url=f"{api_base}/response/{key}", trigger_id=trigger)
    body = signing.encode_form(fields).encode()
    headers = signing.signed_headers(body, signing.FORM)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
    record.sent = time.monotonic()
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        record.body = response.read(4096).decode(errors="replace")
        record.status = response.status
        record.acked = time.monotonic()
    except OSError:
        record.status = 0  # refused, reset or timed out
    finally:
        connection.close()


def offer(port: int, api: WebAPI, texts: dict[str, str], rate: float, seconds: float) -> list[Sent]:
    """Send round-robin commands at `rate` a second for `seconds`, each on a thread and
    connection of its own, on schedule whether or not earlier ones were answered."""
    count = max(1, round(rate * seconds))
    records: list[Sent] = []
    threads: list[threading.Thread] = []
    order = list(texts)
    began = time.monotonic() + 0.05
    for n in range(count):
        at = began + n / rate
        pause = at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        command = order[n % len(order)]
        record = Sent(command, scheduled=at)
        records.append(record)
        thread = threading.Thread(target=send_one, args=(port, api.base_url, record, texts[command]),
                                  daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + HTTP_TIMEOUT + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return records


def wait_for_answers(api: WebAPI, records: list[Sent]) -> list[tuple]:
    """Calls until every command has its answer, or ANSWER_WAIT after the last send with
    nothing new for 2 s, or ANSWER_WAIT_MAX at most."""
    expected = {r.trigger if r.command.startswith("show") else r.response_key
                for r in records if r.command != "help" and r.status == 200}
    last_sent = max(r.sent for r in records)
    calls: list[tuple] = []
    seen: set[str] = set()
    last_new = time.monotonic()
    while True:
        total, new = api.calls(len(calls))
        calls.extend(new)
        if new:
            last_new = time.monotonic()
        seen.update(c[4] for c in new)
        now = time.monotonic()
        if expected <= seen:
            break
        if now - last_sent > ANSWER_WAIT and now - last_new > 2.0:
            break
        if now - last_sent > ANSWER_WAIT_MAX:
            break
        time.sleep(0.25)
    return calls


# ---------------------------------------------------------------------------
# Outcomes and statistics

ANSWERED, TRY_AGAIN, FAILED, NONE, ACK_ERROR = "answered", "try again", "failed", "none", "ack error"


def outcome(record: Sent, modals: dict[str, tuple], messages: dict[str, tuple]) -> tuple[str, float]:
    """(outcome, end-to-end seconds) of one command."""
    if record.status != 200:
        return ACK_ERROR, INF
    if record.command == "help":
        return (ANSWERED, record.acked - record.sent) if "Account plans" in record.body else (FAILED, INF)
    message = messages.get(record.response_key)
    if record.command.startswith("show"):
        modal = modals.get(record.trigger)
        if modal is not None and modal[2] and modal[6] != "notice":
            return ANSWERED, modal[1] - record.sent
        if message is not None and "try again" in message[5].lower():
            return TRY_AGAIN, INF
        if modal is not None or message is not None:
            return FAILED, INF
        return NONE, INF
    if message is None:
        return NONE, INF
    if "try again" in message[5].lower():
        return TRY_AGAIN, INF
    if not message[2] or message[5].startswith("Sorry"):
        return FAILED, INF
    return ANSWERED, message[1] - record.sent


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summarize(records: list[Sent], calls: list[tuple]) -> dict[str, dict]:
    modals: dict[str, tuple] = {}
    messages: dict[str, tuple] = {}
    for call in calls:
        if call[0] in ("views.open", "views.push"):
            if call[4] not in modals or (call[2] and not modals[call[4]][2]):
                modals[call[4]] = call  # the first successful one, else the first
        elif call[0] == "response_url":
            messages.setdefault(call[4], call)
    rows: dict[str, dict] = {}
    groups: dict[str, list] = {c: [] for c in COMMANDS}
    for record in records:
        kind, e2e = outcome(record, modals, messages)
        groups[record.command].append((record, kind, e2e))
    groups["all"] = [x for c in COMMANDS for x in groups[c]]
    for name, entries in groups.items():
        if not entries:
            continue
        e2e = [x[2] for x in entries]
        acks = [x[0].acked - x[0].sent for x in entries]
        kinds = [x[1] for x in entries]
        n = len(entries)
        rows[name] = {
            "sent": n,
            "answered": kinds.count(ANSWERED) / n,
            "try_again": kinds.count(TRY_AGAIN),
            "failed": kinds.count(FAILED),
            "none": kinds.count(NONE),
            "ack_errors": kinds.count(ACK_ERROR),
            "within_1s": sum(1 for v in e2e if v <= TARGET_E2E) / n,
            "e2e_p50": percentile(e2e, 0.50), "e2e_p95": percentile(e2e, 0.95),
            "e2e_p99": percentile(e2e, 0.99),
            "ack_p50": percentile(acks, 0.50), "ack_p99": percentile(acks, 0.99),
        }
    lag = [r.sent - r.scheduled for r in records]
    rows["all"]["sender_lag_p99"] = percentile(lag, 0.99)
    rows["all"]["sender_lag_max"] = max(lag)
    return rows


@dataclass
class Run:
    database: str
    plans: int
    workers: int
    app: str  # "accountplan" | "bare Bolt"
    rate: float
    seconds: float
    rows: dict = field(default_factory=dict)
    settled: float = 0.0  # s the app still worked after the answers were collected
    cpu_ms: float = 0.0  # CPU the server used, per command (ms)
    load: float = 0.0  # the machine's 1-minute load average at the end of the run


def measure(server: Server, api: WebAPI, texts: dict[str, str], rate: float, seconds: float,
            label: dict[str, Any]) -> Run:
    api.reset()
    seconds = max(seconds, MIN_LOW_RATE_COMMANDS / rate)
    cpu = cpu_seconds(server)
    records = offer(server.port, api, texts, rate, seconds)
    calls = wait_for_answers(api, records)
    run = Run(app=server.name, rate=rate, seconds=seconds, rows=summarize(records, calls), **label)
    run.settled = api.settle()
    run.cpu_ms = (cpu_seconds(server) - cpu) * 1000 / len(records)
    run.load = os.getloadavg()[0]
    all_ = run.rows["all"]
    print(f"  {label['database']:8} {label['plans']:>7,} plans w={label['workers']} {server.name:11} "
          f"{rate:5g}/s x {seconds:g} s: answered {all_['answered']:6.1%}  within 1 s {all_['within_1s']:6.1%}  "
          f"e2e p99 {ms(all_['e2e_p99'])}  ack p50/p99 {ms(all_['ack_p50'])}/{ms(all_['ack_p99'])}"
          f"  try-again {all_['try_again']} failed {all_['failed']} none {all_['none']} "
          f"ack-err {all_['ack_errors']}  cpu {run.cpu_ms:.0f} ms/cmd  load {run.load:.1f}", flush=True)
    return run


def warm(server: Server, api: WebAPI, texts: dict[str, str], workers: int) -> None:
    """A few of each command so that every worker has its caches and connections."""
    api.reset()
    records = offer(server.port, api, texts, rate=5.0 * workers, seconds=2.0 * workers)
    wait_for_answers(api, records)
    api.settle()


# ---------------------------------------------------------------------------
# Formatting


def ms(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value == INF:
        return "inf"
    return f"{value * 1000:.0f} ms" if value >= 0.0995 else f"{value * 1000:.1f} ms"


def pct(value: float) -> str:
    return f"{value * 100:.1f} %" if value < 1 else "100 %"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def command_table(app: Run, bare: Run | None) -> str:
    header = ["command", "sent", "answered", "try again / failed / none / ack err",
              "e2e p50", "e2e p95", "e2e p99", "ack p50", "ack p99"]
    if bare:
        header += ["bare e2e p50", "bare e2e p99", "bare ack p50", "bare ack p99"]
    out = []
    for name in (*COMMANDS, "all"):
        r = app.rows.get(name)
        if r is None:
            continue
        row = [f"`{name}`" if name != "all" else "**all**", r["sent"], pct(r["answered"]),
               f"{r['try_again']} / {r['failed']} / {r['none']} / {r['ack_errors']}",
               ms(r["e2e_p50"]), ms(r["e2e_p95"]), ms(r["e2e_p99"]), ms(r["ack_p50"]), ms(r["ack_p99"])]
        if bare:
            b = bare.rows.get(name, {})
            row += [ms(b.get("e2e_p50")), ms(b.get("e2e_p99")), ms(b.get("ack_p50")), ms(b.get("ack_p99"))]
        out.append(row)
    return table(header, out)


def find(runs: list[Run], **match) -> Run | None:
    for run in runs:
        if all(getattr(run, k) == v for k, v in match.items()):
            return run
    return None


# ---------------------------------------------------------------------------
# Targets


def sweep_result(runs: list[Run], database: str, plans: int, workers: int) -> tuple[float | None, float | None]:
    """(highest passing rate below the first failing one, first failing rate)."""
    rates = sorted({r.rate for r in runs if r.app == "accountplan" and r.database == database
                    and r.plans == plans and r.workers == workers})
    best = None
    for rate in rates:
        run = find(runs, app="accountplan", database=database, plans=plans, workers=workers, rate=rate)
        if run.rows["all"]["within_1s"] >= WITHIN:
            best = rate
        else:
            return best, rate
    return best, None


def targets(runs: list[Run], args, cores: int) -> list[list[str]]:
    rows = []
    per_core = max(args.workers)
    quick_note = "" if args.seconds >= TARGET_SECONDS else f" ({args.seconds:g} s, not {TARGET_SECONDS} s)"
    for database in args.databases:
        for workers in sorted(set(args.workers)):
            app = find(runs, app="accountplan", database=database, plans=args.sweep_size, workers=workers,
                       rate=TARGET_RATE)
            bare = find(runs, app="bare Bolt", database=database, plans=args.sweep_size, workers=workers,
                        rate=TARGET_RATE)
            where = f"{database}, {args.sweep_size:,} plans, {workers} worker{'s' * (workers > 1)}, " \
                    f"{TARGET_RATE:g}/s{quick_note}"
            if app is None:
                rows.append([f"{where}: all targets", "not measured", ""])
                continue
            a = app.rows["all"]
            missed = a["sent"] - round(a["answered"] * a["sent"])
            rows.append([f"{where}: 100 % answered", pct(a["answered"]),
                         "met" if missed == 0 else f"missed: {missed} of {a['sent']} not answered "
                         f"({a['try_again']} try again, {a['failed']} failed, {a['none']} none, "
                         f"{a['ack_errors']} ack errors)"])
            worst_name = max(COMMANDS, key=lambda c: app.rows[c]["e2e_p99"])
            worst = app.rows[worst_name]["e2e_p99"]
            rows.append([f"{where}: worst command's e2e p99 ≤ 1 s", f"{ms(worst)} (`{worst_name}`)",
                         "met" if worst <= TARGET_E2E else
                         ("missed: more than 1 % unanswered" if worst == INF else
                          f"missed by {ms(worst - TARGET_E2E)} (×{worst / TARGET_E2E:.2f})")])
            if bare is None:
                rows.append([f"{where}: ack vs bare", "bare app not measured", ""])
                continue
            b = bare.rows["all"]
            ratio = a["ack_p99"] / b["ack_p99"]
            rows.append([f"{where}: ack p99 ≤ 1.3× bare", f"{ms(a['ack_p99'])} vs {ms(b['ack_p99'])} (×{ratio:.2f})",
                         "met" if ratio <= TARGET_ACK_RATIO else f"missed by ×{ratio / TARGET_ACK_RATIO:.2f} "
                         f"({ms(a['ack_p99'] - TARGET_ACK_RATIO * b['ack_p99'])} over)"])
            rows.append([f"{where}: ack p50 below bare", f"{ms(a['ack_p50'])} vs {ms(b['ack_p50'])}",
                         "met" if a["ack_p50"] < b["ack_p50"] else f"missed by {ms(a['ack_p50'] - b['ack_p50'])}"])
    sizes = sorted({r.plans for r in runs})
    for database in args.databases:
        small, large = (1_000, 100_000)
        have_small = find(runs, app="accountplan", database=database, plans=small, workers=per_core, rate=SIZE_RATE)
        have_large = find(runs, app="accountplan", database=database, plans=large, workers=per_core, rate=SIZE_RATE)
        label = f"{database}: e2e p50 at 100,000 plans ≤ 1.5× at 1,000 (1/s)"
        if not (have_small and have_large):
            lo, hi = sizes[0], sizes[-1]
            have_small = find(runs, app="accountplan", database=database, plans=lo, workers=per_core, rate=SIZE_RATE)
            have_large = find(runs, app="accountplan", database=database, plans=hi, workers=per_core, rate=SIZE_RATE)
            if lo == hi or not (have_small and have_large):
                rows.append([label, "not measured", ""])
                continue
            label += f" — not measured; indication from {lo:,} → {hi:,}"
        ratios = {c: have_large.rows[c]["e2e_p50"] / have_small.rows[c]["e2e_p50"] for c in COMMANDS}
        worst = max(ratios, key=ratios.get)
        text = ", ".join(f"`{c}` ×{v:.2f}" for c, v in ratios.items())
        rows.append([label, text, "met" if ratios[worst] <= TARGET_SIZE_RATIO
                     else f"missed: `{worst}` ×{ratios[worst]:.2f} (by ×{ratios[worst] / TARGET_SIZE_RATIO:.2f})"])
    for database in args.databases:
        found = {w: sweep_result(runs, database, args.sweep_size, w) for w in sorted(set(args.workers))}
        for w, (best, failing) in found.items():
            shown = "none passed" if best is None else (f"{best:g}/s" + (f" (fails at {failing:g}/s)" if failing
                                                                         else " (highest rate tried)"))
            rows.append([f"{database}, {args.sweep_size:,} plans: highest rate with 99 % answered within 1 s, "
                         f"{w} worker{'s' * (w > 1)}", shown, ""])
        if 1 in found and cores in found and cores > 1:
            one, many = found[1][0], found[cores][0]
            if one and many:
                ratio = many / one
                capped = ""
                if found[1][1] is None:
                    capped = " (one worker passed every rate tried: not a capacity ratio)"
                elif found[cores][1] is None:
                    capped = " (lower bound: the highest rate tried passed)"
                rows.append([f"{database}: {cores} workers ≥ 1.7× one worker", f"×{ratio:.2f}{capped}",
                             "met" if ratio >= TARGET_WORKERS_RATIO else
                             f"missed by ×{TARGET_WORKERS_RATIO / ratio:.2f}"])
            else:
                rows.append([f"{database}: {cores} workers ≥ 1.7× one worker", "no passing rate", "missed"])
    return rows


# ---------------------------------------------------------------------------
# Plots


def plot(runs: list[Run], args, out_rate: Path, out_size: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cap = 30.0  # s: where unanswered (inf) p99s are drawn
    fig, axes = plt.subplots(1, len(args.databases), figsize=(6.5 * len(args.databases), 4.5), squeeze=False)
    for ax, database in zip(axes[0], args.databases):
        drawn = False
        for workers in sorted(set(args.workers)):
            for app, style in (("accountplan", "-o"), ("bare Bolt", "--x")):
                points = sorted((r.rate, r.rows["all"]["e2e_p99"]) for r in runs
                                if r.database == database and r.plans == args.sweep_size
                                and r.workers == workers and r.app == app)
                if points:
                    drawn = True
                    ax.plot([p[0] for p in points], [min(p[1], cap) for p in points], style,
                            label=f"{app}, {workers} worker{'s' * (workers > 1)}")
        if not drawn:
            continue
        ax.axhline(TARGET_E2E, color="grey", linewidth=0.8, linestyle=":")
        ax.axhline(3.0, color="red", linewidth=0.6, linestyle=":")
        ax.set_yscale("log")
        ax.set_xlabel("offered rate (commands/s)")
        ax.set_ylabel(f"end-to-end p99, all commands (s; {cap:g} = not answered)")
        ax.set_title(f"{database}, {args.sweep_size:,} plans")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_rate, dpi=110)
    plt.close(fig)

    per_core = max(args.workers)
    fig, axes = plt.subplots(1, len(args.databases), figsize=(6.5 * len(args.databases), 4.5), squeeze=False)
    for ax, database in zip(axes[0], args.databases):
        got = sorted((r for r in runs if r.database == database and r.app == "accountplan" and r.rate == SIZE_RATE
                      and r.workers == per_core), key=lambda r: r.plans)
        if not got:
            continue
        for n, command in enumerate(COMMANDS):
            xs = [r.plans for r in got]
            color = f"C{n}"
            ax.plot(xs, [r.rows[command]["e2e_p50"] for r in got], "-o", color=color, label=f"{command} p50")
            ax.plot(xs, [min(r.rows[command]["e2e_p99"], cap) for r in got], ":", color=color,
                    label=f"{command} p99")
        bare = find(runs, app="bare Bolt", database=database, workers=per_core, rate=SIZE_RATE)
        if bare:
            ax.axhline(bare.rows["all"]["e2e_p50"], color="black", linewidth=0.8, linestyle="--",
                       label="bare Bolt p50 (all)")
        if len(got) > 1:
            ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("plans in the workspace")
        ax.set_ylabel("end-to-end (s) at 1 command/s")
        ax.set_title(f"{database}, {per_core} worker{'s' * (per_core > 1)}")
        ax.legend(fontsize=7, ncol=2)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_size, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------
# Report


def report(runs: list[Run], args, meta: dict, paths: dict[str, Path]) -> str:
    cores = os.cpu_count() or 1
    parts = [f"# Answers benchmark, {meta['date']}{' (quick)' if args.quick else ''}", ""]
    parts.append(f"`python bench/bench_answers.py {meta['argv']}` on {meta['machine']}, measuring "
                 f"{meta['app']}; {meta['minutes']:.1f} minutes. {meta['note']}")
    if meta.get("user_note"):
        parts += ["", meta["user_note"]]
    parts.append("")
    parts.append("What is measured: see the docstring of bench/bench_answers.py. In short: open loop, "
                 "round-robin over the five commands; end-to-end is command sent → successful views.open "
                 "with its trigger_id (`show`) or its response_url's message (`list`, `mine`), or the ack "
                 "itself (`help`, answered in the ack); a command not answered counts as infinitely late; "
                 "nearest-rank percentiles. The bare Bolt app is measured right after the app at each rate, "
                 "on the same server type.")
    parts.append("")
    parts.append("Workspaces: " + "; ".join(meta["workspaces"]) + ".")
    parts.append("")
    parts.append("## Targets")
    parts.append("")
    parts.append(table(["target", "measured", "verdict"], targets(runs, args, cores)))
    parts.append("")
    parts.append(f"## At {TARGET_RATE:g} commands/s, {args.sweep_size:,} plans")
    for database in args.databases:
        for workers in sorted(set(args.workers)):
            app = find(runs, app="accountplan", database=database, plans=args.sweep_size, workers=workers,
                       rate=TARGET_RATE)
            if app is None:
                continue
            bare = find(runs, app="bare Bolt", database=database, plans=args.sweep_size, workers=workers,
                        rate=TARGET_RATE)
            parts += ["", f"### {database}, {workers} worker{'s' * (workers > 1)}, {app.seconds:g} s", "",
                      command_table(app, bare)]
    parts += ["", "## Rate sweep", "", f"![end-to-end p99 against offered rate]({paths['rate'].name})", ""]
    sweep_rows = []
    for r in sorted((r for r in runs if r.plans == args.sweep_size),
                    key=lambda r: (r.database, r.workers, r.rate, r.app)):
        a = r.rows["all"]
        worst = max(COMMANDS, key=lambda c: r.rows[c]["e2e_p99"])
        sweep_rows.append([r.database, r.workers, r.app, f"{r.rate:g}", a["sent"], pct(a["answered"]),
                           pct(a["within_1s"]), f"{a['try_again']} / {a['failed']} / {a['none']} / {a['ack_errors']}",
                           ms(a["e2e_p50"]), ms(a["e2e_p99"]), f"{ms(r.rows[worst]['e2e_p99'])} `{worst}`",
                           ms(a["ack_p50"]), ms(a["ack_p99"]), f"{r.cpu_ms:.0f} ms", ms(a["sender_lag_p99"]),
                           f"{r.load:.1f}"])
    parts.append(table(["database", "workers", "app", "rate /s", "sent", "answered", "within 1 s",
                        "try again / failed / none / ack err", "e2e p50", "e2e p99", "worst command p99",
                        "ack p50", "ack p99", "server CPU per command", "sender lag p99", "load (1 min)"],
                       sweep_rows))
    parts += ["", "## Workspace size (1 command/s)", "", f"![end-to-end against workspace size]({paths['size'].name})", "",
              "`help` reads nothing from the database: how much its figures move between sizes is how much "
              "the machine moved them.", ""]
    size_rows = []
    per_core = max(args.workers)
    for r in sorted((r for r in runs if r.rate == SIZE_RATE and r.app == "accountplan" and r.workers == per_core),
                    key=lambda r: (r.database, r.plans)):
        size_rows.append([r.database, f"{r.plans:,}", r.workers]
                         + [f"{ms(r.rows[c]['e2e_p50'])} / {ms(r.rows[c]['e2e_p99'])}" for c in COMMANDS]
                         + [pct(r.rows["all"]["answered"])])
    parts.append(table(["database", "plans", "workers"] + [f"`{c}` p50 / p99" for c in COMMANDS] + ["answered"],
                       size_rows))
    parts += ["", "## Every run, per command", ""]
    for r in runs:
        if r.app != "accountplan":
            continue
        bare = find(runs, app="bare Bolt", database=r.database, plans=r.plans, workers=r.workers, rate=r.rate)
        parts += [f"### {r.database}, {r.plans:,} plans, {r.workers} worker{'s' * (r.workers > 1)}, "
                  f"{r.rate:g}/s × {r.seconds:g} s", "", command_table(r, bare), ""]
    if meta.get("log_lines"):
        parts += ["## Server logs (warnings and errors, counted)", "",
                  table(["server log", "line (timestamp dropped)", "count"], meta["log_lines"]), ""]
    return "\n".join(parts) + "\n"


def finite(value: Any) -> Any:
    """JSON has no infinity: an unanswered command's latency is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def log_lines(logs: list[Path]) -> list[list[str]]:
    """Warnings and errors of the servers, grouped by message."""
    counts: dict[tuple[str, str], int] = {}
    for path in logs:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not any(w in line for w in ("WARNING", "ERROR", "Traceback", "CRITICAL")):
                continue
            text = line.split(" ", 2)[-1] if line[:4].isdigit() else line
            counts[(path.stem, text[:160])] = counts.get((path.stem, text[:160]), 0) + 1
    return [[f"`{k[0]}`", k[1].replace("|", "\\|"), v] for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:30]]


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 and 10,000 plans, rates 1,10,20,30, 10 s a rate (explicit options win)")
    parser.add_argument("--rates", help="offered rates, commands/s (default 1,5,10,15,20,25,30,40,50,60,80)")
    parser.add_argument("--seconds", type=float, help="seconds a rate (default 60; a 1/s run lasts ≥ 20 s)")
    parser.add_argument("--sizes", help="plans in the workspace (default 1000,10000,100000)")
    parser.add_argument("--sweep-size", type=int, default=TARGET_SIZE, help="plans at which rates are swept")
    parser.add_argument("--workers", help=f"worker counts (default 1,{os.cpu_count() or 1})")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a server where a database bench_answers_<pid> may be created and dropped")
    parser.add_argument("--refine", type=int, help="extra rates between the highest passing and the lowest "
                        "failing one, halving the gap each time (default 2; --quick 0)")
    parser.add_argument("--output", help="report path (default bench/reports/answers-<date>.md)")
    parser.add_argument("--note", default="", help="a line for the report (e.g. which commit was measured)")
    parser.add_argument("--serve-bare", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        return args
    cores = os.cpu_count() or 1
    quick = {"rates": "1,10,20,30", "seconds": 10.0, "sizes": "1000,10000", "refine": 0}
    full = {"rates": "1,5,10,15,20,25,30,40,50,60,80", "seconds": float(TARGET_SECONDS),
            "sizes": "1000,10000,100000", "refine": 2}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.rates = sorted({float(x) for x in args.rates.split(",")})
    args.sizes = sorted({int(x) for x in args.sizes.split(",")})
    args.workers = sorted({int(x) for x in (args.workers or f"1,{cores}").split(",")})
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    for d in args.databases:
        if d not in ("sqlite", "postgres"):
            parser.error(f"unknown database {d}: sqlite or postgres")
    if args.sweep_size not in args.sizes:
        args.sweep_size = min(args.sizes, key=lambda s: abs(s - TARGET_SIZE))
    if any(r <= 0 for r in args.rates) or args.seconds <= 0:
        parser.error("rates and seconds must be positive")
    return args


def app_version() -> str:
    """Which app was measured: the commit of this tree, and whether it had changes."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"the app in {ROOT} (not a git checkout)"
    return f"the app at commit {commit}" + (" with uncommitted changes" if dirty else "")


def postgres_reachable(url: str) -> str | None:
    from storage.db import make_engine

    try:
        engine = make_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001
        return " ".join(str(error).split())[:200]


def run_database(database: str, args, api: WebAPI, workdir: Path, runs: list[Run], meta: dict,
                 logs: list[Path]) -> None:
    workspace = make_workspace(database, workdir, args.postgres_url)
    per_core = max(args.workers)
    try:
        for size in args.sizes:
            took = grow(workspace, size)
            meta["workspaces"].append(f"{database} {workspace.plans:,} plans / {workspace.items:,} action items "
                                      f"(written in {took:.0f} s)")
            print(f"{database}: {workspace.plans:,} plans, {workspace.items:,} action items "
                  f"(grown in {took:.0f} s)", flush=True)
            texts = {"help": "help", "list": "list", "show": f"show {workspace.show_name}",
                     "show big": f"show {workspace.big_name}", "mine": "mine"}
            env = server_env(api, workspace.url)
            sweep = size == args.sweep_size
            for workers in (args.workers if sweep else [per_core]):
                label = {"database": database, "plans": workspace.plans, "workers": workers}
                app_log = workdir / f"accountplan-{database}-{size}-w{workers}.log"
                bare_log = workdir / f"bare-{database}-{size}-w{workers}.log"
                logs += [app_log, bare_log]
                app = start_server("accountplan", [sys.executable, "-m", "bot.cli", "serve", "--no-scheduler",
                                                   "--workers", str(workers)], env, app_log)
                bare = None
                try:
                    if sweep:
                        bare = start_server("bare Bolt", [sys.executable, str(Path(__file__).resolve()),
                                                          "--serve-bare", str(workers)], env, bare_log)
                        warm(bare, api, texts, workers)
                    warm(app, api, texts, workers)
                    rates = list(args.rates if sweep else [SIZE_RATE])
                    if sweep and workers != per_core and len(rates) > 1:
                        rates = [r for r in rates if r != SIZE_RATE]  # the size series' point
                    tried: dict[float, bool] = {}
                    refine = args.refine if sweep else 0
                    while rates:  # bounded: the listed rates, then at most `refine` more
                        rate = rates.pop(0)
                        run = measure(app, api, texts, rate, args.seconds, label)
                        runs.append(run)
                        if bare is not None:
                            runs.append(measure(bare, api, texts, rate, args.seconds, label))
                        tried[rate] = run.rows["all"]["within_1s"] >= WITHIN
                        if sweep and rate >= TARGET_RATE and not tried[rate]:
                            print(f"  sweep stops: fewer than 99 % within 1 s at {rate:g}/s", flush=True)
                            rates = [r for r in rates if r < TARGET_RATE]
                        if not rates and refine > 0:
                            refine -= 1
                            passed = [r for r, ok in tried.items() if ok]
                            failed = [r for r, ok in tried.items() if not ok and r > max(passed, default=0)]
                            if passed and failed:
                                middle = round((max(passed) + min(failed)) / 2)
                                if middle not in tried and max(passed) < middle < min(failed):
                                    rates = [float(middle)]
                finally:
                    stop_server(app)
                    if bare is not None:
                        stop_server(bare)
                    api.settle(quiet=0.5, limit=5)
    finally:
        if workspace.drop is not None:
            workspace.drop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    started = time.monotonic()
    today = dt.date.today().isoformat()
    output = Path(args.output) if args.output else ROOT / "bench" / "reports" / f"answers-{today}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    paths = {"rate": output.with_name(output.stem + "-rate.png"),
             "size": output.with_name(output.stem + "-size.png"),
             "json": output.with_suffix(".json")}
    if "postgres" in args.databases:
        problem = postgres_reachable(args.postgres_url)
        if problem:
            print(f"PostgreSQL not reachable at {args.postgres_url} ({problem}): SQLite only", flush=True)
            args.databases = [d for d in args.databases if d != "postgres"]
    if not args.databases:
        return 1
    load = os.getloadavg()
    meta = {"date": today, "argv": " ".join(sys.argv[1:]) if argv is None else " ".join(argv),
            "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
            "workspaces": [], "app": app_version(), "user_note": args.note,
            "note": f"Load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."}
    print(f"answers bench: databases {args.databases}, sizes {args.sizes} (sweep at {args.sweep_size:,}), "
          f"workers {args.workers}, rates {[f'{r:g}' for r in args.rates]}, {args.seconds:g} s a rate", flush=True)
    runs: list[Run] = []
    logs: list[Path] = []
    api = WebAPI()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
            for database in args.databases:
                run_database(database, args, api, Path(tmp), runs, meta, logs)
            meta["log_lines"] = log_lines(logs)
    finally:
        api.stop()
    meta["minutes"] = (time.monotonic() - started) / 60
    load = os.getloadavg()
    meta["note"] += f" At the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."
    paths["json"].write_text(json.dumps(finite({"meta": meta, "runs": [asdict(r) for r in runs]}), indent=1,
                                        default=str))
    try:
        plot(runs, args, paths["rate"], paths["size"])
    except Exception as error:  # noqa: BLE001 - the tables matter more than the pictures
        print(f"plots not drawn: {type(error).__name__}: {error}", flush=True)
    text = report(runs, args, meta, paths)
    output.write_text(text)
    print()
    print(text)
    print(f"report: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
