"""An event after the store has placed it: the ids features need to act on it."""

from __future__ import annotations

from dataclasses import dataclass

from shequn.core.events import Event


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An Event together with the ids the store resolved for it.

    ``member_id`` is the member the actor's identity belongs to at ingest time
    (after any merge), so features never look identities up themselves.
    """

    id: int
    event: Event
    community_id: int
    group_id: int | None
    identity_id: int | None
    member_id: int | None
