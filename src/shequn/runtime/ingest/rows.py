"""Turn a normalised Event into the row the event log stores. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from shequn.core import Event
from shequn.runtime.ingest.event_writer import EventValues


def stored_payload(event: Event) -> dict[str, Any]:
    """The payload as stored: the source's payload plus the message and the name then used."""
    payload = dict(event.payload)
    if event.message is not None:
        payload["message"] = event.message.to_list()
    if event.actor_name:
        payload["actor_name"] = event.actor_name
    return payload


def event_values(
    event: Event,
    *,
    community_id: int,
    group_id: int | None,
    identity_id: int | None,
    ingested_at: datetime,
) -> EventValues:
    text = event.message.plain_text() if event.message is not None else None
    return EventValues(
        community_id,
        group_id,
        identity_id,
        event.platform,
        event.type.value,
        event.occurred_at,
        event.source,
        event.source_id,
        text or None,
        orjson.dumps(stored_payload(event)).decode(),
        ingested_at,
    )
