"""A community's pool of groups: which one a newcomer goes to, and the capacity watch. Pure.

Groups are filled in the operator's order (``position``): a newcomer always goes to the
first group that is open and below its capacity, so groups fill one after another and
a later group only starts once the earlier ones are full. Counting seats is left to the
caller; a group whose seats reach its capacity is never handed out, whatever its stored
state says.

``watch`` is what the pool ticker asks every few seconds. It warns once when a group's
seats reach its warning threshold (and again only after the group has dropped below it
and crossed it anew), marks groups full and open again as members come and go, and asks
for the next group when none has room and none is being created already: the platform
creates it where it can, an operator is given the task where it cannot.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from shequn.kit.errors import ShequnError
from shequn.models.templates import PoolState

MAX_CAPACITY = 100_000
MAX_GROUP_NAME = 255
MAX_JOIN_URL = 1000
MAX_JOIN_NOTE = 2000
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)(\D{0,2})$", re.DOTALL)


class PoolError(ShequnError):
    """A pool setting that cannot work; the message names the field and why."""


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """One place in the pool. ``name`` is the group's name (or the name asked for while
    it is being created); ``warned`` whether the threshold warning is out."""

    id: int
    position: int
    capacity: int
    state: PoolState = PoolState.OPEN
    group_id: int | None = None
    warn_ratio: float = 0.9
    warned: bool = False
    platform: str = ""
    name: str = ""
    template_id: int | None = None

    @property
    def threshold(self) -> int:
        """Seats at which operators are warned (rounded so 0.7 × 10 is 7, not 8)."""
        return max(1, min(self.capacity, math.ceil(round(self.capacity * self.warn_ratio, 6))))

    def has_room(self, seats: int) -> bool:
        return self.state is PoolState.OPEN and self.group_id is not None and seats < self.capacity


@dataclass(frozen=True, slots=True)
class Warn:
    """The group reached its warning threshold."""

    entry: PoolEntry
    seats: int


@dataclass(frozen=True, slots=True)
class Rearm:
    """The group dropped below its threshold: the next crossing warns again."""

    entry: PoolEntry


@dataclass(frozen=True, slots=True)
class MarkFull:
    entry: PoolEntry
    seats: int


@dataclass(frozen=True, slots=True)
class Reopen:
    entry: PoolEntry
    seats: int


@dataclass(frozen=True, slots=True)
class CreateNext:
    """No group has room: make the next one, like ``after`` (its platform, capacity and
    threshold), from ``template_id`` (the last template the pool used)."""

    after: PoolEntry
    name: str
    position: int
    template_id: int | None


Decision = Warn | Rearm | MarkFull | Reopen | CreateNext


def ordered(pool: Sequence[PoolEntry]) -> list[PoolEntry]:
    """The pool in filling order, without retired places."""
    return sorted(
        (e for e in pool if e.state is not PoolState.RETIRED), key=lambda e: (e.position, e.id)
    )


def pick(pool: Sequence[PoolEntry], seats: Mapping[int, int]) -> PoolEntry | None:
    """The group the next newcomer goes to: the first open one with room, or None."""
    for entry in ordered(pool):
        if entry.group_id is not None and entry.has_room(seats.get(entry.group_id, 0)):
            return entry
    return None


def watch(pool: Sequence[PoolEntry], seats: Mapping[int, int]) -> list[Decision]:
    """What the pool needs now, given each group's current seats."""
    out: list[Decision] = []
    room = creating = False
    last: PoolEntry | None = None
    template_id: int | None = None
    places = ordered(pool)
    for entry in places:
        template_id = entry.template_id if entry.template_id is not None else template_id
        if entry.state is PoolState.CREATING:
            creating = True
            continue
        if entry.group_id is None:
            continue
        last = entry
        n = seats.get(entry.group_id, 0)
        if n >= entry.threshold and not entry.warned:
            out.append(Warn(entry, n))
        elif n < entry.threshold and entry.warned:
            out.append(Rearm(entry))
        state = entry.state
        if n >= entry.capacity and state is PoolState.OPEN:
            out.append(MarkFull(entry, n))
            state = PoolState.FULL
        elif n < entry.capacity and state is PoolState.FULL:
            out.append(Reopen(entry, n))
            state = PoolState.OPEN
        room = room or (state is PoolState.OPEN and n < entry.capacity)
    if not room and not creating and last is not None:
        taken = {e.name for e in pool}
        position = max(e.position for e in places) + 1
        out.append(CreateNext(last, next_name(last.name, taken), position, template_id))
    return out


def next_name(name: str, taken: Collection[str]) -> str:
    """The next group's name: the trailing number counted on (读书会3群 → 读书会4群), or
    `` 2`` added; never one of ``taken``."""
    base = name.strip() or "group"
    found = _TRAILING_NUMBER.match(base)
    if found:
        head, number, tail = found.group(1), int(found.group(2)), found.group(3)
        width = len(found.group(2))
    else:
        head, number, tail, width = f"{base} ", 1, "", 1
    while True:
        number += 1
        candidate = f"{head}{number:0{width}d}{tail}"
        if len(candidate) > MAX_GROUP_NAME:
            candidate = candidate[-MAX_GROUP_NAME:]
        if candidate not in taken:
            return candidate


def check_place(
    *, capacity: int, warn_ratio: float, join_url: str = "", join_note: str = ""
) -> None:
    """Raise ``PoolError`` naming the first setting of a pool place that cannot work."""
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise PoolError("capacity must be a whole number")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise PoolError(f"capacity must be between 1 and {MAX_CAPACITY}, not {capacity}")
    if isinstance(warn_ratio, bool) or not isinstance(warn_ratio, int | float):
        raise PoolError("warn_ratio must be a number")
    if not 0 < warn_ratio <= 1:
        raise PoolError(f"warn_ratio must be above 0 and at most 1, not {warn_ratio}")
    if len(join_url) > MAX_JOIN_URL:
        raise PoolError(f"join_url: at most {MAX_JOIN_URL} characters")
    if join_url and (
        not join_url.startswith(("https://", "http://"))
        or any(c.isspace() or ord(c) < 32 for c in join_url)
    ):
        raise PoolError("join_url must be an http(s) address without spaces")
    if len(join_note) > MAX_JOIN_NOTE:
        raise PoolError(f"join_note: at most {MAX_JOIN_NOTE} characters")
