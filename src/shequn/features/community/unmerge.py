"""Undoing a merge: the member comes back with their identities, seats and activity.

``merge.merge_members`` moves identities and folds seats and rollups together;
this is its inverse. Identities go back by ``origin_member_id`` (the member
each was first seen as). Seats and the per-member rollups are recomputed for
both members from the event log of their identities (``unmerge_logic``), in
every group the returned identities ever acted in, so they are what ingesting
the log would have made of two separate people, including events that arrived
after the merge.

What does not come back, by design:

* tags stay with the kept member: they were put on the person as the
  operator then understood them, and the kept member is still that person;
  the operator re-tags the returned member if needed;
* members that had been merged into the returned one before its own merge
  stay with the kept member (the merge re-pointed them there); unmerge them
  one by one;
* a seat number no longer free (taken by a later arrival) is replaced by the
  group's next number.

Ingestors remember identities and seats; like a merge, an unmerge bumps
``workspace.members_version`` (first, so that on PostgreSQL it waits for the
batches that read the old version and holds new ones back until it commits)
and renews the ``roster_version`` of every group whose seats it rewrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from shequn.db.bulk import reserve_ids
from shequn.features.analytics import kept
from shequn.features.analytics.rollup.merge import refresh_member_community
from shequn.features.audit.service import Actor, record
from shequn.features.community.membership.logic import Seat
from shequn.features.community.membership.processor import new_roster_version
from shequn.features.community.merge import MergeResult, merge_members
from shequn.features.community.unmerge_logic import (
    PAYLOAD_TYPES,
    SEAT_TYPES,
    LoggedEvent,
    Replayed,
    by_group,
    count_rollups,
    numbered,
    pick_numbers,
    replay_seat,
)
from shequn.kit.errors import ShequnError
from shequn.kit.timeutil import zone
from shequn.models import (
    AuditEntry,
    Community,
    EventRow,
    Group,
    Identity,
    Member,
    MemberDay,
    MemberGroup,
    Membership,
    Workspace,
)

_member = Member.__table__
_identity = Identity.__table__
_seat = Membership.__table__
_group = Group.__table__
_community = Community.__table__
_workspace = Workspace.__table__
_e = EventRow.__table__
_md = MemberDay.__table__
_mg = MemberGroup.__table__
_SEAT = tuple(f.name for f in fields(Seat))


class UnmergeError(ShequnError):
    """A member that cannot be unmerged (the message says why)."""


@dataclass(frozen=True, slots=True)
class UnmergeResult:
    kept: int
    restored: int
    identities_moved: int
    groups: list[int]


def seat_numbers(conn: Connection, member_id: int) -> dict[int, int]:
    """The member's seat number in each group: what a merge's record keeps so that an
    unmerge can give each member their own number back."""
    return dict(
        conn.execute(
            select(_seat.c.group_id, _seat.c.number).where(_seat.c.member_id == member_id)
        ).all()
    )


def _events(
    conn: Connection, identity_ids: Sequence[int], groups: Sequence[int] | None
) -> list[LoggedEvent]:
    """The seat-moving events of these identities (in these groups), payloads only where
    the seat reads them: message payloads hold whole messages."""
    if not identity_ids:
        return []
    base = [_e.c.identity_id.in_(list(identity_ids)), _e.c.group_id.is_not(None)]
    if groups is not None:
        base.append(_e.c.group_id.in_(list(groups)))
    cols = [_e.c.id, _e.c.occurred_at, _e.c.community_id, _e.c.group_id, _e.c.type]
    out = [
        LoggedEvent(r.id, r.occurred_at, r.community_id, r.group_id, r.type, r.payload or {})
        for r in conn.execute(
            select(*cols, _e.c.payload).where(*base, _e.c.type.in_(PAYLOAD_TYPES))
        )
    ]
    presence = [t for t in SEAT_TYPES if t not in PAYLOAD_TYPES]
    out += [
        LoggedEvent(r.id, r.occurred_at, r.community_id, r.group_id, r.type, {})
        for r in conn.execute(select(*cols).where(*base, _e.c.type.in_(presence)))
    ]
    out.sort(key=lambda e: e.key)
    return out


def _identities(conn: Connection, member_id: int) -> list[int]:
    return list(
        conn.execute(select(_identity.c.id).where(_identity.c.member_id == member_id)).scalars()
    )


def unmerge_member(
    conn: Connection,
    merged_id: int,
    *,
    numbers: Mapping[int, Mapping[int, int]] | None = None,
) -> UnmergeResult:
    """Make member ``merged_id`` a member of its own again, inside the caller's transaction.

    ``numbers`` optionally gives, per member id and group id, the seat number
    each member had before the merge (``seat_numbers`` taken then); without
    it numbers are inferred (see ``unmerge_logic.pick_numbers``).
    """
    row = conn.execute(
        select(_member.c.id, _member.c.workspace_id, _member.c.merged_into_id).where(
            _member.c.id == merged_id
        )
    ).first()
    if row is None:
        raise UnmergeError(f"member {merged_id} does not exist")
    if row.merged_into_id is None:
        raise UnmergeError(f"member {merged_id} is not merged into another member")
    keep = row.merged_into_id
    conn.execute(
        update(_workspace)
        .where(_workspace.c.id == row.workspace_id)
        .values(members_version=_workspace.c.members_version + 1)
    )
    moved = conn.execute(
        update(_identity)
        .where(_identity.c.origin_member_id == merged_id, _identity.c.member_id != merged_id)
        .values(member_id=merged_id)
    ).rowcount
    conn.execute(update(_member).where(_member.c.id == merged_id).values(merged_into_id=None))

    returned = _events(conn, _identities(conn, merged_id), None)
    groups = sorted({e.group_id for e in returned})
    if groups:
        stayed = _events(conn, _identities(conn, keep), groups)
        zones = _lock_groups(conn, groups)
        _reseat(conn, keep, merged_id, groups, stayed, returned, numbers or {})
        _recount(conn, keep, merged_id, groups, stayed, returned, zones)
    return UnmergeResult(keep, merged_id, moved, groups)


def _lock_groups(conn: Connection, groups: list[int]) -> dict[int, tzinfo]:
    """Lock the groups' rows in id order (as the membership processor does, so the two
    never deadlock) and learn each community's time zone."""
    conn.execute(
        select(_group.c.id).where(_group.c.id.in_(groups)).order_by(_group.c.id).with_for_update()
    ).all()
    rows = conn.execute(
        select(_community.c.id, _community.c.timezone).where(
            _community.c.id.in_(select(_group.c.community_id).where(_group.c.id.in_(groups)))
        )
    )
    return {cid: zone(tz) for cid, tz in rows}


