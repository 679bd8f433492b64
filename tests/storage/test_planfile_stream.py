"""Plan files read plan by plan (issue 8): the same plans and the same errors as reading
the whole text, a file read no further ahead than the plan being checked, batches
written in the caller's one transaction (a bad plan 9,000 leaves nothing behind)."""

from __future__ import annotations

import datetime as dt
import io
import json
import weakref

import pytest
import yaml
from sqlalchemy import func, select

from bot import cli
from storage import planfile
from storage.errors import ValidationError
from storage.models import AccountPlan, ActionItem, Base, ChangeLogEntry, Objective, Strategy
from storage.planfile import (
    PlanFileError,
    dump_plan_file,
    import_plan_file,
    import_plans,
    iter_plan_file,
    parse_plan_file,
    plans_of,
)
from tests.storage.test_planfile import RICH

TEAM = "T0STREAM"


def _plan(p: int, **extra) -> dict:
    return dict(
        name=f"Plan {p}", account=f"Account {p % 7}", start_date="2025-01-01",
        end_date="2025-12-31", owner="UOWNER", **extra,
    )


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def small_reads(monkeypatch):
    """Reads of a few characters, so every value crosses the ends of what was read."""
    monkeypatch.setattr(planfile.parse, "READ_CHARS", 7)


def _whole_yaml(text: str):
    """What reading the whole text with PyYAML gives: the plans, or the error message."""
    try:
        return plans_of(yaml.load(text, Loader=planfile.yaml_stream.YamlLoader))  # noqa: S506 - safe loader
    except yaml.YAMLError as error:
        mark = error.problem_mark
        return f"not valid YAML: {error.problem} at line {mark.line + 1} column {mark.column + 1}"
    except (ValueError, OverflowError) as error:
        return f"not valid YAML: {error}"
    except PlanFileError as error:
        return str(error)


def _streamed(text: str, fmt: str, *, stream: bool = True):
    try:
        return list(iter_plan_file(io.StringIO(text) if stream else text, fmt))
    except PlanFileError as error:
        return str(error)


# ---------------------------------------------------------------------------
# JSON


JSON_LAYOUTS = [
    lambda doc: json.dumps(doc),
    lambda doc: json.dumps(doc, indent=2, ensure_ascii=False),
    lambda doc: json.dumps(doc, indent="\t", ensure_ascii=True),
    lambda doc: "\r\n  " + json.dumps(doc, separators=(",", ":")) + "\n\n",
    lambda doc: json.dumps(doc["plans"], indent=1),  # a bare list
]


@pytest.mark.parametrize("layout", range(len(JSON_LAYOUTS)))
def test_json_streamed_is_json_loads(small_reads, layout):
    plans = parse_plan_file(RICH)
    for plan in plans:  # numbers of every kind, escapes, long text
        plan["vision"] = "Ünïcode \"quoted\" \\ back\\slash \u2028 😀 " * 20
        plan.setdefault("strategies", []).append(
            {"title": "N", "objectives": [{"title": "n", "target_value": 123456789012.5,
                                           "current_value": -1e-7}]}
        )
    text = JSON_LAYOUTS[layout](json.loads(dump_plan_file(plans, "json")))
    expected = plans_of(json.loads(text))
    assert _streamed(text, "json") == expected
    assert _streamed(text, "json", stream=False) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"plans": [}',
        '{"plans": [{"name": "a",}]}',
        '{"plans": [{"name" "a"}]}',
        '{"plans": [{"name": "a"} {"name": "b"}]}',
        '{"plans": [{"name": "a\nb"}]}',
        '{"plans": [{"name": tru}]}',
        '{"plans": [{"name": "\\x"}]}',
        '{"plans": [{"name": "unterminated}]}',
        '{"plans": []',
        '{"plans": [] ',
        '{"plans": []} extra',
        '{"plans" []}',
        "{plans: []}",
        "",
        "   \n  ",
        "\n\n  {\n  \"plans\": [\n    {\"name\": 1.5.3}\n  ]\n}",
        '[{"a": 1}\n\n\n, nope]',
    ],
)
def test_json_errors_are_json_loads_errors(small_reads, text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    error = expected.value
    message = f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    assert _streamed(text, "json") == message
    assert _streamed(text, "json", stream=False) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"plans": [{"name": "a", "name": "b"}]}', "not valid JSON: duplicate key 'name'"),
        ('{"plans": [], "plans": []}', "not valid JSON: duplicate key 'plans'"),
        ('{"plans": null}', "plans: required"),
        ("{}", "plans: required"),
        ('{"plans": {"name": "a"}}', "plans: must be a list"),
        ('{"plan": []}', "plan: unknown field (expected plans)"),
        ('"plans"', "a plan file is a mapping with a `plans:` list"),
        ("3 4", "not valid JSON: Extra data at line 1 column 3"),
    ],
)
def test_json_file_errors(small_reads, text, message):
    assert _streamed(text, "json") == message


