"""ORM tables, one module per table family. Importing this package registers them all."""

from shequn.models.activity import (
    GroupDay,
    GroupHour,
    KeptCount,
    MemberCommunity,
    MemberDay,
    MemberGroup,
    OpenItem,
    TermWeek,
)
from shequn.models.audit import AuditEntry
from shequn.models.broadcast import (
    BroadcastDelivery,
    BroadcastJob,
    BroadcastPost,
    GroupTag,
    JobStatus,
)
from shequn.models.events import EventRow
from shequn.models.groups import Group, GroupStatus, Membership
from shequn.models.imports import ImportJob, ImportStatus
from shequn.models.members import Identity, Member
from shequn.models.operators import ApiToken, LoginAttempt, Operator, OperatorSession
from shequn.models.outbox import AdapterStatus, OutboxRow, OutboxStatus
from shequn.models.rules import (
    BlacklistEntry,
    GroupRule,
    InviteCode,
    ModerationEntry,
    ModerationHistory,
    RuleState,
)
from shequn.models.tags import MemberTag, Tag
from shequn.models.tasks import OperatorTask
from shequn.models.templates import GroupTemplate, InviteVisit, PoolGroup, PoolState, RotatingInvite
from shequn.models.tenancy import Community, Workspace

__all__ = [
    "GroupTemplate",
    "InviteVisit",
    "PoolGroup",
    "PoolState",
    "RotatingInvite",
    "BroadcastDelivery",
    "BroadcastJob",
    "BroadcastPost",
    "GroupTag",
    "JobStatus",
    "BlacklistEntry",
    "GroupRule",
    "InviteCode",
    "ModerationEntry",
    "ModerationHistory",
    "RuleState",
    "AdapterStatus",
    "KeptCount",
    "ApiToken",
    "AuditEntry",
    "ImportJob",
    "ImportStatus",
    "LoginAttempt",
    "OperatorSession",
    "GroupDay",
    "GroupHour",
    "MemberCommunity",
    "MemberDay",
    "MemberGroup",
    "OpenItem",
    "TermWeek",
    "Community",
    "EventRow",
    "Group",
    "GroupStatus",
    "Identity",
    "Member",
    "MemberTag",
    "Membership",
    "Operator",
    "OperatorTask",
    "OutboxRow",
    "OutboxStatus",
    "Tag",
    "Workspace",
]
