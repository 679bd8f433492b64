"""Reminders at scale: finding the due ones among 1,000,000 action items, and one
scheduler pass over 5,000 due reminders against a Web API that enforces rate limits.

    python bench/bench_reminders.py                       # both parts, SQLite and PostgreSQL
    python bench/bench_reminders.py --items 200000 --due 2000 --rate 50
    python bench/bench_reminders.py --only due-query --postgres-url postgresql://…
    python bench/bench_reminders.py --only instances --instances 1 3

Part 1, the due query: a database with N action items, one reminder row each (10 % have
nothing scheduled, `--due` are due now, the rest spread over a year), written with COPY
on PostgreSQL and multi-row INSERTs on SQLite. Timed (median of repeated runs):
  - the candidate query of storage.claims.claim_due (a batch of 25, FOR UPDATE SKIP
    LOCKED on PostgreSQL) through SQLAlchemy, beside the same SQL through the bare
    driver (the least work), and its EXPLAIN, with and without the index;
  - a whole claim (candidates + guarded UPDATEs, committed);
  - storage.reminders.prepare_item_reminders for a claimed batch (the facts of 25 items
    in one query);
  - the queries every pass makes even when nothing is due (time zones to fetch, plans
    not yet seen).

Part 2, one pass: `--due` reminders due now for `--people` people (time zones known),
sent by bot.scheduler.passes.run_pass to a local Web API in another process that enforces
Slack-like limits for chat.postMessage: `--rate` a second per workspace (Slack does
not publish its number; real ones are lower, see bot/slack/ratelimit.py) and one a second per
channel with bursts of three, answering 429 with Retry-After when exceeded. The app's
limiter is told those limits. Beside it, the least work: a bare loop of WebClient
chat_postMessage calls with slack_sdk's 429 retry (sequential, as a script would do),
and the same loop on 8 threads. Reported: wall time, 429s, messages a second, ratio.

Part 3, instances: the same Web API, `--due` reminders for as many people (one DM
each), sent by one pass of 1 and of 3 instances at once (`--instances`; processes of
their own, each with its engine and the scheduler's SharedRateLimiter, which keeps the
workspace's budget in the shared database), beside the least work: one bare
chat_postMessage loop at the Web API's own pace (no database). Reported: wall time from
the moment every instance is ready, 429s, messages a second, lost and doubled DMs, the
ratio to the bare loop.

Not collected by pytest (bench/ is outside testpaths).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from dataclasses import replace
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: E402
from sqlalchemy import Engine, event, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from blocks.reminders import REMINDERS_MAX  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.scheduler import passes as scheduler  # noqa: E402
from bot.slack.ratelimit import Limit, RateLimiter  # noqa: E402
from storage import migrate, reminders, retention  # noqa: E402
from storage.claims import _free, claim_due, lease_end  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    Account,
    AccountPlan,
    ActionItem,
    ItemReminder,
    ItemStatus,
    Objective,
    Person,
    PlanStatus,
    RateBudget,
    Strategy,
    WeeklySummary,
)

TEAM = "T0BENCH"
NOW = dt.datetime(2025, 3, 4, 9, 0, 30, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(minutes=10)
BATCH = 25
ITEMS_PER_OBJECTIVE, OBJECTIVES_PER_STRATEGY, STRATEGIES_PER_PLAN = 25, 4, 5
DEFAULT_POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


# ---------------------------------------------------------------------------
# Data


def _rows(items: int, due: int, people: int):
    """(table, rows) in insertion order: plans, their hierarchy, items, reminder rows."""
    created = NOW - dt.timedelta(days=60)
    stamps = {"version": 1, "created_at": created, "updated_at": created}
    per_plan = ITEMS_PER_OBJECTIVE * OBJECTIVES_PER_STRATEGY * STRATEGIES_PER_PLAN
    plans = max(1, math.ceil(items / per_plan))
    users = [f"U0P{n:06d}" for n in range(people)]
    yield Account, ({"id": p, "team_id": TEAM, "name": f"Account {p}", "created_at": created}
                    for p in range(1, plans + 1))
    yield AccountPlan, ({"id": p, "team_id": TEAM, "account_id": p, "name": f"Plan {p}",
                         "start_date": dt.date(2025, 1, 1), "end_date": dt.date(2026, 12, 31),
                         "status": PlanStatus.ACTIVE, "owner_id": "U0OWNER", "vision": "",
                         "customer_goals": "", "our_goals": "", "qbr_reminder_days": 90,
                         "reminder_lead_days": 1, "reminders_synced": True, **stamps}
                        for p in range(1, plans + 1))
    strategies = plans * STRATEGIES_PER_PLAN
    yield Strategy, ({"id": s, "team_id": TEAM, "plan_id": (s - 1) // STRATEGIES_PER_PLAN + 1,
                      "position": (s - 1) % STRATEGIES_PER_PLAN, "title": f"Strategy {s}",
                      "description": "", **stamps} for s in range(1, strategies + 1))
    objectives = strategies * OBJECTIVES_PER_STRATEGY
    yield Objective, ({"id": o, "team_id": TEAM, "strategy_id": (o - 1) // OBJECTIVES_PER_STRATEGY + 1,
                       "plan_id": (o - 1) // (OBJECTIVES_PER_STRATEGY * STRATEGIES_PER_PLAN) + 1,
                       "position": (o - 1) % OBJECTIVES_PER_STRATEGY, "title": f"Objective {o}",
                       "description": "", "measure_unit": "", **stamps} for o in range(1, objectives + 1))
    every = max(1, items // max(1, due))

    def when(n: int) -> dt.datetime | None:
        if n % every == 0 and n // every <= due:
            return NOW - dt.timedelta(seconds=30)  # due now
        if n % 10 == 3:
            return None  # done, or nothing left to remind
        return NOW + dt.timedelta(days=n % 365, hours=9)

    def due_date(n: int) -> dt.date:
        return (NOW + dt.timedelta(days=1)).date() if n % every == 0 and n // every <= due else dt.date(2025, 1, 1) + dt.timedelta(days=n % 700)

    yield ActionItem, ({"id": n, "team_id": TEAM, "plan_id": (n - 1) // per_plan + 1,
                        "objective_id": (n - 1) // ITEMS_PER_OBJECTIVE + 1, "position": (n - 1) % ITEMS_PER_OBJECTIVE,
                        "title": f"Action item {n}", "notes": "", "assignee_id": users[n % people],
                        "due_date": due_date(n), "status": ItemStatus.OPEN, "shared_with_customer": True,
                        "created_by": "U0OWNER", **stamps} for n in range(1, items + 1))
    yield ItemReminder, ({"id": n, "action_item_id": n, "team_id": TEAM, "assignee_id": users[n % people],
                          "assigned_by": "U0OWNER", "due_date": due_date(n), "soon_sent": False,
                          "overdue_sent": 0, "needs_schedule": False, "next_run_at": when(n), "sends": 0,
                          "failures": 0, "last_error": ""} for n in range(1, items + 1))
    yield Person, ({"team_id": TEAM, "user_id": u, "timezone": "UTC", "fetched_at": NOW, "lookup_error": ""}
                   for u in users)
    yield WeeklySummary, ({"id": i, "team_id": TEAM, "user_id": u, "muted": False, "needs_schedule": False,
                           "next_run_at": NOW + dt.timedelta(days=6), "sends": 0, "failures": 0,
                           "last_error": ""} for i, u in enumerate(users, 1))


def _chunks(rows, size: int = 20_000):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(engine: Engine, items: int, due: int, people: int) -> float:
    """Write the data (COPY on PostgreSQL); returns seconds."""
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for model, rows in _rows(items, due, people):
                table = model.__table__
                columns = [c.name for c in table.columns]
                with cursor.copy(f'COPY {table.name} ({", ".join(columns)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row([_pg(row.get(c)) for c in columns])
            for table in ("accounts", "account_plans", "strategies", "objectives", "action_items",
                          "item_reminders", "weekly_summaries"):
                cursor.execute(f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(select coalesce(max(id), 1) from {table}))")
            raw.commit()
            cursor.execute("analyze")
            raw.commit()
        finally:
            raw.close()
    else:
        with engine.begin() as connection:
            for model, rows in _rows(items, due, people):
                for chunk in _chunks(rows):
                    connection.execute(insert(model), chunk)
        with engine.begin() as connection:
            connection.exec_driver_sql("analyze")
    return time.perf_counter() - started


def _pg(value):
    return value.value if hasattr(value, "value") and not isinstance(value, (dt.date, dt.datetime)) else value


# ---------------------------------------------------------------------------
# Databases


def sqlite_engine(workdir: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{workdir / name}.db")
    migrate.upgrade(engine)
    return engine


class PostgresSchema:
    """A schema of our own on the server, dropped afterwards."""

    def __init__(self, url: str) -> None:
        self.admin = make_engine(url, pool_size=1, max_overflow=0)
        self.schema = f"bench_reminders_{uuid.uuid4().hex[:8]}"
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'create schema "{self.schema}"')
        self.url = make_url(url).update_query_dict(
            {"options": f"-csearch_path={self.schema}"}).render_as_string(hide_password=False)
        self.engine = make_engine(self.url, pool_size=12, max_overflow=4)
        migrate.upgrade(self.engine)

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'drop schema "{self.schema}" cascade')
        self.admin.dispose()


def postgres_reachable(url: str) -> bool:
    try:
        engine = make_engine(url, pool_size=1, max_overflow=0)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure: no server
        return False


# ---------------------------------------------------------------------------
# Part 1: the due query


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def candidate_query():
    return (select(ItemReminder.id)
            .where(ItemReminder.next_run_at.is_not(None), ItemReminder.next_run_at <= NOW, _free(ItemReminder, NOW))
            .order_by(ItemReminder.next_run_at, ItemReminder.id).limit(BATCH).with_for_update(skip_locked=True))


def bare_candidates(engine: Engine) -> Callable[[], list]:
    """The same question through the bare driver: the least work."""
    postgres = engine.dialect.name == "postgresql"
    sql = ("select id from item_reminders where next_run_at is not null and next_run_at <= %s "
           "and (locked_until is null or locked_until < %s) order by next_run_at, id limit 25"
           + (" for update skip locked" if postgres else ""))
    now = NOW if postgres else NOW.replace(tzinfo=None).isoformat(sep=" ")
    if not postgres:
        sql = sql.replace("%s", "?")

    def run() -> list:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, (now, now))
            found = cursor.fetchall()
            raw.rollback()
            return found
        finally:
            raw.close()

    return run


def explain(engine: Engine, *, without_index: bool = False) -> list[str]:
    query = candidate_query()
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    sql = str(compiled)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            transaction = connection.begin()
            if without_index:
                connection.exec_driver_sql("drop index ix_item_reminders_due")
            rows = connection.exec_driver_sql("explain (analyze, buffers, costs off) " + sql).all()
            transaction.rollback()  # DDL is transactional on PostgreSQL: the index comes back
        else:
            if without_index:
                sql = sql.replace("FROM item_reminders", "FROM item_reminders NOT INDEXED")
            rows = connection.exec_driver_sql("explain query plan " + sql).all()
    return [" ".join(str(c) for c in (row[-1:] if engine.dialect.name == "sqlite" else row)) for row in rows]


def count_statements(engine: Engine, work: Callable[[], object]) -> int:
    counted = []

    def record(*_args):
        counted.append(1)

    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(counted)


def due_query_part(name: str, engine: Engine, items: int, due: int, people: int, runs: int) -> None:
    print(f"\n== Part 1 on {name}: due reminders among {items:,} action items ({due:,} due now)")
    seconds = load(engine, items, due, people)
    print(f"  data written in {seconds:.1f} s ({2 * items / seconds:,.0f} item + reminder rows a second)")
    session_factory = make_session_factory(engine)

    def orm_candidates():
        with session_factory() as session, session.begin():
            return list(session.scalars(candidate_query()))

    bare = bare_candidates(engine)
    assert len(orm_candidates()) == BATCH and len(bare()) == BATCH
    app_ms = median_ms(orm_candidates, runs)
    bare_ms = median_ms(bare, runs)
    print(f"  candidate query (25 due of {items:,}): {app_ms:.2f} ms; bare driver {bare_ms:.2f} ms; "
          f"ratio {app_ms / bare_ms:.1f}x")
    print("  EXPLAIN:\n    " + "\n    ".join(explain(engine)))
    print("  EXPLAIN without the index:\n    " + "\n    ".join(explain(engine, without_index=True)))

    claims = []
    claim_ms = median_ms(lambda: claims.append(claim_due(session_factory, ItemReminder, now=NOW, lease=LEASE,
                                                         limit=BATCH)), runs)
    print(f"  whole claim of a batch of {BATCH} (select, guarded updates, commit): {claim_ms:.2f} ms")

    held = lease_end(NOW, LEASE)

    def prepare():
        with session_factory() as session:  # rolled back: every run finds the same rows
            out = reminders.prepare_item_reminders(session, claims[0], now=NOW, default_tz="UTC", held_until=held)
            session.rollback()
            return out

    assert len(prepare()) == BATCH
    prepare_ms = median_ms(prepare, runs)
    statements = count_statements(engine, prepare)
    print(f"  prepare a claimed batch (facts, zones, DM channels): {prepare_ms:.2f} ms, {statements} statements")

    def idle_queries():
        with session_factory() as session, session.begin():
            reminders.people_needing_timezones(session, now=NOW)
            reminders.sync_new_plans(session)

    idle_ms = median_ms(idle_queries, runs)
    print(f"  per-pass housekeeping (time zones to fetch, plans not seen yet): {idle_ms:.2f} ms")
    prune_part(engine, session_factory)


def prune_part(engine: Engine, session_factory) -> None:
    """The hourly prune over this database: first with every item open (the walk over the
    resting reminder rows finds nothing to delete), then with the items of those rows
    done 200 days ago (all of them go); the longest statement is how long a batch holds
    its locks."""
    resting = select(ItemReminder.action_item_id).where(ItemReminder.next_run_at.is_(None))
    count = session_factory().scalar(select(func.count()).select_from(resting.subquery()))
    for label in ("every item open", "their items done 200 days ago"):
        if label.startswith("their"):
            with engine.begin() as connection:
                connection.execute(ActionItem.__table__.update().where(ActionItem.id.in_(resting))
                                   .values(status=ItemStatus.DONE, done_at=NOW - dt.timedelta(days=200)))
        longest, started_at = [0.0], {}

        def before(conn, _cursor, _statement, _params, _context, _many):
            started_at[id(conn)] = time.perf_counter()

        def after(conn, _cursor, _statement, _params, _context, _many):
            longest[0] = max(longest[0], time.perf_counter() - started_at.pop(id(conn), time.perf_counter()))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        try:
            started = time.perf_counter()
            report = retention.prune(session_factory, now=NOW)
            seconds = time.perf_counter() - started
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
        print(f"  prune pass over {count:,} resting reminder rows, {label}: {seconds:.2f} s, "
              f"{report.deleted['item_reminders']:,} deleted in batches of {retention.BATCH}; "
              f"longest statement {1000 * longest[0]:.1f} ms")


# ---------------------------------------------------------------------------
# Part 2: one pass against a Web API that enforces rate limits


class Bucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.capacity, self.tokens, self.updated = rate, burst, burst, now

    def take(self, now: float) -> float:
        """0 if a token was taken, else the seconds until one is there."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def serve_limited_api(port_pipe, rate: float, burst: float, per_channel: float) -> None:
    """A Web API process: chat.postMessage at `rate` a second per workspace (bursts of
    `burst`) and `per_channel` a second per channel (bursts of 3); 429 + Retry-After
    beyond."""
    lock = threading.Lock()
    workspace = Bucket(rate, burst, time.monotonic())
    channels: dict[str, Bucket] = {}
    stats = {"ok": 0, "ratelimited": 0, "keys": {}}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:
            pass

        def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                body = {"ok": stats["ok"], "ratelimited": stats["ratelimited"],
                        "distinct_keys": len(stats["keys"]),
                        "doubled": sum(1 for n in stats["keys"].values() if n > 1)}
                if self.path == "/reset":
                    stats.update(ok=0, ratelimited=0, keys={})
            self._reply(200, body)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                params = json.loads(raw) if raw.startswith(b"{") else {}
            except ValueError:
                params = {}
            if not self.path.endswith("chat.postMessage"):
                self._reply(200, {"ok": True})
                return
            channel = str(params.get("channel", ""))
            with lock:
                now = time.monotonic()
                bucket = channels.setdefault(channel, Bucket(per_channel, 3, now))
                wait = max(workspace.take(now), 0.0)
                if wait == 0:
                    wait = bucket.take(now)
                    if wait:  # give the workspace token back: this call is refused
                        workspace.tokens += 1
                if wait:
                    stats["ratelimited"] += 1
                    self._reply(429, {"ok": False, "error": "ratelimited"},
                                {"Retry-After": str(max(1, math.ceil(wait)))})
                    return
                stats["ok"] += 1
                payload = (params.get("metadata") or {}).get("event_payload") or {}
                # A DM listing several reminders names each of its rows.
                for key in str(payload.get("keys") or "").split() or [payload.get("key") or params.get("text", "")]:
                    stats["keys"][key] = stats["keys"].get(key, 0) + 1
                ts = f"{time.time():.6f}"
            self._reply(200, {"ok": True, "channel": "D" + channel[1:], "ts": ts})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_pipe.send(server.server_address[1])
    server.serve_forever(poll_interval=0.05)


