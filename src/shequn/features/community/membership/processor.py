"""The membership processor: loads the seats a batch touches, applies the pure
transition to each event in order, and writes back only what changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from shequn.core import Action, StoredEvent
from shequn.db.bulk import insert_rows, rows_for_keys
from shequn.features.community.membership.logic import Seat, relevant, transition
from shequn.models import Group, Membership

_m = Membership.__table__
_g = Group.__table__
_SEAT_COLUMNS = tuple(f.name for f in fields(Seat))


@dataclass(slots=True)
class Roster:
    """The seats of one batch: as loaded, as changed, and each group's next number."""

    seats: dict[tuple[int, int], Seat] = field(default_factory=dict)
    row_ids: dict[tuple[int, int], int] = field(default_factory=dict)
    next_number: dict[int, int] = field(default_factory=dict)
    changed: set[tuple[int, int]] = field(default_factory=set)
    first_number: dict[int, int] = field(default_factory=dict)


class MembershipProcessor:
    name = "membership"

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Roster:
        roster = Roster()
        pairs = {
            (s.group_id, s.member_id)
            for s in batch
            if s.group_id is not None and s.member_id is not None and relevant(s.event)
        }
        if not pairs:
            return roster
        groups = sorted({g for g, _ in pairs})
        # Lock the groups' counters (PostgreSQL) so two ingesting processes
        # cannot hand out the same number; SQLite already holds the write lock.
        for gid, nxt in conn.execute(
            select(_g.c.id, _g.c.next_number)
            .where(_g.c.id.in_(groups))
            .order_by(_g.c.id)
            .with_for_update()
        ):
            roster.next_number[gid] = roster.first_number[gid] = nxt
        rows = rows_for_keys(
            conn,
            [_m.c.id, _m.c.group_id, _m.c.member_id, *(_m.c[c] for c in _SEAT_COLUMNS)],
            [],
            (_m.c.group_id, _m.c.member_id),
            sorted(pairs),
        )
        for row in rows:
            key = (row.group_id, row.member_id)
            roster.row_ids[key] = row.id
            roster.seats[key] = Seat(*row[3:])
        return roster

    def step(self, roster: Roster, stored: StoredEvent) -> Iterable[Action]:
        if stored.group_id is None or stored.member_id is None or not relevant(stored.event):
            return ()
        key = (stored.group_id, stored.member_id)
        seat = roster.seats.get(key)
        number = roster.next_number[stored.group_id]
        new = transition(seat, stored.event, number)
        if new is not seat and new is not None:
            roster.seats[key] = new
            roster.changed.add(key)
            if seat is None:
                roster.next_number[stored.group_id] = number + 1
        return ()

    def save(self, conn: Connection, roster: Roster) -> None:
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key in sorted(roster.changed):
            seat = roster.seats[key]
            values = {c: getattr(seat, c) for c in _SEAT_COLUMNS}
            if key in roster.row_ids:
                updates.append(
                    {"row_id": roster.row_ids[key], **{f"v_{c}": v for c, v in values.items()}}
                )
            else:
                inserts.append({"group_id": key[0], "member_id": key[1], **values})
        insert_rows(conn, _m, inserts)
        if updates:
            conn.execute(
                update(_m)
                .where(_m.c.id == bindparam("row_id"))
                .values({c: bindparam(f"v_{c}") for c in _SEAT_COLUMNS}),
                updates,
            )
        bumped = [
            {"gid": gid, "nxt": nxt}
            for gid, nxt in roster.next_number.items()
            if nxt != roster.first_number[gid]
        ]
        if bumped:
            conn.execute(
                update(_g).where(_g.c.id == bindparam("gid")).values(next_number=bindparam("nxt")),
                bumped,
            )
