"""A plan's digest as Slack messages: a summary, continued in its thread when big.

Input is plain data shaped like storage.digests.DigestContent (duck-typed: blocks never
imports storage), already filtered for the channel's audience. Text comes from the
`digest_*.mrkdwn.j2` templates, so every piece of user text is escaped for mrkdwn and
every text object is `verbatim`: a plan named `<!channel>` pings nobody.

Size: Slack takes at most 50 blocks a message and 3000 characters a section. A digest
that fits is one message. A bigger one posts a summary (header, progress, counts, one
line per strategy, the QBR) and continues in thread replies of at most 50 blocks each;
every rendered text is cut on line boundaries into sections of at most 3000
characters. Long lists are capped by the storage query (the rest is counted), so even
a plan of thousands of items is a handful of messages.

People: assignees and authors of changes are Slack mentions (`<@U…>`). In a posted
message a mention notifies the person (once per message, however often they appear):
that is intended, a digest is how a team keeps itself accountable. In a customer
channel it only shows our people's names, which the customer knows anyway.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from blocks.agreements import agreement_lines
from blocks.health import health_headline
from blocks.ids import Action
from blocks.kit import actions, button, context, day, header, progress_bar, section, user
from blocks.text import ELLIPSIS, Trusted, escape_mrkdwn, render, truncate
from blocks.written_plan import measure_text
from storage.domain import PlanHealth

MESSAGE_BLOCKS_MAX = 50
SECTION_TEXT_MAX = 3000
FALLBACK_TEXT_MAX = 300
MAX_REPLIES = 10  # a thread longer than this says where the rest is instead
OVERVIEW_STRATEGIES = 20  # strategies named in a summary that continues in its thread
# A customer channel's digest, when anything was left out (content.hidden): that
# internal parts exist, never which.
INTERNAL_NOTE = ":lock: Some parts of this plan are kept within the account team."
DUE_SOON_DAYS = 14


# ---------------------------------------------------------------------------
# Splitting rendered text into sections


def _cut_point(line: str, limit: int) -> int:
    """Where to cut escaped mrkdwn at most `limit` long without splitting an `&amp;`
    entity or a `<@U…>` token, preferring a space."""
    cut = limit
    amp = line.rfind("&", max(0, cut - 5), cut)
    if amp != -1 and ";" not in line[amp:cut]:
        cut = amp
    less = line.rfind("<", 0, cut)
    if less != -1 and ">" not in line[less:cut]:
        cut = less
    space = line.rfind(" ", max(1, cut - 200), cut)
    return space if space > 0 else max(cut, 1)


def split_text(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Escaped mrkdwn in pieces of at most `limit` characters, cut between lines
    where possible (and never inside an entity or a mention)."""
    pieces: list[str] = []
    current = ""
    for line in text.strip("\n").split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            cut = _cut_point(line, limit)
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            pieces.append(current)
            current = line
        else:
            current = joined
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def sections(text: str) -> list[dict[str, Any]]:
    return [section(piece) for piece in split_text(text)]


# ---------------------------------------------------------------------------
# Plain data → what the templates show


def progress_text(progress) -> str:
    if not progress.total:
        return "no action items yet"
    return f"{progress_bar(progress.percent)} {progress.percent}% · {progress.done} of {progress.total} done"


def _person(user_id: str | None) -> Trusted:
    return Trusted(user(user_id))  # a mention for ids, escaped otherwise (blocks.kit.user)


def _date(value: dt.date | dt.datetime | None) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    return day(value)


def _strategies(content) -> list[SimpleNamespace]:
    out = []
    for s_index, strategy in enumerate(content.strategies, start=1):
        objectives = [
            SimpleNamespace(
                number=Trusted(f"{s_index}.{o_index}"),
                title=objective.title,
                measure=measure_text(objective),
                progress=progress_text(content.progress.objective(objective.id)),
            )
            for o_index, objective in enumerate(content.objectives.get(strategy.id, []), start=1)
        ]
        out.append(SimpleNamespace(
            number=Trusted(str(s_index)), title=strategy.title,
            progress=progress_text(content.progress.strategy(strategy.id)), objectives=objectives,
        ))
    return out


