"""What every listener finds on `context`: the database and the acting user.

Why not one Session per request opened here and committed after `next()`? Because with
`process_before_response=False` Bolt returns from `next()` as soon as the listener has
called `ack()`; the listener keeps running on a thread of the listener executor (and
lazy listeners on yet another thread, with a deep copy of the context). A session
opened in this middleware would be committed or closed while the listener still uses
it, and shared by threads. So the middleware hands out the *means* to open a session,
and each listener opens its own unit of work where it does the work:

    from bot.runtime.middleware import actor_of, unit_of_work

    def on_submit(ack, context, view):
        with unit_of_work(context) as session:      # commit on success, rollback on error
            plan = plans.create_plan(session, actor_of(context), ...)
        ack()

Nothing here touches the database, so the middleware adds nothing before the ack.
It also swaps in a `StickyAck` (below) so an error after ack() cannot undo the ack.
Each request's record (its log line and its id: bot/runtime/request_log.py) is on the
context too, as `context["request"]` and `context["request_id"]`.
"""

from __future__ import annotations

import time

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.runtime import audience, request_log
from bot.runtime.after_ack import CONTEXT_KEY as AFTER_ACK_KEY
from bot.runtime.after_ack import RECEIVED_AT_KEY, AfterAck
from bot.slack.users import belongs
from storage.db import transaction
from storage.plans import Actor

DATABASE_KEY = "database"
PERSON_PENDING_KEY = "person_pending"
# Slack waits 3 s for an ack: a form's save may wait this long on other writers.
BEFORE_ACK_DB_WAIT_SECONDS = 1.5
ACTOR_KEY = "actor"
SETTINGS_KEY = "settings"


class Database:
    """The app's session factory, safe to carry on a Bolt context.

    Bolt deep-copies the context for lazy listeners; copying this returns the same
    object, so a lazy listener still reaches the one engine and its connection pool.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __copy__(self) -> Database:
        return self

    def __deepcopy__(self, memo: dict) -> Database:
        return self

    @contextmanager
    def unit_of_work(self, *, before_ack: bool = False) -> Iterator[Session]:
        """A new session in one transaction: commit on success, rollback on any error.
        `before_ack`: waits on locks are bounded so that Slack still gets an answer."""
        wait = BEFORE_ACK_DB_WAIT_SECONDS if before_ack else None
        with transaction(self.session_factory, wait_seconds=wait) as session:
            yield session


def actor_from(context: BoltContext, body: dict[str, Any] | None = None) -> Actor | None:
    """The workspace and user a request acts for (None for requests without a user).

    Org-wide installs may send no team; the enterprise id scopes the plans then. Whether
    the person is from another organisation is filled in from the payload when it says
    (interactive payloads carry `user.team_id`); otherwise `actor_of` asks (bot/runtime/audience.py).
    """
    team_id = context.team_id or context.enterprise_id
    user_id = context.user_id
    if not team_id or not user_id:
        return None
    own = audience.person_team_in(body or {})
    if own is None:
        context[PERSON_PENDING_KEY] = True
        return Actor(team_id=team_id, user_id=user_id)
    return Actor(team_id=team_id, user_id=user_id, external=not belongs(*own, team_id))


def unit_of_work(context: BoltContext, *, before_ack: bool = False) -> AbstractContextManager[Session]:
    """`with unit_of_work(context) as session:` inside a listener (see module docstring).
    Work a form submission does before its ack passes `before_ack=True`."""
    return context[DATABASE_KEY].unit_of_work(before_ack=before_ack)


def actor_of(context: BoltContext) -> Actor:
    """The acting user; raises for requests that carry none (e.g. some events).

    When the payload did not say which organisation the person is from (slash commands,
    events), the first call asks Slack (cached; bot/runtime/audience.py): call it after the ack.
    """
    actor = context.get(ACTOR_KEY)
    if actor is None:
        raise LookupError("this request has no acting user")
    if context.get(PERSON_PENDING_KEY):
        external = context[audience.PEOPLE_KEY].is_external(context.client, actor.team_id, actor.user_id)
        actor = Actor(team_id=actor.team_id, user_id=actor.user_id, external=external)
        context[ACTOR_KEY] = actor
        context[PERSON_PENDING_KEY] = False
    return actor


class StickyAck(Ack):
    """An Ack that keeps its response once given.

    When a listener raises after calling ack(), Bolt (1.30, ThreadListenerRunner) sets
    `ack.response` back to None; if the HTTP thread had not yet seen the ack (it polls
    every 10 ms), it then waits out the 3 s and answers 404, and Slack shows the user
    an error for a request that was acknowledged. Keeping the first response closes that
    race; the error is still logged by Bolt's error handler.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "response" and value is None and self.__dict__.get("response") is not None:
            return
        super().__setattr__(name, value)


def settings_of(context: BoltContext) -> Settings:
    """The app's settings (e.g. the fallback time zone), as create_app got them."""
    return context[SETTINGS_KEY]


def install(app: App, session_factory: sessionmaker[Session], settings: Settings | None = None,
            after_ack: AfterAck | None = None, command_words: frozenset[str] = frozenset()) -> None:
    """Register the global middleware that fills `context["database"]`, `["actor"]`,
    `["settings"]`, `["after_ack"]` (bot/runtime/after_ack.py) and `["received_at"]`;
    and gives every request its record and log line (bot/runtime/request_log.py), which
    names the /accountplan word when it is one of `command_words`."""
    database = Database(session_factory)
    after_ack = after_ack or AfterAck()
    people = audience.People()

    def attach(context: BoltContext, body: dict[str, Any],
               next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        context[RECEIVED_AT_KEY] = time.monotonic()
        context[AFTER_ACK_KEY] = after_ack
        context[DATABASE_KEY] = database
        context[audience.PEOPLE_KEY] = people
        context[ACTOR_KEY] = actor_from(context, body)
        context[SETTINGS_KEY] = settings
        if context.ack.response is None:  # not acknowledged yet (always, at this point)
            context["ack"] = StickyAck()
        return next()

    app.use(attach)
    request_log.observe_app(app, command_words)
