""""Publish as canvas": the written plan as a Slack canvas, shared to a channel.

The document is the one `accountplan export --format md` prints
(blocks/written_plan.py). There is one canvas per plan and audience (PlanCanvas):
publishing again edits it in place (canvases.edit, replace), so links people already
have keep working. For a channel shared with another organisation (bot/slack/channels.py,
asked at publishing time) the EXTERNAL canvas is used: a separate document of only the
parts shared with the customer, so the team's canvas is never shared with a customer.

The canvas is shared to the channel read-only (canvases.access.set) and a link to it is
posted there. A canvas someone deleted is created again. People are shown by their
Slack display names (users.info, at most NAMES_MAX lookups), ids otherwise.

Limits: canvases need a paid Slack plan; Slack's error is shown as it comes. Access
given to a channel while it was internal is withdrawn (bot/slack/channels.py) the next time a
check finds the channel shared: a publish there, or a digest posted there. The calls
that write the canvas and find its URL are bot/slack/canvases.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from blocks import digest as digest_blocks
from blocks.written_plan import render_written_plan
from bot.slack.canvases import canvas_url, write_canvas
from bot.slack.channels import check_channel, post_messages, refusal, withdraw_team_canvas
from bot.slack.errors import error_code
from bot.slack.users import display_names
from storage import agreements, digests, plans, stakeholders
from storage.db import transaction
from storage.models import Audience, utcnow
from storage.plans import Actor

_SLACK_ERRORS = (SlackApiError, SlackClientError, OSError)


@dataclass(frozen=True)
class Published:
    channel_id: str
    audience: Audience
    canvas_id: str = ""
    url: str = ""
    created: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _people(plan) -> set[str]:
    found = {plan.owner_id, *plan.member_ids}
    for strategy in plan.strategies:
        for objective in strategy.objectives:
            found.update(i.assignee_id for i in objective.action_items if i.assignee_id)
    return {u for u in found if u}


def publish_canvas(
    client: WebClient,
    session_factory: sessionmaker[Session],
    actor: Actor,
    plan_id: int,
    channel_id: str,
) -> Published:
    """Publish (or update) the plan's canvas for `channel_id`'s audience and share it there.

    Raises PermissionDenied / NotFound (storage) before anything is sent.
    """
    with transaction(session_factory) as session:
        digests.require_sharer(session, actor, plan_id)
    check = check_channel(client, channel_id)
    refused = refusal(check)
    if refused:
        return Published(channel_id, check.audience, error=refused)
    team_only = check.audience == Audience.TEAM
    if not team_only:
        withdraw_team_canvas(client, session_factory, plan_id, channel_id)
    with transaction(session_factory) as session:
        plan = plans.load_plan_tree(session, actor.team_id, plan_id)
        progress = plans.plan_progress(session, actor.team_id, plan_id) if team_only else None
        existing = digests.canvas_id_for(session, plan_id, check.audience)
        # Key stakeholders: the team's canvas only, never a customer's.
        people = stakeholders.stakeholder_tree(stakeholders.list_stakeholders(session, actor, plan_id)) \
            if team_only else None
        agreed = agreements.agreement_states(session, actor.team_id, plan_id, audience=check.audience)
    title = plan.name if not team_only else f"{plan.name} (team only)"
    named = _people(plan) | {s.slack_user_id for s, _ in people or () if s.slack_user_id}
    markdown = render_written_plan(plan, progress, names=display_names(client, named),
                                   include_team_only=team_only, stakeholders=people,
                                   today=utcnow().date(), agreements=agreed)
    try:
        canvas_id, created = write_canvas(client, existing, title, markdown)
    except (*_SLACK_ERRORS, KeyError) as error:
        return Published(channel_id, check.audience, error=error_code(error))
    with transaction(session_factory) as session:
        digests.save_canvas(session, team_id=actor.team_id, plan_id=plan_id,
                            audience=check.audience, canvas_id=canvas_id)
    try:
        client.canvases_access_set(canvas_id=canvas_id, access_level="read", channel_ids=[channel_id])
        url = canvas_url(client, canvas_id)
    except _SLACK_ERRORS as error:
        return Published(channel_id, check.audience, canvas_id, created=created, error=error_code(error))
    message = digest_blocks.canvas_link_message(plan.name, url, external=not team_only)
    _, _, error = post_messages(client, channel_id, [message])
    return Published(channel_id, check.audience, canvas_id, url, created, error)
