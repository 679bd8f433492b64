"""The request to confirm, as posted in the customer channel: the customer view of the
plan (or of one objective), built by the customer view's own builders
(blocks/plan_view.py) from a plan loaded with only its shared parts (storage's
Audience.EXTERNAL), so nothing kept within the team (SWOT, stakeholders, health,
internal notes, unshared parts) can be in it; then "Agree" and "Comment". What does
not fit one message follows in its thread; a request longer than MAX_REPLIES replies is
not built at all (TooLong): nothing the customer agrees to may be left out of it.

Its own module: blocks/plan_view.py's header uses blocks/agreements.py, so that one
must not import the plan view.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from collections.abc import Sequence
from typing import Any

from blocks.agreements import ACTIONS_BLOCK, AGREE, COMMENT, FALLBACK_TEXT_MAX, MAX_REPLIES, agreement_lines
from blocks.kit import actions, button, context, divider, esc, header, section, user
from blocks.messages import MESSAGE_BLOCKS_MAX
from blocks.plan_view import goals_blocks, hierarchy_blocks
from blocks.text import escape_mrkdwn, truncate


TOO_LONG = ("This is too long to ask the customer about in one request (more than a message and "
            "{replies} replies in its thread), and they would be agreeing to parts they cannot see. "
            "Ask them to confirm one objective at a time.")


class TooLong(ValueError):
    """The request would not fit in a message and MAX_REPLIES thread replies."""


def _only(plan, objective_id: int):
    """The plan narrowed to one objective (for the customer view's builders)."""
    for strategy in plan.strategies:
        for objective in strategy.objectives:
            if objective.id == objective_id:
                narrowed = SimpleNamespace(id=strategy.id, title=strategy.title, objectives=[objective],
                                           shared_with_customer=strategy.shared_with_customer)
                return SimpleNamespace(strategies=[narrowed], owner_id=plan.owner_id), objective
    raise LookupError(f"objective {objective_id} is not shown to the customer")


def confirm_messages(plan, progress, *, request_id: int, objective_id: int | None = None,
                     today: dt.date | None = None) -> list[dict[str, Any]]:
    """[the request, *thread replies]: `plan` loaded with its shared parts only."""
    if objective_id is None:
        shown, title = plan, f"Please confirm: {plan.name}"
        intro = (f"{user(plan.owner_id)} and the account team ask you to confirm this plan for "
                 f"*{esc(plan.account.name, 200)}*: the parts we share with you. Press *Agree* if it "
                 "is right, or *Comment* to tell us what to change.")
        body = goals_blocks(plan) + [divider()]
    else:
        shown, objective = _only(plan, objective_id)
        title = f"Please confirm: {objective.title}"
        intro = (f"{user(plan.owner_id)} and the account team ask you to confirm this objective of "
                 f"*{esc(plan.name, 200)}*. Press *Agree* if it is right, or *Comment* to tell us what "
                 "to change.")
        body = []
    body += [entry.build() for entry in hierarchy_blocks(shown, progress, can_edit=False, today=today)]
    buttons = actions(button("Agree", AGREE, str(request_id), style="primary"),
                      button("Comment", COMMENT, str(request_id)), block_id=ACTIONS_BLOCK)
    head = [header(truncate(title, 150)), section(intro)]
    room = MESSAGE_BLOCKS_MAX - len(head) - 2  # the buttons, and a line saying where the rest is
    fallback = truncate(title, FALLBACK_TEXT_MAX, escape=escape_mrkdwn)
    if len(body) <= room + 1:
        return [{"text": fallback, "blocks": head + body + [buttons]}]
    first = head + body[:room] + [context("The rest of what you are asked to confirm is in the thread :thread:"),
                                  buttons]
    rest = body[room:]
    replies = [rest[i:i + MESSAGE_BLOCKS_MAX] for i in range(0, len(rest), MESSAGE_BLOCKS_MAX)]
    if len(replies) > MAX_REPLIES:
        # The customer agrees to what the request recorded as shown: never post part of it.
        raise TooLong(TOO_LONG.format(replies=MAX_REPLIES))
    return [{"text": fallback, "blocks": first}] + [{"text": fallback, "blocks": reply} for reply in replies]


def agreed_blocks(blocks: Sequence[dict[str, Any]], state, *, request_id: int) -> list[dict[str, Any]]:
    """The request's message once agreed: who agreed and when instead of "Agree"."""
    kept = [b for b in blocks if b.get("block_id") != ACTIONS_BLOCK]
    return kept[:MESSAGE_BLOCKS_MAX - 2] + [
        context(*agreement_lines([state])),
        actions(button("Comment", COMMENT, str(request_id)), block_id=ACTIONS_BLOCK),
    ]
