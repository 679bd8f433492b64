"""Reminders of action items, kept as rows: the changes that start, move and stop them,
and the scheduler's side (what is due, what was sent). No Slack here.

Modules: rows (the rows, an item's facts), changes (from plan operations and time
zones), choices (lead time, snooze, mute), scheduling (reminders and summaries due and
sent), outbox (one-off DMs).

Rows (storage/models/reminders.py):
- ItemReminder: one per open, assigned action item, for its assignee;
- WeeklySummary: one per person with assigned items (`muted` from App Home);
- Notification: a one-off DM (assigned, unassigned, done, an update of an earlier DM),
  written in the same transaction as the change it tells of: an outbox.

Changes arrive from storage.plans operations, inside their transaction. They record
what happened and reset what no longer holds, but do no time arithmetic: the row is
marked `needs_schedule` and due at once (ASAP), and the next scheduler pass works the
time out with its own `now` (storage.reminder_calendar has the rules). So the time is
computed in one place, and `accountplan tick --now` can replay any day.

Who hears what (the issue, and the gaps it leaves, filled):
- A new assignee gets an "assigned" DM, unless they assigned the item to themselves.
- The previous assignee is told too (unless they made the change), and their last DM
  about the item loses its buttons.
- Done: whoever assigned the item is told (unless they did it; for a customer-owned
  item its follow-up owner: storage.customer_items), and the assignee's last DM about
  it shows it done. Deleted: that DM says so.
- A customer's items (their assignee is from another organisation) are reminded in the
  plan's customer channel, or their follow-up owner is told instead
  (bot/scheduler/customer_reminders.py): the row is the customer's (their time zone),
  and the channel message is the one "done" redraws. An item of a customer contact
  without Slack is assigned to its follow-up owner, who is reminded by DM.
- "Whoever assigned it" is the person who last set the assignee; for items written in
  bulk (import, deep copy), their creator, else the plan's owner.
- Copies and imports send no assignment DMs (a whole plan's worth of DMs for a draft of
  next year's plan would be noise); their items are reminded like any others, once the
  scheduler has seen the plan (`sync_new_plans`).
- Items of draft and active plans are reminded; completed and archived plans are quiet
  (and resume if the plan becomes active again). Done or deleted items: nothing.
- Only the plan's owner changes its lead time; only the assignee snoozes.
- A person from another organisation (Slack Connect: `people.external`, asked of Slack
  the first time it matters) hears only of items shown to customers (ItemFacts.shared:
  the item, its objective and its strategy all shared). Anything else to them is
  withheld (`record_*_withheld`): nothing posted, the row moves on as if it had gone.

The scheduler's side, for each kind of row: `prepare_*` (one transaction for a claimed
batch) settles every row that needs no message now and returns the DMs to send;
`record_*_sent` and `record_failure` write the outcome, only while the pass still holds
the row's lease (storage.claims).

A pass sends what is due at its `now`, rows it schedules in that same pass included
(an import, a copy, a change, a new time zone): a row to schedule is first asked what
is due now (storage.reminder_calendar.due_now, which catches a missed 09:00 up), and
only then given its next time. Item reminders are claimed a person at a time
(storage.claims.claim_due_groups), so one person's reminders due at once go out as
one DM (bot/scheduler/reminder_jobs.py); each row still records its own reminder once.

A change to the item (done, reassigned, a new due date, deleted) clears the row's
lease: a pass sending from the old state cannot record it. A change around the item
(its plan's lead time or status, the person's time zone) only asks for a new schedule
(`needs_schedule`): a DM already on its way is recorded, then the row is looked at
again.
"""

from storage.domain import DEFAULT_LEAD_DAYS, Actor
from storage.reminders.changes import (
    is_reminded,
    item_assigned,
    item_deleting,
    item_done,
    item_reopened,
    item_updated,
    plan_changed,
    reschedule_people,
    reschedule_person,
    set_timezone,
    set_timezones,
)
from storage.reminders.choices import set_lead_days, set_summary_muted, snooze, summary_muted
from storage.reminders.outbox import (
    DueNotification,
    assignee_of,
    dm_group,
    latest_dm,
    prepare_notifications,
    record_notification_sent,
    record_notification_withheld,
)
from storage.reminders.rows import (
    ASAP,
    BACKOFF_MAX,
    MIN_STEP,
    REMINDING,
    SNOOZE_DAYS,
    SUMMARY_ITEMS_MAX,
    WITHHELD,
    ItemFacts,
    follow_up_owner,
    item_facts,
    open_items_of,
)
from storage.reminders.scheduling import (
    DueReminder,
    DueSummary,
    Outgoing,
    people_needing_timezones,
    prepare_item_reminders,
    prepare_summaries,
    record_failure,
    record_reminder_forwarded,
    record_reminder_sent,
    record_reminder_withheld,
    record_summary_sent,
    record_summary_withheld,
    sync_new_plans,
)

__all__ = [
    "DEFAULT_LEAD_DAYS",
    "Actor",
    "ASAP",
    "BACKOFF_MAX",
    "MIN_STEP",
    "REMINDING",
    "SNOOZE_DAYS",
    "SUMMARY_ITEMS_MAX",
    "WITHHELD",
    "ItemFacts",
    "follow_up_owner",
    "item_facts",
    "open_items_of",
    "item_assigned",
    "item_updated",
    "item_done",
    "item_reopened",
    "item_deleting",
    "plan_changed",
    "reschedule_person",
    "reschedule_people",
    "is_reminded",
    "set_timezone",
    "set_timezones",
    "set_lead_days",
    "snooze",
    "summary_muted",
    "set_summary_muted",
    "sync_new_plans",
    "people_needing_timezones",
    "Outgoing",
    "DueReminder",
    "DueSummary",
    "prepare_item_reminders",
    "record_reminder_sent",
    "record_reminder_forwarded",
    "record_reminder_withheld",
    "record_failure",
    "prepare_summaries",
    "record_summary_sent",
    "record_summary_withheld",
    "DueNotification",
    "prepare_notifications",
    "dm_group",
    "latest_dm",
    "assignee_of",
    "record_notification_sent",
    "record_notification_withheld",
]
