"""What one `/accountplan list` and one `mine` cost as the workspace grows (issue 8):
2,000 then 10,000 plans of 60 action items, beside the least work that returns the
same rows.

    python bench/bench_queries.py                          # SQLite: 2,000 and 10,000 plans
    python bench/bench_queries.py --sizes 2000 10000 20000
    python bench/bench_queries.py --postgres-url postgresql://postgres@127.0.0.1:5432/test

The workspace grows by people, as real ones do: each person owns 20 plans, with a
teammate on each who is assigned all of their 60 items, so one person's plans and items
stay the same while the workspace around them grows. Written with bench/data.py (one
multi-row INSERT per table and batch); on PostgreSQL (in a schema of its own, dropped
afterwards) then ANALYZEd. SQLite is never ANALYZEd, as in production.

Timed, median of `--runs`, each in one session as the listener runs it:
  - list: what bot/listeners/plans.list_plans runs for `/accountplan list`:
    storage.plans.list_plans (a page of 20 of all plans), the count of all plans (the
    page is full), progress_by_plan of the 20; and each part alone.
  - mine: what bot/listeners/home.my_items_message runs: open_items_for (20 items),
    the names of their plans, count_open_items (there are more than 20); and each part.
  - find: storage.plans.find_plans by a fragment of a name, which no b-tree serves (it
    reads the workspace's plans); shown for what it is, not part of list or mine.
Least work: the same rows through the bare driver by primary key, one query a table:
the 20 plans with their account names and the status of their 1,200 items; the 20 items
and their plans' names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.data import Shape, bulk_plans  # noqa: E402
from storage import migrate, plans  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.models import AccountPlan, ActionItem  # noqa: E402

TEAM = "T0BENCH"
PAGE = 20  # blocks.messages.LIST_MAX: plans or items in one message
PLANS_EACH = 20
PERSON = 7  # whose items `mine` shows: in the first 2,000 plans, the same at every size


def median_ms(work: Callable[[], object], runs: int) -> float:
    work()  # warm: statement caches, the pages read
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def grow(engine: Engine, people: range) -> None:
    """Plans for these people: PLANS_EACH each, 60 items each, start dates spread."""
    for person in people:
        bulk_plans(engine, team_id=TEAM, plans=PLANS_EACH, shape=Shape(strategies=5, objectives=4, items=3),
                   owner=f"UOWN{person}", member=f"UMEM{person}", name_prefix=f"Plan {person}",
                   start=dt.date(2020 + person % 6, 1 + person % 12, 1))


# ---------------------------------------------------------------------------
# What the app runs


def app_list(session_factory) -> Callable[[], list]:
    def run() -> list:
        with session_factory() as session:
            found = plans.list_plans(session, TEAM, limit=PAGE)
            if len(found) == PAGE:
                query = plans.plans_query(TEAM).order_by(None)
                session.scalar(select(func.count()).select_from(query.subquery()))
            plans.progress_by_plan(session, TEAM, [p.id for p in found])
            return found
    return run


def app_parts(session_factory, plan_ids: list[int]) -> dict[str, Callable[[], object]]:
    def alone(work):
        def run():
            with session_factory() as session:
                return work(session)
        return run

    count_query = select(func.count()).select_from(plans.plans_query(TEAM).order_by(None).subquery())
    return {
        "list_plans": alone(lambda s: plans.list_plans(s, TEAM, limit=PAGE)),
        "count": alone(lambda s: s.scalar(count_query)),
        "progress_by_plan": alone(lambda s: plans.progress_by_plan(s, TEAM, plan_ids)),
    }


def plan_names(session, items) -> dict:
    """As bot/listeners/home._open_items reads them."""
    return dict(session.execute(select(AccountPlan.id, AccountPlan.name).where(
        AccountPlan.team_id == TEAM, AccountPlan.id.in_({i.plan_id for i in items}))).all())


def app_mine(session_factory, user_id: str) -> Callable[[], list]:
    def run() -> list:
        with session_factory() as session:
            items = plans.open_items_for(session, TEAM, user_id, limit=PAGE)
            plan_names(session, items)
            if len(items) == PAGE:
                plans.count_open_items(session, TEAM, user_id)
            return items
    return run


def app_mine_parts(session_factory, user_id: str, items: list) -> dict[str, Callable[[], object]]:
    def alone(work):
        def run():
            with session_factory() as session:
                return work(session)
        return run

    return {
        "open_items_for": alone(lambda s: plans.open_items_for(s, TEAM, user_id, limit=PAGE)),
        "plan names": alone(lambda s: plan_names(s, items)),
        "count_open_items": alone(lambda s: plans.count_open_items(s, TEAM, user_id)),
    }


def app_find(session_factory, text: str) -> Callable[[], list]:
    def run() -> list:
        with session_factory() as session:
            return plans.find_plans(session, TEAM, text)
    return run


# ---------------------------------------------------------------------------
# The least work: the same rows by primary key through the bare driver


def bare(engine: Engine, queries: list[tuple[str, list]]) -> Callable[[], None]:
    postgres = engine.dialect.name == "postgresql"

    def run() -> None:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for sql, ids in queries:
                if postgres:  # one array parameter: cheaper than 1,200 of them
                    cursor.execute(sql.replace("in ({ids})", "= any(%s)"), (ids,))
                else:
                    cursor.execute(sql.format(ids=", ".join("?" * len(ids))), ids)
                cursor.fetchall()
            raw.rollback()
        finally:
            raw.close()

    return run


def least_list(engine: Engine, plan_ids: list[int], item_ids: list[int]) -> Callable[[], None]:
    return bare(engine, [
        ("select p.*, a.name from account_plans p join accounts a on a.id = p.account_id "
         "where p.id in ({ids})", plan_ids),
        ("select plan_id, status from action_items where id in ({ids})", item_ids),
    ])


def least_mine(engine: Engine, item_ids: list[int], plan_ids: list[int]) -> Callable[[], None]:
    return bare(engine, [
        ("select * from action_items where id in ({ids})", item_ids),
        ("select id, name from account_plans where id in ({ids})", plan_ids),
    ])


# ---------------------------------------------------------------------------


def measure(name: str, engine: Engine, sizes: list[int], runs: int) -> list[tuple]:
    session_factory = make_session_factory(engine)
    rows = []
    people = 0
    for size in sizes:
        started = time.perf_counter()
        grow(engine, range(people, size // PLANS_EACH))
        people = size // PLANS_EACH
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("analyze")
        written = time.perf_counter() - started
        with session_factory() as session:
            total = session.scalar(select(func.count()).select_from(AccountPlan).where(AccountPlan.team_id == TEAM))
            items_total = session.scalar(select(func.count()).select_from(ActionItem))
        print(f"\n== {name}: {total:,} plans, {items_total:,} action items (written in {written:.1f} s)")

        page = app_list(session_factory)()
        page_ids = [p.id for p in page]
        with session_factory() as session:
            page_items = list(session.scalars(select(ActionItem.id).where(ActionItem.plan_id.in_(page_ids))))
        mine = app_mine(session_factory, f"UMEM{PERSON}")()
        mine_ids, mine_plans = [i.id for i in mine], sorted({i.plan_id for i in mine})

        list_ms = median_ms(app_list(session_factory), runs)
        parts = {part: median_ms(work, runs) for part, work in app_parts(session_factory, page_ids).items()}
        list_least = median_ms(least_list(engine, page_ids, page_items), runs)
        mine_ms = median_ms(app_mine(session_factory, f"UMEM{PERSON}"), runs)
        mine_parts = {part: median_ms(work, runs)
                      for part, work in app_mine_parts(session_factory, f"UMEM{PERSON}", mine).items()}
        mine_least = median_ms(least_mine(engine, mine_ids, mine_plans), runs)
        find_ms = median_ms(app_find(session_factory, f"lan {PERSON} "), runs)
        detail = ", ".join(f"{part} {ms:.2f}" for part, ms in parts.items())
        print(f"  list: {list_ms:6.2f} ms ({detail});  least work {list_least:.2f} ms "
              f"({len(page_ids)} plans, {len(page_items):,} items by id): {list_ms / list_least:.1f}x")
        mine_detail = ", ".join(f"{part} {ms:.2f}" for part, ms in mine_parts.items())
        print(f"  mine: {mine_ms:6.2f} ms ({mine_detail});  least work {mine_least:.2f} ms "
              f"({len(mine_ids)} items, {len(mine_plans)} plans by id): {mine_ms / mine_least:.1f}x")
        print(f"  find by a fragment of a name (reads the workspace's plans): {find_ms:.2f} ms")
        rows.append((total, list_ms, list_least, parts["count"], mine_ms, mine_least, find_ms))
    return rows


def summary(name: str, rows: list[tuple]) -> None:
    print(f"\n{name}: ms per command (least work in brackets)")
    print(f"  {'plans':>8}  {'list':>16}  {'of which count':>14}  {'mine':>16}  {'find fragment':>13}")
    for total, list_ms, list_least, count_ms, mine_ms, mine_least, find_ms in rows:
        print(f"  {total:>8,}  {list_ms:7.2f} ({list_least:5.2f})  {count_ms:14.2f}  "
              f"{mine_ms:7.2f} ({mine_least:5.2f})  {find_ms:13.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000], help="plans in the workspace")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres-url", default=None, help="also on this PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as workdir:
            engine = make_engine(f"sqlite:///{Path(workdir) / 'queries.db'}")
            migrate.upgrade(engine)
            try:
                results.append(("SQLite", measure("SQLite", engine, sizes, args.runs)))
            finally:
                engine.dispose()
    if args.postgres_url:
        admin = make_engine(args.postgres_url, pool_size=1, max_overflow=0)
        schema = f"bench_queries_{uuid.uuid4().hex[:8]}"
        with admin.begin() as connection:
            connection.exec_driver_sql(f'create schema "{schema}"')
        url = make_url(admin.url.render_as_string(hide_password=False)).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        engine = make_engine(url, pool_size=2, max_overflow=2)
        try:
            migrate.upgrade(engine)
            results.append(("PostgreSQL", measure("PostgreSQL", engine, sizes, args.runs)))
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f'drop schema "{schema}" cascade')
            admin.dispose()
    for name, rows in results:
        summary(name, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