def _item_rows(items, kind: str, today: dt.date) -> list[SimpleNamespace]:
    rows = []
    for item in items:
        if kind == "done":
            mark, when = ":white_check_mark:", f"done {_date(item.done_at)}"
        elif kind == "overdue":
            late = (today - item.due_date).days
            mark, when = ":warning:", f"due {_date(item.due_date)} ({late} day{'s' if late != 1 else ''} late)"
        else:
            mark, when = ":calendar:", f"due {_date(item.due_date)}"
        rows.append(SimpleNamespace(mark=Trusted(mark), title=item.title,
                                    assignee=_person(item.assignee_id), when=when))
    return rows


def _next_qbr(content) -> str:
    if content.next_qbr:
        return _date(content.next_qbr)
    if content.qbr_due_by:
        return f"not scheduled yet (due by {_date(content.qbr_due_by)})"
    return "not scheduled yet"


def _summary(content) -> str:
    plan = content.plan
    counts = content.counts
    data = SimpleNamespace(
        account=plan.account.name,
        status=str(getattr(plan.status, "value", plan.status)).capitalize(),
        dates=f"{_date(plan.start_date)} – {_date(plan.end_date)}",
        owner=_person(plan.owner_id),
        progress=progress_text(content.progress.plan),
        since=_date(content.since),
        horizon=DUE_SOON_DAYS,
        done=counts.get("done", 0), due_soon=counts.get("due_soon", 0),
        overdue=counts.get("overdue", 0), changes=counts.get("changes", 0),
        next_qbr=_next_qbr(content),
    )
    return render("digest_summary.mrkdwn.j2", d=data)


def _review(content) -> str:
    review = content.review
    data = SimpleNamespace(
        held_on=_date(review.held_on), attendees=review.attendees or "", notes=review.notes or "",
        decisions=review.decisions or "",
        next_qbr=_date(review.next_qbr_date) if review.next_qbr_date else "not set",
    )
    return render("digest_qbr.mrkdwn.j2", r=data)


def _commitment_when(item, today: dt.date) -> str:
    if item.due_date is None:
        return "no due date"
    if item.due_date < today:
        late = (today - item.due_date).days
        return f"due {_date(item.due_date)} ({late} day{'s' if late != 1 else ''} late)"
    return f"due {_date(item.due_date)}"


def _who(item, contacts: dict[int, str], *, external: bool) -> Trusted | str:
    """Who owes an item. A customer contact without Slack is named in a team channel
    (followed up by the assignee, as the plan view says it); a customer channel names
    no one for it: the contact is stakeholder data, kept within the team."""
    if getattr(item, "customer_contact_id", None) is not None:
        name = contacts.get(item.id)
        if external:
            return ""
        if name:
            # Here, not at the top: blocks.plan_view imports blocks.progress, which imports this.
            from blocks.plan_view import contact_owner_text

            return Trusted(contact_owner_text(item.assignee_id, name))
    return _person(item.assignee_id) if item.assignee_id else ""


