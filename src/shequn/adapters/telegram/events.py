"""Telegram updates → Events. Pure.

The dispatcher's handlers hand each update's object (``Message``,
``ChatMemberUpdated``, ``ChatJoinRequest``) here with the update's id, which makes
the event's ``source_id`` (``update:{id}``, or ``update:{id}:{user}`` when one
update names several members): Telegram redelivers an unconfirmed update with the
same id, so redelivery is harmless.

Only groups and supergroups are communities: private chats (someone writing to
the bot) and channels are ignored. Service messages other than members joining
and leaving (a pinned message, a new title, a topic opened…) are skipped with a
logged reason.

Payload keys beyond the conventions of ``shequn.core.events``: a join after an
approved request names the admin who approved it (``approved_by``); a member
update says whether the member is now ``restricted`` (muted or limited) and,
when someone else made the change, who (``by``). A member update's ``title`` is
an administrator's custom title or a regular member's tag, ``""`` when they have
none, so a title taken away is cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from aiogram.types import Chat, ChatJoinRequest, ChatMemberUpdated, User
from aiogram.types import Message as TgMessage

from shequn.adapters.base import AdapterError
from shequn.adapters.telegram.message import from_text
from shequn.core import (
    Event,
    EventType,
    File,
    Image,
    Media,
    Message,
    Poll,
    Quote,
    Role,
    Segment,
    Sticker,
)
from shequn.kit.timeutil import to_utc

log = logging.getLogger(__name__)

PLATFORM = "telegram"
GROUP_CHATS = frozenset({"group", "supergroup"})

#: Content a member posts (as opposed to service messages about the chat). Media
#: without a segment of its own (a location, a contact, a dice roll…) is counted
#: as ``Media`` named by its content type.
_CONTENT = frozenset(
    {
        "text",
        "audio",
        "animation",
        "document",
        "game",
        "live_photo",
        "photo",
        "sticker",
        "video",
        "video_note",
        "voice",
        "checklist",
        "contact",
        "venue",
        "location",
        "invoice",
        "paid_media",
        "poll",
        "dice",
        "giveaway",
        "story",
    }
)
_PLAIN_MEDIA = ("voice", "video", "audio", "video_note", "animation")

_ROLE = {"creator": Role.OWNER, "administrator": Role.ADMIN}


def is_group(chat: Chat) -> bool:
    return chat.type in GROUP_CHATS


class BadUpdate(AdapterError):
    """An update that is not shaped as the Bot API describes; says which field."""


def _base(chat: Chat, source: str, source_id: str, when: datetime) -> dict[str, Any]:
    if when.tzinfo is None:  # the Bot API's dates are Unix times, never local ones
        raise BadUpdate(f"{source_id}: date {when.isoformat()} is not a Unix time")
    return {
        "platform": PLATFORM,
        "source": source,
        "source_id": source_id,
        "occurred_at": to_utc(when),
        "group": str(chat.id),
        "group_name": chat.title,
    }


def _sender(msg: TgMessage) -> tuple[str | None, str | None]:
    """Who spoke: the user, or the chat they spoke as (an anonymous admin speaks as
    the group, a linked channel as itself)."""
    if msg.sender_chat is not None:
        return str(msg.sender_chat.id), msg.sender_chat.title
    if msg.from_user is not None:
        return str(msg.from_user.id), msg.from_user.full_name
    return None, None


def _replied_to(msg: TgMessage) -> TgMessage | None:
    """The message this one replies to. A topic's messages point at the topic's
    first message as if replying to it; only a reply to anything else is a real one."""
    reply = msg.reply_to_message
    if reply is None:
        return None
    topic_root = reply.forum_topic_created is not None or (
        reply.message_id == msg.message_thread_id
    )
    return None if msg.is_topic_message and topic_root else reply


def _content_type(msg: TgMessage) -> str:
    kind = msg.content_type  # a str enum: its value is the Bot API's name
    return kind.value if isinstance(kind, Enum) else str(kind)


def _attachments(msg: TgMessage) -> list[Segment]:
    """The reply and the media of a message, in that order, before its text."""
    reply = _replied_to(msg)
    quote: list[Segment] = [Quote(str(reply.message_id))] if reply is not None else []
    out: list[Segment] = []
    if msg.photo:
        largest = msg.photo[-1]  # Telegram lists the sizes smallest first
        out.append(Image(file_id=largest.file_id, size=largest.file_size))
    if msg.sticker is not None:
        out.append(Sticker(sticker_id=msg.sticker.file_id, emoji=msg.sticker.emoji))
    for kind in _PLAIN_MEDIA:
        item = getattr(msg, kind)
        if item is not None:
            duration = getattr(item, "duration", None)
            out.append(
                Media(
                    media=kind,
                    file_id=item.file_id,
                    duration_s=float(duration) if duration is not None else None,
                )
            )
    # An animation also fills ``document`` for old clients: it is counted once.
    if msg.document is not None and msg.animation is None:
        doc = msg.document
        out.append(File(name=doc.file_name or "document", file_id=doc.file_id, size=doc.file_size))
    if msg.poll is not None:
        out.append(
            Poll(question=msg.poll.question, options=tuple(o.text for o in msg.poll.options))
        )
    kind = _content_type(msg)
    if not out and kind != "text":
        out.append(Media(media=kind))
    return quote + out


def message_events(msg: TgMessage, update_id: int, source: str) -> list[Event]:
    """The events of one group message: a ``message``, or the joins and leaves a
    service message reports. Empty for private chats and other service messages."""
    if not is_group(msg.chat):
        return []
    sid = f"update:{update_id}"
    if msg.new_chat_members:
        return _joined(msg, msg.new_chat_members, sid, source)
    if msg.left_chat_member is not None:
        return [_left(msg, msg.left_chat_member, sid, source)]
    kind = _content_type(msg)
    if kind not in _CONTENT:
        log.debug("update %s: %s service message skipped", update_id, kind)
        return []
    where = f"update {update_id}"
    text = from_text(msg.text, msg.entities, where=where) if msg.text else []
    caption = from_text(msg.caption, msg.caption_entities, where=where) if msg.caption else []
    actor, actor_name = _sender(msg)
    payload: dict[str, Any] = {"message_id": str(msg.message_id)}
    if msg.is_topic_message and msg.message_thread_id is not None:
        payload["thread_id"] = str(msg.message_thread_id)
    return [
        Event(
            type=EventType.MESSAGE,
            actor=actor,
            actor_name=actor_name,
            message=Message((*_attachments(msg), *text, *caption)),
            payload=payload,
            **_base(msg.chat, source, sid, msg.date),
        )
    ]


def _joined(msg: TgMessage, members: Sequence[User], sid: str, source: str) -> list[Event]:
    adder = msg.from_user
    out = []
    for member in members:
        payload: dict[str, Any] = {"role": Role.MEMBER.value}
        if adder is not None and adder.id != member.id:
            payload.update(via="invite", inviter=str(adder.id))
        else:
            payload["via"] = "observed"
        out.append(
            Event(
                type=EventType.JOIN,
                actor=str(member.id),
                actor_name=member.full_name,
                payload=payload,
                **_base(
                    msg.chat, source, sid if len(members) == 1 else f"{sid}:{member.id}", msg.date
                ),
            )
        )
    return out


def _left(msg: TgMessage, member: User, sid: str, source: str) -> Event:
    remover = msg.from_user
    payload = {}
    if remover is not None and remover.id != member.id:
        payload["kicked_by"] = str(remover.id)
    return Event(
        type=EventType.LEAVE,
        actor=str(member.id),
        actor_name=member.full_name,
        payload=payload,
        **_base(msg.chat, source, sid, msg.date),
    )


def _present(member: Any) -> bool:
    """Whether a chat member is in the chat: a restricted one may be or not."""
    status = member.status
    if status in ("creator", "administrator", "member"):
        return True
    return status == "restricted" and bool(getattr(member, "is_member", False))


def _role(member: Any) -> Role:
    return _ROLE.get(member.status, Role.MEMBER)


def _title(member: Any) -> str:
    """The label beside a member's name: an admin's custom title, a member's tag."""
    if member.status in ("creator", "administrator"):
        return member.custom_title or ""
    return getattr(member, "tag", None) or ""