class LimitedApi:
    def __init__(self, rate: float, burst: float, per_channel: float = 1.0) -> None:
        receive, send = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.get_context("fork").Process(
            target=serve_limited_api, args=(send, rate, burst, per_channel), daemon=True)
        self.process.start()
        self.url = f"http://127.0.0.1:{receive.recv()}/api/"

    def stats(self, reset: bool = False) -> dict:
        with urlopen(self.url.replace("/api/", "/reset" if reset else "/stats")) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


def report(label: str, seconds: float, stats: dict, sent: int) -> None:
    print(f"  {label:<46} {seconds:7.1f} s  {stats['ratelimited']:6d} × 429  "
          f"{sent / seconds:6.1f} msg/s  (doubled: {stats['doubled']})")


def bare_loop(url: str, targets: list[tuple[str, str]], threads: int) -> float:
    client = WebClient(token="xoxb-bench", base_url=url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=100)])

    def send(target) -> None:
        client.chat_postMessage(channel=target[0], text=target[1])

    started = time.perf_counter()
    if threads == 1:
        for target in targets:
            send(target)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(send, targets))
    return time.perf_counter() - started


def tick_part(name: str, engine: Engine, limited: LimitedApi, unlimited: LimitedApi, due: int, people: int,
              rate: float, burst: float, sample: int) -> None:
    print(f"\n== Part 2 on {name}: one pass over {due:,} due reminders for {people:,} people "
          "(one DM per person, each listing theirs)")
    settings = Settings(bot_token="xoxb-bench", signing_secret="unused", slack_api_url=limited.url, timezone="UTC")
    session_factory = make_session_factory(engine)

    def fresh_pass_data() -> list[tuple[str, str]]:
        with engine.begin() as connection:
            for model in (WeeklySummary, Person, ItemReminder, ActionItem, Objective, Strategy, AccountPlan, Account):
                connection.execute(model.__table__.delete())
        load(engine, due, due, people)  # every item due tomorrow, its reminder due now
        with session_factory() as session:  # the least DMs: one per person (several past REMINDERS_MAX)
            per_person: dict[str, int] = {}
            for (user,) in session.execute(select(ActionItem.assignee_id).order_by(ActionItem.id)):
                per_person[user] = per_person.get(user, 0) + 1
        return [(user, f"Reminder for {user}: {min(count - start, REMINDERS_MAX)} action items ({start})")
                for user, count in per_person.items() for start in range(0, count, REMINDERS_MAX)]

    def app_pass(api: LimitedApi, limiter: RateLimiter) -> tuple[float, dict]:
        dms = len(fresh_pass_data())
        context = scheduler.make_context(replace(settings, slack_api_url=api.url), session_factory, limiter)
        api.stats(reset=True)
        started = time.perf_counter()
        result = scheduler.run_pass(context, NOW)
        seconds = time.perf_counter() - started
        stats = api.stats()
        # Every reminder once, in one DM per person.
        assert result.sent.get("send_item_reminders") == dms and stats["distinct_keys"] == due, (result, stats)
        return seconds, stats

    print(f"  a Web API that enforces {rate:g}/s per workspace (bursts of {burst:g}) and 1/s per channel "
          "(bursts of 3); 429 + Retry-After beyond:")
    # Told Slack's limits, a little under them: clocks and networks jitter.
    limiter = RateLimiter({"chat.postMessage": Limit(rate * 0.95, max(1, int(burst * 0.5)))},
                          per_channel=Limit(1.0, 1))
    targets = fresh_pass_data()
    app_seconds, app = app_pass(limited, limiter)
    report("app: bot.scheduler.passes.run_pass", app_seconds, app, len(targets))
    targets = fresh_pass_data()
    limited.stats(reset=True)
    bare_seconds = bare_loop(limited.url, targets, threads=1)
    bare = limited.stats()
    report("least work: bare chat_postMessage loop", bare_seconds, bare, len(targets))
    limited.stats(reset=True)
    naive_seconds = bare_loop(limited.url, targets[:sample], threads=8)
    naive = limited.stats()
    report(f"the same loop on 8 threads ({sample:,} of them)", naive_seconds, naive, sample)
    print(f"  ratio app / least work: {app_seconds / bare_seconds:.2f}x the time, "
          f"{app['ratelimited']} vs {bare['ratelimited']} 429s")

    print("  a Web API without limits (what the app's own work costs per message):")
    unhurried = RateLimiter({"chat.postMessage": Limit(1e6, 10**6)}, per_channel=Limit(1e6, 10**6))
    app_seconds, app = app_pass(unlimited, unhurried)
    report("app: bot.scheduler.passes.run_pass", app_seconds, app, len(targets))
    unlimited.stats(reset=True)
    bare_seconds = bare_loop(unlimited.url, targets, threads=1)
    report("least work: bare chat_postMessage loop", bare_seconds, unlimited.stats(), len(targets))
    print(f"  ratio app / least work: {app_seconds / bare_seconds:.2f}x the time "
          f"({1000 * app_seconds / len(targets):.2f} vs {1000 * bare_seconds / len(targets):.2f} ms a message)")


