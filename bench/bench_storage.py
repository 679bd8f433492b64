"""The data layer: importing 2,000 plans, and progress and export of a plan with 1,500
action items, each beside the same work done with the fewest possible queries.

    python bench/bench_storage.py [--plans 2000] [--database-url postgresql://…]

Default database: a fresh SQLite file. Prints seconds (median of a few runs for the
small operations), SQL statements, and the ratio app / least work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event, text  # noqa: E402

from bench.data import Shape, bulk_plans  # noqa: E402
from blocks.written_plan import render_written_plan  # noqa: E402
from storage import migrate, planfile, plans  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.models import Base  # noqa: E402

TEAM = "T0BENCH"


@contextmanager
def counting(engine: Engine):
    counter = {"statements": 0}

    def count(*_args, **_kwargs):
        counter["statements"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def fresh_database(url: str | None, workdir: Path, name: str) -> Engine:
    if url:
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("drop table if exists alembic_version")
    else:
        engine = make_engine(f"sqlite:///{workdir / name}.db")
    migrate.upgrade(engine)
    return engine


def plan_file(count: int, shape: Shape) -> dict:
    """A plan file of `count` plans of `shape`, as `accountplan export` writes them."""
    entries = []
    for p in range(count):
        entries.append({
            "name": f"Plan {p}", "account": f"Account {p}", "start_date": "2025-01-01",
            "end_date": "2025-12-31", "status": "active", "owner": "U0OWNER", "team": ["U0MEMBER"],
            "strategies": [{
                "title": f"Strategy {s}",
                "objectives": [{
                    "title": f"Objective {s}.{o}",
                    "action_items": [{"title": f"Item {s}.{o}.{i}", "assignee": "U0MEMBER",
                                      "due_date": f"2025-{1 + (i + o) % 12:02d}-15", "status": "open"}
                                     for i in range(shape.items)],
                } for o in range(shape.objectives)],
            } for s in range(shape.strategies)],
            "swot": [{"kind": "strength", "text": "Superior product efficacy"}],
        })
    return {"plans": entries}


def timed(function, repeat: int = 1):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def row(what: str, app: float, least: float, app_q: int, least_q: int) -> None:
    print(f"{what:38} app {app:8.3f} s ({app_q:6} stmts)   least work {least:8.3f} s "
          f"({least_q:6} stmts)   ratio ×{app / least:5.2f}", flush=True)


def bench_import(url: str | None, workdir: Path, count: int) -> None:
    shape = Shape(5, 4, 3)
    data = plan_file(count, shape)
    as_json = json.dumps(data)
    as_yaml = planfile.dump_plan_file(data["plans"], "yaml") if hasattr(planfile, "dump_plan_file") else None
    for fmt, body in (("json", as_json), ("yaml", as_yaml)):
        if body is None:
            continue
        engine = fresh_database(url, workdir, f"import_{fmt}")
        factory = make_session_factory(engine)

        def run_import():
            with factory() as session, session.begin():
                return planfile.import_plan_file(session, TEAM, body, fmt)

        with counting(engine) as app_q:
            app_s, ids = timed(run_import)
        assert len(ids) == count
        engine.dispose()
        baseline = fresh_database(url, workdir, f"baseline_{fmt}")
        with counting(baseline) as least_q:
            least_s, _ = timed(lambda: bulk_plans(baseline, team_id=TEAM, plans=count, shape=shape))
        baseline.dispose()
        row(f"import {count:,} plans ({fmt}, {count * 60:,} items)", app_s, least_s,
            app_q["statements"], least_q["statements"])


def bench_big_plan(url: str | None, workdir: Path) -> None:
    engine = fresh_database(url, workdir, "big")
    (plan_id,) = bulk_plans(engine, team_id=TEAM, plans=1, shape=Shape(5, 10, 30))
    factory = make_session_factory(engine)

    def progress():
        with factory() as session:
            return plans.plan_progress(session, TEAM, plan_id)

    def progress_least():
        with engine.connect() as connection:
            return connection.execute(text(
                "select count(*), sum(case when status = 'done' then 1 else 0 end) "
                "from action_items where plan_id = :p"), {"p": plan_id}).one()

    with counting(engine) as app_q:
        app_s, result = timed(progress, 7)
    with counting(engine) as least_q:
        least_s, (total, done) = timed(progress_least, 7)
    assert (result.plan.total, result.plan.done) == (total, done)
    row("progress, 1,500-item plan", app_s, least_s, app_q["statements"] // 7, least_q["statements"] // 7)

    def export(fmt: str):
        with factory() as session:
            if fmt == "md":
                tree = plans.load_plan_tree(session, TEAM, plan_id)
                return render_written_plan(tree, plans.plan_progress(session, TEAM, plan_id))
            return planfile.export_plans(session, TEAM, [plan_id], fmt)

    def export_least():
        # Every row of the plan in one query per table, dumped as it comes.
        with engine.connect() as connection:
            rows = {table: [dict(r._mapping) for r in connection.execute(
                        text(f"select * from {table} where {key} = :p"), {"p": plan_id})]
                    for table, key in (("account_plans", "id"), ("strategies", "plan_id"),
                                       ("objectives", "plan_id"), ("action_items", "plan_id"),
                                       ("swot_entries", "plan_id"))}
        return json.dumps(rows, default=str)

    with counting(engine) as least_q:
        least_s, _ = timed(export_least, 5)
    for fmt in ("json", "yaml", "md"):
        with counting(engine) as app_q:
            app_s, _ = timed(lambda: export(fmt), 5)
        row(f"export 1,500-item plan ({fmt})", app_s, least_s, app_q["statements"] // 5,
            least_q["statements"] // 5)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=2000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print(f"database: {args.database_url or 'SQLite (fresh file)'}", flush=True)
        bench_big_plan(args.database_url, workdir)
        bench_import(args.database_url, workdir, args.plans)


if __name__ == "__main__":
    main()