def test_a_json_error_after_good_plans_comes_when_it_is_reached():
    text = json.dumps({"plans": [_plan(0), _plan(1)]})[:-3] + "?]}"
    entries = iter_plan_file(io.StringIO(text), "json")
    assert next(entries) == _plan(0)
    with pytest.raises(PlanFileError, match="not valid JSON: Expecting ',' delimiter at line 1 column"):
        next(entries)


# ---------------------------------------------------------------------------
# YAML: PyYAML's safe loader, one plan node at a time


def _yaml_plans(*plans: dict) -> str:
    return dump_plan_file(list(plans), "yaml")


YAML_FILES = {
    "as export writes it": _yaml_plans(_plan(0), _plan(1, vision="a\nb\n"), _plan(2)),
    "the rich example": RICH,
    "indentless list": "plans:\n- name: a\n  team: [U1]\n- name: b\n",
    "bare list": "- name: a\n- name: b\n  account: c\n",
    "comments and blank lines": "# head\n\nplans:\n\n  # one\n  - name: a\n\n# between\n  - name: b\n  # end\n",
    "flow mapping in the middle": _yaml_plans(_plan(0)) + "  - {name: b, account: c}\n"
    + _yaml_plans(_plan(3))[len("plans:\n"):],
    "quoted over lines, looking like an item": 'plans:\n  - name: a\n  - name: "b\n  - c"\n    account: d\n  - name: e\n',
    "single quotes over lines": "plans:\n  - name: 'b\n\n    c'\n  - name: e\n",
    "anchors across plans": "plans:\n  - name: a\n    team: &t [U1, U2]\n  - name: b\n    team: *t\n",
    "another key after the list": "plans:\n  - name: a\nplans2: 3\n",
    "a second document": "plans:\n  - name: a\n---\nplans: []\n",
    "document markers": "---\nplans:\n  - name: a\n...\n",
    "empty": "",
    "only comments": "# nothing\n",
    "plans: with nothing": "plans:\n",
    "empty list": "plans: []\n",
    "not a list": "plans: 3\n",
    "a scalar": "just text\n",
    "duplicate plans key": "plans:\n  - name: a\nplans:\n  - name: b\n",
    "duplicate key in the third plan": _yaml_plans(_plan(0), _plan(1)) + "  - name: a\n    name: b\n",
    "syntax error in the third plan": _yaml_plans(_plan(0), _plan(1)) + "  - name: [unclosed\n    account: x\n",
    "bad timestamp in the second plan": _yaml_plans(_plan(0)) + "  - start_date: 2025-13-45\n",
    "tab in the middle": _yaml_plans(_plan(0)) + "  - name: a\n\t\n",
    "literal kept at the end": "plans:\n  - name: a\n    vision: |+\n      text\n\n\n",
    "literal block with item-like lines": "plans:\n  - vision: |\n      - not an item\n    name: a\n  - name: b\n",
    "an item at a lesser indentation": "plans:\n    - name: a\n  - name: b\n",
}


