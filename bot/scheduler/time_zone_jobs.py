"""The scheduler's time zone jobs: people's time zones, so that their reminders go
out at 09:00 where they are.

- refresh_time_zones (before the DMs of a pass): time zones of the people we remind
  that are unknown or stale, as much as Slack gives at once (below);
- finish_time_zones (after the DMs): the rest of the time zones.

Time zones: when more than BULK_THRESHOLD people of a workspace have none yet (after
an import), users.list gives them a thousand at a time (Tier 2: 20 calls a minute,
bursts of 3; its own pace in the limiter), else users.info asks for each (Tier 4),
at most TIMEZONE_LOOKUPS a job. Before the DMs go out a pass spends no more than a
burst on it (PAGES_BEFORE_SENDING pages); the listing goes on after them. Anyone whose
zone is not known yet is reminded in the workspace's (ACCOUNTPLAN_TIMEZONE) meanwhile,
and moved when it arrives (storage.reminders.set_timezones, and their check-ins:
storage.checkins.owners_zones_changed): nobody's reminder waits for a lookup.
Lookups are claimed (storage.people), so passes at once share the work.
The same answers say who belongs to another organisation (bot/slack/users.py), which
the reminder jobs need before a DM about an item not shared with the customer: kept
too (storage.people.record_organisations), so asking Slack once is enough. Someone
whose organisation is unknown counts as unknown here even with a zone (everyone, after
the upgrade that added it): learnt from the same pages before the DMs, rather than a
users.info each (Tier 4) in the reminder jobs while the DMs wait.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from bot.scheduler.job_context import JobContext
from bot.slack.dms import Outcome, outcome_of
from bot.slack.users import from_elsewhere
from bot.slack.workspaces import NotInstalled
from storage import checkins, people, reminders
from storage.db import transaction

log = logging.getLogger(__name__)

# More people than this without a time zone in one workspace: users.list (one call per
# thousand members) instead of a users.info each. Also the users.info calls of one job.
BULK_THRESHOLD = 20
TIMEZONE_LOOKUPS = 20
LIST_PAGE = 1000  # users.list's largest page
PAGES_BEFORE_SENDING = 3  # a Tier 2 burst: no wait before the DMs go out
LOOKUP_LEASE = dt.timedelta(minutes=10)


def refresh_time_zones(context: JobContext, now: dt.datetime) -> int:
    """Before the DMs: a few users.info calls, or the first pages of a users.list."""
    _time_zones(context, now, pages=PAGES_BEFORE_SENDING)
    return 0


def finish_time_zones(context: JobContext, now: dt.datetime) -> int:
    """After the DMs: the rest of the listing, and more users.info calls."""
    _time_zones(context, now, pages=None)
    return 0


@dataclass
class Listing:
    """A users.list pass over one workspace for the people it claimed."""

    team_id: str
    claim: dt.datetime  # the fetched_at the claim wrote (storage.people.claimed_until)
    wanted: set[str]  # claimed and not found yet
    cursor: str | None = None


def _listings(context: JobContext) -> dict[str, Listing]:
    return context.carry.setdefault("time_zone_listings", {})


def _time_zones(context: JobContext, now: dt.datetime, *, pages: int | None) -> None:
    listings = _listings(context)
    with transaction(context.session_factory) as session:
        counts = people.unknown_counts(session, now=now, lease=LOOKUP_LEASE)
    for team_id in sorted(counts):
        if counts[team_id] > BULK_THRESHOLD and team_id not in listings:
            with transaction(context.session_factory) as session:
                wanted = people.claim_unknown(session, team_id, now=now, lease=LOOKUP_LEASE)
            if wanted:
                listings[team_id] = Listing(team_id, people.claimed_until(now, LOOKUP_LEASE), set(wanted))
    for listing in list(listings.values()):
        if _list_time_zones(context, listing, now, pages=pages):
            del listings[listing.team_id]
    with transaction(context.session_factory) as session:
        few = people.claim_stale(session, now=now, lease=LOOKUP_LEASE, limit=TIMEZONE_LOOKUPS)
    for team_id, user_id in few:
        fetch_time_zone(context, team_id, user_id, now)


def _list_time_zones(context: JobContext, listing: Listing, now: dt.datetime, *,
                     pages: int | None) -> bool:
    """Pages of users.list, keeping the zones of the people wanted; True when the
    listing is over (all found, the last page read, or Slack refused)."""
    team_id = listing.team_id
    try:
        client = context.client_for_team(team_id)
    except NotInstalled:  # nothing to ask: try again only when the cache would be stale
        with transaction(context.session_factory) as session:
            people.record_lookups_failed(session, team_id, listing.wanted, "not_installed", now=now)
        return True
    read = 0
    while listing.wanted and (pages is None or read < pages):
        try:
            context.limiter.acquire(team_id, "users.list")
            page = client.users_list(limit=LIST_PAGE, **({"cursor": listing.cursor} if listing.cursor else {}))
        except Exception as error:  # noqa: BLE001 - sorted below
            try:
                outcome = outcome_of(error)
            except Exception:  # noqa: BLE001 - not Slack's (a bug, a failed token refresh)
                log.exception("users.list of %s failed", team_id)
                outcome = Outcome(error="internal_error")
            if outcome.error == "ratelimited":
                context.limiter.pause(team_id, outcome.retry_after or 1.0)
            log.info("users.list of %s stopped: %s", team_id, outcome.error)
            with transaction(context.session_factory) as session:
                if outcome.permanent:  # e.g. missing_scope: as users.info would have said
                    people.record_lookups_failed(session, team_id, listing.wanted, outcome.error, now=now)
                else:  # the people not reached are unknown again: the next pass lists anew
                    people.release_claim(session, team_id, listing.wanted, listing.claim)
            return True
        read += 1
        members = [member for member in page.get("members") or [] if member.get("id") in listing.wanted]
        found = {member["id"]: member.get("tz") for member in members}
        if found:
            with transaction(context.session_factory) as session:
                reminders.set_timezones(session, team_id, found, now=now)
                checkins.owners_zones_changed(session, team_id, found, now=now,
                                              default_tz=context.default_timezone)
                people.record_organisations(session, team_id, {
                    member["id"]: from_elsewhere(member, team_id) for member in members})
            listing.wanted -= found.keys()
        listing.cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if listing.cursor is None:
            break
    if listing.wanted and listing.cursor is not None:
        return False  # the next job of this pass goes on from the cursor
    with transaction(context.session_factory) as session:  # the whole workspace, and not them
        people.mark_not_listed(session, team_id, listing.wanted, listing.claim)
    return True


def fetch_time_zone(context: JobContext, team_id: str, user_id: str, now: dt.datetime) -> None:
    """Ask Slack for someone's time zone and keep it (their reminders move if it changed)."""
    try:
        client = context.client_for_team(team_id)
        context.limiter.acquire(team_id, "users.info")
        user = client.users_info(user=user_id)["user"]
    except NotInstalled:  # nothing to ask: try again only when the cache would be stale
        with transaction(context.session_factory) as session:
            people.record_lookup_failed(session, team_id, user_id, "not_installed", now=now)
        return
    except Exception as error:  # noqa: BLE001 - sorted below
        outcome = outcome_of(error)
        if outcome.permanent:
            with transaction(context.session_factory) as session:
                people.record_lookup_failed(session, team_id, user_id, outcome.error, now=now)
        log.info("time zone of %s not fetched: %s", user_id, outcome.error)
        return
    with transaction(context.session_factory) as session:
        if reminders.set_timezone(session, team_id, user_id, user.get("tz"), now=now):
            checkins.owners_zones_changed(session, team_id, [user_id], now=now,
                                          default_tz=context.default_timezone)
        people.record_organisation(session, team_id, user_id, from_elsewhere(user, team_id))
