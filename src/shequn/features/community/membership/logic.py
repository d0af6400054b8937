"""How one event changes one member's seat in one group. Pure.

The rules follow what an operator expects from a group's roster:

* a newcomer gets the group's next number (入群编号) and keeps it for good,
  even after leaving and coming back;
* someone seen speaking, reacting or checking in is in the group, even if the
  history never showed their join (imports often start mid-life): they are
  seated as ``observed``;
* a join that arrives after such an observation corrects the joined time and
  the entry source rather than seating them twice;
* a leave keeps the seat with ``left_at`` set; a later join or sign of
  presence reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shequn.core import Event, EventType, Role

#: Events that show the actor is in the group at that moment.
PRESENCE = frozenset({EventType.MESSAGE, EventType.REACTION, EventType.CHECKIN})
OBSERVED = "observed"


@dataclass(frozen=True, slots=True)
class Seat:
    number: int
    role: str
    joined_at: datetime
    left_at: datetime | None = None
    title: str | None = None
    card_name: str | None = None
    entry_source: str | None = None

    @property
    def present(self) -> bool:
        return self.left_at is None


def relevant(event: Event) -> bool:
    return (
        event.group is not None
        and event.actor is not None
        and (
            event.type in PRESENCE
            or event.type in (EventType.JOIN, EventType.LEAVE, EventType.MEMBER_UPDATE)
        )
    )


def _role(value: object, default: str) -> str:
    try:
        return Role(str(value)).value
    except ValueError:
        return default


def _rank(role: str) -> int:
    try:
        return Role(role).rank
    except ValueError:
        return -1


def _seat(event: Event, number: int, *, source: str | None) -> Seat:
    return Seat(
        number=number,
        role=_role(event.payload.get("role"), Role.MEMBER.value),
        joined_at=event.occurred_at,
        entry_source=source,
    )


def transition(seat: Seat | None, event: Event, next_number: int) -> Seat | None:
    """The seat after ``event``. A new seat takes ``next_number``; the caller advances it.

    Returns ``seat`` itself (the same object) when nothing changes, so callers
    can tell what to write.
    """
    new = _transition(seat, event, next_number)
    return seat if new is not seat and new == seat else new


def _transition(seat: Seat | None, event: Event, next_number: int) -> Seat | None:
    t = event.occurred_at
    p = event.payload
    if event.type is EventType.JOIN:
        source = p.get("entry_source") or p.get("via")
        source = str(source)[:64] if source else None
        if seat is None:
            return _seat(event, next_number, source=source)
        if not seat.present:
            if seat.left_at is not None and t < seat.left_at:
                return seat  # a stale join from before the recorded leave
            return replace(
                seat, joined_at=t, left_at=None, entry_source=source or seat.entry_source
            )
        if t < seat.joined_at or seat.entry_source == OBSERVED:
            return replace(
                seat,
                joined_at=min(t, seat.joined_at),
                entry_source=source or seat.entry_source,
                role=_role(p.get("role"), seat.role),
            )
        return seat
    if event.type is EventType.LEAVE:
        if seat is None:
            return replace(_seat(event, next_number, source=OBSERVED), left_at=t)
        if seat.present and t >= seat.joined_at:
            return replace(seat, left_at=t)
        return seat
    if event.type is EventType.MEMBER_UPDATE:
        base = seat or _seat(event, next_number, source=OBSERVED)
        changes = {}
        if "role" in p:
            changes["role"] = _role(p["role"], base.role)
        if "title" in p:
            changes["title"] = (str(p["title"])[:64] or None) if p["title"] else None
        if "card" in p:
            changes["card_name"] = (str(p["card"])[:255] or None) if p["card"] else None
        return replace(base, **changes) if changes or seat is None else seat
    if event.type in PRESENCE:
        if seat is None:
            return _seat(event, next_number, source=OBSERVED)
        if not seat.present and seat.left_at is not None and t > seat.left_at:
            return replace(seat, joined_at=t, left_at=None)
        return seat
    return seat


def combine(a: Seat, b: Seat) -> Seat:
    """One seat for two records of the same person in one group (after a member merge).

    The person keeps the earliest number and join, the higher role, whichever
    title and card exist (``a``'s first), and is present if either record is.
    """
    first = a if (a.joined_at, a.number) <= (b.joined_at, b.number) else b
    present = a.present or b.present
    left = None if present else max(a.left_at, b.left_at)  # type: ignore[type-var]
    role = max((a.role, b.role), key=_rank)
    return Seat(
        number=min(a.number, b.number),
        role=role,
        joined_at=min(a.joined_at, b.joined_at),
        left_at=left,
        title=a.title or b.title,
        card_name=a.card_name or b.card_name,
        entry_source=first.entry_source,
    )
