"""The people of a plan in a plan file (storage/planfile/people.py): stakeholders and
objective owners checked with the form's rules, references by name, and what is
written comes back out the same."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from storage.errors import ValidationError
from storage.planfile.people import check_objective_people, check_stakeholders, plan_people, write_stakeholders

from .conftest import OWNER, make_tree

ENTRIES = [
    {"name": "Ada Obi", "title": "CEO", "slack_user": "U0ADA", "role": "sponsor", "influence": "high",
     "stance": "supporter", "last_contact_on": dt.date(2025, 2, 1), "notes": "Met at the summit"},
    {"name": "Ben Cole", "side": "ours", "role": "champion", "reports_to": "Ada Obi"},
    {"name": "Cy Diaz", "reports_to": "Ben Cole"},
]


def date_of(entry, key):
    value = entry.get(key)
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(key, "must be a date (YYYY-MM-DD)") from None


def test_written_and_read_back_the_same(session):
    plan, _, objective, _ = make_tree(session)
    columns, bosses, _ = check_stakeholders(ENTRIES, date_of)
    owner, names = check_objective_people({"owner": "U0OWNS", "stakeholders": ["Cy Diaz", "Ada Obi"]}, columns)
    assert (owner, names) == ("U0OWNS", ["Cy Diaz", "Ada Obi"])
    stamp = dict(version=1, created_at=dt.datetime.now(dt.timezone.utc), updated_at=dt.datetime.now(dt.timezone.utc))
    write_stakeholders(session, plan.team_id, stamp, [(plan.id, SimpleNamespace(stakeholders=columns, bosses=bosses))],
                       [(plan.id, objective.id, names)])
    entries, linked = plan_people(session, OWNER.team_id, plan.id)
    assert entries == ENTRIES
    assert sorted(linked[objective.id]) == ["Ada Obi", "Cy Diaz"]


@pytest.mark.parametrize("entries, path, message", [
    ([{"name": ""}], "stakeholders[0].name", "required"),
    ([{"name": "A", "role": "boss"}], "stakeholders[0].role", "must be one of"),
    ([{"name": "A", "slack_user": "not an id"}], "stakeholders[0].slack_user", "Slack user id"),
    ([{"name": "A", "last_contact_on": "yesterday"}], "stakeholders[0].last_contact_on", "must be a date"),
    ([{"name": "A", "mood": "fine"}], "stakeholders[0].mood", "unknown field"),
    ([{"name": "A", "reports_to": "Nobody"}], "stakeholders[0].reports_to", "no stakeholder"),
    ([{"name": "A"}, {"name": "A"}, {"name": "B", "reports_to": "A"}], "stakeholders[2].reports_to", "2 stakeholders"),
    ([{"name": "A", "reports_to": "B"}, {"name": "B", "reports_to": "A"}], "stakeholders[0].reports_to", "loop"),
    ([{"name": "A", "reports_to": "A"}], "stakeholders[0].reports_to", "loop"),
    ("Ada", "stakeholders", "must be a list"),
])
def test_each_mistake_is_named_by_its_place(entries, path, message):
    with pytest.raises(ValidationError) as raised:
        check_stakeholders(entries, date_of)
    assert raised.value.field == path and message in raised.value.message


def test_an_objectives_people_must_be_the_plans():
    columns, _, _ = check_stakeholders([{"name": "A"}, {"name": "B"}, {"name": "B"}], date_of)
    for raw, path in [({"stakeholders": ["Z"]}, "stakeholders[0]"), ({"stakeholders": ["A", "B"]}, "stakeholders[1]"),
                      ({"stakeholders": "A"}, "stakeholders"), ({"owner": "no way"}, "owner")]:
        with pytest.raises(ValidationError) as raised:
            check_objective_people(raw, columns)
        assert raised.value.field == path
    assert check_objective_people({}, columns) == (None, [])
