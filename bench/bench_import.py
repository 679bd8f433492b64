"""`accountplan import` of a whole workspace (issue 8), beside a bare bulk insert of the
same rows: wall time and peak memory of each, side by side in one run.

    python bench/bench_import.py                      # SQLite, 10,000 plans + one of 1,500 items
    python bench/bench_import.py --plans 2000 --repeat 2
    python bench/bench_import.py --postgres-url postgresql://postgres@127.0.0.1:5432/test
    python bench/bench_import.py --format yaml        # the same workspace as a YAML file

The file: `--plans` plans of 5 strategies × 4 objectives × 3 action items (every third
item done, with `done_at`/`done_by`; a quarter with notes), a team of two, two SWOT
entries and a QBR review each, plus one plan of 1,500 action items; JSON without
indentation, one plan a line (~100 MB at 10,001 plans, as the file of the issue), or
YAML as `accountplan export` writes it. Each database is fresh:
a SQLite file in a temporary folder, or on PostgreSQL a database of its own
(`bench_import_<pid>_<n>`, created from the URL's and dropped afterwards); its schema is
made by `accountplan db upgrade` before the clock starts.

Timed, each in a child process of its own, wall time and CPU time (user + system) and
peak RSS from wait4()'s rusage; the two in turns, `--repeat` times:
  - import: `accountplan import FILE --team T0BENCH` (parse, check, write, commit), as a
    user runs it: the whole process, Python's start included.
  - bare:   this script in `--bare` mode: builds the same rows (ids given, nothing
    checked, no file read) and sends them with the bare driver, table by table in one
    transaction: sqlite3 executemany, or psycopg COPY. The whole process too (build +
    insert), and the insert alone as the child reports it.
The ratio import / bare is of the whole processes. CPU time is less disturbed than wall
time by other work on the machine (on SQLite the database's work is the process's own).
Afterwards the row counts of every table are compared: they must be equal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEAM = "T0BENCH"
BIG_ITEMS = 1_500  # the one big plan: 5 strategies × 4 objectives × 75 items
START = dt.date(2025, 1, 1)
END = dt.date(2025, 12, 31)
NOW = "2025-06-01T12:00:00Z"
TABLES = (
    "accounts", "account_plans", "plan_members", "strategies", "objectives",
    "action_items", "swot_entries", "qbr_reviews", "change_log",
)


# ---------------------------------------------------------------------------
# The workspace


def plan_entry(p: int, *, items_per_objective: int = 3) -> dict:
    """Plan number `p` as a plan-file entry (dates as JSON writes them)."""

    def item(s: int, o: int, i: int) -> dict:
        entry = {
            "title": f"Item {p}.{s}.{o}.{i}",
            "assignee": "U0MEMBER1" if i % 2 else "U0MEMBER2",
            "due_date": dt.date(2025, 1 + (s * 4 + o) % 12, 1 + i % 28).isoformat(),
            "status": "done" if i % 3 == 0 else "open",
        }
        if i % 3 == 0:
            entry.update(done_at=NOW, done_by=entry["assignee"])
        if o == 0:
            entry["notes"] = "Bring the latest study results."
        return entry

    return {
        "name": f"Plan {p} — 2025 strategic plan",
        "account": f"Account {p // 3}",
        "start_date": START.isoformat(),
        "end_date": END.isoformat(),
        "status": "active",
        "owner": f"U0OWNER{p % 50}",
        "team": ["U0MEMBER1", "U0MEMBER2"],
        "vision": "Be the partner of choice for cardiology in the region.",
        "strategies": [
            {
                "title": f"Strategy {s}",
                "objectives": [
                    {
                        "title": f"Objective {s}.{o}",
                        "measure_unit": "IDNs",
                        "target_value": 5,
                        "current_value": o,
                        "action_items": [item(s, o, i) for i in range(items_per_objective)],
                    }
                    for o in range(4)
                ],
            }
            for s in range(5)
        ],
        "swot": [
            {"kind": "strength", "text": "Superior product efficacy"},
            {"kind": "threat", "text": "A competitor's new formulary deal"},
        ],
        "reviews": [{"held_on": "2025-03-15", "attendees": "Alice, Bob", "notes": "Went well"}],
    }


def plan_entries(plans: int) -> Iterator[dict]:
    """`plans` plans of 60 items, then one of BIG_ITEMS items."""
    for p in range(plans):
        yield plan_entry(p)
    yield plan_entry(plans, items_per_objective=BIG_ITEMS // 20)


def write_file(path: Path, plans: int, fmt: str) -> None:
    """The workspace as `accountplan export` writes it, one plan at a time."""
    from storage.planfile import dump_plan_file

    with path.open("w", encoding="utf-8") as out:
        if fmt == "json":
            out.write('{\n  "plans": [\n')
            for index, plan in enumerate(plan_entries(plans)):
                out.write((",\n" if index else "") + "    " + json.dumps(plan, ensure_ascii=False))
            out.write("\n  ]\n}\n")
            return
        out.write("plans:\n")
        for plan in plan_entries(plans):
            for key in ("start_date", "end_date"):
                plan[key] = dt.date.fromisoformat(plan[key])
            text = dump_plan_file([plan], "yaml")
            out.write(text[len("plans:\n"):])


# ---------------------------------------------------------------------------
# The bare bulk insert (a child process: `--bare URL`)


def bare_rows(plans: int, team: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """The rows `accountplan import` writes for the workspace, ids given, unchecked."""
    now = dt.datetime(2025, 6, 1, 12, 0, 0)
    stamp = (1, now, now)
    stamp_cols = ["version", "created_at", "updated_at"]
    tables: dict[str, tuple[list[str], list[tuple]]] = {
        "accounts": (["id", "team_id", "name", "created_at"], []),
        "account_plans": (["id", "team_id", "account_id", "name", "start_date", "end_date",
                           "status", "owner_id", "vision", "customer_goals", "our_goals",
                           "last_review_date", *stamp_cols], []),
        "plan_members": (["plan_id", "user_id", "team_id"], []),
        "strategies": (["id", "team_id", "plan_id", "position", "title", "description",
                        "shared_with_customer", *stamp_cols], []),
        "objectives": (["id", "team_id", "plan_id", "strategy_id", "position", "title",
                        "description", "measure_unit", "target_value", "current_value",
                        "shared_with_customer", *stamp_cols], []),
        "action_items": (["id", "team_id", "plan_id", "objective_id", "position", "title",
                          "notes", "assignee_id", "due_date", "status", "done_at", "done_by",
                          "shared_with_customer", "created_by", *stamp_cols], []),
        "swot_entries": (["id", "team_id", "plan_id", "kind", "position", "text", "team_only",
                          *stamp_cols], []),
        "qbr_reviews": (["id", "team_id", "plan_id", "held_on", "attendees", "notes",
                         "decisions", "next_qbr_date", "created_by", "created_at"], []),
        "change_log": (["id", "team_id", "plan_id", "actor_id", "at", "entity", "entity_id",
                        "action", "summary", "details"], []),
    }
    rows = {name: table[1] for name, table in tables.items()}
    accounts: dict[str, int] = {}
    ids = dict.fromkeys(("strategies", "objectives", "action_items", "swot_entries", "qbr_reviews"), 0)
    done_at = dt.datetime(2025, 6, 1, 12, 0, 0)
    for plan_id, plan in enumerate(plan_entries(plans), start=1):
        account_id = accounts.get(plan["account"])
        if account_id is None:
            account_id = accounts[plan["account"]] = len(accounts) + 1
            rows["accounts"].append((account_id, team, plan["account"], now))
        rows["account_plans"].append((
            plan_id, team, account_id, plan["name"], plan["start_date"], plan["end_date"],
            plan["status"], plan["owner"], plan["vision"], "", "",
            plan["reviews"][0]["held_on"], *stamp,
        ))
        rows["plan_members"] += [(plan_id, user, team) for user in plan["team"]]
        for s_pos, strategy in enumerate(plan["strategies"]):
            ids["strategies"] += 1
            strategy_id = ids["strategies"]
            # The file names no sharing: shared, as in files of earlier versions.
            rows["strategies"].append((strategy_id, team, plan_id, s_pos, strategy["title"], "", True,
                                       *stamp))
            for o_pos, objective in enumerate(strategy["objectives"]):
                ids["objectives"] += 1
                objective_id = ids["objectives"]
                rows["objectives"].append((
                    objective_id, team, plan_id, strategy_id, o_pos, objective["title"], "",
                    objective["measure_unit"], objective["target_value"],
                    objective["current_value"], True, *stamp,
                ))
                for i_pos, item in enumerate(objective["action_items"]):
                    ids["action_items"] += 1
                    done = item["status"] == "done"
                    rows["action_items"].append((
                        ids["action_items"], team, plan_id, objective_id, i_pos, item["title"],
                        item.get("notes", ""), item["assignee"], item["due_date"], item["status"],
                        done_at if done else None, item.get("done_by"), True, None, *stamp,
                    ))
        for entry in plan["swot"]:  # one of each kind: position 0
            ids["swot_entries"] += 1
            rows["swot_entries"].append((ids["swot_entries"], team, plan_id, entry["kind"], 0,
                                         entry["text"], True, *stamp))
        for review in plan["reviews"]:
            ids["qbr_reviews"] += 1
            rows["qbr_reviews"].append((ids["qbr_reviews"], team, plan_id, review["held_on"],
                                        review["attendees"], review["notes"], "", None,
                                        plan["owner"], now))
        rows["change_log"].append((plan_id, team, plan_id, plan["owner"], now, "plan", plan_id,
                                   "imported", f"imported plan “{plan['name']}”", None))
    return tables


def bare_insert(url: str, plans: int) -> None:
    """Child process: build the rows, then insert them; print the insert's seconds."""
    tables = bare_rows(plans, TEAM)
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA journal_mode=WAL")
        started = time.perf_counter()
        connection.execute("BEGIN")
        for name, (columns, rows) in tables.items():
            statement = (f"INSERT INTO {name} ({', '.join(columns)}) "
                         f"VALUES ({', '.join('?' * len(columns))})")
            connection.executemany(statement, (_sqlite_row(row) for row in rows))
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for name, (columns, rows) in tables.items():
                    with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                # Sequences past the given ids, as a real load must leave them.
                for name in ("accounts", "account_plans", "strategies", "objectives",
                             "action_items", "swot_entries", "qbr_reviews", "change_log"):
                    cursor.execute(
                        f"select setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(select max(id) from {name}))"
                    )
            connection.commit()
            elapsed = time.perf_counter() - started
    print(json.dumps({"insert_seconds": elapsed}))


