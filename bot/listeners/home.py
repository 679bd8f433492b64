"""App Home: my open action items and my plans, published on app_home_opened and
again whenever something of mine changes."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from blocks import home as home_blocks
from blocks import messages
from bot.runtime.after_ack import Answer, acked
from bot.runtime.audience import person_is_external
from bot.runtime.middleware import actor_of, unit_of_work
from storage import health as plan_health
from storage import plans, reminders
from storage.models import Audience
from storage.plans import Actor

log = logging.getLogger(__name__)


def today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _open_items(session: Session, actor: Actor, limit: int,
                external: bool = False) -> tuple[list[tuple[Any, str]], int]:
    """(item, plan name) pairs, overdue first, and how many more there are. An external
    audience (bot/runtime/audience.py) sees only the items shown to customers (shared,
    under a shared objective and strategy), even of their own."""
    audience = Audience.EXTERNAL if external or actor.external else Audience.TEAM
    items = plans.open_items_for(session, actor.team_id, actor.user_id, limit=limit, audience=audience)
    names = plans.plan_names(session, actor.team_id, {i.plan_id for i in items})
    more = 0
    if len(items) == limit:
        more = plans.count_open_items(session, actor.team_id, actor.user_id, audience=audience) - limit
    return [(item, names[item.plan_id]) for item in items], more


def my_items_message(session: Session, actor: Actor, external: bool = False) -> dict[str, Any]:
    items, more = _open_items(session, actor, messages.LIST_MAX, external)
    return messages.my_items(items, today=today(), more=more)


def home_view(session: Session, actor: Actor) -> dict[str, Any]:
    items, more_items = _open_items(session, actor, home_blocks.ITEMS_MAX)
    # A person from another organisation has plans of their own here only by mistake
    # (picked into a team): their Home lists their items, never the team's plans.
    mine = [] if actor.external else plans.list_plans(
        session, actor.team_id, user_id=actor.user_id, limit=home_blocks.PLANS_MAX + 1)
    more_plans = 0
    if len(mine) > home_blocks.PLANS_MAX:
        mine = mine[:home_blocks.PLANS_MAX]
        more_plans = plans.count_plans(session, actor.team_id, user_id=actor.user_id) - len(mine)
    progress = plans.progress_by_plan(session, actor.team_id, [p.id for p in mine])
    health = plan_health.health_by_plan(session, actor.team_id, [p.id for p in mine], today())
    return home_blocks.home_view(items, mine, progress, today=today(),
                                 more_items=more_items, more_plans=more_plans,
                                 summary_muted=reminders.summary_muted(session, actor.team_id, actor.user_id),
                                 health=health)


def publish_home(client: WebClient, context: BoltContext, user_id: str) -> None:
    """Redraw someone's App Home (after the ack; a failure only loses a redraw): the
    requester's, or another person's (an assignee), each checked by bot/runtime/audience.py."""
    team_id = context.team_id or context.enterprise_id
    requester = context.get("actor")
    if requester is not None and requester.user_id == user_id:
        actor = actor_of(context)
    else:
        actor = Actor(team_id, user_id, external=person_is_external(client, context, team_id, user_id))
    with unit_of_work(context) as session:
        view = home_view(session, actor)
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.info("home of %s not published: %s", user_id, error.response.get("error"))


def on_home_opened(*, body, client: WebClient, context: BoltContext, payload, respond) -> None:
    if payload.get("tab", "home") != "home":
        return
    publish_home(client, context, payload["user"])


def register(app: App) -> None:
    app.event("app_home_opened")(acked(on_home_opened, Answer.BACKGROUND))
