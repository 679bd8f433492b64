"""A template's body: the structure of a plan without its dates, people, progress or
notes, as JSON (what `plan_templates.body` and plan files hold):

    {"strategies": [{"title", "description",
                     "objectives": [{"title", "description", "measure_unit",
                                     "target_value": "12.5" | null,
                                     "action_items": [{"title", "due_offset_days": 30 | null}]}]}],
     "swot": [{"kind": "strength", "text"}]}

`due_offset_days` counts from the plan's start; SWOT texts are prompts. `check_body`
checks and cleans a body from anywhere (a form, a plan file, the database), with every
problem named by its place ("strategies[0].objectives[1].title: required").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from storage.domain import NAME_MAX, TEXT_MAX, TITLE_MAX
from storage.errors import ValidationError
from storage.models import AccountPlan
from storage.plans.rules import FieldErrors, clean_decimal, clean_swot_kind, clean_text

# Bounds on what a template carries (a plan of issue 8's size fits: 1,500 items).
STRATEGIES_MAX = 100
OBJECTIVES_MAX = 1000  # in all
ACTION_ITEMS_MAX = 5000  # in all
SWOT_MAX = 200
OFFSET_MAX = 3660  # days: ten years


def body_of_plan(plan: AccountPlan) -> dict[str, Any]:
    """The template body of a plan loaded with its tree (storage.plans.load_plan_tree)."""
    def offset(item) -> int | None:
        return (item.due_date - plan.start_date).days if item.due_date else None

    return {
        "strategies": [
            {"title": s.title, "description": s.description,
             "objectives": [
                 {"title": o.title, "description": o.description, "measure_unit": o.measure_unit,
                  "target_value": None if o.target_value is None else _number(o.target_value),
                  "action_items": [{"title": a.title, "due_offset_days": offset(a)} for a in o.action_items]}
                 for o in s.objectives]}
            for s in plan.strategies],
        "swot": [{"kind": e.kind.value, "text": e.text} for e in plan.swot_entries],
    }


def _number(value) -> str:
    """A Decimal (or a number not yet read back) as plain text: "3.5", "10"."""
    return format(Decimal(str(value)).normalize(), "f")


def counts(body: dict[str, Any]) -> tuple[int, int, int]:
    """(strategies, objectives, action items) of a checked body."""
    objectives = [o for s in body["strategies"] for o in s["objectives"]]
    return len(body["strategies"]), len(objectives), sum(len(o["action_items"]) for o in objectives)


def _list(value, where: str, errors: FieldErrors) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(where, "must be a list")
        return []
    return value


def _mapping(value, where: str, errors: FieldErrors) -> dict:
    if not isinstance(value, dict):
        errors.add(where, "must be an object")
        return {}
    return value


def _text(errors: FieldErrors, entry: dict, key: str, where: str, *, max_len: int, required: bool) -> str:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        errors.add(f"{where}.{key}", "must be text")
        return ""
    return errors.check(clean_text, value, f"{where}.{key}", max_len=max_len, required=required) or ""


def _offset(errors: FieldErrors, value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= OFFSET_MAX:
        errors.add(where, f"must be a whole number of days from 0 to {OFFSET_MAX}")
        return None
    return value


def check_body(body: Any) -> dict[str, Any]:
    """The body, cleaned; ValidationError naming every problem (field "template")."""
    errors = FieldErrors()
    body = _mapping(body, "template", errors)
    cleaned: dict[str, Any] = {"strategies": [], "swot": []}
    strategies = _list(body.get("strategies"), "strategies", errors)
    if len(strategies) > STRATEGIES_MAX:
        errors.add("strategies", f"at most {STRATEGIES_MAX}")
    objectives = items = 0
    for s_index, raw in enumerate(strategies[:STRATEGIES_MAX]):
        where = f"strategies[{s_index}]"
        strategy = _mapping(raw, where, errors)
        out = {"title": _text(errors, strategy, "title", where, max_len=TITLE_MAX, required=True),
               "description": _text(errors, strategy, "description", where, max_len=TEXT_MAX, required=False),
               "objectives": []}
        for o_index, raw_objective in enumerate(_list(strategy.get("objectives"), f"{where}.objectives", errors)):
            o_where = f"{where}.objectives[{o_index}]"
            objective = _mapping(raw_objective, o_where, errors)
            target = objective.get("target_value")
            if isinstance(target, bool) or not (target is None or isinstance(target, (str, int, float))):
                errors.add(f"{o_where}.target_value", "must be a number")
                target = None
            target = errors.check(clean_decimal, target, f"{o_where}.target_value")
            o_out = {"title": _text(errors, objective, "title", o_where, max_len=TITLE_MAX, required=True),
                     "description": _text(errors, objective, "description", o_where, max_len=TEXT_MAX,
                                          required=False),
                     "measure_unit": _text(errors, objective, "measure_unit", o_where, max_len=NAME_MAX,
                                           required=False),
                     "target_value": None if target is None else _number(target),
                     "action_items": []}
            for a_index, raw_item in enumerate(_list(objective.get("action_items"), f"{o_where}.action_items",
                                                     errors)):
                a_where = f"{o_where}.action_items[{a_index}]"
                item = _mapping(raw_item, a_where, errors)
                o_out["action_items"].append({
                    "title": _text(errors, item, "title", a_where, max_len=TITLE_MAX, required=True),
                    "due_offset_days": _offset(errors, item.get("due_offset_days"), f"{a_where}.due_offset_days"),
                })
            items += len(o_out["action_items"])
            out["objectives"].append(o_out)
        objectives += len(out["objectives"])
        cleaned["strategies"].append(out)
    if objectives > OBJECTIVES_MAX:
        errors.add("objectives", f"at most {OBJECTIVES_MAX} in all")
    if items > ACTION_ITEMS_MAX:
        errors.add("action_items", f"at most {ACTION_ITEMS_MAX} in all")
    swot = _list(body.get("swot"), "swot", errors)
    if len(swot) > SWOT_MAX:
        errors.add("swot", f"at most {SWOT_MAX}")
    for index, raw in enumerate(swot[:SWOT_MAX]):
        where = f"swot[{index}]"
        entry = _mapping(raw, where, errors)
        try:
            kind = clean_swot_kind(entry.get("kind") if isinstance(entry.get("kind"), str) else None)
        except ValidationError as error:
            errors.add(f"{where}.kind", error.message)
            kind = None
        cleaned["swot"].append({"kind": kind.value if kind else "",
                                "text": _text(errors, entry, "text", where, max_len=TEXT_MAX, required=True)})
    if errors.errors:
        problems = "; ".join(f"{where}: {message}" for where, message in list(errors.errors.items())[:10])
        more = len(errors.errors) - 10
        raise ValidationError("template", problems + (f" (and {more} more)" if more > 0 else ""))
    return cleaned