def _sqlite_row(row: tuple) -> tuple:
    # As SQLAlchemy stores them on SQLite: datetimes and dates as ISO text.
    return tuple(
        value.isoformat(" ") if isinstance(value, dt.datetime) else value for value in row
    )


# ---------------------------------------------------------------------------
# Running and measuring


def run_child(command: list[str], env: dict) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, stdout) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would add up every child so far).
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode}):\n{err}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


class Databases:
    """Fresh databases, SQLite files in `workdir` or PostgreSQL databases of their own."""

    def __init__(self, workdir: Path, postgres_url: str | None) -> None:
        self.workdir = workdir
        self.postgres_url = postgres_url
        self.created: list[str] = []

    def fresh(self, name: str) -> str:
        if not self.postgres_url:
            return f"sqlite:///{self.workdir / name}.db"
        import psycopg
        from sqlalchemy.engine import make_url

        database = f"bench_import_{os.getpid()}_{len(self.created)}"
        base = make_url(self.postgres_url)
        with psycopg.connect(self._conninfo(base), autocommit=True) as connection:
            connection.execute(f'create database "{database}"')
        self.created.append(database)
        return base.set(database=database).render_as_string(hide_password=False)

    @staticmethod
    def _conninfo(url) -> str:
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        import psycopg
        from sqlalchemy.engine import make_url

        base = make_url(self.postgres_url)
        with psycopg.connect(self._conninfo(base), autocommit=True) as connection:
            for database in self.created:
                connection.execute(f'drop database if exists "{database}"')


