"""Exporting plans as a plan file: plain ordered entries without empty values, written
as JSON or as block YAML."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy.orm import Session

from storage.models import ItemStatus, SwotKind
from storage.planfile.parse import file_format
from storage.planfile.people import plan_people
from storage.plans import load_plan_tree
from storage.templates.files import template_entries


SWOT_ORDER = {kind: index for index, kind in enumerate(SwotKind)}  # S, W, O, T


# ---------------------------------------------------------------------------
# Export


def export_number(value: Decimal | None):
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    text = format(value.normalize(), "f")
    as_float = float(text)
    return as_float if repr(as_float) == text else text


def _utc_second(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(microsecond=0)


def _utc_text(value: dt.datetime) -> str:
    return _utc_second(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(target: dict, key: str, value) -> None:
    """Set `key` unless the value is empty (None, "", [])."""
    if value is None or value == "" or value == []:
        return
    target[key] = value


def _value(enum_or_text) -> str:
    return getattr(enum_or_text, "value", enum_or_text)


def plan_to_dict(plan, people: tuple[list[dict], dict[int, list[str]]] | None = None) -> dict:
    """One plan loaded by load_plan_tree as a plan-file entry (plain, ordered, no empties).

    `people` is what storage.planfile.people.plan_people gives for it (the plan's
    stakeholders, each objective's linked ones and each stakeholder's reference: a
    name, or a `ref` for one whose name another shares); without it no stakeholder is
    written, nor any item's `customer_contact`.
    Dates stay `datetime.date`, `done_at` a UTC `datetime` to the second; numbers are
    int, float or (when a float cannot carry them exactly) str.
    """
    stakeholders, linked, contacts = people or ([], {}, {})
    result: dict[str, Any] = dict(
        name=plan.name,
        account=plan.account.name,
        start_date=plan.start_date,
        end_date=plan.end_date,
        status=_value(plan.status),
        owner=plan.owner_id,
    )
    _put(result, "team", sorted(m.user_id for m in plan.members))
    _put(result, "vision", plan.vision)
    _put(result, "customer_goals", plan.customer_goals)
    _put(result, "our_goals", plan.our_goals)
    if plan.share_with_customer_by_default:
        result["share_with_customer_by_default"] = True
    _put(result, "customer_channel", plan.customer_channel_id)
    strategies = []
    for strategy in sorted(plan.strategies, key=lambda s: (s.position, s.id)):
        s: dict[str, Any] = dict(title=strategy.title)
        _put(s, "description", strategy.description)
        # Always written, true or false: absent means "shared" (files of earlier versions).
        s["shared_with_customer"] = bool(strategy.shared_with_customer)
        objectives = []
        for objective in sorted(strategy.objectives, key=lambda o: (o.position, o.id)):
            o: dict[str, Any] = dict(title=objective.title)
            _put(o, "description", objective.description)
            _put(o, "measure_unit", objective.measure_unit)
            _put(o, "target_value", export_number(objective.target_value))
            _put(o, "current_value", export_number(objective.current_value))
            o["shared_with_customer"] = bool(objective.shared_with_customer)
            _put(o, "owner", objective.owner_id)  # none: the plan's owner
            _put(o, "stakeholders", linked.get(objective.id, []))
            items = []
            for item in sorted(objective.action_items, key=lambda i: (i.position, i.id)):
                i: dict[str, Any] = dict(title=item.title)
                _put(i, "assignee", item.assignee_id)
                _put(i, "due_date", item.due_date)
                i["status"] = _value(item.status)
                if _value(item.status) == ItemStatus.DONE.value:
                    _put(i, "done_at", _utc_second(item.done_at) if item.done_at else None)
                    _put(i, "done_by", item.done_by)
                i["shared_with_customer"] = bool(item.shared_with_customer)
                _put(i, "notes", item.notes)
                # A customer-owned item: its contact without Slack (by reference), and
                # who follows it up (storage/customer_items.py).
                _put(i, "customer_contact", contacts.get(item.customer_contact_id))
                _put(i, "follow_up", item.follow_up_id)
                items.append(i)
            _put(o, "action_items", items)
            objectives.append(o)
        _put(s, "objectives", objectives)
        strategies.append(s)
    _put(result, "strategies", strategies)
    swot = []
    for entry in sorted(
        plan.swot_entries, key=lambda e: (SWOT_ORDER[SwotKind(e.kind)], e.position, e.id)
    ):
        e: dict[str, Any] = dict(kind=_value(entry.kind), text=entry.text)
        if not entry.team_only:
            e["team_only"] = False
        swot.append(e)
    _put(result, "swot", swot)
    reviews = []
    for review in sorted(plan.reviews, key=lambda r: (r.held_on, r.id)):
        r: dict[str, Any] = dict(held_on=review.held_on)
        _put(r, "attendees", review.attendees)
        _put(r, "notes", review.notes)
        _put(r, "decisions", review.decisions)
        _put(r, "next_qbr_date", review.next_qbr_date)
        reviews.append(r)
    _put(result, "reviews", reviews)
    _put(result, "stakeholders", stakeholders)
    return result


class _YamlDumper(yaml.SafeDumper):
    """Block style with indented lists (as in RUN_CONTRACT), `team` inline, multi-line
    text as literal blocks.

    PyYAML's Python emitter, not CSafeDumper: libyaml's emitter writes a mapping's lists
    unindented and has no hook to change that, so the same plan would no longer give
    the same bytes as before.
    """

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


class _FlowList(list):
    pass


def _represent_str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_datetime(dumper, value: dt.datetime):
    # A plain YAML timestamp, written as in JSON: 2025-03-01T10:30:00Z.
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", _utc_text(value))


_YamlDumper.add_representer(str, _represent_str)
_YamlDumper.add_representer(dt.datetime, _represent_datetime)
_YamlDumper.add_representer(
    _FlowList,
    lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True),
)


def _json_default(value):
    if isinstance(value, dt.datetime):
        return _utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a plan file")


def _yaml_plan(plan: dict) -> dict:
    """Lists of names written inline, as `team: [U1, U2]`: the team and each objective's
    stakeholders."""
    if "team" in plan:
        plan = dict(plan, team=_FlowList(plan["team"]))
    if any("stakeholders" in o for s in plan.get("strategies", ()) for o in s.get("objectives", ())):
        plan = dict(plan, strategies=[
            dict(s, objectives=[
                dict(o, stakeholders=_FlowList(o["stakeholders"])) if "stakeholders" in o else o
                for o in s["objectives"]]) if "objectives" in s else s
            for s in plan["strategies"]])
    return plan


def dump_plan_file(plans: list[dict] | None, fmt: str = "yaml", *, templates: list[dict] | None = None) -> str:
    """The text of a plan file holding `plans` (entries as plan_to_dict gives them) and,
    when given, `templates` (as storage.templates.export_templates gives them); a file
    of templates only when `plans` is None."""
    fmt = file_format(fmt)
    document: dict[str, list] = {}
    if plans is not None or templates is None:
        document["plans"] = plans or []
    if templates is not None:
        document["templates"] = templates
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    if "plans" in document:
        document["plans"] = [_yaml_plan(p) for p in document["plans"]]
    return yaml.dump(
        document,
        Dumper=_YamlDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
    )


def export_plans(
    session: Session, team_id: str, plan_ids: Sequence[int], fmt: str = "yaml", *, templates: bool = False
) -> str:
    """A plan file of the given plans of `team_id`, in the order given; with `templates`,
    the workspace's templates too (and no `plans:` when no plan is given)."""
    fmt = file_format(fmt)
    plans = [
        plan_to_dict(load_plan_tree(session, team_id, plan_id), plan_people(session, team_id, plan_id))
        for plan_id in plan_ids
    ]
    if not templates:
        return dump_plan_file(plans, fmt)
    return dump_plan_file(plans or None, fmt, templates=template_entries(session, team_id))
