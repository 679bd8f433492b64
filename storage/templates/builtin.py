"""The templates every workspace has: kept in code under string keys, never as rows.

- "builtin:key_account": a key account plan in the Veeva style, strategy → objective →
  action item: grow the account, strengthen the relationships, deliver value.
- "builtin:goals": the Kapta style, the customer's goals beside our own, each with what
  we do about it.
Due dates are days from the plan's start; SWOT entries are prompts to answer.
"""

from __future__ import annotations

from typing import Any

KEY_ACCOUNT = "builtin:key_account"
GOALS = "builtin:goals"


def _objective(title: str, description: str = "", unit: str = "", target: str | None = None,
               items: tuple[tuple[str, int | None], ...] = ()) -> dict[str, Any]:
    return {"title": title, "description": description, "measure_unit": unit, "target_value": target,
            "action_items": [{"title": t, "due_offset_days": offset} for t, offset in items]}


_SWOT_PROMPTS = [
    {"kind": "strength", "text": "What do we do for this customer better than anyone else?"},
    {"kind": "weakness", "text": "Where have we let them down, or could we?"},
    {"kind": "opportunity", "text": "Which of their plans for the year could we help with?"},
    {"kind": "threat", "text": "Which competitor, budget change or departure could cost us the account?"},
]

_KEY_ACCOUNT = {
    "strategies": [
        {"title": "Grow the account",
         "description": "Where we expand this year: new sites, departments or products.",
         "objectives": [
             _objective("Expand into new departments", "Departments using us by the end of the plan.",
                        "departments", "3",
                        (("Map the departments and who leads each", 14),
                         ("Agree an expansion plan with the sponsor", 45),
                         ("Run a pilot in the first new department", 90))),
             _objective("Grow revenue", "Growth over last year's spend.", "% growth", "10",
                        (("Review last year's spend and this year's forecast", 14),
                         ("Propose the renewal and the upsell", 120))),
         ]},
        {"title": "Strengthen the relationships",
         "description": "The people who decide, and the people who speak for us.",
         "objectives": [
             _objective("Build executive sponsorship",
                        items=(("Meet the executive sponsor", 30), ("Hold a QBR with the sponsor", 90))),
             _objective("Develop a champion in each key team",
                        items=(("Name a champion in each key team", 30),
                               ("Give each champion a reason to speak for us", 60))),
         ]},
        {"title": "Deliver value",
         "description": "Outcomes the customer can see and repeat to others.",
         "objectives": [
             _objective("Prove the outcomes", "Results the customer agrees to share.", "case studies", "1",
                        (("Agree the success measures with the customer", 21),
                         ("Share a review of the results", 150))),
         ]},
    ],
    "swot": _SWOT_PROMPTS,
}

_GOALS = {
    "strategies": [
        {"title": "Customer goals",
         "description": "What the customer wants to achieve this year, in their words, and how we help.",
         "objectives": [
             _objective("Their first goal", "Write it as they would, with how they measure it.",
                        items=(("Confirm the goal and its measure with the sponsor", 14),
                               ("Agree what we do to help", 30),
                               ("Review progress together at the QBR", 90))),
             _objective("Their second goal", "Write it as they would, with how they measure it.",
                        items=(("Confirm the goal and its measure with the sponsor", 14),
                               ("Review progress together at the QBR", 90))),
         ]},
        {"title": "Our goals",
         "description": "What we want from the account, each tied to a customer goal.",
         "objectives": [
             _objective("Grow revenue in the account", "", "% growth", "10",
                        (("Tie each proposal to one of the customer's goals", 30),
                         ("Propose the renewal", 120))),
             _objective("Become their preferred supplier",
                        items=(("Ask for a reference or a case study", 180),)),
         ]},
    ],
    "swot": _SWOT_PROMPTS,
}

# key → (name, short description, body)
BUILTIN: dict[str, tuple[str, str, dict[str, Any]]] = {
    KEY_ACCOUNT: ("Key account plan", "Strategies, objectives and action items to grow a key account",
                  _KEY_ACCOUNT),
    GOALS: ("Customer goals / our goals", "The customer's goals beside our own, and what we do about each",
            _GOALS),
}
