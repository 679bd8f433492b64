"""Render and post the digest of a plan with 1,500 action items: time and number of
queries, beside the least work that could produce it.

    python bench/bench_digest.py [--runs 20] [--database-url postgresql://…]  (default: SQLite)

The app's path is `bot.digests.post_digest` as every digest path runs it: ask Slack
whether the channel is shared (conversations.info), gather the content in the database,
render the Jinja2 templates into Block Kit, post (chat.postMessage, plus thread replies
if it is big), record the DigestPost.

"Least work" is what any digest of the same content needs at minimum: one fixed set of
raw SQL queries (the plan, its objectives, per-objective counts, the three capped item
lists in one query, the capped change log), a bare string format of the same lines into
sections, and one chat.postMessage, to the same local Slack-compatible Web API. It skips
the channel check, the escaping, Jinja2, Block Kit models and recording the post.

Queries are counted with a SQLAlchemy `before_cursor_execute` listener.
Not collected by pytest (bench/ is outside testpaths).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import uuid
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.publishing import digest_posts as bot_digests  # noqa: E402
from bot.slack.clients import make_client  # noqa: E402
from storage import plans as ops  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    ActionItem,
    Base,
    ChangeLogEntry,
    DigestReason,
    ItemStatus,
    Objective,
    PlanStatus,
    Strategy,
)
from storage.plans import Actor, PlanInput  # noqa: E402
from tests.bot.slack_api import FakeSlackAPI  # noqa: E402

TEAM, OWNER, MEMBER = "T1", "U0OWNER", "U0MEMBER"
STRATEGIES, OBJECTIVES, ITEMS = 5, 10, 30  # 1,500 action items
NOW = dt.datetime(2025, 6, 2, 9, tzinfo=dt.timezone.utc)
TODAY = NOW.date()


def seed(session_factory) -> int:
    """A 1,500-item plan: a third done in the last weeks, the rest due across the year
    (so some overdue, some due soon), every strategy and objective shared with the
    customer and every tenth item not, 200 change-log lines."""
    with session_factory() as session, session.begin():
        plan = ops.create_plan(session, Actor(TEAM, OWNER), PlanInput(
            name="Newton Memorial Hospital 2025 Strategic Plan", account="Newton Memorial Hospital",
            start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31),
            status=PlanStatus.ACTIVE, team=[MEMBER]))
        n = 0
        for s in range(STRATEGIES):
            strategy = Strategy(team_id=TEAM, plan_id=plan.id, position=s, title=f"Strategy {s + 1}",
                                shared_with_customer=True)
            session.add(strategy)
            for o in range(OBJECTIVES):
                objective = Objective(team_id=TEAM, plan_id=plan.id, position=o,
                                      title=f"Objective {s + 1}.{o + 1}", measure_unit="IDNs",
                                      target_value=5, current_value=o % 6, shared_with_customer=True)
                strategy.objectives.append(objective)
                for i in range(ITEMS):
                    done = n % 3 == 0
                    objective.action_items.append(ActionItem(
                        team_id=TEAM, plan_id=plan.id, position=i, title=f"Action item {n + 1} & follow-up",
                        assignee_id=MEMBER, due_date=dt.date(2025, 1, 1) + dt.timedelta(days=n % 360),
                        status=ItemStatus.DONE if done else ItemStatus.OPEN,
                        done_at=NOW - dt.timedelta(hours=n % 500) if done else None,
                        shared_with_customer=n % 10 != 0))
                    n += 1
        for c in range(200):
            session.add(ChangeLogEntry(team_id=TEAM, plan_id=plan.id, actor_id=OWNER,
                                       at=NOW - dt.timedelta(hours=c), entity="plan", entity_id=plan.id,
                                       action="updated", summary=f"edited plan (change {c})"))
        return plan.id


class Counter:
    def __init__(self, engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, *_args) -> None:
        self.count += 1


def app_digest(client, session_factory, plan_id: int) -> None:
    posted = bot_digests.post_digest(client, session_factory, team_id=TEAM, plan_id=plan_id,
                                     channel_id="C1", reason=DigestReason.ON_DEMAND, posted_by=OWNER,
                                     now=NOW)
    assert posted.ok, posted


BASELINE_SQL = {
    "plan": "select p.name, a.name, p.status, p.start_date, p.end_date from account_plans p "
            "join accounts a on a.id = p.account_id where p.id = :plan",
    "objectives": "select s.id, s.title, o.id, o.title, o.measure_unit, o.current_value, o.target_value "
                  "from strategies s join objectives o on o.strategy_id = s.id where s.plan_id = :plan "
                  "order by s.position, o.position",
    "counts": "select objective_id, count(*), sum(case when status = 'done' then 1 else 0 end) "
              "from action_items where plan_id = :plan group by objective_id",
    "lists": "select * from (select 'done' as list, title, assignee_id, due_date from action_items "
             "where plan_id = :plan and status = 'done' and done_at > :since order by done_at limit 50) d "
             "union all select * from (select 'soon', title, assignee_id, due_date from action_items "
             "where plan_id = :plan and status = 'open' and due_date between :today and :soon "
             "order by due_date limit 50) s "
             "union all select * from (select 'late', title, assignee_id, due_date from action_items "
             "where plan_id = :plan and status = 'open' and due_date < :today order by due_date limit 50) l",
    "changes": "select at, actor_id, summary from change_log where plan_id = :plan and at > :since "
               "order by at desc limit 50",
}


def least_work(engine, client, plan_id: int) -> None:
    since = NOW - dt.timedelta(days=14)
    if engine.dialect.name == "sqlite":  # stored as naive UTC text there
        since = since.replace(tzinfo=None)
    params = {"plan": plan_id, "since": since, "today": TODAY,
              "soon": TODAY + dt.timedelta(days=14)}
    with engine.connect() as connection:
        rows = {name: connection.execute(text(sql), params).all() for name, sql in BASELINE_SQL.items()}
    counts = {r[0]: (r[2], r[1]) for r in rows["counts"]}
    lines = [f"*{rows['plan'][0][0]}* · {rows['plan'][0][1]}"]
    lines += [f"{s_title} / {o_title}: {counts.get(o_id, (0, 0))[0]} of {counts.get(o_id, (0, 0))[1]}"
              for _s, s_title, o_id, o_title, *_ in rows["objectives"]]
    lines += [f"{kind} {title} <@{who}> {due}" for kind, title, who, due in rows["lists"]]
    lines += [f"{str(at)[:10]} <@{who}> {summary}" for at, who, summary in rows["changes"]]
    body = "\n".join(lines)
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": body[i:i + 3000]}}
                for i in range(0, len(body), 3000)][:50]
    client.chat_postMessage(channel="C1", text="digest", blocks=sections)


def measure(function, runs: int, counter: Counter) -> tuple[float, float]:
    function()  # warm up (template compilation, statement caches)
    times, queries = [], []
    for _ in range(runs):
        before = counter.count
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
        queries.append(counter.count - before)
    return statistics.median(times), statistics.median(queries)


def bench_engine(url: str):
    """An engine on an empty database: SQLite's new file, or on PostgreSQL a schema of
    its own (dropped afterwards), so a shared server's tables are never touched."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        return engine, engine.dispose
    schema = f"bench_digest_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    engine.dispose()
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f'set search_path to "{schema}"')
        cursor.close()
        dbapi_connection.commit()

    def cleanup() -> None:
        engine.dispose()
        admin = make_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()

    return engine, cleanup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, FakeSlackAPI() as api:
        engine, cleanup = bench_engine(args.database_url or f"sqlite:///{folder}/bench.db")
        Base.metadata.create_all(engine)
        session_factory = make_session_factory(engine)
        plan_id = seed(session_factory)
        client = make_client(Settings(slack_api_url=api.url), "xoxb-bench")
        counter = Counter(engine)

        app_time, app_queries = measure(lambda: app_digest(client, session_factory, plan_id), args.runs, counter)
        calls_before = len(api.calls)
        app_digest(client, session_factory, plan_id)
        app_calls = [c.method for c in api.calls[calls_before:]]
        base_time, base_queries = measure(lambda: least_work(engine, client, plan_id), args.runs, counter)
        last = api.calls_to("chat.postMessage")[-2]
        assert not api.violations, api.violations
        cleanup()

    print(f"digest of a {STRATEGIES * OBJECTIVES * ITEMS:,}-item plan on {engine.dialect.name}, "
          f"median of {args.runs} runs")
    print(f"  app (check, query, render, post, record): {app_time * 1000:8.1f} ms  {app_queries:4.0f} queries"
          f"  Web API: {', '.join(app_calls)}  ({len(json.dumps(last.params['blocks']))} bytes of blocks)")
    print(f"  least work (raw SQL, format, 1 post):     {base_time * 1000:8.1f} ms  {base_queries:4.0f} queries")
    print(f"  ratio app / least work: time {app_time / base_time:.2f}x, queries {app_queries / base_queries:.2f}x")


if __name__ == "__main__":
    main()
