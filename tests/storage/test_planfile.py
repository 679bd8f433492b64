"""Plan files: export → import → export is identical, import is all or nothing, errors
name the first bad entry by path. On SQLite and PostgreSQL (the `session` fixture)."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
import yaml
from sqlalchemy import func, select

from storage import plans as ops
from storage.errors import PlanError, ValidationError
from storage.models import (
    Account,
    AccountPlan,
    ActionItem,
    Base,
    ChangeLogEntry,
    ItemStatus,
    Objective,
    PlanMember,
    QbrReview,
    Strategy,
    SwotEntry,
)
from storage.planfile import (
    PlanFileError,
    dump_plan_file,
    export_plans,
    guess_format,
    import_plan_file,
    import_plans,
    parse_plan_file,
)
from storage.planfile.export import export_number
from storage.plans import ActionItemInput, Actor, ObjectiveInput, ReviewInput
from tests.storage.conftest import OWNER, counting, make_plan

TEAM = "T0FILES"
OTHER = "T0OTHERFILES"

# RUN_CONTRACT's example, comments left out: export gives back exactly this text.
CONTRACT_EXAMPLE = """\
plans:
  - name: Newton Memorial Hospital 2025 Strategic Plan
    account: Newton Memorial Hospital
    start_date: 2025-01-01
    end_date: 2025-12-31
    status: active
    owner: U0123OWNER
    team: [U0456MEMBER]
    strategies:
      - title: Improve account's awareness of Cholecap and Restolar
        objectives:
          - title: Expand understanding of improved patient outcomes
            action_items:
              - title: Share results from latest Cholecap and Restolar studies
                assignee: U0456MEMBER
                due_date: 2025-03-01
                status: open
    swot:
      - kind: strength
        text: Superior product efficacy as demonstrated through multiple studies
"""

# Every field the format has, and text that YAML would misread if left unquoted.
RICH = """\
plans:
  - name: "Plan: #1 — Ünïcode & <stuff>"
    account: "yes"
    start_date: 2025-01-01
    end_date: "2025-12-31"
    status: Completed
    owner: U0123OWNER
    team: [U0456MEMBER, U0123OWNER, U0789OTHER, U0456MEMBER]
    vision: |
      Be the partner of choice.
      Second line: with a colon.
    customer_goals: "2025-06-01"
    our_goals: "123"
    strategies:
      - title: "*bold* [x](http://evil)"
        description: "null"
        objectives:
          - title: Win formularies
            description: "- looks like a list"
            measure_unit: IDNs
            target_value: 5
            current_value: 2.5
            action_items:
              - title: Done one
                assignee: U0456MEMBER
                due_date: 2025-02-01
                status: done
                done_at: 2025-02-01T10:30:00Z
                done_by: U0456MEMBER
              - title: Secret one
                assignee: U0123OWNER
                status: open
                team_only: true
                notes: |
                  line one
                  line two
          - title: No items, big number
            target_value: "1234567.1234"
            current_value: 0
      - title: Empty strategy
    swot:
      - kind: threat
        text: Threat one
      - kind: strength
        text: Strength one
        team_only: false
      - kind: strength
        text: Strength two
    reviews:
      - held_on: 2025-06-15
        attendees: Alice, Bob
        notes: Went well
        decisions: Keep going
        next_qbr_date: 2025-09-15
      - held_on: 2025-03-15
  - name: Second plan
    account: "yes"
    start_date: 2024-01-01
    end_date: 2024-12-31
    owner: U0123OWNER
"""


def _roundtrip(session, text: str, fmt: str, *, first_team=TEAM, second_team=OTHER):
    ids = import_plan_file(session, first_team, text, fmt)
    session.commit()
    first = export_plans(session, first_team, ids, fmt)
    again = import_plan_file(session, second_team, first, fmt)
    session.commit()
    session.expire_all()
    second = export_plans(session, second_team, again, fmt)
    return first, second


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------------------
# Round trips


def test_contract_example_exports_as_written(session):
    """As written, plus "Shared with customer": a file of an earlier version says nothing
    of it, which means shared (customers saw every part that was not team-only), and
    this version's files always say it."""
    ids = import_plan_file(session, TEAM, CONTRACT_EXAMPLE)
    session.commit()
    exported = export_plans(session, TEAM, ids, "yaml")
    assert exported == CONTRACT_EXAMPLE.replace(
        "      - title: Improve account's awareness of Cholecap and Restolar\n",
        "      - title: Improve account's awareness of Cholecap and Restolar\n        shared_with_customer: true\n",
    ).replace(
        "          - title: Expand understanding of improved patient outcomes\n",
        "          - title: Expand understanding of improved patient outcomes\n            shared_with_customer: true\n",
    ).replace(
        "                status: open\n",
        "                status: open\n                shared_with_customer: true\n",
    )
    ids = import_plan_file(session, TEAM, exported)  # and reads back the same
    session.commit()
    assert export_plans(session, TEAM, ids, "yaml") == exported


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_import_export_is_identical(session, fmt):
    text = RICH if fmt == "yaml" else dump_plan_file(parse_plan_file(RICH), "json")
    first, second = _roundtrip(session, text, fmt)
    assert first == second
    assert "2025-02-01T10:30:00Z" in first and "1234567.1234" in first


