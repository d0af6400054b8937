"""The queries moderation shares between its ingest processor and its operator service:
who is blacklisted, where a member sits, each sender's history, and the log.

Everything runs on the caller's connection inside the caller's transaction; nothing here
commits. Chat text only ever reaches the database as bound parameters.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.core import Action, Role
from shequn.features.moderation import History, Seat, Wording
from shequn.models import (
    BlacklistEntry,
    Community,
    Group,
    Identity,
    Membership,
    ModerationEntry,
    ModerationHistory,
)

log = logging.getLogger("shequn.features.moderation")

_black = BlacklistEntry.__table__
_community = Community.__table__
_group = Group.__table__
_id = Identity.__table__
_seat = Membership.__table__
_log = ModerationEntry.__table__
_history = ModerationHistory.__table__
#: Rows per ``IN (...)`` list: well inside both databases' limits on bound parameters.
CHUNK = 500

#: The most rows one page of a list returns.
MAX_PAGE = 500
MAX_KEY = 255

#: A seat's entry source when the member was only seen speaking: their join time is unknown.
OBSERVED = "observed"

HistoryKey = tuple[int, str, str]  # community id, platform, user


def page_size(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def bounded_key(key: str) -> str:
    """An idempotency key that fits the outbox's column: long ones are hashed."""
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    ordered = sorted(set(items))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def workspaces(conn: Connection, community_ids: Collection[int]) -> dict[int, int]:
    """The workspace of each community."""
    if not community_ids:
        return {}
    rows = conn.execute(
        select(_community.c.id, _community.c.workspace_id).where(
            _community.c.id.in_(sorted(community_ids))
        )
    )
    return {cid: wid for cid, wid in rows}


def blacklist_reasons(
    conn: Connection, workspace_ids: Collection[int], member_ids: Collection[int]
) -> dict[int, str]:
    """The blacklisted among ``member_ids`` (in those workspaces), with the reason given."""
    found: dict[int, str] = {}
    if not workspace_ids:
        return found
    for part in chunks(member_ids):
        for member_id, reason in conn.execute(
            select(_black.c.member_id, _black.c.reason).where(
                _black.c.workspace_id.in_(sorted(workspace_ids)), _black.c.member_id.in_(part)
            )
        ):
            found[member_id] = reason or ""
    return found


@dataclass(frozen=True, slots=True)
class PlacedSeat:
    """Where one account of a member currently sits: the community to route actions
    through, the group's row id, and the seat in platform ids."""

    community_id: int
    group_id: int
    seat: Seat


def open_seats(
    conn: Connection,
    member_ids: Collection[int],
    *,
    community_ids: Collection[int] | None = None,
    workspace_id: int | None = None,
) -> dict[int, list[PlacedSeat]]:
    """Every group each member currently sits in (of those communities, or of the
    workspace), once for each of the member's accounts on the group's platform."""
    found: dict[int, list[PlacedSeat]] = {}
    for part in chunks(member_ids):
        query = (
            select(
                _seat.c.member_id,
                _group.c.community_id,
                _group.c.id,
                _group.c.platform,
                _group.c.external_id,
                _id.c.external_id.label("user"),
            )
            .join(_group, _group.c.id == _seat.c.group_id)
            .join(
                _id,
                and_(_id.c.member_id == _seat.c.member_id, _id.c.platform == _group.c.platform),
            )
            .where(_seat.c.member_id.in_(part), _seat.c.left_at.is_(None))
            .order_by(_group.c.id, _id.c.id)
        )
        if community_ids is not None:
            query = query.where(_group.c.community_id.in_(sorted(community_ids)))
        if workspace_id is not None:
            query = query.where(_group.c.workspace_id == workspace_id)
        for member_id, cid, gid, platform, group, user in conn.execute(query):
            found.setdefault(member_id, []).append(
                PlacedSeat(cid, gid, Seat(platform, group, user))
            )
    return found