def _commitments(content) -> list[dict[str, Any]]:
    """"Our commitments / your commitments": what each side owes next (nothing when
    neither side owes anything). The customer's side is "Your commitments" where the
    customer reads it, "Customer commitments" in a team channel."""
    found = getattr(content, "commitments", None)
    if found is None or not (found.ours_total or found.theirs_total):
        return []
    external = str(getattr(content.audience, "value", content.audience)) == "external"
    contacts = getattr(found, "contacts", {}) or {}

    def rows(items) -> list[SimpleNamespace]:
        out = []
        for item in items:
            late = item.due_date is not None and item.due_date < content.today
            who = _who(item, contacts, external=external)
            out.append(SimpleNamespace(mark=Trusted(":warning:" if late else ":calendar:"), title=item.title,
                                       who=who, when=_commitment_when(item, content.today)))
        return out

    sides = [
        SimpleNamespace(title="Our commitments", total=found.ours_total, items=rows(found.ours),
                        more=max(0, found.ours_total - len(found.ours))),
        SimpleNamespace(title="Your commitments" if external else "Customer commitments",
                        total=found.theirs_total, items=rows(found.theirs),
                        more=max(0, found.theirs_total - len(found.theirs))),
    ]
    return sections(render("digest_commitments.mrkdwn.j2", sides=sides))


def _lists(content) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for title, items, kind, key in (
        (f"Done since {_date(content.since)}", content.done, "done", "done"),
        (f"Due in the next {DUE_SOON_DAYS} days", content.due_soon, "due", "due_soon"),
        ("Overdue", content.overdue, "overdue", "overdue"),
    ):
        total = content.counts.get(key, len(items))
        blocks += sections(render("digest_items.mrkdwn.j2", title=title, total=total,
                                  items=_item_rows(items, kind, content.today),
                                  more=max(0, total - len(items))))
    changes = [
        SimpleNamespace(day=_date(c.at), actor=_person(c.actor_id), summary=c.summary)
        for c in content.changes
    ]
    total = content.counts.get("changes", len(changes))
    blocks += sections(render("digest_changes.mrkdwn.j2", since=_date(content.since), total=total,
                              changes=changes, more=max(0, total - len(changes))))
    return blocks


# ---------------------------------------------------------------------------
# Messages


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": text, "blocks": blocks}


def fallback_text(content) -> str:
    """The notification text: escaped, short, no mentions."""
    what = "QBR digest" if content.review is not None else "Digest"
    progress = content.progress.plan
    share = f": {progress.percent}% done" if progress.total else ""
    return truncate(f"{what} of {content.plan.name}{share}", FALLBACK_TEXT_MAX, escape=escape_mrkdwn)