def test_yaml_and_json_carry_the_same_plans(session):
    ids = import_plan_file(session, TEAM, RICH)
    session.commit()
    as_yaml = yaml.safe_load(export_plans(session, TEAM, ids, "yaml"))
    as_json = json.loads(export_plans(session, TEAM, ids, "json"))

    def normal(value):  # YAML dates are dates, JSON's are strings
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [normal(v) for v in value]
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat().replace("+00:00", "Z")
        return value

    assert normal(as_yaml) == normal(as_json)


def test_export_shape(session):
    ids = import_plan_file(session, TEAM, RICH)
    session.commit()
    text = export_plans(session, TEAM, ids, "yaml")
    plan = yaml.safe_load(text)["plans"][0]
    # Lowercase status, the owner not repeated in the team, nobody twice, sorted.
    assert plan["status"] == "completed"
    assert plan["team"] == ["U0456MEMBER", "U0789OTHER"]
    assert plan["account"] == "yes" and plan["our_goals"] == "123"
    assert plan["vision"] == "Be the partner of choice.\nSecond line: with a colon."
    assert "    vision: |-\n      Be the partner of choice.\n" in text
    assert "start_date: 2025-01-01\n" in text  # dates unquoted
    objective = plan["strategies"][0]["objectives"][0]
    assert (objective["target_value"], objective["current_value"]) == (5, 2.5)
    done, secret = objective["action_items"]
    assert done["status"] == "done" and done["done_at"] == dt.datetime(
        2025, 2, 1, 10, 30, tzinfo=dt.timezone.utc
    )
    # "Shared with customer" is always written; an item's team_only never (it is read
    # from files of earlier versions: team_only true is not shared, absent is shared).
    assert "team_only" not in done and "team_only" not in secret
    assert (done["shared_with_customer"], secret["shared_with_customer"]) == (True, False)
    assert objective["shared_with_customer"] is True
    assert "share_with_customer_by_default" not in plan  # false: left out
    assert "due_date" not in secret  # empty optional fields are left out
    assert plan["strategies"][1] == {"title": "Empty strategy", "shared_with_customer": True}
    # SWOT in S, W, O, T order, file order within a kind; team_only only when false.
    assert [(e["kind"], e["text"], e.get("team_only")) for e in plan["swot"]] == [
        ("strength", "Strength one", False),
        ("strength", "Strength two", None),
        ("threat", "Threat one", None),
    ]
    assert [r["held_on"] for r in plan["reviews"]] == [dt.date(2025, 3, 15), dt.date(2025, 6, 15)]
    assert plan["reviews"][0] == {"held_on": dt.date(2025, 3, 15)}


def test_plan_built_through_operations_round_trips(session):
    plan = make_plan(session, vision="See it through")
    strategy = ops.add_strategy(session, OWNER, plan.id, "Grow", "Across the region")
    objective = ops.add_objective(
        session, OWNER, strategy.id, ObjectiveInput("Formularies", measure_unit="IDNs", target_value=5, current_value=3)
    )
    item = ops.add_action_item(
        session, OWNER, objective.id, ActionItemInput("Call", "UMEMBER", dt.date(2025, 5, 1), notes="n")
    )
    ops.set_action_item_done(session, OWNER, item.id)
    ops.add_swot_entry(session, OWNER, plan.id, "weakness", "Low awareness")
    ops.add_review(session, OWNER, plan.id, ReviewInput(dt.date(2025, 4, 1), notes="ok"))
    session.commit()

    first = export_plans(session, plan.team_id, [plan.id], "yaml")
    ids = import_plan_file(session, OTHER, first)
    session.commit()
    assert export_plans(session, OTHER, ids, "yaml") == first
    # done_at is kept (to the second), as are done_by and last_review_date.
    copy = session.scalars(select(ActionItem).where(ActionItem.plan_id == ids[0])).one()
    original = session.get(ActionItem, item.id)
    assert copy.done_at == original.done_at.replace(microsecond=0)
    assert copy.done_by == OWNER.user_id and copy.status == ItemStatus.DONE
    assert session.get(AccountPlan, ids[0]).last_review_date == dt.date(2025, 4, 1)


