"""Per-group head counts: the first thing an operator wants to see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, func, select

from shequn.models import EventRow, Group, Membership

_e = EventRow.__table__
_g = Group.__table__
_m = Membership.__table__


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group_id: int
    name: str
    platform: str
    members: int
    messages: int
    speakers: int
    joins: int
    leaves: int


def group_summaries(conn: Connection, community_id: int) -> list[GroupSummary]:
    """Members now present, and lifetime messages, speakers, joins and leaves, per group."""
    is_msg = _e.c.type == "message"
    activity = (
        select(
            _e.c.group_id,
            func.count().filter(is_msg).label("messages"),
            func.count(func.distinct(case((is_msg, _e.c.identity_id)))).label("speakers"),
            func.count().filter(_e.c.type == "join").label("joins"),
            func.count().filter(_e.c.type == "leave").label("leaves"),
        )
        .where(_e.c.community_id == community_id)
        .where(_e.c.group_id.is_not(None))
        .group_by(_e.c.group_id)
        .subquery()
    )
    present = (
        select(_m.c.group_id, func.count().label("members"))
        .where(_m.c.left_at.is_(None))
        .group_by(_m.c.group_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            _g.c.id,
            _g.c.name,
            _g.c.platform,
            func.coalesce(present.c.members, 0),
            func.coalesce(activity.c.messages, 0),
            func.coalesce(activity.c.speakers, 0),
            func.coalesce(activity.c.joins, 0),
            func.coalesce(activity.c.leaves, 0),
        )
        .select_from(_g)
        .outerjoin(activity, activity.c.group_id == _g.c.id)
        .outerjoin(present, present.c.group_id == _g.c.id)
        .where(_g.c.community_id == community_id)
        .order_by(_g.c.id)
    )
    return [GroupSummary(*row) for row in rows]
