"""``/api/v1/tasks``: the operator inbox — what shequn asked a person to look at (a held
join request, a rule that no longer loads, a group pool running out of room, a group to
create by hand) — and marking a task done or opening it again.

Tasks are opened by the bots performing their operator notices; people only close and
reopen them, each change audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from shequn.features.audit.service import record
from shequn.features.community.setup import CommunityRef, communities_of
from shequn.features.operators.service import Principal
from shequn.features.tasks import service as inbox
from shequn.web.api.bots import community_for
from shequn.web.api.operators import NO_NUL, Storable
from shequn.web.api.rule_edits import groups_of
from shequn.web.auth import CanModerate, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Conflict, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]


class AlreadyDone(Conflict):
    code = "already_done"


class NotDone(Conflict):
    code = "not_done"


class TaskOut(BaseModel):
    id: int
    community_id: int
    kind: str = Field(
        description="admission_hold, broken_rule, capacity, create_group, notice, or what a "
        "feature names"
    )
    text: str = Field(description="The notice, as the feature wrote it")
    reason: str = Field(description="Why it was sent, in English")
    params: dict[str, Any]
    platform: str | None
    group_ref: str | None = Field(description="The group's id on its platform")
    group_id: int | None
    group_name: str | None
    user_ref: str | None = Field(description="The member's id on the platform")
    member_id: int | None
    created_at: datetime
    done: bool
    done_at: datetime | None
    done_by: int | None = Field(description="The operator who marked it done")
    note: str


class TaskDone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Storable] = Field(
        "", max_length=inbox.MAX_NOTE, pattern=NO_NUL, description="What was done, optional"
    )


def task_out(task: inbox.Task, names: Mapping[int, str]) -> TaskOut:
    return TaskOut(
        id=task.id,
        community_id=task.community_id,
        kind=task.kind,
        text=task.text,
        reason=task.reason,
        params=dict(task.params),
        platform=task.platform,
        group_ref=task.group_ref,
        group_id=task.group_id,
        group_name=names.get(task.group_id) if task.group_id is not None else None,
        user_ref=task.user_ref,
        member_id=task.member_id,
        created_at=task.created_at,
        done=task.done,
        done_at=task.done_at,
        done_by=task.done_by,
        note=task.note,
    )


def task_cursor(cursor: str | None) -> tuple[bool, int] | None:
    """The (done, id) a cursor continues after; anything else is a 422."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    done, task_id = key
    if done not in (0, 1) or type(task_id) is not int or not 0 <= task_id <= MAX_ID:
        raise Invalid("the cursor is not one this server gave out")
    return bool(done), task_id


def next_cursor(task: inbox.Task) -> str:
    return encode_cursor([int(task.done), task.id])


def read_tasks(
    conn: Connection,
    community_id: int,
    *,
    open_only: bool,
    after: tuple[bool, int] | None,
    limit: int,
) -> tuple[list[inbox.Task], bool]:
    """One page of the inbox, open tasks first and newest first, and whether there is more."""
    found = inbox.task_rows(conn, community_id, open_only=open_only, after=after, limit=limit + 1)
    return found[:limit], len(found) > limit


def _community_of(conn: Connection, who: Principal, task_id: int, community_id: int | None) -> int:
    """The community holding the task, which must be one of the caller's workspace (and
    ``community_id`` when given)."""
    if community_id is not None:
        return community_for(conn, who, community_id).community_id
    holder = inbox.task_community(conn, task_id)
    mine: list[CommunityRef] = communities_of(conn, who.workspace_id)
    if holder is None or holder not in {c.community_id for c in mine}:
        raise NotFound(f"no task {task_id}")
    return holder


def close_as(
    request: Request, who: Principal, task_id: int, note: str, community_id: int | None = None
) -> inbox.Task:
    """Mark a task done, audited; shared by the API and the inbox page. Raises NotFound,
    AlreadyDone (409) or Invalid (the note)."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        cid = _community_of(conn, who, task_id, community_id)
        try:
            task = inbox.close_task(
                conn, cid, task_id, operator_id=who.operator_id, note=note, now=now
            )
        except inbox.TaskNotFound:
            raise NotFound(f"no task {task_id}") from None
        except inbox.AlreadyDone as error:
            raise AlreadyDone(str(error)) from None
        except inbox.BadNote as error:
            raise Invalid(str(error)) from None
        record(
            conn,
            actor_of(request, who),
            "task.done",
            "operator_task",
            task_id,
            before={"done": False, "kind": task.kind},
            after={"done": True, "kind": task.kind, "note": task.note},
            now=now,
        )
    return task


def reopen_as(
    request: Request, who: Principal, task_id: int, community_id: int | None = None
) -> inbox.Task:
    """Open a done task again, audited with the note it had; shared by the API and the page.
    Raises NotFound or NotDone (409)."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        cid = _community_of(conn, who, task_id, community_id)
        before = inbox.get_task(conn, cid, task_id)
        try:
            task = inbox.reopen_task(conn, cid, task_id)
        except inbox.TaskNotFound:
            raise NotFound(f"no task {task_id}") from None
        except inbox.NotDone as error:
            raise NotDone(str(error)) from None
        assert before is not None
        record(
            conn,
            actor_of(request, who),
            "task.reopen",
            "operator_task",
            task_id,
            before={
                "done": True,
                "kind": task.kind,
                "note": before.note,
                "done_by": before.done_by,
            },
            after={"done": False, "kind": task.kind},
            now=now,
        )
    return task


@router.get(
    "/tasks",
    response_model=Page[TaskOut],
    summary="The operator inbox: open tasks first, newest first",
)
def list_tasks(
    request: Request,
    who: CanView,
    state: Literal["open", "all"] = "open",
    community_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[TaskOut]:
    """``state=all`` lists done tasks too, after the open ones; ``total`` counts every task
    the state matches."""
    after = task_cursor(cursor)
    open_only = state == "open"
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        shown, more = read_tasks(
            conn, ref.community_id, open_only=open_only, after=after, limit=limit
        )
        total = (inbox.count_open if open_only else inbox.count_all)(conn, ref.community_id)
        names = groups_of(conn, ref.community_id)
    return Page[TaskOut](
        items=[task_out(t, names) for t in shown],
        next_cursor=next_cursor(shown[-1]) if more and shown else None,
        total=total,
    )


@router.post("/tasks/{task_id}/done", response_model=TaskOut, summary="Mark a task done")
def close_task(
    request: Request, who: CanModerate, task_id: TaskId, body: TaskDone | None = None
) -> TaskOut:
    """Answers 409 when the task is done already."""
    task = close_as(request, who, task_id, body.note if body is not None else "")
    with web_of(request).read() as conn:
        names = groups_of(conn, task.community_id)
    return task_out(task, names)


@router.post("/tasks/{task_id}/reopen", response_model=TaskOut, summary="Open a done task again")
def reopen_task(request: Request, who: CanModerate, task_id: TaskId) -> TaskOut:
    """Answers 409 when the task is still open."""
    task = reopen_as(request, who, task_id)
    with web_of(request).read() as conn:
        names = groups_of(conn, task.community_id)
    return task_out(task, names)