def counts(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {t: connection.scalar(text(f"select count(*) from {t}")) for t in TABLES}
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=10_000, help="plans of 60 items (plus one of 1,500)")
    parser.add_argument("--format", choices=("json", "yaml"), default="json")
    parser.add_argument("--postgres-url", help="PostgreSQL server (a database of its own per run)")
    parser.add_argument("--repeat", type=int, default=1, help="time each side this many times")
    parser.add_argument("--bare", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_insert(args.bare, args.plans)
        return

    accountplan = str(Path(sys.executable).with_name("accountplan"))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        plan_file = workdir / f"workspace.{args.format}"
        started = time.perf_counter()
        write_file(plan_file, args.plans, args.format)
        size = plan_file.stat().st_size / 1e6
        items = args.plans * 60 + BIG_ITEMS
        print(f"{plan_file.name}: {args.plans + 1:,} plans, {items:,} action items, {size:.0f} MB "
              f"(written in {time.perf_counter() - started:.0f} s)", flush=True)
        databases = Databases(workdir, args.postgres_url)
        results = []
        try:
            for run in range(1, args.repeat + 1):
                # Side by side, in turns (import first in odd runs, bare first in even
                # ones), so that other work on the machine weighs on both alike.
                sides = ("import", "bare") if run % 2 else ("bare", "import")
                measured, rows = {}, {}
                for side in sides:
                    env = dict(os.environ)
                    env["DATABASE_URL"] = url = databases.fresh(f"{side}{run}")
                    subprocess.run([accountplan, "db", "upgrade"], env=env, check=True, capture_output=True)
                    if side == "import":
                        command = [accountplan, "import", str(plan_file), "--team", TEAM]
                    else:
                        command = [sys.executable, __file__, "--plans", str(args.plans), "--bare", url]
                    measured[side] = run_child(command, env)
                    rows[side] = counts(url)
                if rows["import"] != rows["bare"]:
                    raise SystemExit(f"row counts differ: import {rows['import']}, bare {rows['bare']}")
                wall, cpu, rss, _ = measured["import"]
                bare_wall, bare_cpu, bare_rss, out = measured["bare"]
                insert_only = json.loads(out.strip().splitlines()[-1])["insert_seconds"]
                results.append((run, wall, cpu, rss, bare_wall, bare_cpu, bare_rss, insert_only))
                print(f"run {run}: import {wall:.1f} s (CPU {cpu:.1f} s) / {rss:.0f} MB, "
                      f"bare {bare_wall:.1f} s (CPU {bare_cpu:.1f} s, insert alone {insert_only:.1f} s) "
                      f"/ {bare_rss:.0f} MB", flush=True)
        finally:
            databases.drop_all()

    database = "PostgreSQL" if args.postgres_url else "SQLite"
    print()
    print(f"{database}, {args.format.upper()} file of {args.plans + 1:,} plans / {items:,} action items "
          f"({size:.0f} MB), {sum(rows['import'].values()):,} rows:")
    print()
    print("| run | `accountplan import`: wall (CPU) | peak RSS | bare bulk insert: wall (CPU) "
          "| of which the insert | bare peak RSS | import / bare, wall (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run, wall, cpu, rss, bare_wall, bare_cpu, bare_rss, insert_only in results:
        print(f"| {run} | {wall:.1f} s ({cpu:.1f} s) | {rss:.0f} MB | {bare_wall:.1f} s ({bare_cpu:.1f} s) "
              f"| {insert_only:.1f} s | {bare_rss:.0f} MB | {wall / bare_wall:.2f}× ({cpu / bare_cpu:.2f}×) |")
    if args.postgres_url:
        print("\nCPU is the client process's only: the server's work (COPY, indexes) is not in it.")


if __name__ == "__main__":
    main()
