"""ORM tables, one module per table family. Importing this package registers them all."""

from shequn.models.activity import GroupDay, GroupHour, MemberDay, MemberGroup, OpenItem, TermWeek
from shequn.models.events import EventRow
from shequn.models.groups import Group, GroupStatus, Membership
from shequn.models.members import Identity, Member
from shequn.models.operators import Operator
from shequn.models.outbox import OutboxRow, OutboxStatus
from shequn.models.tags import MemberTag, Tag
from shequn.models.tenancy import Community, Workspace

__all__ = [
    "GroupDay",
    "GroupHour",
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
    "OutboxRow",
    "OutboxStatus",
    "Tag",
    "Workspace",
]
