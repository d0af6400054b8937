"""shequn's own actions, performed on its own data: the dispatcher's ``InternalPerformer``.

Features queue these like any action (in the outbox, with ``platform`` NULL) and the
dispatcher hands them here:

- NOTIFY_OPERATOR opens a task in the operator inbox (once per outbox key);
- ADD_TAG / REMOVE_TAG put a tag on a member or take it off (``params["tag"]`` names it;
  a missing tag is created; the assignment's source is ``rule``);
- ADD_POINTS fails with its reason: there is no points ledger yet.

Each action is one transaction on a write connection in a worker thread, so the event
loop stays free for the adapters. Every change is idempotent, so the dispatcher may
repeat an action whose outcome it did not learn.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.adapters.base import Done, PermanentFailure
from shequn.core import Action, ActionType
from shequn.db.engine import WRITE
from shequn.features.community.members import member_row
from shequn.features.community.tags import TagError, clean_name
from shequn.features.tasks.service import open_task
from shequn.kit.clock import Clock
from shequn.models import Community, Identity, MemberTag, Tag

_community = Community.__table__
_identity = Identity.__table__
_tag = Tag.__table__
_mt = MemberTag.__table__

#: The source a rule's tag assignment is recorded with (a person's is ``manual``).
RULE = "rule"
#: How many merges deep a member is followed to the one that absorbed it.
MAX_MERGES = 20
NO_LEDGER = "add_points: shequn has no points ledger yet, so points cannot be added"


class InternalActions:
    """Carries out NOTIFY_OPERATOR, ADD_TAG, REMOVE_TAG and ADD_POINTS over ``engine``."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    async def perform(self, community_id: int, action: Action) -> Done:
        if action.type is ActionType.ADD_POINTS:
            raise PermanentFailure(NO_LEDGER)
        if action.type not in (
            ActionType.NOTIFY_OPERATOR,
            ActionType.ADD_TAG,
            ActionType.REMOVE_TAG,
        ):
            raise PermanentFailure(f"{action.type.value} is not one of shequn's own actions")
        return await asyncio.to_thread(self._perform, community_id, action)

    def _perform(self, community_id: int, action: Action) -> Done:
        now = self.clock.now()
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                if action.type is ActionType.NOTIFY_OPERATOR:
                    return notify(conn, community_id, action, now)
                return retag(conn, community_id, action, now)


def notify(conn: Connection, community_id: int, action: Action, now: datetime) -> Done:
    if not action.key:
        raise PermanentFailure("notify_operator: the action has no outbox key")
    task_id = open_task(conn, community_id, action, key=action.key, now=now)
    return Done(platform_id=str(task_id), details={"task_id": task_id})


def _workspace(conn: Connection, community_id: int) -> int:
    found = conn.execute(
        select(_community.c.workspace_id).where(_community.c.id == community_id)
    ).scalar()
    if found is None:
        raise PermanentFailure(f"community {community_id} does not exist")
    return found


def _member(conn: Connection, workspace_id: int, action: Action) -> int:
    """The member the action is about now: the current owner of the platform account it
    names (a merge moves accounts), else ``member_id`` followed through any merges."""
    if action.platform and action.user:
        owner = conn.execute(
            select(_identity.c.member_id).where(
                _identity.c.workspace_id == workspace_id,
                _identity.c.platform == action.platform,
                _identity.c.external_id == action.user,
            )
        ).scalar()
        if owner is not None:
            return owner
    member_id = action.member_id
    assert member_id is not None  # the action's own check requires it
    for _ in range(MAX_MERGES):
        row = member_row(conn, workspace_id, member_id)
        if row is None:
            raise PermanentFailure(
                f"{action.type.value}: member {member_id} is not in this community's workspace"
            )
        if row.merged_into_id is None:
            return member_id
        member_id = row.merged_into_id
    raise PermanentFailure(f"{action.type.value}: member {action.member_id} merges in a loop")


def _tag_name(action: Action) -> str:
    name = action.params.get("tag")
    if not isinstance(name, str):
        raise PermanentFailure(f"{action.type.value}: params.tag must name the tag")
    try:
        return clean_name(name)
    except TagError as exc:
        raise PermanentFailure(f"{action.type.value}: params.tag: {exc}") from None


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _tag_id(conn: Connection, workspace_id: int, name: str, now: datetime) -> int:
    """The workspace's tag called ``name``, created if absent (a concurrent creation of the
    same name is harmless: the first one counts)."""
    query = select(_tag.c.id).where(_tag.c.workspace_id == workspace_id, _tag.c.name == name)
    found = conn.execute(query).scalar()
    if found is not None:
        return found
    conn.execute(
        _insert(conn)(_tag)
        .values(workspace_id=workspace_id, name=name, created_at=now)
        .on_conflict_do_nothing(index_elements=["workspace_id", "name"])
    )
    return conn.execute(query).scalar_one()


def retag(conn: Connection, community_id: int, action: Action, now: datetime) -> Done:
    """ADD_TAG or REMOVE_TAG; the answer says whether anything changed."""
    workspace_id = _workspace(conn, community_id)
    name = _tag_name(action)
    member_id = _member(conn, workspace_id, action)
    if action.type is ActionType.ADD_TAG:
        tag_id = _tag_id(conn, workspace_id, name, now)
        added = conn.execute(
            _insert(conn)(_mt)
            .values(member_id=member_id, tag_id=tag_id, source=RULE, created_at=now)
            .on_conflict_do_nothing(index_elements=["member_id", "tag_id"])
            .returning(_mt.c.member_id)
        ).first()
        details = {"member_id": member_id, "tag_id": tag_id, "changed": added is not None}
        return Done(details=details)
    tag_id = conn.execute(
        select(_tag.c.id).where(_tag.c.workspace_id == workspace_id, _tag.c.name == name)
    ).scalar()
    removed = 0
    if tag_id is not None:
        removed = conn.execute(
            delete(_mt).where(_mt.c.member_id == member_id, _mt.c.tag_id == tag_id)
        ).rowcount
    return Done(details={"member_id": member_id, "tag_id": tag_id, "changed": removed > 0})