def test_imported_plan_works_with_the_operations(session):
    (plan_id,) = import_plan_file(session, TEAM, CONTRACT_EXAMPLE)
    session.commit()
    owner = Actor(TEAM, "U0123OWNER")
    strategy = ops.load_plan_tree(session, TEAM, plan_id).strategies[0]
    added = ops.add_objective(session, owner, strategy.id, ObjectiveInput("Another"))
    assert added.position == 1  # positions were written densely
    item = strategy.objectives[0].action_items[0]
    ops.set_action_item_done(session, Actor(TEAM, "U0456MEMBER"), item.id)
    ops.update_strategy(session, owner, strategy.id, "Renamed", expected_version=1)
    session.commit()
    progress = ops.plan_progress(session, TEAM, plan_id)
    assert (progress.plan.done, progress.plan.total) == (1, 1)


# ---------------------------------------------------------------------------
# What import writes


def test_done_without_done_at_gets_the_import_time(session):
    text = CONTRACT_EXAMPLE.replace("status: open", "status: DONE")
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    (plan_id,) = import_plan_file(session, TEAM, text)
    session.commit()
    item = session.scalars(select(ActionItem).where(ActionItem.plan_id == plan_id)).one()
    assert item.status == ItemStatus.DONE and item.done_by is None
    assert before <= item.done_at <= dt.datetime.now(dt.timezone.utc)


def test_accounts_are_shared_per_workspace(session):
    session.add(Account(team_id=TEAM, name="yes"))
    session.commit()
    import_plan_file(session, TEAM, RICH)
    import_plan_file(session, OTHER, RICH)
    session.commit()
    accounts = session.execute(select(Account.team_id, Account.name).order_by(Account.team_id)).all()
    assert [tuple(a) for a in accounts] == [(TEAM, "yes"), (OTHER, "yes")]
    assert _count(session, AccountPlan) == 4


def test_one_change_log_entry_per_plan(session):
    ids = import_plan_file(session, TEAM, RICH, actor_id="UIMPORTER")
    session.commit()
    entries = session.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.plan_id)).all()
    assert [(e.plan_id, e.action, e.actor_id) for e in entries] == [
        (ids[0], "imported", "UIMPORTER"),
        (ids[1], "imported", "UIMPORTER"),
    ]
    assert "2 strategies, 2 objectives, 2 action items" in entries[0].summary


def test_actor_is_the_owner_when_the_file_names_none(session):
    text = CONTRACT_EXAMPLE.replace("    owner: U0123OWNER\n", "")
    with pytest.raises(PlanFileError, match=r"^plans\[0\]\.owner: required$"):
        import_plan_file(session, TEAM, text)
    (plan_id,) = import_plan_file(session, TEAM, text, actor_id="UME")
    assert session.get(AccountPlan, plan_id).owner_id == "UME"


def test_empty_file_imports_nothing(session):
    assert import_plan_file(session, TEAM, "plans: []\n") == []
    assert import_plans(session, TEAM, []) == []


# ---------------------------------------------------------------------------
# All or nothing, and errors by path


def _plans(*entries: str) -> str:
    return "plans:\n" + "".join(entries)


GOOD = """\
  - name: Good
    account: Acme
    start_date: 2025-01-01
    end_date: 2025-12-31
    owner: UOWNER
    strategies:
      - title: S
        objectives:
          - title: O
            action_items:
              - {title: I, assignee: UA, due_date: 2025-05-01}
"""


