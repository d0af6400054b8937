"""``/api/v1/moderation/log``: what the moderation rules decided, and undoing a decision.

Every entry names the rule, the text that matched and the reason in both languages.
Undoing queues the reverse actions the platforms allow (unmute, unban, unmute-all),
withdraws the warning the decision gave, and is audited in the same transaction; what
no platform can restore (a deleted message, a removal) comes back as notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from shequn.features.audit.service import record
from shequn.features.community.setup import communities_of
from shequn.features.moderation import service as moderation
from shequn.features.operators.service import Principal
from shequn.web.api.bots import community_for, wake_dispatcher
from shequn.web.api.operators import NO_NUL
from shequn.web.api.rule_edits import groups_of
from shequn.web.auth import CanModerate, CanView, actor_of
from shequn.web.context import web_of
from shequn.web.errors import ERROR_RESPONSES, Conflict, Invalid, NotFound
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, decode_cursor, encode_cursor

router = APIRouter(tags=["moderation"], responses=ERROR_RESPONSES)
MAX_ID = 2**31 - 1
MAX_ENTRY_ID = 2**63 - 1
OptId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


class AlreadyUndone(Conflict):
    code = "already_undone"


class NothingToUndo(Conflict):
    code = "nothing_to_undo"


class Worded(BaseModel):
    """One sentence in English and Chinese."""

    en: str
    zh: str


class LoggedAction(BaseModel):
    """An action a decision (or its undo) queued; its outcome is in the outbox, by key."""

    type: str
    platform: str | None = None
    group: str | None = Field(default=None, description="The group's id on its platform")
    user: str | None = Field(default=None, description="The member's id on the platform")
    duration_s: float | None = None
    key: str | None = Field(default=None, description="The outbox row's idempotency key")


class LogEntryOut(BaseModel):
    id: int
    community_id: int
    group_id: int | None
    group_name: str | None
    member_id: int | None
    platform: str
    user_ref: str = Field(description="The member's id on the platform")
    rule_id: int | None
    rule_name: str
    kind: str = Field(description="The check that matched (banned_words, flood…), warn, blacklist")
    matched: str = Field(description="The text that matched")
    reason: Worded
    actions: list[LoggedAction]
    warning: bool = Field(description="Whether the decision counts as a warning")
    decided_at: datetime
    undone_at: datetime | None
    undone_by: int | None = Field(description="The operator who undid it")
    undoable: bool = Field(description="Whether undo has something a platform can reverse")


class UndoOut(BaseModel):
    entry_id: int
    actions: list[LoggedAction] = Field(description="The reverse actions queued")
    notes: list[Worded] = Field(description="What no platform can restore")
    withdrew_warning: bool


def logged_action(data: Any) -> LoggedAction:
    """An action as the log stored it; fields of an unexpected shape are left out."""
    values = data if isinstance(data, Mapping) else {}

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    duration = values.get("duration_s")
    return LoggedAction(
        type=text("type") or "?",
        platform=text("platform"),
        group=text("group"),
        user=text("user"),
        duration_s=float(duration)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        else None,
        key=text("key"),
    )


def entry_out(
    entry: moderation.LogEntry, community_id: int, names: Mapping[int, str]
) -> LogEntryOut:
    return LogEntryOut(
        id=entry.id,
        community_id=community_id,
        group_id=entry.group_id,
        group_name=names.get(entry.group_id) if entry.group_id is not None else None,
        member_id=entry.member_id,
        platform=entry.platform,
        user_ref=entry.user_ref,
        rule_id=entry.rule_id,
        rule_name=entry.rule_name,
        kind=entry.kind,
        matched=entry.matched,
        reason=Worded(en=entry.reason.get("en", ""), zh=entry.reason.get("zh", "")),
        actions=[logged_action(a) for a in entry.actions],
        warning=entry.warning,
        decided_at=entry.decided_at,
        undone_at=entry.undone_at,
        undone_by=entry.undone_by,
        undoable=entry.undoable,
    )


def log_cursor(cursor: str | None) -> int | None:
    """The entry id a log cursor continues below; anything else is a 422."""
    key = decode_cursor(cursor, 1)
    if key is None:
        return None
    value = key[0]
    if type(value) is not int or not 0 <= value <= MAX_ENTRY_ID:
        raise Invalid("the cursor is not one this server gave out")
    return value


@dataclass(frozen=True, slots=True)
class LogFilter:
    group_id: int | None = None
    member_id: int | None = None
    kind: str | None = None


def read_log(
    conn: Connection, community_id: int, where: LogFilter, before: int | None, limit: int
) -> tuple[list[moderation.LogEntry], bool]:
    """One page of the log, newest first, and whether there is more."""
    found = moderation.log_entries(
        conn,
        community_id,
        group_id=where.group_id,
        member_id=where.member_id,
        kind=where.kind,
        before_id=before,
        limit=limit + 1,
    )
    return found[:limit], len(found) > limit


def undo_as(
    request: Request, who: Principal, entry_id: int, community_id: int | None = None
) -> moderation.UndoResult:
    """Undo a logged decision of the caller's workspace (of ``community_id`` when given),
    audited with the actions it queued; shared by the API and the log page. Raises
    NotFound, AlreadyUndone or NothingToUndo (both 409 Conflicts)."""
    web = web_of(request)
    now = web.app.clock.now()
    with web.write() as conn:
        if community_id is not None:
            candidates = [community_for(conn, who, community_id).community_id]
        else:
            candidates = [c.community_id for c in communities_of(conn, who.workspace_id)]
        for cid in candidates:
            try:
                done = moderation.undo(conn, cid, entry_id, operator_id=who.operator_id, now=now)
            except moderation.EntryNotFound:
                continue
            except moderation.AlreadyUndone as error:
                raise AlreadyUndone(str(error)) from None
            except moderation.NothingToUndo as error:
                raise NothingToUndo(str(error)) from None
            result = (
                done
                if isinstance(done, moderation.UndoResult)
                else moderation.UndoResult(done, (), False)
            )
            record(
                conn,
                actor_of(request, who),
                "moderation.undo",
                "moderation_log",
                entry_id,
                before={"undone": False},
                after={
                    "undone": True,
                    "actions": [a.type.value for a in result],
                    "withdrew_warning": result.withdrew_warning,
                },
                now=now,
            )
            break
        else:
            raise NotFound(f"no moderation log entry {entry_id}")
    if result:
        wake_dispatcher(web)
    return result


@router.get(
    "/moderation/log",
    response_model=Page[LogEntryOut],
    summary="What the moderation rules decided, newest first",
)
def list_log(
    request: Request,
    who: CanView,
    group_id: OptId = None,
    member_id: OptId = None,
    kind: Annotated[str | None, Query(max_length=24, pattern=NO_NUL)] = None,
    community_id: OptId = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[LogEntryOut]:
    before = log_cursor(cursor)
    where = LogFilter(group_id, member_id, kind or None)
    with web_of(request).read() as conn:
        ref = community_for(conn, who, community_id)
        shown, more = read_log(conn, ref.community_id, where, before, limit)
        names = groups_of(conn, ref.community_id)
    return Page[LogEntryOut](
        items=[entry_out(e, ref.community_id, names) for e in shown],
        next_cursor=encode_cursor([shown[-1].id]) if more and shown else None,
    )


@router.post(
    "/moderation/log/{entry_id}/undo",
    response_model=UndoOut,
    summary="Undo a decision as far as the platforms allow",
)
def undo_entry(
    request: Request,
    who: CanModerate,
    entry_id: Annotated[int, Path(ge=1, le=MAX_ENTRY_ID)],
) -> UndoOut:
    """Answers 409 when the decision was undone already or did nothing a platform can
    reverse (a deletion, a removal; a blacklist removal is undone by taking the member
    off the blacklist)."""
    result = undo_as(request, who, entry_id)
    return UndoOut(
        entry_id=entry_id,
        actions=[logged_action(a.to_dict()) for a in result],
        notes=[Worded(en=n.en, zh=n.zh) for n in result.notes],
        withdrew_warning=result.withdrew_warning,
    )
