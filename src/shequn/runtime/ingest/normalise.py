"""Normalisation: make an Event safe and canonical before it touches the store.

Pure functions. Every refusal names the event (source and source id) and the
field, so a bad line in a ten-million-row import can be found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shequn.core import Event, EventType, Message
from shequn.core.message import FIELD_NAMES, Text
from shequn.kit.errors import InvalidEvent

MAX_ID = 255
MAX_NAME = 255

#: Types that concern one member in one group: both must be known.
_NEEDS_GROUP_AND_ACTOR = frozenset({EventType.JOIN, EventType.LEAVE, EventType.MEMBER_UPDATE})
_REQUIRED_PAYLOAD = {
    EventType.PURCHASE: "order_id",
    EventType.ATTEND: "session",
    EventType.READ: "article",
}


def _clean(text: str) -> str:
    """``text`` without NUL and lone surrogates; the very same object when it has neither.

    PostgreSQL refuses NUL in text and JSON, and no encoder writes a lone
    surrogate (half an emoji cut by an exporter); neither means anything in chat.
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


#: The integers the event row's JSON encoder (orjson) can write.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _scalar_ok(v: Any) -> bool:
    t = type(v)
    if t is str:
        return _clean(v) is v
    if t is int:
        return _INT_MIN <= v <= _INT_MAX
    if t is float:
        return math.isfinite(v)
    return t is bool or v is None


def _clean_json(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidEvent(f"{where}: integer {value} is out of range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEvent(f"{where}: {value} is not a JSON number")
        return value
    if isinstance(value, Mapping):
        return {_clean(str(k)): _clean_json(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InvalidEvent(f"{where}: {type(value).__name__} is not JSON")


def _payload(payload: Mapping[str, Any], event: Event) -> dict[str, Any]:
    """A clean JSON object; the common flat, clean dict passes through untouched."""
    if type(payload) is dict:
        for k, v in payload.items():
            if type(k) is not str or _clean(k) is not k or not _scalar_ok(v):
                break
        else:
            return payload
    return _clean_json(dict(payload), f"{_where(event)}: payload")


def _field_dirty(v: Any) -> bool:
    if type(v) is str:
        return _clean(v) is not v
    return type(v) is tuple and any(type(x) is str and _clean(x) is not x for x in v)


def _clean_field(v: Any) -> Any:
    if type(v) is str:
        return _clean(v)
    return tuple(_clean(x) if type(x) is str else x for x in v)


def _message_clean(message: Message) -> bool:
    """No text field to repair and no empty text segment (a loop: this runs per event)."""
    for seg in message.segments:
        if type(seg) is Text:
            text = seg.text
            if not text or (type(text) is str and _clean(text) is not text):
                return False
            continue
        for name in FIELD_NAMES[type(seg)]:
            if _field_dirty(getattr(seg, name)):
                return False
    return True


def _clean_message(message: Message) -> Message:
    """Repair text fields and drop empty text segments; the same object if nothing changes."""
    if _message_clean(message):
        return message
    segments = []
    for seg in message.segments:
        updates = {
            name: _clean_field(v)
            for name in FIELD_NAMES[type(seg)]
            if _field_dirty(v := getattr(seg, name))
        }
        if updates:
            seg = replace(seg, **updates)
        if isinstance(seg, Text) and not seg.text:
            continue
        segments.append(seg)
    return Message(tuple(segments))


def _where(event: Event) -> str:
    return f"event {event.source!r}/{event.source_id!r}"


def _ident(value: Any, name: str, event: Event, *, required: bool) -> str | None:
    if (
        type(value) is str
        and 0 < len(value) <= MAX_ID
        and ("\x00" not in value if value.isascii() else _clean(value) is value)
        and not value[0].isspace()
        and not value[-1].isspace()
    ):
        return value  # the common case: already clean (ASCII ids skip the call to _clean)
    if value is None:
        if required:
            raise InvalidEvent(f"{_where(event)}: {name} is required")
        return None
    if not isinstance(value, str):
        value = str(value)
    value = _clean(value).strip()
    if not value:
        if required:
            raise InvalidEvent(f"{_where(event)}: {name} is empty")
        return None
    if len(value) > MAX_ID:
        raise InvalidEvent(f"{_where(event)}: {name} is longer than {MAX_ID} characters")
    return value


def _name(value: str | None) -> str | None:
    if value is None:
        return None
    if type(value) is str and len(value) <= MAX_NAME and _clean(value) is value:
        stripped = value.strip()
        return stripped or None
    value = _clean(str(value)).strip()
    return value[:MAX_NAME] or None


def normalise(event: Event) -> Event:
    """Return the canonical form of ``event`` or raise InvalidEvent saying what is wrong.

    An event that is already canonical is returned as is (no copy): most are,
    and this runs for every event of every import.
    """
    etype = event.type
    if type(etype) is not EventType:
        try:
            etype = EventType(etype)
        except ValueError:
            raise InvalidEvent(f"{_where(event)}: unknown type {event.type!r}") from None
    source = _ident(event.source, "source", event, required=True)
    source_id = _ident(event.source_id, "source_id", event, required=True)
    platform = _ident(event.platform, "platform", event, required=True)
    need = etype in _NEEDS_GROUP_AND_ACTOR
    group = _ident(event.group, "group", event, required=need)
    actor = _ident(event.actor, "actor", event, required=need)

    when = event.occurred_at
    if not isinstance(when, datetime):
        raise InvalidEvent(f"{_where(event)}: occurred_at must be a datetime, got {when!r}")
    if when.tzinfo is not UTC:
        if when.tzinfo is None or when.utcoffset() is None:
            raise InvalidEvent(f"{_where(event)}: occurred_at {when.isoformat()} has no time zone")
        when = when.astimezone(UTC)

    payload = _payload(event.payload, event)
    required = _REQUIRED_PAYLOAD.get(etype)
    if required and not payload.get(required):
        raise InvalidEvent(f"{_where(event)}: {etype.value} needs payload.{required}")
    if etype is EventType.MESSAGE and event.message is None and "message" not in payload:
        raise InvalidEvent(f"{_where(event)}: a message event needs a message")
    message = _clean_message(event.message) if event.message is not None else None
    group_name = _name(event.group_name)
    actor_name = _name(event.actor_name)

    if (
        etype is event.type
        and source is event.source
        and source_id is event.source_id
        and platform is event.platform
        and group is event.group
        and actor is event.actor
        and when is event.occurred_at
        and payload is event.payload
        and message is event.message
        and group_name is event.group_name
        and actor_name is event.actor_name
    ):
        return event
    return Event(
        type=etype,
        platform=platform,  # type: ignore[arg-type]
        source=source,  # type: ignore[arg-type]
        source_id=source_id,  # type: ignore[arg-type]
        occurred_at=when,
        group=group,
        group_name=group_name,
        actor=actor,
        actor_name=actor_name,
        message=message,
        payload=payload,
    )


def unique(events: Iterable[Event]) -> list[Event]:
    """Drop repeats of the same (source, source_id), keeping the first."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in events:
        k = e.key
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out
