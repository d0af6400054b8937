"""Turn a normalised Event into the row the event log stores. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson

from shequn.core import Event, EventType, Message
from shequn.core.message import Text
from shequn.runtime.ingest.event_writer import EventValues


def _one_text(message: Message) -> str | None:
    """The text of a message that is one text segment (most chat is), else None."""
    segments = message.segments
    if len(segments) == 1 and type(segments[0]) is Text and type(segments[0].text) is str:
        return segments[0].text
    return None


def _segments(message: Message) -> list[dict[str, Any]]:
    text = _one_text(message)
    return message.to_list() if text is None else [{"kind": "text", "text": text}]


def stored_payload(event: Event) -> dict[str, Any]:
    """The payload as stored: the source's payload plus the message and the name then used."""
    payload = dict(event.payload)
    if event.message is not None:
        payload["message"] = _segments(event.message)
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
    message = event.message
    text = None
    if message is not None:
        text = _one_text(message)
        if text is None:
            text = message.plain_text()
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