def _reseat(
    conn: Connection,
    keep: int,
    merged: int,
    groups: list[int],
    stayed: list[Any],
    returned: list[Any],
    numbers: Mapping[int, Mapping[int, int]],
) -> None:
    kept_by_group, returned_by_group = by_group(stayed), by_group(returned)
    versions = []
    for gid in groups:
        wanted: dict[int, Replayed] = {}
        for member, events in ((keep, kept_by_group), (merged, returned_by_group)):
            replayed = replay_seat(events.get(gid, []))
            if replayed is not None:
                wanted[member] = replayed
        rows = {
            r.member_id: r
            for r in conn.execute(
                select(_seat.c.id, _seat.c.member_id, _seat.c.number).where(
                    _seat.c.group_id == gid, _seat.c.member_id.in_([keep, merged])
                )
            )
        }
        next_number = conn.execute(
            select(_group.c.next_number).where(_group.c.id == gid)
        ).scalar_one()
        held = min((r.number for r in rows.values()), default=None)
        hints = _valid_hints(conn, gid, wanted, numbers, rows, next_number)
        gap = None
        if held is not None and len(wanted) > 1 and len(hints) < len(wanted):
            gap = _gap_above(conn, gid, held, next_number)
        chosen, new_next = pick_numbers(
            wanted, held=held, hints=hints, gap=gap, next_number=next_number
        )
        _write_seats(conn, gid, keep, merged, wanted, chosen, rows)
        versions.append({"gid": gid, "nxt": new_next, "ver": new_roster_version()})
    conn.execute(
        update(_group)
        .where(_group.c.id == bindparam("gid"))
        .values(next_number=bindparam("nxt"), roster_version=bindparam("ver")),
        versions,
    )


def _valid_hints(
    conn: Connection,
    gid: int,
    wanted: Mapping[int, Replayed],
    numbers: Mapping[int, Mapping[int, int]],
    rows: Mapping[int, Any],
    next_number: int,
) -> dict[int, int]:
    """The remembered numbers still usable: held by one of the two members now, or free."""
    ours = {r.number for r in rows.values()}
    out = {}
    for member in wanted:
        hint = numbers.get(member, {}).get(gid)
        if hint is None or not 0 < hint < next_number:
            continue
        if (
            hint in ours
            or not conn.execute(
                select(_seat.c.id).where(_seat.c.group_id == gid, _seat.c.number == hint)
            ).first()
        ):
            out[member] = hint
    return out


def _gap_above(conn: Connection, gid: int, held: int, next_number: int) -> int | None:
    """The lowest number above ``held`` that no seat of the group holds, if below
    ``next_number``: the number a combined seat gave up."""
    s = _seat.alias("s")
    after = _seat.alias("after")
    taken_next = (
        select(after.c.id).where(after.c.group_id == gid, after.c.number == s.c.number + 1).exists()
    )
    found = conn.execute(
        select(func.min(s.c.number + 1)).where(s.c.group_id == gid, s.c.number >= held, ~taken_next)
    ).scalar()
    if found is None or found >= next_number:
        return None
    return int(found)