@pytest.mark.parametrize("name", YAML_FILES)
def test_yaml_streamed_is_yaml_load(small_reads, name):
    text = YAML_FILES[name]
    expected = _whole_yaml(text)
    assert _streamed(text, "yaml") == expected
    assert _streamed(text, "yaml", stream=False) == expected


def test_yaml_errors_name_the_line_of_the_file():
    """PyYAML takes over at the third plan, from its first line: still the file's lines."""
    text = _yaml_plans(_plan(0), _plan(1)) + "  - name: a\n    name: b\n"
    line = text.count("\n")  # the repeated key is on the last line
    assert _streamed(text, "yaml") == f"not valid YAML: duplicate key 'name' at line {line} column 5"


# ---------------------------------------------------------------------------
# Read as needed


class _Tracking(io.StringIO):
    """A stream that tells how far it has been read."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.served = 0

    def read(self, size=-1):
        data = super().read(size)
        self.served += len(data)
        return data


@pytest.mark.parametrize(("fmt", "bound"), [("json", 3_000), ("yaml", 40_000)])
def test_the_file_is_read_plan_by_plan(monkeypatch, fmt, bound):
    monkeypatch.setattr(planfile.parse, "READ_CHARS", 1000)
    plans = [_plan(p, vision="x" * 200) for p in range(1000)]
    if fmt == "json":
        text = json.dumps({"plans": plans}, indent=2)
    else:
        text = dump_plan_file(plans, "yaml")
    stream = _Tracking(text)
    ahead = []
    for index, entry in enumerate(iter_plan_file(stream, fmt)):
        assert entry["name"] == f"Plan {index}"
        ahead.append(stream.served - len(text) * (index + 1) // len(plans))
    assert len(ahead) == len(plans)
    # Never more than a read or two ahead of the plan given out (a plan is ~350
    # characters, the file ~350,000); libyaml reads 16 KB at a time.
    assert max(ahead) < bound, max(ahead)


def test_entries_are_not_kept_once_checked(session):
    """An entry read from the file is dropped once checked (the batch keeps what goes
    into the rows): at most the last one and the next are alive."""

    class Entry(dict):
        pass

    alive: list[weakref.ref] = []
    most = 0

    def entries():
        nonlocal most
        for p in range(100):
            entry = Entry(_plan(p, strategies=[{"title": "S"}]))
            alive.append(weakref.ref(entry))
            most = max(most, sum(ref() is not None for ref in alive))
            yield entry

    ids = import_plans(session, TEAM, entries(), batch_plans=10)
    assert len(ids) == 100 and most <= 2


# ---------------------------------------------------------------------------
# Batches in one transaction


def test_batches_write_the_same_rows_as_one(session):
    plans = [
        _plan(p, strategies=[{"title": f"S{s}", "objectives": [
            {"title": "O", "action_items": [{"title": f"I{i}", "assignee": "UA"} for i in range(p % 4)]}
        ]} for s in range(2)], swot=[{"kind": "threat", "text": "t"}, {"kind": "threat", "text": "u"}])
        for p in range(23)
    ]
    ids = import_plans(session, TEAM, iter(plans), batch_plans=5, batch_items=7)
    session.commit()
    assert ids == sorted(ids) and len(ids) == 23
    exported = json.loads(planfile.export_plans(session, TEAM, ids, "json"))["plans"]
    again = import_plans(session, "T0AGAIN", {"plans": exported})  # one batch
    session.commit()
    assert json.loads(planfile.export_plans(session, "T0AGAIN", again, "json"))["plans"] == exported
    # Positions and parents right across batch ends.
    last = session.scalars(select(Objective).where(Objective.plan_id == ids[-1])).all()
    assert [(o.position, o.strategy.position) for o in last] == [(0, 0), (0, 1)]
    assert _count(session, Strategy) == 2 * 2 * 23


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_bad_plan_9000_rolls_back_every_batch_before_it(session, fmt):
    good = [_plan(p) for p in range(9_000)]
    bad = _plan(9_000, strategies=[{"title": "S"}, {"description": "no title"}])
    if fmt == "json":
        text = json.dumps({"plans": [*good, bad, _plan(9_001)]})
    else:  # as export writes it (dump_plan_file itself takes seconds for 9,000 plans)
        text = "plans:\n" + "".join(
            f"  - name: {p['name']}\n    account: {p['account']}\n    start_date: 2025-01-01\n"
            f"    end_date: 2025-12-31\n    owner: UOWNER\n"
            for p in good
        ) + dump_plan_file([bad, _plan(9_001)], "yaml")[len("plans:\n"):]
    with pytest.raises(PlanFileError) as caught:
        import_plan_file(session, TEAM, io.StringIO(text), fmt)
    assert str(caught.value) == "plans[9000].strategies[1].title: required"
    # The batches before it went in, in the same transaction …
    assert _count(session, AccountPlan) >= 9_000 - planfile.BATCH_PLANS
    session.rollback()
    # … and went away with it.
    for table in Base.metadata.sorted_tables:
        assert session.scalar(select(func.count()).select_from(table)) == 0, table.name


def test_a_file_error_part_way_rolls_back_too(session):
    text = json.dumps({"plans": [_plan(p) for p in range(600)]})[:-2] + ",]}"
    with pytest.raises(PlanFileError, match="not valid JSON: Expecting value"):
        import_plan_file(session, TEAM, io.StringIO(text))
    assert _count(session, AccountPlan) == 500  # two batches of 250 written, then the error
    session.rollback()
    assert _count(session, AccountPlan) == 0 and _count(session, ChangeLogEntry) == 0


def test_a_plan_with_more_items_than_a_batch_goes_in_whole(session):
    items = [{"title": f"I{i}", "assignee": "UA", "due_date": "2025-06-01"} for i in range(40)]
    plans = [_plan(0), _plan(1, strategies=[{"title": "S", "objectives": [{"title": "O", "action_items": items}]}]), _plan(2)]
    ids = import_plans(session, TEAM, iter(plans), batch_items=10)
    session.commit()
    assert len(ids) == 3
    titles = session.scalars(
        select(ActionItem.title).where(ActionItem.plan_id == ids[1]).order_by(ActionItem.position)
    ).all()
    assert titles == [f"I{i}" for i in range(40)]


# ---------------------------------------------------------------------------
# Fast paths give what the rules give


NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone.utc)
ITEMS = [
    {"title": "Plain", "assignee": "UA"},
    {"title": "Plain", "assignee": "UA", "notes": "", "team_only": None, "status": None},
    {"title": " Spaced ", "assignee": " UA ", "notes": " n "},
    {"title": "Ünïcode\u200b", "assignee": "UA", "notes": "\u200b"},
    {"title": "Tab\there", "assignee": "UA", "notes": "line\nline"},
    {"title": "T", "assignee": "UA", "due_date": dt.date(2025, 5, 1), "team_only": True},
    {"title": "T", "assignee": "UA", "due_date": "2025-05-01"},
    {"title": "T", "assignee": "UA", "due_date": " 2025-05-01 "},
    {"title": "T", "assignee": "UA", "due_date": ""},
    {"title": "T", "assignee": "UA", "due_date": "2026-05-01"},
    {"title": "T", "assignee": "UA", "due_date": "2025-13-01"},
    {"title": "T", "assignee": "UA", "due_date": dt.datetime(2025, 5, 1)},
    {"title": "T", "assignee": "UA", "status": "done"},
    {"title": "T", "assignee": "UA", "status": " DONE ", "done_by": " UB "},
    {"title": "T", "assignee": "UA", "status": "done", "done_at": "2025-02-01T10:30:00Z", "done_by": "UB"},
    {"title": "T", "assignee": "UA", "status": "done", "done_at": "", "done_by": ""},
    {"title": "T", "assignee": "UA", "status": "done", "done_at": "yesterday"},
    {"title": "T", "assignee": "UA", "status": "open", "done_at": "2025-02-01T10:30:00Z"},
    {"title": "T", "assignee": "UA", "status": "open", "done_by": "UB"},
    {"title": "T", "assignee": "UA", "status": "open", "done_at": "", "done_by": ""},
    {"title": "T", "assignee": "UA", "status": "started"},
    {"title": "T", "assignee": "UA", "status": 5},
    {"title": "T", "assignee": "UA", "team_only": "yes"},
    {"title": "T", "assignee": "UA", "shared_with_customer": False},
    {"title": "T", "assignee": "UA", "shared_with_customer": True, "notes": "n"},
    {"title": "T", "assignee": "UA", "shared_with_customer": None},
    {"title": "T", "assignee": "UA", "shared_with_customer": "yes"},
    {"title": "T", "assignee": "UA", "shared_with_customer": True, "team_only": False},
    {"title": "T", "assignee": "UA", "shared_with_customer": False, "team_only": True},
    {"title": "T", "assignee": "UA", "shared_with_customer": True, "team_only": True},
    {"title": "T", "assignee": "UA", "team_only": False},
    {"title": "T", "assignee": "UA", "notes": 5},
    {"title": "", "assignee": "UA"},
    {"title": "x" * 1000, "assignee": "UA"},
    {"title": "T", "assignee": "not an id"},
    {"title": "T"},
    {"title": "T", "assignee": "UA", "colour": "blue"},
    "just a title",
]
OBJECTIVES = [
    {"title": "O", "target_value": 5, "current_value": 2},
    {"title": " O ", "measure_unit": " u ", "target_value": "5.50", "current_value": 2.25},
    {"title": "O", "description": "", "measure_unit": None, "current_value": 3},
    {"title": "O", "target_value": 10**14},
    {"title": "O", "target_value": True},
    {"title": "O", "target_value": -(10**14) + 1, "description": "d"},
    {"title": "O", "shared_with_customer": False},
    {"title": "O", "shared_with_customer": 1},
]
SLOW = {
    "_fast_item": lambda *_args: None,
    "_fast_objective_fields": lambda *_args: None,
    "_plain_text": lambda *_args: False,
    "_plain_id": lambda *_args: False,
}


def _checked_or_error(entry) -> object:
    try:
        return vars(planfile.check.check_plan(entry, None, NOW))
    except ValidationError as error:
        return error.field, error.message


@pytest.mark.parametrize("case", range(len(ITEMS) + len(OBJECTIVES)))
def test_fast_paths_answer_as_the_rules(monkeypatch, case):
    """What a plain value's fast path gives is what the rules themselves give, and any
    value or error that is not plain is the rules' own."""
    objective = {"title": "O", "action_items": [ITEMS[case]]} if case < len(ITEMS) else OBJECTIVES[case - len(ITEMS)]
    entry = _plan(0, strategies=[{"title": "S", "objectives": [objective]}], swot=[{"kind": "threat", "text": " t "}])
    fast = _checked_or_error(entry)
    for name, slow in SLOW.items():
        monkeypatch.setattr(planfile.check, name, slow)
    assert _checked_or_error(entry) == fast


# ---------------------------------------------------------------------------
# The command


def test_cli_import_streams_a_file_and_a_bad_one_changes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(planfile.parse, "READ_CHARS", 1000)  # the bad byte is met part way
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"plans": [_plan(p) for p in range(600)]}), encoding="utf-8")
    assert cli.main(["import", str(good), "--team", TEAM]) == 0
    assert capsys.readouterr().out.startswith(f"imported 600 plans into workspace {TEAM}\n")

    bad = tmp_path / "bad.json"
    body = json.dumps({"plans": [_plan(p) for p in range(600)]})
    bad.write_bytes(b"\xef\xbb\xbf" + body[:-20].encode() + b"\xff" + body[-20:].encode())
    assert cli.main(["import", str(bad), "--team", TEAM]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"accountplan: cannot read {bad}: 'utf-8' codec can't decode") and err.count("\n") == 1

    from storage.db import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AccountPlan)) == 600
    engine.dispose()