def test_a_bad_third_plan_leaves_the_database_empty(session):
    bad = GOOD.replace("due_date: 2025-05-01", "due_date: 2026-05-01")
    with pytest.raises(PlanFileError) as caught:
        import_plan_file(session, TEAM, _plans(GOOD, GOOD, bad))
    session.rollback()
    assert caught.value.path == "plans[2].strategies[0].objectives[0].action_items[0].due_date"
    for table in Base.metadata.sorted_tables:
        assert session.scalar(select(func.count()).select_from(table)) == 0, table.name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("    strategies:\n      - title: S\n", "    strategies:\n      - title: S\n      - description: no title\n"),
            "plans[3].strategies[1].title: required",
        ),
        (
            ("owner: UOWNER\n", "owner: UOWNER\n    status: Live\n"),
            "plans[3].status: must be one of draft, active, completed, archived",
        ),
        (
            ("{title: I, assignee: UA, due_date: 2025-05-01}", "{title: I, assignee: UA, due_date: 2026-01-01}"),
            "plans[3].strategies[0].objectives[0].action_items[0].due_date: "
            "must be within the plan (2025-01-01 to 2025-12-31)",
        ),
        (
            ("      - title: S\n", "      - title: S\n        colour: blue\n"),
            "plans[3].strategies[0].colour: unknown field (expected one of title, description, "
            "shared_with_customer, objectives)",
        ),
        (
            ("owner: UOWNER\n", "owner: UOWNER\n    team: [UA, not an id]\n"),
            "plans[3].team[1]: must be a Slack user id such as U0123ABCD",
        ),
        (
            ("end_date: 2025-12-31", "end_date: 2024-12-31"),
            "plans[3].end_date: must be on or after the start date",
        ),
        (
            ("start_date: 2025-01-01", "start_date: 1/1/2025"),
            "plans[3].start_date: must be a date (YYYY-MM-DD)",
        ),
        (
            ("          - title: O\n", "          - title: O\n            current_value: 3\n"),
            "plans[3].strategies[0].objectives[0].target_value: set a target to track a current value",
        ),
        (
            ("          - title: O\n", "          - title: O\n            target_value: lots\n"),
            "plans[3].strategies[0].objectives[0].target_value: must be a number",
        ),
        (
            ("assignee: UA,", "assignee: UA, status: started,"),
            "plans[3].strategies[0].objectives[0].action_items[0].status: must be one of open, done",
        ),
        (
            ("assignee: UA,", "assignee: UA, done_at: 2025-05-01T10:00:00Z,"),
            "plans[3].strategies[0].objectives[0].action_items[0].done_at: only for items with status done",
        ),
        (
            ("{title: I, assignee: UA, due_date: 2025-05-01}", "{title: I, due_date: 2025-05-01}"),
            "plans[3].strategies[0].objectives[0].action_items[0].assignee: required",
        ),
        (
            ("    strategies:\n", "    swot:\n      - {kind: strength, text: ok}\n      - {kind: strenght, text: typo}\n    strategies:\n"),
            "plans[3].swot[1].kind: must be one of strength, weakness, opportunity, threat",
        ),
        (
            ("    strategies:\n", "    reviews:\n      - {held_on: 2025-03-01, next_qbr_date: 2025-02-01}\n    strategies:\n"),
            "plans[3].reviews[0].next_qbr_date: must be after the review date",
        ),
        (
            ("    strategies:\n", "    swot:\n      - {kind: threat, text: x, team_only: sometimes}\n    strategies:\n"),
            "plans[3].swot[0].team_only: must be true or false",
        ),
        (
            ("  - name: Good\n", "  - name: [Good]\n"),
            "plans[3].name: must be text (put it in quotes)",
        ),
        (
            ("{title: I, assignee: UA, due_date: 2025-05-01}", "just a title"),
            "plans[3].strategies[0].objectives[0].action_items[0]: must be a mapping of fields",
        ),
        (
            ("owner: UOWNER\n", "owner: UOWNER\n    swot: strong\n"),
            "plans[3].swot: must be a list",
        ),
        (
            ("  - name: Good\n", "  - name: " + "x" * 151 + "\n"),
            "plans[3].name: must be at most 150 characters",
        ),
    ],
)
def test_errors_name_the_first_bad_entry(session, change, message):
    bad = GOOD.replace(*change)
    assert bad != GOOD
    with pytest.raises(PlanFileError) as caught:
        import_plan_file(session, TEAM, _plans(GOOD, GOOD, GOOD, bad, bad))
    assert str(caught.value) == message
    assert isinstance(caught.value, ValidationError) and isinstance(caught.value, PlanError)
    assert caught.value.path == message.split(": ")[0]


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("plans:\n  - name: [unclosed\n", None, "not valid YAML"),
        ('{"plans": [}', None, "not valid JSON: Expecting value at line 1 column 12"),
        ("plans: 3\n", "yaml", "plans: must be a list"),
        ("plan: []\n", "yaml", "plan: unknown field (expected plans)"),
        ("- 1\n- 2\n", "yaml", "plans[0]: must be a mapping of fields"),
        ("just text\n", "yaml", "a plan file is a mapping with a `plans:` list"),
        ("plans:\n  - name: a\n    name: b\n", "yaml", "not valid YAML: duplicate key 'name' at line 3"),
        ('{"plans": [], "plans": []}', "json", "not valid JSON: duplicate key 'plans'"),
        ("plans: []\n", "xml", "unknown plan file format 'xml': use json or yaml"),
        ("plans:\n  - start_date: 2025-13-45\n", "yaml", "not valid YAML: month must be in 1..12"),
    ],
)
def test_file_level_errors(session, text, fmt, message):
    with pytest.raises(PlanFileError) as caught:
        import_plan_file(session, TEAM, text, fmt)
    assert str(caught.value).startswith(message)


