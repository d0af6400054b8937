"""What moderation is given about a message: the message and its sender in that group
(``MessageContext``), and the sender's recent messages and warnings (``History``).

These are plain values the caller builds and stores; the logic only reads them. Storing
history belongs to the service around the logic: ``remember`` gives it the history to
keep after each message, trimmed to what the policy's rules look back over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shequn.core import Event, EventType, Role
from shequn.features.moderation.detect import Scanned


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class MessageContext:
    """The message being moderated and what is known about its sender in that group.

    ``joined_at`` None means the join time is unknown (members imported from history):
    they are not treated as new.
    """

    platform: str
    group: str
    actor: str
    text: str
    message_id: str | None = None
    has_qr: bool = False
    role: Role = Role.MEMBER
    tier: str | None = None
    joined_at: datetime | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.joined_at is not None:
            _aware(self.joined_at, "joined_at")


def context_of(
    event: Event,
    *,
    role: Role = Role.MEMBER,
    tier: str | None = None,
    joined_at: datetime | None = None,
    has_qr: bool = False,
) -> MessageContext | None:
    """The context of a message event in a group; None for anything moderation skips
    (other event types, direct messages, messages without a sender)."""
    if event.type is not EventType.MESSAGE or event.group is None or event.actor is None:
        return None
    message_id = event.payload.get("message_id")
    valid_id = isinstance(message_id, str | int) and not isinstance(message_id, bool)
    return MessageContext(
        platform=event.platform,
        group=event.group,
        actor=event.actor,
        text=event.text,
        message_id=str(message_id) if valid_id and message_id != "" else None,
        has_qr=has_qr,
        role=role,
        tier=tier,
        joined_at=joined_at,
        name=event.actor_name,
    )


@dataclass(frozen=True, slots=True)
class Seen:
    """One earlier message of the sender: its normalised text, where and when."""

    platform: str
    group: str
    text: str
    at: datetime
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """The sender's recent messages (any group) and warnings (times, any order)."""

    messages: tuple[Seen, ...] = ()
    warnings: tuple[datetime, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [
                {
                    "platform": m.platform,
                    "group": m.group,
                    "text": m.text,
                    "at": m.at.isoformat(),
                    **({"message_id": m.message_id} if m.message_id is not None else {}),
                }
                for m in self.messages
            ],
            "warnings": [w.isoformat() for w in self.warnings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Raises ValueError (or KeyError) for malformed stored state."""
        messages = tuple(
            Seen(
                platform=str(m["platform"]),
                group=str(m["group"]),
                text=str(m["text"]),
                at=_instant(m["at"]),
                message_id=None if m.get("message_id") is None else str(m["message_id"]),
            )
            for m in data.get("messages", [])
        )
        warnings = tuple(_instant(w) for w in data.get("warnings", []))
        return cls(messages, warnings)


def _instant(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    _aware(parsed, "a stored time")
    return parsed


def remember(
    history: History, message: MessageContext, now: datetime, *, keep: timedelta
) -> History:
    """The history after ``message``: it is added (normalised), and messages older than
    ``keep`` (see ``Policy.lookback``) are dropped."""
    _aware(now, "now")
    seen = Seen(
        message.platform, message.group, Scanned(message.text).normal, now, message.message_id
    )
    kept = tuple(m for m in history.messages if now - m.at < keep)
    return History((*kept, seen), history.warnings)


__all__ = [
    "History",
    "MessageContext",
    "Seen",
    "context_of",
    "remember",
]