def _write_seats(
    conn: Connection,
    gid: int,
    keep: int,
    merged: int,
    wanted: Mapping[int, Replayed],
    chosen: Mapping[int, int],
    rows: Mapping[int, Any],
) -> None:
    """Write both seats. The kept member's row is rewritten first, so the number it
    gives up is free before the returned member's row takes it."""
    spare = [rows[m].id for m in (keep, merged) if m in rows and m not in wanted]
    for member in (keep, merged):
        if member not in wanted:
            continue
        values = {c: getattr(numbered(wanted[member], chosen[member]), c) for c in _SEAT}
        if member in rows:
            conn.execute(update(_seat).where(_seat.c.id == rows[member].id).values(values))
        elif spare:
            # The other member's seat is not theirs any more: hand the row over
            # (a seat the merge moved whole comes back with its own row id).
            row_id = spare.pop(0)
            conn.execute(
                update(_seat).where(_seat.c.id == row_id).values(member_id=member, **values)
            )
        else:
            (row_id,) = reserve_ids(conn, _seat, 1)
            conn.execute(insert(_seat).values(id=row_id, group_id=gid, member_id=member, **values))
    if spare:
        conn.execute(delete(_seat).where(_seat.c.id.in_(spare)))


def _recount(
    conn: Connection,
    keep: int,
    merged: int,
    groups: list[int],
    stayed: list[Any],
    returned: list[Any],
    zones: Mapping[int, tzinfo],
) -> None:
    """Replace both members' rollup rows in the affected groups by a recount."""
    pair = [keep, merged]
    for table in (_md, _mg):
        conn.execute(delete(table).where(table.c.member_id.in_(pair), table.c.group_id.in_(groups)))
    day_rows, group_rows = [], []
    for member, events in ((keep, stayed), (merged, returned)):
        counted = count_rollups(events, zones)
        day_rows += [
            {"group_id": g, "day": d, "member_id": member, "messages": n}
            for (g, d), n in sorted(counted.days.items())
        ]
        group_rows += [
            {
                "group_id": g,
                "member_id": member,
                "first_message_at": first,
                "last_message_at": last,
                "messages": n,
            }
            for g, (first, last, n) in sorted(counted.groups.items())
        ]
    if day_rows:
        conn.execute(insert(_md), day_rows)
    if group_rows:
        conn.execute(insert(_mg), group_rows)
    refresh_member_community(conn, pair)
    # Two speakers again where there was one: the kept distinct counts are stale.
    kept.forget_everything(conn)


# -- as an operator does it: with the audit entry that lets the unmerge renumber exactly --

MERGE = "member.merge"
UNMERGE = "member.unmerge"
_audit = AuditEntry.__table__


def merge_recorded(
    conn: Connection, actor: Actor, keep: int, merge: int, *, now: datetime
) -> MergeResult:
    """Merge ``merge`` into ``keep`` and audit it, keeping both members' seat numbers in
    the entry's ``before``: the one thing an unmerge cannot recompute from events."""
    before = {
        "kept": {"id": keep, "seats": seat_numbers(conn, keep)},
        "merged": {"id": merge, "seats": seat_numbers(conn, merge)},
    }
    result = merge_members(conn, keep, merge)
    after = {
        "merged_into_id": keep,
        "identities_moved": result.identities_moved,
        "memberships_moved": result.memberships_moved,
        "memberships_combined": result.memberships_combined,
        "kept": {"id": keep, "seats": seat_numbers(conn, keep)},
    }
    record(conn, actor, MERGE, "member", merge, before=before, after=after, now=now)
    return result


def numbers_before_merge(
    conn: Connection, workspace_id: int, merged_id: int
) -> dict[int, dict[int, int]]:
    """Per member and group, the seat numbers the latest audited merge of ``merged_id``
    recorded (empty when the merge was not made through ``merge_recorded``)."""
    entry = conn.execute(
        select(_audit.c.before)
        .where(
            _audit.c.workspace_id == workspace_id,
            _audit.c.action == MERGE,
            _audit.c.target_type == "member",
            _audit.c.target_id == str(merged_id),
        )
        .order_by(_audit.c.id.desc())
        .limit(1)
    ).scalar()
    out: dict[int, dict[int, int]] = {}
    if not isinstance(entry, dict):
        return out
    for side in ("kept", "merged"):
        part = entry.get(side)
        if not isinstance(part, dict) or not isinstance(part.get("seats"), dict):
            continue
        try:
            out[int(part["id"])] = {int(g): int(n) for g, n in part["seats"].items()}
        except (KeyError, TypeError, ValueError):
            continue
    return out


def unmerge_recorded(
    conn: Connection, actor: Actor, merged_id: int, *, now: datetime
) -> UnmergeResult:
    """Unmerge ``merged_id`` with the numbers its merge recorded, and audit it."""
    numbers = numbers_before_merge(conn, actor.workspace_id, merged_id)
    kept = conn.execute(select(_member.c.merged_into_id).where(_member.c.id == merged_id)).scalar()
    result = unmerge_member(conn, merged_id, numbers=numbers)
    record(
        conn,
        actor,
        UNMERGE,
        "member",
        merged_id,
        before={"merged_into_id": kept},
        after={
            "merged_into_id": None,
            "kept": result.kept,
            "identities_moved": result.identities_moved,
            "groups": result.groups,
            "seats": {
                "kept": seat_numbers(conn, result.kept),
                "restored": seat_numbers(conn, merged_id),
            },
        },
        now=now,
    )
    return result