# ---------------------------------------------------------------------------
# Part 3: one tick from 1 and from 3 instances, sharing the rate budget


def instance_main(url: str, api_url: str, rate: float, burst: float, barrier, results) -> None:
    """One instance (a process of its own, as `accountplan tick` is): its own engine and
    the scheduler's shared limiter, told the Web API's limits a little under them; waits
    for the others, runs one pass and puts (messages sent, 429s heard) in `results`."""
    from bot.slack.ratelimit import SharedRateLimiter

    engine = make_engine(url, pool_size=12, max_overflow=4) if not url.startswith("sqlite") else make_engine(url)
    limiter = SharedRateLimiter(engine, {"chat.postMessage": Limit(rate * 0.95, max(1, int(burst * 0.5)))},
                                per_channel=Limit(1.0, 1))
    settings = Settings(bot_token="xoxb-bench", signing_secret="unused", slack_api_url=api_url, timezone="UTC")
    context = scheduler.make_context(settings, make_session_factory(engine), limiter)
    barrier.wait()
    report = scheduler.run_pass(context, NOW)
    results.put((report.sent.get("send_item_reminders", 0), limiter.pauses, report.failed))
    engine.dispose()


def paced_loop(url: str, targets: list[tuple[str, str]], rate: float, burst: float) -> float:
    """The least work at Slack's pace: one chat_postMessage after the other, each at its
    slot (a burst, then one every 1/rate s), no database."""
    client = WebClient(token="xoxb-bench", base_url=url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=100)])
    started = time.perf_counter()
    for n, (channel, text) in enumerate(targets):
        wait = started + max(0.0, n - burst + 1) / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        client.chat_postMessage(channel=channel, text=text)
    return time.perf_counter() - started


