"""Events as the simulated platform reports them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shequn.core import Event, EventType, Message

PLATFORM = "sim"


def event(
    kind: EventType,
    *,
    source: str,
    source_id: str,
    at: datetime,
    group: str,
    group_name: str,
    actor: str,
    actor_name: str | None = None,
    message: Message | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Event:
    return Event(
        type=kind,
        platform=PLATFORM,
        source=source,
        source_id=source_id,
        occurred_at=at,
        group=group,
        group_name=group_name,
        actor=actor,
        actor_name=actor_name,
        message=message,
        payload=dict(payload or {}),
    )
