"""People as Slack knows them: time zone, DM channel and organisation, cached in the
database.

The time zone comes from Slack (users.list for many people at once, users.info for a
few; bot/scheduler/time_zone_jobs.py) and is fetched again when it is unknown or older than
TIMEZONE_MAX_AGE; Slack's `user_change` event replaces it at once. A lookup that
failed for good (user_not_found) is remembered too, so it is not asked every pass.
Callers that must act on a changed zone use storage.reminders.set_timezone(s).

Whether someone belongs to another organisation (Slack Connect) comes with the same
answers (users.list pages, users.info) and is kept: it does not change in practice. A
person whose organisation is not known yet (everyone, right after the upgrade that added
it) is looked up like a person whose zone is unknown, so the scheduler's time zone job
learns it in bulk before the DMs; bot/scheduler/reminder_jobs.py asks users.info only
for someone still unknown when a DM about an item not shared with the customer is due.

Lookups are claimed like the scheduler's rows (storage.claims), through `fetched_at`:
a claim sets it to the moment the claim runs out minus TIMEZONE_MAX_AGE, so the person
looks fresh to every other pass until then, and stale again if the claimer died.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from storage.models import SLACK_ID_MAX, Person
from storage.upsert import insert_missing, upsert, upsert_many

TIMEZONE_MAX_AGE = dt.timedelta(days=7)
ZONE_NAME_MAX = 64
# users.list went through the whole workspace without them (a person of another
# organisation, say): users.info is asked instead.
NOT_LISTED = "not_listed"
CHUNK = 1000  # ids in one IN (...)


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


def _known(session: Session, people: Iterable[tuple[str, str]], column) -> dict[tuple[str, str], object]:
    """{(team, user): the person's `column`, None when not known} for many people in
    one query."""
    wanted = set(people)
    if not wanted:
        return {}
    rows = session.execute(select(Person.team_id, Person.user_id, column).where(_among(wanted)))
    found = {(team, user): value for team, user, value in rows}
    return {key: found.get(key) for key in wanted}


def timezone_names(session: Session, people: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """{(team, user): zone name or None} for many people in one query."""
    return _known(session, people, Person.timezone)


def dm_channels(session: Session, people: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
    """{(team, user): the channel of our DMs with them, if known} in one query."""
    return _known(session, people, Person.dm_channel_id)


def organisations(session: Session, people: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bool | None]:
    """{(team, user): True when they belong to another organisation, False when to the
    workspace, None when not known yet} in one query."""
    return _known(session, people, Person.external)


def record_organisation(session: Session, team_id: str, user_id: str, external: bool) -> None:
    """What Slack said of the person's organisation (bot/slack/users.py decides)."""
    record_organisations(session, team_id, {user_id: external})


def record_organisations(session: Session, team_id: str, external: dict[str, bool]) -> None:
    """record_organisation for many people of a workspace (a users.list page)."""
    rows = [dict(team_id=team_id, user_id=user, external=bool(value), lookup_error="")
            for user, value in sorted(external.items())]
    upsert_many(session, Person, rows, keys=("team_id", "user_id"), update=("external",))
    for user in external:
        _forget(session, team_id, user)


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


def _stale(now: dt.datetime):
    return or_(Person.fetched_at.is_(None), Person.fetched_at <= now - TIMEZONE_MAX_AGE)


def _organisation_unknown(now: dt.datetime, lease: dt.timedelta):
    """Slack never said which organisation they belong to, and no lookup holds them: not
    claimed, i.e. stale, or fetched later than any live claim writes (`claimed_until`)."""
    return and_(Person.external.is_(None), Person.lookup_error == "",
                or_(_stale(now), Person.fetched_at > claimed_until(now, lease)))


def _unknown(now: dt.datetime, lease: dt.timedelta):
    """Never told their zone or organisation (or a claim that ran out): what users.list
    is for."""
    return or_(and_(Person.timezone.is_(None), Person.lookup_error == "", _stale(now)),
               _organisation_unknown(now, lease))


def claimed_until(now: dt.datetime, lease: dt.timedelta) -> dt.datetime:
    """The `fetched_at` a lookup claim made at `now` writes."""
    return now + lease - TIMEZONE_MAX_AGE


def unknown_counts(session: Session, *, now: dt.datetime, lease: dt.timedelta) -> dict[str, int]:
    """{team: how many people we remind have no time zone or organisation yet, unclaimed}
    (a scan of `people`)."""
    rows = session.execute(
        select(Person.team_id, func.count()).where(_unknown(now, lease)).group_by(Person.team_id)
    )
    return {team: count for team, count in rows}


def claim_unknown(session: Session, team_id: str, *, now: dt.datetime,
                  lease: dt.timedelta) -> list[str]:
    """Everyone of the workspace whose zone or organisation is unknown, claimed for a
    users.list pass."""
    return sorted(session.scalars(
        update(Person).where(Person.team_id == team_id, _unknown(now, lease))
        .values(fetched_at=claimed_until(now, lease))
        .returning(Person.user_id).execution_options(synchronize_session=False)
    ))


def claim_stale(session: Session, *, now: dt.datetime, lease: dt.timedelta,
                limit: int) -> list[tuple[str, str]]:
    """Up to `limit` people whose zone is unknown or old, or whose organisation is
    unknown, never fetched first, claimed for users.info."""
    wanted = or_(_stale(now), _organisation_unknown(now, lease))
    oldest = (select(Person.team_id, Person.user_id).where(wanted)
              .order_by(Person.fetched_at.is_not(None), Person.fetched_at, Person.team_id, Person.user_id)
              .limit(limit))
    return sorted(tuple(row) for row in session.execute(
        update(Person).where(tuple_(Person.team_id, Person.user_id).in_(oldest), wanted)
        .values(fetched_at=claimed_until(now, lease))
        .returning(Person.team_id, Person.user_id).execution_options(synchronize_session=False)
    ))


def chunks(users: Iterable[str]):
    """Sorted ids in lists of CHUNK (one IN (...) each)."""
    users = sorted(set(users))
    for start in range(0, len(users), CHUNK):
        yield users[start:start + CHUNK]


def _still_claimed(session: Session, team_id: str, users: Iterable[str], claim: dt.datetime,
                   **values) -> None:
    """Change the people this claim still holds (nobody recorded their zone meanwhile)."""
    for chunk in chunks(users):
        session.execute(
            update(Person).where(Person.team_id == team_id, Person.user_id.in_(chunk),
                                 Person.fetched_at == claim)
            .values(**values).execution_options(synchronize_session=False)
        )


def release_claim(session: Session, team_id: str, users: Iterable[str], claim: dt.datetime) -> None:
    """A listing that stopped part way: the people it did not reach are unknown again."""
    _still_claimed(session, team_id, users, claim, fetched_at=None)


def mark_not_listed(session: Session, team_id: str, users: Iterable[str], claim: dt.datetime) -> None:
    """The whole workspace was listed without them: ask users.info (`claim_stale`)."""
    _still_claimed(session, team_id, users, claim, fetched_at=None, lookup_error=NOT_LISTED)


def record_lookups_failed(session: Session, team_id: str, users: Iterable[str], error: str, *,
                          now: dt.datetime) -> None:
    """Many lookups refused for good at once (the workspace is not installed)."""
    for chunk in chunks(users):
        session.execute(
            update(Person).where(Person.team_id == team_id, Person.user_id.in_(chunk))
            .values(fetched_at=now, lookup_error=error[:64]).execution_options(synchronize_session=False)
        )


def record_timezones(session: Session, team_id: str, zones: dict[str, str | None], *,
                     now: dt.datetime) -> list[str]:
    """Keep what Slack said about many people of one workspace (a users.list page);
    returns those whose zone differs from the one we had."""
    zones = {user: (name or "")[:ZONE_NAME_MAX] or None for user, name in zones.items()}
    if not zones:
        return []
    before: dict[str, str | None] = {}
    for chunk in chunks(zones):
        before.update(session.execute(
            select(Person.user_id, Person.timezone).where(Person.team_id == team_id, Person.user_id.in_(chunk))
        ).all())
    upsert_many(session, Person, [
        dict(team_id=team_id, user_id=user, timezone=name, fetched_at=now, lookup_error="")
        for user, name in sorted(zones.items())
    ], keys=("team_id", "user_id"), update=("timezone", "fetched_at", "lookup_error"))
    for user in zones:
        _forget(session, team_id, user)
    return sorted(user for user, name in zones.items() if before.get(user) != name)


def tracked_among(session: Session, team_id: str, users: Iterable[str]) -> set[str]:
    """Those of `users` we keep a row for (people we remind)."""
    found: set[str] = set()
    for chunk in chunks(users):
        found.update(session.scalars(
            select(Person.user_id).where(Person.team_id == team_id, Person.user_id.in_(chunk))
        ))
    return found


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