def member_ids(
    conn: Connection, workspace_id: int, accounts: Collection[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The member behind each (platform, user id) account of the workspace."""
    found: dict[tuple[str, str], int] = {}
    for part in chunks(accounts):
        for platform, user, member_id in conn.execute(
            select(_id.c.platform, _id.c.external_id, _id.c.member_id).where(
                _id.c.workspace_id == workspace_id,
                tuple_(_id.c.platform, _id.c.external_id).in_(part),
            )
        ):
            found[(platform, user)] = member_id
    return found


def sender_seats(
    conn: Connection, pairs: Collection[tuple[int, int]]
) -> dict[tuple[int, int], tuple[Role, datetime | None]]:
    """The role and join time of each (group id, member id) seat that is open. A member
    only seen speaking (entry source ``observed``) has an unknown join time: None, so
    imported members are never taken for newcomers."""
    found: dict[tuple[int, int], tuple[Role, datetime | None]] = {}
    s = _seat.c
    for part in chunks(pairs):
        for gid, mid, role, joined_at, source in conn.execute(
            select(s.group_id, s.member_id, s.role, s.joined_at, s.entry_source).where(
                tuple_(s.group_id, s.member_id).in_(part), s.left_at.is_(None)
            )
        ):
            found[(gid, mid)] = (role_of(role), None if source == OBSERVED else joined_at)
    return found


def account_roles(
    conn: Connection, wanted: Collection[tuple[int, str, str]]
) -> dict[tuple[int, str, str], Role]:
    """The role of each (group id, platform, user id) account with an open seat, read as
    the commands processor reads it."""
    found: dict[tuple[int, str, str], Role] = {}
    for part in chunks(wanted):
        for gid, platform, user, role in conn.execute(
            select(_seat.c.group_id, _id.c.platform, _id.c.external_id, _seat.c.role)
            .join(_id, _id.c.member_id == _seat.c.member_id)
            .where(
                tuple_(_seat.c.group_id, _id.c.platform, _id.c.external_id).in_(part),
                _seat.c.left_at.is_(None),
            )
        ):
            found[(gid, platform, user)] = role_of(role)
    return found


def role_of(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        return Role.MEMBER


# --- each sender's history ----------------------------------------------------------------


def histories(conn: Connection, keys: Collection[HistoryKey]) -> dict[HistoryKey, History]:
    """The stored histories of these senders; a malformed one reads as empty (and is
    logged) rather than stopping moderation of everyone else."""
    found: dict[HistoryKey, History] = {}
    h = _history.c
    for part in chunks(keys):
        for cid, platform, user, value in conn.execute(
            select(h.community_id, h.platform, h.user_ref, h.value).where(
                tuple_(h.community_id, h.platform, h.user_ref).in_(part)
            )
        ):
            try:
                found[(cid, platform, user)] = History.from_dict(value)
            except (ValueError, KeyError, TypeError) as error:
                log.warning("moderation history of %s:%s unreadable: %s", platform, user, error)
                found[(cid, platform, user)] = History()
    return found


def save_histories(
    conn: Connection, changed: Mapping[HistoryKey, History], *, now: datetime
) -> None:
    """Insert or replace these senders' histories."""
    if not changed:
        return
    rows = [
        {
            "community_id": cid,
            "platform": platform,
            "user_ref": user,
            "value": history.to_dict(),
            "updated_at": now,
        }
        for (cid, platform, user), history in sorted(changed.items())
    ]
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(_history)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["community_id", "platform", "user_ref"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        ),
        rows,
    )


# --- the log ------------------------------------------------------------------------------


def log_row(
    *,
    community_id: int,
    group_id: int | None,
    member_id: int | None,
    platform: str,
    user: str,
    rule_id: int | None,
    rule_name: str,
    kind: str,
    matched: str,
    reason: Wording,
    actions: Sequence[Action],
    warning: bool,
    at: datetime,
) -> dict[str, Any]:
    """One moderation_log row. ``reason`` is kept in both languages (as JSON text) and
    ``actions`` whole, each queued one with its idempotency key: the key finds the outbox
    row (and through it the event) and the action is what undo reverses. (A manual
    warning's entry also holds the warning notice without a key: the commands processor
    queued it under its own.)"""
    return {
        "community_id": community_id,
        "group_id": group_id,
        "member_id": member_id,
        "platform": platform,
        "user_ref": user[:255],
        "rule_id": rule_id,
        "rule_name": rule_name[:120],
        "kind": kind[:24],
        "matched": matched,
        "reason": json.dumps(reason.to_dict(), ensure_ascii=False),
        "actions": [a.to_dict() for a in actions],
        "warning": warning,
        "decided_at": at,
    }


def insert_log(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Write log rows; their ids, in order."""
    return [
        int(conn.execute(insert(_log).values(**row).returning(_log.c.id)).scalar_one())
        for row in rows
    ]


def read_reason(text: str) -> dict[str, str]:
    """A stored reason as {en, zh}; text that is not the JSON form reads as both."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("en"), str):
        return {"en": value["en"], "zh": str(value.get("zh", value["en"]))}
    return {"en": text, "zh": text}


__all__ = [
    "CHUNK",
    "MAX_PAGE",
    "bounded_key",
    "page_size",
    "HistoryKey",
    "OBSERVED",
    "PlacedSeat",
    "account_roles",
    "role_of",
    "sender_seats",
    "blacklist_reasons",
    "chunks",
    "histories",
    "insert_log",
    "log_row",
    "member_ids",
    "open_seats",
    "read_reason",
    "save_histories",
    "workspaces",
]
