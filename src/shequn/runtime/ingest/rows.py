"""Turn a normalised Event into the row the event log stores. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson

from shequn.core import Event, EventType
from shequn.runtime.ingest.event_writer import EventValues


def stored_payload(event: Event) -> dict[str, Any]:
    """The payload as stored: the source's payload plus the message and the name then used."""
    payload = dict(event.payload)
    if event.message is not None:
        payload["message"] = event.message.to_list()
    if event.actor_name:
        payload["actor_name"] = event.actor_name
    return payload


#: ``EventType.value`` is a slow property in Python 3.11; the row needs it per event.
_TYPE_TEXT = {t: t.value for t in EventType}


class Prepared(NamedTuple):
    """An event with the parts of its row that need no database: text and JSON payload.

    Everything here is decided before the transaction opens, so a batch holds
    its locks only for the work that needs them.
    """

    event: Event
    text: str | None
    payload: str


def prepare(event: Event) -> Prepared:
    text = event.message.plain_text() if event.message is not None else None
    return Prepared(event, text or None, orjson.dumps(stored_payload(event)).decode())


def event_values(
    prepared: Prepared,
    *,
    community_id: int,
    group_id: int | None,
    identity_id: int | None,
    ingested_at: datetime,
) -> EventValues:
    event = prepared.event
    return EventValues(
        community_id,
        group_id,
        identity_id,
        event.platform,
        _TYPE_TEXT[event.type],
        event.occurred_at,
        event.source,
        event.source_id,
        prepared.text,
        prepared.payload,
        ingested_at,
    )