def member_events(update: ChatMemberUpdated, update_id: int, source: str) -> list[Event]:
    """A member's status change: a join, a leave, or an update of role and title.

    How someone joined (``via``): ``request`` when an admin approved their
    request, ``link`` when they used an invite link (its name becomes
    ``entry_source``), ``invite`` when someone else added them, else
    ``observed``. A leave is a kick (``kicked_by``) when they were banned or
    someone else removed them.
    """
    if not is_group(update.chat):
        return []
    old, new = update.old_chat_member, update.new_chat_member
    user, by = new.user, update.from_user
    base = _base(update.chat, source, f"update:{update_id}", update.date)
    was, now = _present(old), _present(new)
    if not was and now:
        payload: dict[str, Any] = {"role": _role(new).value}
        if update.via_join_request:
            payload.update(via="request", approved_by=str(by.id))
        elif update.invite_link is not None:
            link = update.invite_link
            payload.update(via="link", entry_source=link.name or link.invite_link)
        elif by.id != user.id:
            payload.update(via="invite", inviter=str(by.id))
        else:
            payload["via"] = "observed"
        return [
            Event(
                EventType.JOIN,
                actor=str(user.id),
                actor_name=user.full_name,
                payload=payload,
                **base,
            )
        ]
    if was and not now:
        payload = {}
        if new.status == "kicked" or by.id != user.id:
            payload["kicked_by"] = str(by.id)
        return [
            Event(
                EventType.LEAVE,
                actor=str(user.id),
                actor_name=user.full_name,
                payload=payload,
                **base,
            )
        ]
    if was and now:
        payload = {
            "role": _role(new).value,
            "title": _title(new),
            "restricted": new.status == "restricted",
        }
        if by.id != user.id:
            payload["by"] = str(by.id)
        return [
            Event(
                EventType.MEMBER_UPDATE,
                actor=str(user.id),
                actor_name=user.full_name,
                payload=payload,
                **base,
            )
        ]
    log.debug(
        "update %s: %s → %s of someone not in the chat skipped", update_id, old.status, new.status
    )
    return []


def join_request_events(request: ChatJoinRequest, update_id: int, source: str) -> list[Event]:
    """A request to join: ``request_id`` is what approving or declining it needs
    (on Telegram, the user's id); ``answer`` is their bio, the closest Telegram has
    to a screening answer."""
    if not is_group(request.chat):
        return []
    user = request.from_user
    payload: dict[str, Any] = {"request_id": str(user.id)}
    if request.bio:
        payload["answer"] = request.bio
    if request.invite_link is not None:
        link = request.invite_link
        payload["invite_link"] = link.name or link.invite_link
    return [
        Event(
            EventType.JOIN_REQUEST,
            actor=str(user.id),
            actor_name=user.full_name,
            payload=payload,
            **_base(request.chat, source, f"update:{update_id}", request.date),
        )
    ]
