"""Small builders for exact scenarios; larger ones come from the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shequn.core import Event, EventType, Message

#: The moment test streams start (a Monday morning, UTC).
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(
    n: int,
    type: EventType = EventType.MESSAGE,
    *,
    group: str | None = "g1",
    actor: str | None = "u1",
    source: str = "test",
    at: datetime | None = None,
    text: str | None = None,
    **payload: Any,
) -> Event:
    """Event number ``n`` of a test stream, ``n`` minutes after START unless ``at`` is given."""
    message = None
    if type is EventType.MESSAGE:
        message = Message.of(text if text is not None else f"消息 {n}")
    return Event(
        type=type,
        platform="sim",
        source=source,
        source_id=str(n),
        occurred_at=at or START + timedelta(minutes=n),
        group=group,
        group_name=f"{group}群" if group else None,
        actor=actor,
        actor_name=f"昵称{actor}" if actor else None,
        message=message,
        payload=payload,
    )
