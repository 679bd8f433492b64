"""The team's plan view of a plan with 1,500 action items, taken apart: what plan health
and the customer's agreements add to it, and what a digest's progress chart costs beside
the digest's own content. Time and number of queries, median of --runs.

    python bench/bench_health.py [--runs 20] [--database-url postgresql://…]  (default: SQLite)

- plan view: what bot/runtime/ui.render_plan does for the team, but health and
  agreements: the plan tree, its progress, the key stakeholders, and the Block Kit view;
- health: storage.health.plan_health alone (its fixed number of queries);
- agreements: storage.agreements.agreement_states, with one agreement on record;
- chart data: storage.digests.charts.progress_facts (a customer channel's);
- chart drawing: blocks.charts.progress_chart (matplotlib, Agg, in memory; imported
  before timing: the first chart of a process pays ~0.6 s more to import it).

Same 1,500-item plan as bench/bench_digest.py (5 strategies × 10 objectives × 30 items,
a third done), plus 12 stakeholders. Queries counted with before_cursor_execute.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_digest import NOW, OWNER, TEAM, TODAY, Counter, bench_engine, measure, seed  # noqa: E402

from blocks import charts as chart_blocks  # noqa: E402
from blocks.plan_view import plan_view  # noqa: E402
from storage import agreements, health, stakeholders  # noqa: E402
from storage import plans as ops  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.digests import charts as chart_facts  # noqa: E402
from storage.models import Audience, Base, PlanAgreement, Stakeholder  # noqa: E402
from storage.plans import Actor  # noqa: E402


def add_people_and_an_agreement(session_factory, plan_id: int) -> None:
    with session_factory() as session, session.begin():
        for n, role in enumerate(["sponsor", "decision_maker", "champion"] + [None] * 9):
            session.add(Stakeholder(team_id=TEAM, plan_id=plan_id, position=n, name=f"Person {n}", role=role))
        session.add(PlanAgreement(team_id=TEAM, plan_id=plan_id, channel_id="C0SHARED", requested_by=OWNER,
                                  requested_at=NOW - dt.timedelta(days=3), shown={},
                                  agreed_by="U0CUSTOMER", agreed_name="Jane Doe", agreed_organisation="Acme",
                                  agreed_at=NOW - dt.timedelta(days=2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()
    actor = Actor(TEAM, OWNER)

    with tempfile.TemporaryDirectory() as folder:
        engine, cleanup = bench_engine(args.database_url or f"sqlite:///{folder}/bench.db")
        Base.metadata.create_all(engine)
        session_factory = make_session_factory(engine)
        plan_id = seed(session_factory)
        add_people_and_an_agreement(session_factory, plan_id)
        counter = Counter(engine)
        chart_blocks.progress_chart(chart_facts_of(session_factory, plan_id), TODAY)  # import matplotlib

        def view() -> None:
            with session_factory() as session:
                plan = ops.load_plan_tree(session, TEAM, plan_id)
                progress = ops.plan_progress(session, TEAM, plan_id)
                people = stakeholders.stakeholder_tree(stakeholders.list_stakeholders(session, actor, plan_id))
                plan_view(plan, progress, can_edit=True, today=TODAY, stakeholders=people)

        def plan_health() -> None:
            with session_factory() as session:
                health.plan_health(session, TEAM, plan_id, TODAY)

        def agreement_states() -> None:
            with session_factory() as session:
                assert agreements.agreement_states(session, TEAM, plan_id)

        def data() -> None:
            chart_facts_of(session_factory, plan_id)

        facts = chart_facts_of(session_factory, plan_id)
        rows = [
            ("plan view (tree, progress, stakeholders, blocks)", measure(view, args.runs, counter)),
            ("plan health", measure(plan_health, args.runs, counter)),
            ("agreements (one on record)", measure(agreement_states, args.runs, counter)),
            ("chart data (customer channel)", measure(data, args.runs, counter)),
            ("chart drawing (PNG)", measure(lambda: chart_blocks.progress_chart(facts, TODAY), args.runs, counter)),
        ]
        cleanup()

    print(f"a 1,500-item plan on {engine.dialect.name}, median of {args.runs} runs")
    base = rows[0][1][0]
    for name, (seconds, queries) in rows:
        print(f"  {name:<50} {seconds * 1000:8.1f} ms  {queries:3.0f} queries  ({seconds / base:.2f}x the view)")


def chart_facts_of(session_factory, plan_id: int):
    with session_factory() as session:
        return chart_facts.progress_facts(session, TEAM, plan_id, audience=Audience.EXTERNAL)


if __name__ == "__main__":
    main()
