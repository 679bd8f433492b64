"""The customer agrees to the plan: what Slack shows of it.

- `agreement_blocks`: the plan header's lines ("Agreed by Jane Doe (Acme Health) on
  2 Dec 2026", or that it changed since) and, for the owner and team, "Ask customer to
  confirm". blocks/plan_view.py's header calls it.
- `confirm_form`: where to post (the plan's customer channel by default) and what (the
  whole plan or one shared objective).
- blocks/confirm_request.py: the request posted in the customer channel.
- blocks/confirm_request.py `agreed_blocks`: the request once agreed (who and when
  instead of "Agree").
- `comment_form` and `comment_message`: a comment, and how it reaches the team.

Input is plain data (blocks never imports storage's functions): agreement states are
shaped like storage.agreements.AgreementState. User text is escaped (blocks/kit.esc).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blocks.inputs import channel_input, modal, select_input, text_input
from blocks.kit import actions, button, context, esc, section
from blocks.text import escape_mrkdwn, truncate
from blocks.written_plan import agreement_text

# Action and callback ids of this surface (bot/listeners/agreements.py listens).
ASK_TO_CONFIRM = "agreement_ask"
AGREE = "agreement_agree"
COMMENT = "agreement_comment"
CONFIRM_FORM = "agreement_confirm_form"
COMMENT_FORM = "agreement_comment_form"
ACTIONS_BLOCK = "agreement_actions"

WHOLE_PLAN = "plan"  # the form's scope for the whole plan; else an objective id
MAX_REPLIES = 5
COMMENT_MAX = 2000
FALLBACK_TEXT_MAX = 300


# ---------------------------------------------------------------------------
# Agreement lines (the plan header, the digest, the written plan)


def agreement_lines(states: Sequence) -> list[str]:
    """Escaped mrkdwn, one line an agreement."""
    return [(":handshake: " if state.changed_at is None else ":warning: ") + escape_mrkdwn(agreement_text(state))
            for state in states]


def agreement_blocks(states: Sequence, *, plan_id: int, can_ask: bool) -> list[dict[str, Any]]:
    """The plan header's part: the agreements (at most 10 lines, a context's limit) and,
    for those who may change the plan, "Ask customer to confirm"."""
    blocks: list[dict[str, Any]] = []
    lines = agreement_lines(states)
    if lines:
        blocks.append(context(*[truncate(line, 2900) for line in lines[:10]]))
    if can_ask:
        blocks.append(actions(button("Ask customer to confirm", ASK_TO_CONFIRM, str(plan_id)),
                              block_id="plan_agreement"))
    return blocks


# ---------------------------------------------------------------------------
# "Ask customer to confirm"


def confirm_form(plan_name: str, objectives: Sequence[tuple[int, str]], *, channel_id: str | None,
                 metadata: str) -> dict[str, Any]:
    """The form behind "Ask customer to confirm"."""
    choices = [("The whole plan", WHOLE_PLAN)] + [
        (f"Objective: {title}", str(objective_id)) for objective_id, title in objectives][:99]
    blocks = [
        section(f"*{esc(plan_name, 200)}*\nPosts the parts shared with the customer to the customer "
                "channel with *Agree* and *Comment*. Nothing kept within the team is in it."),
        channel_input("channel", "Customer channel", initial=channel_id,
                      hint="The channel you share with the customer (Slack Connect)."),
        select_input("scope", "What to confirm", choices, initial=WHOLE_PLAN),
    ]
    return modal(CONFIRM_FORM, "Ask to confirm", blocks, submit="Post", private_metadata=metadata)


# ---------------------------------------------------------------------------
# Comments


def comment_form(plan_name: str, *, metadata: str, initial: str = "", problem: str = "") -> dict[str, Any]:
    """The form; again with the comment typed and `problem` (our mrkdwn) when it could
    not be delivered, so the customer sends it again instead of typing it again."""
    on = f" on *{esc(plan_name, 200)}*" if plan_name else ""
    blocks = [
        *([section(f":warning: {problem}")] if problem else []),
        section(f"Your comment{on} goes to the account team. It does not change the plan: they will."),
        text_input("comment", "Comment", initial=initial[:COMMENT_MAX], max_length=COMMENT_MAX, multiline=True),
    ]
    return modal(COMMENT_FORM, "Comment", blocks, submit="Send", private_metadata=metadata)


def comment_message(*, plan_name: str, name: str, organisation: str, text: str,
                    first: bool, request_link: str | None = None) -> dict[str, Any]:
    """A comment as the team gets it: who, from which organisation, what they said."""
    who = esc(name, 150) + (f" ({esc(organisation, 150)})" if organisation else "")
    quoted = "\n".join("> " + line for line in esc(text, COMMENT_MAX).split("\n"))
    lines = []
    if first:
        lines.append(f":speech_balloon: Comments on the request to confirm *{esc(plan_name, 200)}*"
                     + (f" (<{request_link}|the request>)" if request_link else "")
                     + ". Comments never change the plan by themselves.")
    lines.append(f"*{who}* commented:\n{quoted}")
    fallback = truncate(f"{name} commented on {plan_name}", FALLBACK_TEXT_MAX, escape=escape_mrkdwn)
    return {"text": fallback, "blocks": [section(truncate("\n\n".join(lines), 3000))]}


__all__ = [
    "ACTIONS_BLOCK", "AGREE", "ASK_TO_CONFIRM", "COMMENT", "COMMENT_FORM", "CONFIRM_FORM",
    "WHOLE_PLAN", "agreement_blocks", "agreement_lines",
    "agreement_text", "comment_form", "comment_message", "confirm_form",
]
