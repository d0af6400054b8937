"""Matrix room events (the JSON a ``/sync`` returns) → shequn ``Event`` values. Pure.

Many Matrix events only mean something against the room's state: a membership
``join`` is a new member only if the user was not joined before, a power-level
change matters only when a user crosses the admin or owner threshold, and a
sender's display name lives in their member event. ``RoomState`` keeps what is
needed of that state; ``convert`` reads one event against it and ``apply`` then
moves the state past the event, in timeline order, so every event is judged by
the room as it was when it happened.

Only what features act on is emitted: messages, stickers, reactions, redactions,
joins, departures, kicks and bans, knocks (join requests), display-name and role
changes, and room renames. Everything else (typing, receipts, topics, invites
that were never accepted…) is skipped. The bot's own messages, reactions,
redactions and membership are never emitted — shequn already knows what it
said — but what it did to other members (kicks, bans, role changes) is, as the
platform's echo that keeps the member graph right.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shequn.adapters.matrix.message import BadContent, from_matrix
from shequn.core import Event, EventType, Message, Role, Sticker
from shequn.kit.timeutil import from_timestamp

log = logging.getLogger(__name__)

PLATFORM = "matrix"
ADMIN_LEVEL = 50
OWNER_LEVEL = 100
#: Room versions whose creators stand above every power level (MSC4289): they are
#: owners without appearing in ``m.room.power_levels``.
CREATOR_POWER_VERSIONS = frozenset({"12", "org.matrix.hydra.11"})


class BadEvent(ValueError):
    """A Matrix event that cannot be read; the message names the event and field."""


def role_of_level(level: int) -> Role:
    if level >= OWNER_LEVEL:
        return Role.OWNER
    if level >= ADMIN_LEVEL:
        return Role.ADMIN
    return Role.MEMBER


def _int(value: Any, default: int) -> int:
    # Power levels are integers; older rooms may hold them as numeric strings.
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


@dataclass(frozen=True, slots=True)
class PowerLevels:
    """The parts of ``m.room.power_levels`` shequn reads."""

    users: Mapping[str, int] = field(default_factory=dict)
    users_default: int = 0
    events_default: int = 0
    events: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_content(cls, content: Any) -> PowerLevels:
        """Read a power-levels content, ignoring entries that are not levels."""
        if not isinstance(content, Mapping):
            return cls()
        users = content.get("users")
        events = content.get("events")
        return cls(
            users={
                str(k): _int(v, 0)
                for k, v in (users.items() if isinstance(users, Mapping) else ())
                if not isinstance(v, bool) and isinstance(v, int | str)
            },
            users_default=_int(content.get("users_default"), 0),
            events_default=_int(content.get("events_default"), 0),
            events={
                str(k): _int(v, 0)
                for k, v in (events.items() if isinstance(events, Mapping) else ())
                if not isinstance(v, bool) and isinstance(v, int | str)
            },
        )

    def level(self, user: str) -> int:
        return self.users.get(user, self.users_default)

    def to_speak(self) -> int:
        """The level needed to send a message."""
        return self.events.get("m.room.message", self.events_default)


@dataclass
class RoomState:
    """What shequn knows of one room: its name, members and their power."""

    room_id: str
    name: str | None = None
    alias: str | None = None
    creators: frozenset[str] = frozenset()
    power: PowerLevels = field(default_factory=PowerLevels)
    membership: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    #: Users whose latest knock has not been answered by a join yet: their join
    #: came through a request, even though an invite (the approval) came between.
    knocked: set[str] = field(default_factory=set)
    inviters: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str | None:
        return self.name or self.alias

    def role(self, user: str) -> Role:
        if user in self.creators:
            return Role.OWNER
        return role_of_level(self.power.level(user))

    def joined(self) -> list[str]:
        return [user for user, state in self.membership.items() if state == "join"]

    def apply(self, raw: Mapping[str, Any]) -> None:
        """Move the state past one event (non-state events change nothing)."""
        if not isinstance(raw, Mapping):
            return
        kind, key = raw.get("type"), raw.get("state_key")
        if not isinstance(kind, str) or not isinstance(key, str):
            return
        content = raw.get("content")
        content = content if isinstance(content, Mapping) else {}
        if kind == "m.room.create":
            version = content.get("room_version", "1")
            if version in CREATOR_POWER_VERSIONS:
                extra = content.get("additional_creators")
                more = [c for c in extra if isinstance(c, str)] if isinstance(extra, list) else []
                sender = raw.get("sender")
                self.creators = frozenset([*([sender] if isinstance(sender, str) else []), *more])
        elif kind == "m.room.name":
            name = content.get("name")
            self.name = name if isinstance(name, str) and name.strip() else None
        elif kind == "m.room.canonical_alias":
            alias = content.get("alias")
            self.alias = alias if isinstance(alias, str) and alias else None
        elif kind == "m.room.power_levels":
            self.power = PowerLevels.from_content(content)
        elif kind == "m.room.member":
            self._member(key, content, raw.get("sender"))

    def _member(self, user: str, content: Mapping[str, Any], sender: Any) -> None:
        membership = content.get("membership")
        if not isinstance(membership, str):
            return
        self.membership[user] = membership
        name = content.get("displayname")
        if membership in ("join", "invite", "knock") and isinstance(name, str) and name:
            self.names[user] = name
        if membership == "knock":
            self.knocked.add(user)
        elif membership == "invite" and isinstance(sender, str):
            self.inviters[user] = sender
        elif membership in ("join", "leave", "ban"):
            self.knocked.discard(user)
            self.inviters.pop(user, None)


@dataclass(frozen=True, slots=True)
class _Base:
    """What every event of one Matrix event shares."""

    event_id: str
    sender: str
    when: datetime
    content: Mapping[str, Any]
    unsigned: Mapping[str, Any]


def _base(raw: Any, room: RoomState) -> _Base:
    if not isinstance(raw, Mapping):
        raise BadEvent(f"room {room.room_id}: an event that is not an object")
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise BadEvent(f"room {room.room_id}: an event without an event_id")
    sender = raw.get("sender")
    if not isinstance(sender, str) or not sender.startswith("@"):
        raise BadEvent(f"event {event_id}: sender {sender!r} is not a user id")
    ts = raw.get("origin_server_ts")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise BadEvent(f"event {event_id}: origin_server_ts {ts!r} is not a time")
    try:
        when = from_timestamp(ts / 1000)
    except (OverflowError, OSError, ValueError):
        raise BadEvent(f"event {event_id}: origin_server_ts {ts!r} is out of range") from None
    content = raw.get("content", {})
    if not isinstance(content, Mapping):
        raise BadEvent(f"event {event_id}: content is not an object")
    unsigned = raw.get("unsigned")
    return _Base(event_id, sender, when, content, unsigned if isinstance(unsigned, Mapping) else {})


def convert(raw: Mapping[str, Any], room: RoomState, *, source: str, own_user: str) -> list[Event]:
    """The events one Matrix room event stands for, judged against ``room`` as it
    was before the event; empty for events shequn does not follow. Raises
    ``BadEvent`` for an event that cannot be read."""
    base = _base(raw, room)
    kind = raw.get("type")
    if base.sender == own_user and not _echoed(raw, kind, own_user):
        return []
    if "redacted_because" in base.unsigned:
        return []  # a redacted event's content is gone; its redaction was reported
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "source": source,
        "occurred_at": base.when,
        "group": room.room_id,
        "group_name": room.display_name,
    }
    if kind in ("m.room.message", "m.sticker"):
        event = _message(raw, kind, base, room, common)
        return [event] if event is not None else []
    if kind == "m.reaction":
        return _reaction(base, room, common)
    if kind == "m.room.redaction":
        return _redaction(raw, base, room, common)
    if kind == "m.room.member":
        return _membership(raw, base, room, common)
    if kind == "m.room.power_levels":
        return _power(raw, base, room, common)
    if kind == "m.room.name" and isinstance(raw.get("state_key"), str):
        return _rename(base, room, common)
    if kind == "m.room.encrypted":
        log.info("event %s in %s is encrypted; it is not read", base.event_id, room.room_id)
    return []


def _echoed(raw: Mapping[str, Any], kind: Any, own_user: str) -> bool:
    """Whether an event the bot sent is still reported: what it did to other members
    (a kick, a ban, a role change) changes who is in the room and with what rights,
    which the member graph must follow like any platform's echo of it; its own
    messages, reactions, redactions and membership are never reported."""
    if kind == "m.room.member":
        return raw.get("state_key") != own_user
    return kind == "m.room.power_levels"


def _actor(room: RoomState, user: str) -> dict[str, Any]:
    return {"actor": user, "actor_name": room.names.get(user)}


def _message(
    raw: Mapping[str, Any], kind: str, base: _Base, room: RoomState, common: dict[str, Any]
) -> Event | None:
    content = base.content
    payload: dict[str, Any] = {"message_id": base.event_id}
    if kind == "m.sticker":
        url = content.get("url")
        message = Message((Sticker(sticker_id=url if isinstance(url, str) else None),))
        payload["msgtype"] = "m.sticker"
    else:
        if not content:
            return None  # a redacted message: nothing left to read
        relates = content.get("m.relates_to")
        if isinstance(relates, Mapping) and relates.get("rel_type") == "m.replace":
            # An edit carries the new text in m.new_content; the outer body is a fallback.
            original = relates.get("event_id")
            payload["edit_of"] = original if isinstance(original, str) else None
            content = content.get("m.new_content")
            if not isinstance(content, Mapping):
                raise BadEvent(f"event {base.event_id}: an edit without m.new_content")
        try:
            message = from_matrix(content, names=room.names)
        except BadContent as exc:
            raise BadEvent(f"event {base.event_id}: {exc}") from None
        msgtype = content.get("msgtype")
        if isinstance(msgtype, str):
            payload["msgtype"] = msgtype
        if not message:
            log.info("message %s has no content shequn can read", base.event_id)
            return None
    return Event(
        type=EventType.MESSAGE,
        source_id=base.event_id,
        message=message,
        payload=payload,
        **_actor(room, base.sender),
        **common,
    )


def _reaction(base: _Base, room: RoomState, common: dict[str, Any]) -> list[Event]:
    relates = base.content.get("m.relates_to")
    if not isinstance(relates, Mapping) or relates.get("rel_type") != "m.annotation":
        return []
    target, key = relates.get("event_id"), relates.get("key")
    if not isinstance(target, str) or not isinstance(key, str):
        raise BadEvent(f"event {base.event_id}: a reaction without event_id and key")
    return [
        Event(
            type=EventType.REACTION,
            source_id=base.event_id,
            payload={"target": target, "emoji": key},
            **_actor(room, base.sender),
            **common,
        )
    ]


def _redaction(
    raw: Mapping[str, Any], base: _Base, room: RoomState, common: dict[str, Any]
) -> list[Event]:
    # Room versions up to 10 carry ``redacts`` at the top; from 11 on, in the content.
    target = base.content.get("redacts", raw.get("redacts"))
    if not isinstance(target, str) or not target:
        raise BadEvent(f"event {base.event_id}: a redaction without redacts")
    payload: dict[str, Any] = {"target": target, "by": base.sender}
    reason = base.content.get("reason")
    if isinstance(reason, str) and reason:
        payload["reason"] = reason
    return [
        Event(
            type=EventType.RECALL,
            source_id=base.event_id,
            payload=payload,
            **_actor(room, base.sender),
            **common,
        )
    ]


def _previous(base: _Base, room: RoomState, user: str) -> tuple[str, Mapping[str, Any]]:
    """The membership before this event: the server's ``prev_content`` when it sent
    one, else what the tracked state says."""
    prev = base.unsigned.get("prev_content")
    if isinstance(prev, Mapping) and isinstance(prev.get("membership"), str):
        return prev["membership"], prev
    return room.membership.get(user, "leave"), {}


def _membership(
    raw: Mapping[str, Any], base: _Base, room: RoomState, common: dict[str, Any]
) -> list[Event]:
    user = raw.get("state_key")
    if not isinstance(user, str) or not user.startswith("@"):
        raise BadEvent(f"event {base.event_id}: state_key {user!r} is not a user id")
    membership = base.content.get("membership")
    if not isinstance(membership, str):
        raise BadEvent(f"event {base.event_id}: membership {membership!r} is not text")
    before, prev_content = _previous(base, room, user)
    name = base.content.get("displayname")
    name = name if isinstance(name, str) and name else None
    reason = base.content.get("reason")
    reason = reason if isinstance(reason, str) and reason else None
    who = {"actor": user, "actor_name": name or room.names.get(user)}
    payload: dict[str, Any] = {}

    if membership == "join":
        if before == "join":
            old = prev_content.get("displayname") if prev_content else room.names.get(user)
            if name is None or name == old:
                return []  # an avatar change or a repeated join: nothing a feature uses
            kind = EventType.MEMBER_UPDATE
            payload["name"] = name
        else:
            kind = EventType.JOIN
            if before == "knock" or (before == "invite" and user in room.knocked):
                payload["via"] = "request"
            elif before == "invite":
                payload["via"] = "invite"
            else:
                payload["via"] = "link"
            if before == "invite":
                # Whoever invited: after a knock, the one who approved the request.
                inviter = room.inviters.get(user) or base.unsigned.get("prev_sender")
                if isinstance(inviter, str):
                    payload["inviter"] = inviter
            payload["role"] = room.role(user).value
    elif membership in ("leave", "ban"):
        if before != "join":
            log.debug("event %s: %s after %s is not a departure", base.event_id, membership, before)
            return []
        kind = EventType.LEAVE
        if base.sender != user:
            payload["kicked_by"] = base.sender
        if membership == "ban":
            payload["banned"] = True
        if reason:
            payload["reason"] = reason
    elif membership == "knock":
        kind = EventType.JOIN_REQUEST
        payload["answer"] = reason
        payload["request_id"] = user
    else:
        return []
    return [
        Event(type=kind, source_id=base.event_id, payload=payload, **who, **common),
    ]


def _power(
    raw: Mapping[str, Any], base: _Base, room: RoomState, common: dict[str, Any]
) -> list[Event]:
    if not isinstance(raw.get("state_key"), str):
        return []
    prev = base.unsigned.get("prev_content")
    old = PowerLevels.from_content(prev) if isinstance(prev, Mapping) else room.power
    new = PowerLevels.from_content(base.content)
    out: list[Event] = []
    for user in sorted({*old.users, *new.users}):
        if user in room.creators:
            continue
        before, after = role_of_level(old.level(user)), role_of_level(new.level(user))
        if before == after:
            continue
        out.append(
            Event(
                type=EventType.MEMBER_UPDATE,
                source_id=f"{base.event_id}:{user}",
                actor=user,
                actor_name=room.names.get(user),
                payload={"role": after.value, "by": base.sender},
                **common,
            )
        )
    return out


def _rename(base: _Base, room: RoomState, common: dict[str, Any]) -> list[Event]:
    name = base.content.get("name")
    name = name if isinstance(name, str) and name.strip() else None
    if name == room.name:
        return []
    return [
        Event(
            type=EventType.GROUP_UPDATE,
            source_id=base.event_id,
            payload={"name": name},
            **_actor(room, base.sender),
            **{**common, "group_name": name or room.alias},
        )
    ]