def test_dates_may_be_strings_or_dates():
    text = GOOD.replace("start_date: 2025-01-01", 'start_date: "2025-01-01"')
    from storage.planfile import check_plans

    (plan,) = check_plans(parse_plan_file(_plans(text)))
    assert plan.columns["start_date"] == dt.date(2025, 1, 1)


def test_numbers_are_written_exactly():
    assert [export_number(Decimal(v)) for v in ("5.0000", "2.5000", "0", "-3.25")] == [5, 2.5, 0, -3.25]
    # More digits than a float carries (PostgreSQL keeps them; SQLite cannot).
    assert export_number(Decimal("12345678901234.1234")) == "12345678901234.1234"
    assert export_number(None) is None


def test_guess_format():
    assert guess_format("plans: []", "x.JSON") == "json"
    assert guess_format("{}", "plans.yml") == "yaml"
    assert guess_format('  {"plans": []}') == "json"
    assert guess_format("plans: []") == "yaml"


# ---------------------------------------------------------------------------
# Speed: a few statements per table, not one per row


def big_document(plans: int, strategies=5, objectives=4, items=3) -> dict:
    def item(p, s, o, i):
        return dict(
            title=f"Item {p}.{s}.{o}.{i}",
            assignee="UA",
            due_date=dt.date(2025, 1 + (i % 12), 1 + (o % 28)),
            status="done" if i == 0 else "open",
        )

    return {
        "plans": [
            dict(
                name=f"Plan {p}",
                account=f"Account {p % 37}",
                start_date=dt.date(2025, 1, 1),
                end_date=dt.date(2025, 12, 31),
                status="active",
                owner="UOWNER",
                team=["UA", "UB"],
                strategies=[
                    dict(
                        title=f"Strategy {s}",
                        objectives=[
                            dict(
                                title=f"Objective {o}",
                                target_value=5,
                                current_value=o,
                                action_items=[item(p, s, o, i) for i in range(items)],
                            )
                            for o in range(objectives)
                        ],
                    )
                    for s in range(strategies)
                ],
                swot=[dict(kind="strength", text="Good")],
            )
            for p in range(plans)
        ]
    }


def test_import_is_fast_and_batched(session, engine):
    document = big_document(100)
    started = time.perf_counter()
    with counting(engine) as counter:
        ids = import_plans(session, TEAM, document)
        session.commit()
    elapsed = time.perf_counter() - started
    assert len(ids) == 100
    assert _count(session, ActionItem) == 100 * 60
    assert _count(session, Objective) == 100 * 20 and _count(session, Strategy) == 500
    assert _count(session, PlanMember) == 200 and _count(session, SwotEntry) == 100
    # Action items (the most rows) go in with a handful of statements at most.
    assert len([s for s in counter.of("INSERT") if "action_items" in s]) <= 10
    assert len([s for s in counter.of("SELECT")]) <= 10
    assert elapsed < 10, f"importing 6,000 action items took {elapsed:.1f}s"
    # And the data is right: positions dense, ids in file order.
    objective = session.scalars(
        select(Objective).where(Objective.plan_id == ids[-1]).order_by(Objective.id)
    ).all()[-1]
    assert (objective.title, objective.position, objective.current_value) == ("Objective 3", 3, 3)
    titles = session.scalars(
        select(ActionItem.title).where(ActionItem.objective_id == objective.id).order_by(ActionItem.position)
    ).all()
    assert titles == ["Item 99.4.3.0", "Item 99.4.3.1", "Item 99.4.3.2"]
    assert _count(session, QbrReview) == 0
