"""People as Slack knows them: time zone and DM channel, cached in the database.

The time zone comes from users.info and is fetched again when it is unknown or older
than TIMEZONE_MAX_AGE; Slack's `user_change` event replaces it at once. A lookup that
failed for good (user_not_found) is remembered too, so it is not asked every pass.
Callers that must act on a changed zone use storage.reminders.set_timezone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage.models import SLACK_ID_MAX, Person
from storage.upsert import insert_missing, upsert

TIMEZONE_MAX_AGE = dt.timedelta(days=7)
ZONE_NAME_MAX = 64


def get(session: Session, team_id: str, user_id: str) -> Person | None:
    return session.get(Person, (team_id, user_id))


def _among(people: Iterable[tuple[str, str]]):
    """WHERE for these (team, user) pairs, grouped by workspace so the primary key serves
    it (a row-value IN becomes a scan of OR-ed pairs on PostgreSQL)."""
    by_team: dict[str, set[str]] = {}
    for team, user in people:
        by_team.setdefault(team, set()).add(user)
    return or_(*(and_(Person.team_id == team, Person.user_id.in_(sorted(users)))
                 for team, users in sorted(by_team.items())))


def timezone_names(session: Session, people: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """{(team, user): zone name or None} for many people in one query."""
    wanted = set(people)
    if not wanted:
        return {}
    rows = session.execute(
        select(Person.team_id, Person.user_id, Person.timezone).where(_among(wanted))
    )
    found = {(team, user): zone for team, user, zone in rows}
    return {key: found.get(key) for key in wanted}


def dm_channels(session: Session, people: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """{(team, user): the channel of our DMs with them, if known} in one query."""
    wanted = set(people)
    if not wanted:
        return {}
    rows = session.execute(
        select(Person.team_id, Person.user_id, Person.dm_channel_id).where(_among(wanted))
    )
    found = {(team, user): channel for team, user, channel in rows}
    return {key: found.get(key) for key in wanted}


def is_fresh(person: Person | None, now: dt.datetime) -> bool:
    return person is not None and person.fetched_at is not None \
        and person.fetched_at > now - TIMEZONE_MAX_AGE


def record_timezone(session: Session, team_id: str, user_id: str, name: str | None, *,
                    now: dt.datetime) -> bool:
    """Keep what Slack said; True when the zone differs from the one we had."""
    name = (name or "")[:ZONE_NAME_MAX] or None
    before = get(session, team_id, user_id)
    previous = before.timezone if before is not None else None
    upsert(session, Person,
           dict(team_id=team_id, user_id=user_id, timezone=name, fetched_at=now, lookup_error=""),
           keys=("team_id", "user_id"), update=("timezone", "fetched_at", "lookup_error"))
    _forget(session, team_id, user_id)
    return name != previous


def record_lookup_failed(session: Session, team_id: str, user_id: str, error: str, *,
                         now: dt.datetime) -> None:
    """users.info refused for good: ask again only when the cache would be stale."""
    upsert(session, Person,
           dict(team_id=team_id, user_id=user_id, fetched_at=now, lookup_error=error[:64]),
           keys=("team_id", "user_id"), update=("fetched_at", "lookup_error"))
    _forget(session, team_id, user_id)


def record_dm_channel(session: Session, team_id: str, user_id: str, channel_id: str) -> None:
    if channel_id and len(channel_id) <= SLACK_ID_MAX:
        upsert(session, Person, dict(team_id=team_id, user_id=user_id, dm_channel_id=channel_id),
               keys=("team_id", "user_id"), update=("dm_channel_id",))
        _forget(session, team_id, user_id)


def ensure(session: Session, people: Iterable[tuple[str, str]]) -> None:
    """A row for each person we remind (zone unknown until fetched): `stale` finds them."""
    insert_missing(session, Person, [dict(team_id=team, user_id=user, lookup_error="")
                                     for team, user in sorted(set(people))], keys=("team_id", "user_id"))


def stale(session: Session, *, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
    """People whose zone is unknown or older than TIMEZONE_MAX_AGE, never fetched first.

    A scan of `people` (a row per person reminded: thousands, not the million rows of
    reminders), every pass.
    """
    rows = session.execute(
        select(Person.team_id, Person.user_id)
        .where(or_(Person.fetched_at.is_(None), Person.fetched_at <= now - TIMEZONE_MAX_AGE))
        .order_by(Person.fetched_at.is_not(None), Person.fetched_at).limit(limit)
    )
    return [(team, user) for team, user in rows]


def stale_among(session: Session, people: Iterable[tuple[str, str]], *,
                now: dt.datetime) -> list[tuple[str, str]]:
    """Those of `people` whose time zone is unknown or too old."""
    wanted = set(people)
    if not wanted:
        return []
    fresh = set(session.execute(
        select(Person.team_id, Person.user_id).where(
            _among(wanted),
            Person.fetched_at.is_not(None),
            Person.fetched_at > now - TIMEZONE_MAX_AGE,
        )
    ))
    return sorted(wanted - fresh)



def _forget(session: Session, team_id: str, user_id: str) -> None:
    """The upserts write around the ORM: a Person already loaded is read again when used."""
    instance = session.identity_map.get(session.identity_key(Person, (team_id, user_id)))
    if instance is not None:
        session.expire(instance)
