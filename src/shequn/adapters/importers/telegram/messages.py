"""One exported Telegram message, turned into Events. Pure.

Times come from ``date_unixtime`` only: the export's ``date`` field is local
time with no zone, and guessing one would shift every statistic. Service
messages become membership events: ``invite_members`` and ``create_group``
name members by display name only, so those members get a name-keyed account
(``name:…``) that an operator can merge with the real one later.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shequn.adapters.importers.telegram.text import flatten
from shequn.core import Event, EventType, File, Image, Media, Message, Poll, Quote, Sticker
from shequn.kit.timeutil import from_timestamp

PLATFORM = "telegram"
_JOIN_ACTIONS = {"join_group_by_link": "link", "join_group_by_request": "request"}


class BadMessage(ValueError):
    """An exported message that cannot be read; the message says which field."""


@dataclass(frozen=True, slots=True)
class Chat:
    """The chat an export belongs to: its id becomes the group's external id.

    ``source`` is worked out once: every event of the chat carries it.
    """

    id: str
    name: str | None
    source: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", f"telegram-export:{self.id}")


def _when(msg: Mapping[str, Any]) -> datetime:
    raw = msg.get("date_unixtime")
    try:
        return from_timestamp(int(raw))
    except (TypeError, ValueError):
        raise BadMessage(
            f"message {msg.get('id')!r}: date_unixtime {raw!r} is not a Unix time"
        ) from None


def _account(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _by_name(name: Any) -> str:
    return f"name:{name}"


def _attachments(msg: Mapping[str, Any], chat: Chat) -> list[Any]:
    out: list[Any] = []
    if msg.get("reply_to_message_id") is not None:
        out.append(Quote(f"{chat.id}:{msg['reply_to_message_id']}"))
    if msg.get("photo"):
        out.append(Image(name=str(msg["photo"])))
    media = msg.get("media_type")
    if media == "sticker":
        out.append(Sticker(emoji=msg.get("sticker_emoji")))
    elif media:
        out.append(Media(media=str(media)))
    elif msg.get("file"):
        out.append(File(name=str(msg.get("file_name") or msg["file"])))
    poll = msg.get("poll")
    if isinstance(poll, Mapping):
        answers = poll.get("answers") or []
        out.append(
            Poll(
                question=str(poll.get("question") or ""),
                options=tuple(str(a.get("text", "")) for a in answers if isinstance(a, Mapping)),
            )
        )
    return out


def events_of(msg: Mapping[str, Any], chat: Chat) -> Iterator[Event]:
    """The events one exported message stands for (none for unsupported ones)."""
    kind = msg.get("type")
    if kind == "unsupported":
        return
    if msg.get("id") is None:
        raise BadMessage("a message without an id")
    mid = str(msg["id"])
    when = _when(msg)
    if kind == "message":
        # Chat messages are nearly every message of a file: built without the
        # keyword dictionary the rarer kinds below share.
        text = flatten(msg.get("text"))
        attachments = _attachments(msg, chat)
        yield Event(
            type=EventType.MESSAGE,
            platform=PLATFORM,
            source=chat.source,
            source_id=mid,
            occurred_at=when,
            group=chat.id,
            group_name=chat.name,
            actor=_account(msg.get("from_id")),
            actor_name=msg.get("from"),
            message=Message((*attachments, *text.segments)) if attachments else text,
            payload={"message_id": f"{chat.id}:{mid}"},
        )
        if msg.get("reactions"):
            yield from _reactions(msg, chat, mid, _base(chat, when))
        return
    if kind == "service":
        yield from _service(msg, mid, _base(chat, when))
        return
    raise BadMessage(f"message {mid}: unknown type {kind!r}")


def _base(chat: Chat, when: datetime) -> dict[str, Any]:
    return {
        "platform": PLATFORM,
        "source": chat.source,
        "occurred_at": when,
        "group": chat.id,
        "group_name": chat.name,
    }


def _reactions(
    msg: Mapping[str, Any], chat: Chat, mid: str, base: dict[str, Any]
) -> Iterator[Event]:
    for reaction in msg.get("reactions") or []:
        if not isinstance(reaction, Mapping):
            continue
        emoji = reaction.get("emoji") or reaction.get("document_id")
        for who in reaction.get("recent") or []:
            actor = _account(who.get("from_id")) if isinstance(who, Mapping) else None
            if actor is None:
                continue
            when = base["occurred_at"]
            if who.get("date_unixtime") is not None:
                when = _when({"id": mid, "date_unixtime": who["date_unixtime"]})
            yield Event(
                type=EventType.REACTION,
                source_id=f"{mid}:reaction:{actor}:{emoji}",
                actor=actor,
                actor_name=who.get("from"),
                payload={"target": f"{chat.id}:{mid}", "emoji": str(emoji)},
                **{**base, "occurred_at": when},
            )


def _service(msg: Mapping[str, Any], mid: str, base: dict[str, Any]) -> Iterator[Event]:
    action = msg.get("action")
    actor = _account(msg.get("actor_id"))
    actor_name = msg.get("actor")
    if action in ("create_group", "invite_members"):
        for n, name in enumerate(msg.get("members") or []):
            yield Event(
                type=EventType.JOIN,
                source_id=f"{mid}:join:{n}",
                actor=_by_name(name),
                actor_name=str(name),
                payload={
                    "via": "create" if action == "create_group" else "invite",
                    "inviter": actor,
                },
                **base,
            )
    elif action in _JOIN_ACTIONS and actor:
        yield Event(
            type=EventType.JOIN,
            source_id=f"{mid}:join",
            actor=actor,
            actor_name=actor_name,
            payload={"via": _JOIN_ACTIONS[action]},
            **base,
        )
    elif action == "remove_members":
        for n, name in enumerate(msg.get("members") or []):
            left_alone = name == actor_name
            yield Event(
                type=EventType.LEAVE,
                source_id=f"{mid}:leave:{n}",
                actor=actor if left_alone and actor else _by_name(name),
                actor_name=str(name),
                payload={} if left_alone else {"kicked_by": actor},
                **base,
            )
    else:
        yield Event(
            type=EventType.CUSTOM,
            source_id=mid,
            actor=actor,
            actor_name=actor_name,
            payload={"action": str(action), "message_id": msg.get("message_id")},
            **base,
        )