def instances_part(name: str, engine: Engine, url: str, limited: LimitedApi, due: int, rate: float,
                   burst: float, counts: list[int]) -> None:
    print(f"\n== Part 3 on {name}: one tick over {due:,} due reminders for {due:,} people, from "
          f"{' and from '.join(map(str, counts))} instances (processes) sharing the rate budget")
    print(f"  the Web API enforces {rate:g}/s per workspace (bursts of {burst:g}) and 1/s per channel "
          "(bursts of 3); 429 + Retry-After beyond. The instances are told 95 % of the rate, half the burst.")
    session_factory = make_session_factory(engine)

    def fresh() -> list[tuple[str, str]]:
        with engine.begin() as connection:
            for model in (RateBudget, WeeklySummary, Person, ItemReminder, ActionItem, Objective, Strategy,
                          AccountPlan, Account):
                connection.execute(model.__table__.delete())
        load(engine, due, due, due)  # every item due tomorrow, its reminder due now, one each
        with session_factory() as session:
            return [(user, f"Due soon: Action item {item}") for item, user in session.execute(
                select(ActionItem.id, ActionItem.assignee_id).order_by(ActionItem.id))]

    targets = fresh()
    print(f"  at best (a burst, then the Web API's rate exactly): {(len(targets) - burst) / rate:.1f} s")
    # At the pace the instances are told (at exactly the Web API's own, jitter brings
    # 429s, and each costs a second).
    limited.stats(reset=True)
    bare_seconds = paced_loop(limited.url, targets, rate * 0.95, max(1, int(burst * 0.5)))
    bare = limited.stats()
    report("least work: bare loop at the same pace", bare_seconds, bare, len(targets))
    assert bare["distinct_keys"] == len(targets), bare
    context = multiprocessing.get_context("spawn")
    for count in counts:
        fresh()
        engine.dispose()  # nothing of ours holds the database while the instances run
        barrier, results = context.Barrier(count + 1), context.Queue()
        processes = [context.Process(target=instance_main, args=(url, limited.url, rate, burst, barrier, results))
                     for _ in range(count)]
        for process in processes:
            process.start()
        barrier.wait()  # all started, engines built: the clock starts with their passes
        limited.stats(reset=True)
        started = time.perf_counter()
        outcomes = [results.get(timeout=3600) for _ in processes]
        seconds = time.perf_counter() - started
        for process in processes:
            process.join()
        stats = limited.stats()
        with session_factory() as session:
            unsent = session.scalar(select(func.count()).select_from(ItemReminder).where(ItemReminder.sends == 0))
        sent = sum(o[0] for o in outcomes)
        report(f"app: {count} instance{'s' if count > 1 else ''} (processes), one pass each", seconds, stats, sent)
        print(f"    lost: {due - stats['distinct_keys']} (rows left unsent: {unsent}), doubled: {stats['doubled']}, "
              f"per instance: {[o[0] for o in outcomes]} sent, {sum(o[1] for o in outcomes)} 429s heard, "
              f"failed jobs: {[o[2] for o in outcomes if o[2]]}; "
              f"ratio to the bare loop: {seconds / bare_seconds:.2f}x the time")


# ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="action items for part 1")
    parser.add_argument("--due", type=int, default=5_000, help="reminders due now")
    parser.add_argument("--people", type=int, default=1_000, help="assignees")
    parser.add_argument("--rate", type=float, default=100.0, help="chat.postMessage a second per workspace")
    parser.add_argument("--burst", type=float, default=None, help="default: a second's worth")
    parser.add_argument("--sample", type=int, default=1_000, help="messages for the 8-thread loop")
    parser.add_argument("--tick-on-postgres", action="store_true",
                        help="part 2 on PostgreSQL too (Slack's pace sets its time, not the database)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres-url", "--database-url", default=DEFAULT_POSTGRES,
                        help="PostgreSQL server for the runs on PostgreSQL (SQLite runs beside it)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 3],
                        help="part 3: instances (processes) sharing one pass's work")
    parser.add_argument("--only", choices=("due-query", "tick", "instances"))
    args = parser.parse_args()
    args.burst = args.burst or args.rate

    # The Web APIs run in processes of their own, started before any engine exists.
    apis = (LimitedApi(args.rate, args.burst), LimitedApi(1e9, 1e9, per_channel=1e9)) if args.only != "due-query" else None
    postgres = not args.no_postgres and postgres_reachable(args.postgres_url)
    if not args.no_postgres and not postgres:
        print(f"(PostgreSQL not reachable at {args.postgres_url}: SQLite only)")
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for name, make in (("SQLite", None if args.no_sqlite else "sqlite"),
                               ("PostgreSQL", "postgres" if postgres else None)):
                if make is None:
                    continue
                for part in ("due-query", "tick", "instances"):
                    if args.only and args.only != part:
                        continue
                    schema = PostgresSchema(args.postgres_url) if make == "postgres" else None
                    engine = schema.engine if schema else sqlite_engine(Path(workdir), f"{part}")
                    try:
                        if part == "due-query":
                            due_query_part(name, engine, args.items, args.due, args.people, args.runs)
                        elif part == "instances":
                            instances_part(name, engine, engine.url.render_as_string(hide_password=False),
                                           apis[0], args.due, args.rate, args.burst, args.instances)
                        elif make == "sqlite" or args.tick_on_postgres:
                            tick_part(name, engine, *apis, args.due, args.people, args.rate, args.burst,
                                      min(args.sample, args.due))
                    finally:
                        if schema:
                            schema.drop()
                        else:
                            engine.dispose()
    finally:
        for api in apis or ():
            api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