def _pack(blocks: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    return [blocks[i:i + limit] for i in range(0, len(blocks), limit)] or [[]]


def objective_updates_text(summary) -> str:
    """"*Since the last QBR:* 3 of 5 objectives updated, 1 at risk" from storage's
    ProgressSummary (total, updated, at_risk, off_track): numbers only, our words."""
    noun = "objective" if summary.total == 1 else "objectives"
    text = f"*Since the last QBR:* {summary.updated} of {summary.total} {noun} updated"
    for count, label in ((summary.at_risk, "at risk"), (summary.off_track, "off track")):
        if count:
            text += f", {count} {label}"
    return text


def digest_messages(content, *, plan_id: int | None = None,
                    health: PlanHealth | None = None,
                    objective_updates=None) -> list[dict[str, Any]]:
    """[top-level message, *thread replies] for one digest, each inside Block Kit limits.

    In a customer channel (content.audience == "external": the content holds only
    what is shared with the customer) there is no "Open plan" button. `health` adds the
    plan's health line under the title, and `objective_updates` (storage's
    ProgressSummary since the last QBR) what objective owners said, both in a team
    channel only (the team's own reading of the plan; a customer channel never shows it).
    """
    plan = content.plan
    plan_id = plan_id if plan_id is not None else plan.id
    title = ("QBR digest: " if content.review is not None else "Digest: ") + plan.name
    external = str(getattr(content.audience, "value", content.audience)) == "external"

    summary = [header(title)]
    if health is not None and not external:
        summary.append(context(health_headline(health)))
    summary += sections(_summary(content))
    if objective_updates is not None and objective_updates.total and not external:
        summary.append(context(objective_updates_text(objective_updates)))
    agreed = agreement_lines(getattr(content, "agreements", None) or [])
    if agreed:  # the customer's agreement, and whether it still holds (blocks/agreements.py)
        summary.append(context(*agreed[:10]))
    summary += _commitments(content)
    if content.review is not None:
        summary += sections(_review(content))
    if content.hidden:
        summary.append(context(INTERNAL_NOTE))
    strategies = _strategies(content)
    details = sections(render("digest_strategies.mrkdwn.j2", strategies=strategies,
                              with_objectives=True, more=0))
    details += _lists(content)
    footer = [context(f"Open it with `/accountplan show {plan_id}`")] if external else [
        actions(button("Open plan", Action.OPEN_PLAN, str(plan_id)), block_id="digest_actions")]
    text = fallback_text(content)

    if len(summary) + len(details) + len(footer) <= MESSAGE_BLOCKS_MAX:
        return [_message(text, summary + details + footer)]

    overview = sections(render("digest_strategies.mrkdwn.j2", strategies=strategies[:OVERVIEW_STRATEGIES],
                               with_objectives=False, more=max(0, len(strategies) - OVERVIEW_STRATEGIES)))
    room = MESSAGE_BLOCKS_MAX - len(summary) - len(footer) - 1
    top = summary + overview[:max(0, room)] + [context("Details in the thread :thread:")] + footer
    replies = _pack(details, MESSAGE_BLOCKS_MAX)
    if len(replies) > MAX_REPLIES:
        replies = replies[:MAX_REPLIES]
        replies[-1] = replies[-1][:MESSAGE_BLOCKS_MAX - 1] + [
            context(f"{ELLIPSIS} the rest is in the plan: `/accountplan show {plan_id}`")]
    continued = truncate(f"{plan.name}: details", FALLBACK_TEXT_MAX, escape=escape_mrkdwn)
    return [_message(text, top)] + [_message(continued, blocks) for blocks in replies]


# ---------------------------------------------------------------------------
# Direct messages about QBRs


def qbr_review_dm(plan, review) -> dict[str, Any]:
    """To the owner after a QBR: review the objectives against the decisions."""
    text = render("qbr_review_dm.mrkdwn.j2", plan=plan.name, held_on=_date(review.held_on),
                  decisions=review.decisions or "")
    blocks = sections(text)[:MESSAGE_BLOCKS_MAX - 1]
    blocks.append(actions(button("Open plan", Action.OPEN_PLAN, str(plan.id), style="primary")))
    fallback = truncate(f"Review the objectives of {plan.name} after the QBR", FALLBACK_TEXT_MAX,
                        escape=escape_mrkdwn)
    return _message(fallback, blocks)


def qbr_nudge_dm(plan_id: int, plan_name: str, *, due: dt.date, last_review: dt.date | None) -> dict[str, Any]:
    """To the owner when a plan went a whole reminder period without a QBR."""
    text = render("qbr_nudge.mrkdwn.j2", plan=plan_name, due=_date(due),
                  last_review=_date(last_review) if last_review else "")
    blocks = sections(text) + [actions(
        button("Log QBR", Action.LOG_QBR, str(plan_id), style="primary"),
        button("Open plan", Action.OPEN_PLAN, str(plan_id)),
    )]
    fallback = truncate(f"Time for a QBR of {plan_name}", FALLBACK_TEXT_MAX, escape=escape_mrkdwn)
    return _message(fallback, blocks)


def canvas_link_message(plan_name: str, url: str, *, external: bool) -> dict[str, Any]:
    """Posted where a canvas was shared: a link to it (our URL, the user's name escaped)."""
    name = escape_mrkdwn(truncate(plan_name, 150))
    note = " It shows only the parts shared with the customer." if external else ""
    text = f":page_facing_up: The written plan *{name}* is published as a canvas: <{url}|open it>.{note}"
    return _message(truncate(f"The written plan {plan_name} as a canvas", FALLBACK_TEXT_MAX,
                             escape=escape_mrkdwn), [section(text)])
