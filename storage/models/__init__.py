"""Typed SQLAlchemy models of account plans, one module per group of tables.

`from storage.models import X` reaches every model, enum and helper; importing the
package registers every table on `Base.metadata` (Alembic's env and the migrations
test compare that metadata with the migrated schema).
"""

# Statuses, kinds and limits live in the leaf both layers import (storage/domain.py);
# they are named here too, where the tables use them.
from storage.domain import (
    NAME_MAX,
    SLACK_ID_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Audience,
    DigestFrequency,
    ItemStatus,
    PlanStatus,
    SwotKind,
)
from storage.models.agreements import PlanAgreement
from storage.models.base import NAMING_CONVENTION, UTC, Base, Versioned, str_enum, utcnow
from storage.models.engagement import (
    CheckinRequest,
    ObjectiveStakeholder,
    PlanTemplate,
    Stakeholder,
)
from storage.models.plans import (
    Account,
    AccountPlan,
    ActionItem,
    ChangeLogEntry,
    Objective,
    PlanMember,
    QbrReview,
    Strategy,
    SwotEntry,
)
from storage.models.rate_budgets import RateBudget
from storage.models.reminders import (
    Delivery,
    ItemReminder,
    Notification,
    NotificationKind,
    Person,
    WeeklySummary,
)
from storage.models.sharing import DigestPost, DigestReason, DigestSubscription, PlanCanvas

__all__ = [
    "NAME_MAX",
    "SLACK_ID_MAX",
    "TEXT_MAX",
    "TITLE_MAX",
    "Audience",
    "DigestFrequency",
    "ItemStatus",
    "PlanStatus",
    "SwotKind",
    "NAMING_CONVENTION",
    "UTC",
    "Base",
    "Versioned",
    "str_enum",
    "utcnow",
    "Account",
    "AccountPlan",
    "ActionItem",
    "ChangeLogEntry",
    "Objective",
    "PlanMember",
    "QbrReview",
    "Strategy",
    "SwotEntry",
    "RateBudget",
    "Delivery",
    "ItemReminder",
    "Notification",
    "NotificationKind",
    "Person",
    "WeeklySummary",
    "DigestPost",
    "DigestReason",
    "DigestSubscription",
    "PlanCanvas",
    "PlanAgreement",
    "CheckinRequest",
    "ObjectiveStakeholder",
    "PlanTemplate",
    "Stakeholder",
]
