"""Plan operations: the rules of account plans, with no Slack inside.

Every function takes a SQLAlchemy session and the acting user (`Actor`: workspace and
user). Reads are scoped to the actor's workspace; changes also require the actor to be
the plan's owner or on its team. Functions flush but never commit: the caller owns the
transaction (one per Slack request or CLI command), so a failure leaves nothing
half-written.

One module per job (rules, permissions, reads, the edits of each level, moves, deep
copy, reads for the Slack surfaces); `from storage.plans import X` and `plans.X` reach
the public API of all of them.
"""

from storage.domain import Actor
from storage.plans.action_items import (
    add_action_item,
    delete_action_item,
    mark_action_item,
    set_action_item_done,
    update_action_item,
)
from storage.plans.deep_copy import deep_copy_plan
from storage.plans.moves import move
from storage.plans.objectives import add_objective, delete_objective, update_objective
from storage.plans.permissions import (
    OUTSIDERS_REFUSED,
    can_edit,
    get_editable_plan,
    readable_by_outsider,
    require_editor,
    require_internal,
)
from storage.plans.plan_edits import create_plan, delete_plan, set_plan_status, update_plan
from storage.plans.reads import (
    PARTS,
    WORKING_STATUSES,
    changes_since,
    count_open_items,
    find_plans,
    get_action_item,
    get_part,
    get_plan,
    item_outline,
    items_by_id,
    list_plans,
    load_plan_tree,
    open_items_for,
    plan_progress,
    plans_query,
    progress_by_plan,
)
from storage.plans.reviews import add_review
from storage.plans.rules import (
    MAX_ID,
    ActionItemInput,
    CopyOptions,
    FieldErrors,
    ObjectiveInput,
    PlanInput,
    PlanProgress,
    Progress,
    ReviewInput,
    check_dates,
    check_due_date,
    clean_decimal,
    clean_status,
    clean_swot_kind,
    clean_text,
    clean_user_id,
)
from storage.plans.strategies import add_strategy, delete_strategy, update_strategy
from storage.plans.surfaces import (
    ObjectiveChoice,
    count_plans,
    editable_objectives,
    first_plan_named,
    plan_names,
    workspaces_with_plans,
)
from storage.plans.swot import add_swot_entry, delete_swot_entry, update_swot_entry

__all__ = [
    "Actor",
    # rules
    "MAX_ID",
    "ActionItemInput",
    "CopyOptions",
    "FieldErrors",
    "ObjectiveInput",
    "PlanInput",
    "PlanProgress",
    "Progress",
    "ReviewInput",
    "check_dates",
    "check_due_date",
    "clean_decimal",
    "clean_status",
    "clean_swot_kind",
    "clean_text",
    "clean_user_id",
    # permissions
    "OUTSIDERS_REFUSED",
    "can_edit",
    "get_editable_plan",
    "readable_by_outsider",
    "require_editor",
    "require_internal",
    # reads
    "PARTS",
    "WORKING_STATUSES",
    "changes_since",
    "count_open_items",
    "find_plans",
    "get_action_item",
    "get_part",
    "get_plan",
    "item_outline",
    "items_by_id",
    "list_plans",
    "load_plan_tree",
    "open_items_for",
    "plan_progress",
    "plans_query",
    "progress_by_plan",
    # edits
    "create_plan",
    "update_plan",
    "set_plan_status",
    "delete_plan",
    "add_strategy",
    "update_strategy",
    "delete_strategy",
    "add_objective",
    "update_objective",
    "delete_objective",
    "add_action_item",
    "update_action_item",
    "set_action_item_done",
    "mark_action_item",
    "delete_action_item",
    "add_swot_entry",
    "update_swot_entry",
    "delete_swot_entry",
    "move",
    "add_review",
    "deep_copy_plan",
    # Slack surfaces
    "ObjectiveChoice",
    "count_plans",
    "editable_objectives",
    "first_plan_named",
    "plan_names",
    "workspaces_with_plans",
]
