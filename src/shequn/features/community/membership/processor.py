"""The membership processor: loads the seats a batch touches, applies the pure
transition to each event in order, and writes back only what changed.

It remembers the seats it has read or written, per group, tagged with the
group's ``roster_version``. Every write to a group's seats — this processor in
any process, a merge, an operator's edit — sets that version to a fresh random
token, so a remembered group whose version still matches is exactly what the
database holds (a token, unlike a counter, cannot come back to a value a rolled
back transaction left in memory). A bulk import then reads each seat once
instead of once per batch.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from shequn.core import Action, StoredEvent
from shequn.db.bulk import insert_rows, reserve_ids, rows_for_keys
from shequn.features.community.membership.logic import Seat, relevant, transition
from shequn.models import Group, Membership

_m = Membership.__table__
_g = Group.__table__
_SEAT_COLUMNS = tuple(f.name for f in fields(Seat))

Pair = tuple[int, int]


def new_roster_version() -> int:
    """A fresh token for ``chat_group.roster_version`` (see the module docstring)."""
    return secrets.randbits(62)


@dataclass(slots=True)
class Roster:
    """The seats of one batch: as loaded, as changed, and each group's next number."""

    seats: dict[Pair, Seat] = field(default_factory=dict)
    row_ids: dict[Pair, int] = field(default_factory=dict)
    next_number: dict[int, int] = field(default_factory=dict)
    first_number: dict[int, int] = field(default_factory=dict)
    changed: set[Pair] = field(default_factory=set)


@dataclass(slots=True)
class _Remembered:
    version: int
    seats: dict[int, tuple[int, Seat]] = field(default_factory=dict)  # member -> (row id, seat)


class MembershipProcessor:
    name = "membership"

    def __init__(self) -> None:
        self._groups: dict[int, _Remembered] = {}

    def load(self, conn: Connection, batch: Sequence[StoredEvent]) -> Roster:
        roster = Roster()
        pairs = {
            (s.group_id, s.member_id)
            for s in batch
            if s.group_id is not None and s.member_id is not None and relevant(s.event)
        }
        if not pairs:
            return roster
        # Lock the groups' rows (PostgreSQL) so two ingesting processes cannot
        # hand out the same number; SQLite already holds the write lock.
        for gid, nxt, version in conn.execute(
            select(_g.c.id, _g.c.next_number, _g.c.roster_version)
            .where(_g.c.id.in_(sorted({g for g, _ in pairs})))
            .order_by(_g.c.id)
            .with_for_update()
        ):
            roster.next_number[gid] = roster.first_number[gid] = nxt
            known = self._groups.get(gid)
            if known is None or known.version != version:
                self._groups[gid] = _Remembered(version)
        unknown = []
        for g, m in pairs:
            hit = self._groups[g].seats.get(m)
            if hit is None:
                unknown.append((g, m))
            else:
                roster.row_ids[(g, m)], roster.seats[(g, m)] = hit
        rows = rows_for_keys(
            conn,
            [_m.c.id, _m.c.group_id, _m.c.member_id, *(_m.c[c] for c in _SEAT_COLUMNS)],
            [],
            (_m.c.group_id, _m.c.member_id),
            sorted(unknown),
        )
        for row in rows:
            seat = Seat(*row[3:])
            roster.row_ids[(row.group_id, row.member_id)] = row.id
            roster.seats[(row.group_id, row.member_id)] = seat
            self._groups[row.group_id].seats[row.member_id] = (row.id, seat)
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
        if not roster.changed:
            return
        changed = sorted(roster.changed)
        new_pairs = [k for k in changed if k not in roster.row_ids]
        is_new = set(new_pairs)
        roster.row_ids.update(zip(new_pairs, reserve_ids(conn, _m, len(new_pairs)), strict=True))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key in changed:
            values = {c: getattr(roster.seats[key], c) for c in _SEAT_COLUMNS}
            if key in is_new:
                inserts.append({"id": roster.row_ids[key], "group_id": key[0], "member_id": key[1]})
                inserts[-1].update(values)
            else:
                updates.append(
                    {"row_id": roster.row_ids[key]} | {f"v_{c}": v for c, v in values.items()}
                )
        insert_rows(conn, _m, inserts)
        if updates:
            conn.execute(
                update(_m)
                .where(_m.c.id == bindparam("row_id"))
                .values({c: bindparam(f"v_{c}") for c in _SEAT_COLUMNS}),
                updates,
            )
        touched = sorted({g for g, _ in changed})
        versions = {g: new_roster_version() for g in touched}
        conn.execute(
            update(_g)
            .where(_g.c.id == bindparam("gid"))
            .values(next_number=bindparam("nxt"), roster_version=bindparam("ver")),
            [{"gid": g, "nxt": roster.next_number[g], "ver": versions[g]} for g in touched],
        )
        for g in touched:
            self._groups[g].version = versions[g]
        for g, m in changed:
            self._groups[g].seats[m] = (roster.row_ids[(g, m)], roster.seats[(g, m)])
