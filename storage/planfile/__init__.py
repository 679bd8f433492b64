"""Plan files: whole plans as JSON or YAML, for import and export (RUN_CONTRACT "Plan file").

One module per step: parse (format, source, errors), json_stream and yaml_stream (the
readers), read (iter_plan_file, iter_file_parts), check, people (stakeholders and
objective owners), importer, export; templates: storage/templates/files.py.

Shape (every key optional unless the rules of storage/plans/rules.py require it)::

    plans:
      - name, account, start_date, end_date, status, owner, team: [user ids],
        vision, customer_goals, our_goals, share_with_customer_by_default,
        strategies:
          - title, description, shared_with_customer,
            objectives:
              - title, description, measure_unit, target_value, current_value,
                shared_with_customer, owner, stakeholders: [references],
                action_items:
                  - title, assignee, due_date, status (open | done),
                    done_at, done_by, shared_with_customer, notes,
                    customer_contact (a reference), follow_up (a user id)
        swot:    [{kind, text, team_only}]          # team_only defaults to true
        reviews: [{held_on, attendees, notes, decisions, next_qbr_date}]
        stakeholders: [{name, ref, title, side, slack_user, role, influence, stance,
                        reports_to (a reference), last_contact_on, notes}]
    templates:                                      # beside or instead of plans
      - name, owner, strategies, swot                # storage/templates/files.py

Decisions:
- Export writes keys in the order above and leaves out empty optional values (empty
  text, empty lists, `team_only` of SWOT and `share_with_customer_by_default` at their
  defaults), so files stay small and the same plan always gives the same bytes.
- "Shared with customer" (what a customer sees: storage/plans/reads.py). Files
  written by this version always carry `shared_with_customer`, true or false, on every
  strategy, objective and action item, so it is absent only from files of earlier
  versions, and there it keeps what it meant then: every strategy and objective was
  shown to customers, and every action item not `team_only: true`. So absent means
  shared, and an item's `team_only` (true: not shared) is still read; given with
  `shared_with_customer` it must agree. `share_with_customer_by_default` (the mark new
  parts start with) is false when absent. Dates are `YYYY-MM-DD` (plain YAML dates, JSON
  strings); `done_at` is UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`.
- People (storage/planfile/people.py): an objective's `owner` is a Slack user id (none,
  or the plan's owner: it follows the plan's owner); stakeholders are referred to by
  name (`reports_to`, an objective's `stakeholders`, an item's `customer_contact`), a
  name referred to being one person's; people who share a name carry a `ref` ("John
  Smith (2)", written by export) and are referred to by it. A customer-owned item
  (storage/customer_items.py): `customer_contact` a customer-side stakeholder without
  Slack, `follow_up` the owner or one of the team (for a contact also its assignee).
  Import makes a `people` row for every objective owner, assignee and follow-up owner,
  as the app's own paths do (storage.people.ensure). Templates (storage/templates/files.py) are a name, an owner (default: who
  imports) and a template body; the workspace's own, never the built-ins.
- `done_at` and `done_by` are exported for done items, so export → import → export is
  identical. A file that marks an item done without `done_at` gets the time of the
  import; `done_at`/`done_by` on an open item are an error.
- Numbers (`target_value`, `current_value`) are written as integers when whole, else
  as decimals; a value a float cannot carry exactly is written as a string.
- Import reads the file plan by plan (iter_plan_file) and never holds it whole: memory
  is one batch of plans (BATCH_PLANS, fewer when they hold BATCH_ITEMS action items),
  whatever the size of the file. Each entry is checked in Python with the rules of
  storage/plans/rules.py (clean_text, check_dates, check_due_date, …; plain values take a
  fast path that gives the same answer) as it is read; the first bad entry stops the
  import and is named by path: `plans[3].strategies[1].title: required`. Unknown keys
  are errors. Each batch is written table by table inside the caller's ONE
  transaction, so all or nothing is that transaction's: on an error, batches before it
  have been written and the caller rolls back (storage.db.transaction does, and so does
  `accountplan import`). PostgreSQL takes ids from the sequences in one query per table
  and batch and the rows by COPY; SQLite gets one executemany per table and batch
  through the driver; others one SQLAlchemy executemany. bench/bench_import.py: 10,001
  plans (601,500 action items, a 107 MB JSON file) within 2× of a bare bulk insert of
  the same rows, in ~105 MB of RSS (bench/README.md).
- One `imported` change-log entry per plan. Accounts are shared per workspace by name.
- JSON is read with the standard library's decoder from a sliding buffer, one plan at
  a time (json.JSONDecoder.raw_decode): the same values, duplicate-key rule and error
  messages (line and column in the file) as json.loads of the whole text.
- YAML is read by PyYAML's safe loader (libyaml's parser when present; duplicate keys
  refused) composing one plan node at a time. Both stream; YAML costs about 5 times the
  CPU of JSON (a Python object per token, event and node), so JSON is the format for
  bulk files (README, bench/README.md).
"""

from storage.planfile.check import (
    ITEM_KEYS,
    OBJECTIVE_KEYS,
    PLAN_KEYS,
    REVIEW_KEYS,
    STRATEGY_KEYS,
    SWOT_KEYS,
    check_plans,
)
from storage.planfile.export import SWOT_ORDER, dump_plan_file, export_plans, plan_to_dict
from storage.planfile.importer import (
    BATCH_ITEMS,
    BATCH_PLANS,
    Imported,
    import_file,
    import_plan_file,
    import_plans,
)
from storage.planfile.parse import FORMATS, PlanFileError, guess_format, plans_of
from storage.planfile.read import iter_file_parts, iter_plan_file, parse_plan_file

__all__ = [
    "FORMATS",
    "PlanFileError",
    "guess_format",
    "plans_of",
    "iter_plan_file",
    "iter_file_parts",
    "parse_plan_file",
    "PLAN_KEYS",
    "STRATEGY_KEYS",
    "OBJECTIVE_KEYS",
    "ITEM_KEYS",
    "SWOT_KEYS",
    "REVIEW_KEYS",
    "check_plans",
    "BATCH_PLANS",
    "BATCH_ITEMS",
    "import_plans",
    "import_plan_file",
    "Imported",
    "import_file",
    "SWOT_ORDER",
    "plan_to_dict",
    "dump_plan_file",
    "export_plans",
]
