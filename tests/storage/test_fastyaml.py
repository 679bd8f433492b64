"""storage/fastyaml.py gives what PyYAML's safe loader gives, or steps aside.

Differential: random documents full of awkward text, written in our export style and in
PyYAML's own styles, read by both readers."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import yaml

from storage import fastyaml
from storage.planfile import dump_plan_file, parse_plan_file
from storage.planfile.export import _YamlDumper

AWKWARD = [
    "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", "", " ", "true", "FALSE",
    "1", "-1", "+1", "0x1F", "0o17", "017", "1_000", "1:20", "1e3", "1.5", "-.5", ".inf",
    "-.Inf", ".nan", "2025-01-01", "2025-01-01T10:00:00Z", "2025-1-1 10:00", "2025-13-45",
    "12:30:45", "<<", "=", "- item", "-x", "? q", ": c", "a: b", "a:b", "a #b", "#c", "a#b",
    "'q'", '"dq"', "it's", 'say "hi"', "[x]", "{y}", "a, b", "&anchor", "*alias", "!tag",
    "%pct", "@at", "`tick`", "|pipe", ">gt", "trailing ", " leading", "two  spaces",
    "line\nbreak", "para\n\nbreak", "end\n", "\nstart", "ünï — “quotes” ✓", "back\\slash",
    "tab\there", "cr\rhere", "x" * 120, "word " * 30, "\u00a0nbsp", "emoji 🎉", "a:",
    "-", "--- doc", "...", "k: v\n- i",
]


def random_text(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(AWKWARD)
    return "".join(rng.choice(AWKWARD) for _ in range(rng.randint(1, 3)))


def random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        scalar = rng.random()
        if scalar < 0.7:
            return random_text(rng)
        if scalar < 0.8:
            return rng.choice([0, 7, -3, 2.5, 1e20, True, False, None])
        if scalar < 0.9:
            return dt.date(2025, rng.randint(1, 12), rng.randint(1, 28))
        return dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.timezone.utc)
    if roll < 0.7:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["name", "title", "team", "yes", "on", "a_b", "x1", "status", "notes"]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def documents(count: int):
    rng = random.Random(20251123)
    for _ in range(count):
        yield {"plans": [random_value(rng) for _ in range(rng.randint(1, 3))]}


STYLES = {
    "export": dict(Dumper=_YamlDumper, sort_keys=False, allow_unicode=True, width=100_000),
    "pyyaml default": dict(Dumper=yaml.SafeDumper),
    "pyyaml narrow": dict(Dumper=yaml.SafeDumper, width=20, allow_unicode=True, indent=4),
    "pyyaml flow": dict(Dumper=yaml.SafeDumper, default_flow_style=None),
}


def compare(text: str) -> bool:
    """True when fastyaml read `text`; fails when it read it differently from PyYAML."""
    try:
        expected = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        expected = "PyYAML refused"
    try:
        got = fastyaml.load(text)
    except fastyaml.Unsupported:
        return False
    except (ValueError, OverflowError):
        got = "PyYAML refused"  # a scalar PyYAML's own constructor refuses
    assert got == expected, text
    return True


@pytest.mark.parametrize("style", STYLES)
def test_same_as_pyyaml_on_random_documents(style):
    for doc in documents(400):
        compare(yaml.dump(doc, **STYLES[style]))


def plan_like(rng: random.Random) -> dict:
    def text():
        return random_text(rng)

    return {
        "plans": [
            {
                "name": text(),
                "start_date": dt.date(2025, 1, 1),
                "team": [text() for _ in range(rng.randint(0, 2))],
                "vision": text(),
                "strategies": [
                    {
                        "title": text(),
                        "objectives": [
                            {
                                "title": text(),
                                "target_value": rng.choice([5, 2.5, -1, "1234.5678"]),
                                "action_items": [
                                    {"title": text(), "status": "done", "done_at": dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.timezone.utc)}
                                    for _ in range(rng.randint(0, 2))
                                ],
                            }
                        ],
                    }
                    for _ in range(rng.randint(0, 2))
                ],
            }
            for _ in range(rng.randint(1, 2))
        ]
    }


@pytest.mark.parametrize("style", ["export", "pyyaml default", "pyyaml narrow"])
def test_plan_like_documents_are_read_fast_and_the_same(style):
    rng = random.Random(7)
    read = sum(compare(yaml.dump(plan_like(rng), **STYLES[style])) for _ in range(300))
    assert read >= 240, f"only {read} of 300 plan-like documents read fast"


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb:\n  - x\n  - y\nc:\n- z\n",
        "a:\n  b:\n    c: d\n  e: f\n",
        "# comment\na: 1 # trailing comment\n",
        "a: |\n  one\n\n  two\n\nb: 1\n",
        "a: |-\n  one\n   two\nb: 1\n",
        "a: |+\n  one\n\n\nb: 1\n",
        "a: |\n  x",
        "a: |+\n  x\n",
        "a: >\n  folded\n",
        "a: plain\n  continued\n\n  after blank\nb: 2\n",
        "a: 'single\n  quoted''s\n\n  folded'\n",
        'a: "double \\" \\u00e9"\n',
        "a: [x, 'y', 1]\n",
        "a: {b: 1}\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: 1\na: 2\n",
        "- 1\n- - 2\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "a:\tb\n",
        "\ufeffa: 1\n",
        "a: b\n  - c\n",
        "a: b\n  c: d\n",
        "key with space: 1\n",
        "? complex\n: key\n",
        "a: 2025-13-45\n",
        "a: -\n",
        "a:\n-\n",
        "",
        "   \n# only a comment\n",
        "a: 'x' # c\n",
        "a: 'it''s'\n",
        "a: '''\n",
        "plans:\n  - name: x\n    team: []\n",
    ],
)
def test_same_as_pyyaml_on_edge_cases(text):
    compare(text)


def test_plan_files_go_the_fast_way(monkeypatch):
    text = dump_plan_file(
        [
            {
                "name": "Plan: #1",
                "account": "yes",
                "start_date": dt.date(2025, 1, 1),
                "team": ["U1", "U2"],
                "vision": "two\nlines",
                "strategies": [{"title": "it's", "objectives": [{"title": "-x", "target_value": 2.5}]}],
            }
        ]
    )
    fast = fastyaml.load(text)

    def refuse(*_args, **_kwargs):
        raise AssertionError("PyYAML was used")

    monkeypatch.setattr(yaml, "load", refuse)
    assert parse_plan_file(text, "yaml") == fast["plans"]
