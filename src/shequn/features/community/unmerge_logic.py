"""What an unmerge recomputes, from the event log alone. Pure: no database.

A merge folds two members' seats and activity rollups together, and the fold
cannot be undone by arithmetic (a combined seat keeps the higher role, a summed
day forgets whose messages it held). So the unmerge recomputes each member's
seat and rollups from the events of the identities that are theirs again,
with the same transition the membership processor runs and the same counting
the rollup processor does; only seat numbers (入群编号), which no event
carries, are chosen here from what the group still has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

from shequn.core import Event, EventType
from shequn.features.community.membership.logic import Seat, relevant, transition

#: Event types that move a seat, and those of them whose payload the seat reads.
SEAT_TYPES = ("message", "reaction", "checkin", "join", "leave", "member_update")
PAYLOAD_TYPES = ("join", "leave", "member_update")

Key = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """The parts of a stored event that seats and rollups read."""

    id: int
    occurred_at: datetime
    community_id: int
    group_id: int
    type: str
    payload: Mapping[str, Any]

    @property
    def key(self) -> Key:
        """Replay order: time, then storage order (what ``rollup.rebuild`` uses too)."""
        return (self.occurred_at, self.id)


def _as_event(e: LoggedEvent) -> Event | None:
    try:
        kind = EventType(e.type)
    except ValueError:
        return None
    return Event(
        type=kind,
        platform="",
        source="",
        source_id=str(e.id),
        occurred_at=e.occurred_at,
        group=str(e.group_id),
        actor="member",
        payload=dict(e.payload or {}),
    )


@dataclass(frozen=True, slots=True)
class Replayed:
    """One member's seat in one group as their events make it, numbered 0 (not chosen
    yet), and the replay key of the event that first seated them."""

    seat: Seat
    first: Key


def replay_seat(events: Iterable[LoggedEvent]) -> Replayed | None:
    """The seat ``events`` (one member, one group) give, replayed in time order."""
    seat: Seat | None = None
    first: Key | None = None
    for e in sorted(events, key=lambda x: x.key):
        event = _as_event(e)
        if event is None or not relevant(event):
            continue
        new = transition(seat, event, 0)
        if seat is None and new is not None:
            first = e.key
        seat = new
    if seat is None or first is None:
        return None
    return Replayed(seat, first)


def pick_numbers(
    wanted: Mapping[int, Replayed],
    *,
    held: int | None,
    hints: Mapping[int, int],
    gap: int | None,
    next_number: int,
) -> tuple[dict[int, int], int]:
    """Numbers for the members that need a seat in one group, and the group's next number.

    ``held`` is the number of the combined seat the merge left; ``hints`` the
    numbers each member had before the merge, where known (the merge's audit
    entry) and still free or held; ``gap`` the lowest unused number above
    ``held``, which a combined seat's other number left behind. A member
    takes its hint; else the one seated first takes ``held`` (a combined seat
    keeps the lower number, and numbers grow with arrival), the other the gap;
    a number is drawn fresh only when none is left.
    """
    order = sorted(wanted, key=lambda m: (wanted[m].first, m))
    chosen: dict[int, int] = {}
    taken: set[int] = set()
    for member in order:
        hint = hints.get(member)
        if hint is not None and hint not in taken:
            chosen[member] = hint
            taken.add(hint)
    spare = [n for n in (held, gap) if n is not None and n not in taken]
    for member in order:
        if member in chosen:
            continue
        if spare:
            chosen[member] = spare.pop(0)
        else:
            chosen[member] = next_number
            next_number += 1
        taken.add(chosen[member])
    return chosen, next_number


def numbered(replayed: Replayed, number: int) -> Seat:
    return replace(replayed.seat, number=number)


@dataclass(slots=True)
class Rollups:
    """One member's rows of ``activity_member_day`` and ``activity_member_group``."""

    days: dict[tuple[int, date], int]
    groups: dict[int, list[Any]]  # group -> [first, last, messages]


def count_rollups(events: Iterable[LoggedEvent], zones: Mapping[int, tzinfo]) -> Rollups:
    """Count messages as the rollup processor does: per group and local day (in the
    community's zone), and per group with the first and last message."""
    out = Rollups({}, {})
    for e in events:
        if e.type != EventType.MESSAGE.value:
            continue
        day = e.occurred_at.astimezone(zones[e.community_id]).date()
        out.days[(e.group_id, day)] = out.days.get((e.group_id, day), 0) + 1
        so_far = out.groups.get(e.group_id)
        if so_far is None:
            out.groups[e.group_id] = [e.occurred_at, e.occurred_at, 1]
        else:
            so_far[0] = min(so_far[0], e.occurred_at)
            so_far[1] = max(so_far[1], e.occurred_at)
            so_far[2] += 1
    return out


def by_group(events: Sequence[LoggedEvent]) -> dict[int, list[LoggedEvent]]:
    out: dict[int, list[LoggedEvent]] = {}
    for e in events:
        out.setdefault(e.group_id, []).append(e)
    return out
