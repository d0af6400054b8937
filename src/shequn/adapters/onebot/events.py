"""OneBot v11 event frames → Events. Pure: no network, no clock, no state.

A bridge posts four kinds of frame (``post_type``): ``message``, ``notice``,
``request`` and ``meta_event``. What shequn reads:

==========================  ====================================================
``message`` / ``group``     MESSAGE; ``actor_name`` is the group card, else the
                            nickname; payload ``message_id``, ``role``, ``title``
                            (the special title) and ``anonymous`` when so sent
``notice.group_increase``   JOIN; ``via`` ``request`` (sub_type approve) or
                            ``invite`` with the ``inviter``
``notice.group_decrease``   LEAVE; a kick (``kick``, or ``kick_me`` for the bot)
                            carries ``kicked_by``
``notice.group_ban``        MEMBER_UPDATE with ``muted_until`` (ISO, UTC) or
                            ``unmuted: true``; ``user_id`` 0 is the whole group,
                            a GROUP_UPDATE with ``muted_all``
``notice.group_admin``      MEMBER_UPDATE with the new ``role``
``notice.group_recall``     RECALL with ``target`` and ``by``
``request.group``           JOIN_REQUEST with ``answer`` (the comment),
                            ``request_id`` (the flag) and ``sub_type``
==========================  ====================================================

Everything else is read as nothing (``None``): private messages (shequn works in
groups; a private chat is not a community event), the bot's own messages echoed
back (``message_sent``), group system notices (``sub_type`` notice), friend
requests and other notices (pokes, uploads, honours), and ``meta_event`` frames,
which the connection consumes itself (heartbeat, lifecycle).

``time`` is Unix seconds; ids arrive as numbers or strings and are kept as
strings. Source ids are stable composites of the frame's own fields, so a frame
delivered twice is stored once: ``msg:{message_id}``,
``{group}:{user}:join:{time}``, ``{group}:{user}:leave:{time}``,
``{group}:{user}:ban:{time}:{duration}``, ``{group}:{user}:admin:{sub_type}:{time}``,
``{group}:recall:{message_id}`` and ``{group}:{user}:request:{flag}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from shequn.adapters.onebot.message import BadMessage, from_platform
from shequn.core import Event, EventType, Role
from shequn.kit.timeutil import from_timestamp

PLATFORM = "onebot"

#: Unix times a bridge could plausibly send (2000-01-01 … 2100-01-01).
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800
_ROLES = {"owner": Role.OWNER, "admin": Role.ADMIN, "member": Role.MEMBER}


class BadPayload(ValueError):
    """A OneBot frame that cannot be read; the message names the field and the frame."""


def describe(frame: Mapping[str, Any]) -> str:
    """A short name for a frame in error messages and logs (never its content)."""
    parts = [
        str(frame.get(key))[:32]
        for key in ("post_type", "message_type", "notice_type", "request_type", "sub_type")
        if isinstance(frame.get(key), str)
    ]
    for key in ("message_id", "group_id", "user_id", "time"):
        value = frame.get(key)
        if isinstance(value, int | str) and not isinstance(value, bool):
            parts.append(f"{key}={str(value)[:32]}")
    return " ".join(parts) or "frame"


class _Reader:
    """Typed field access on one frame; every failure names the field and the frame."""

    def __init__(self, frame: Mapping[str, Any]) -> None:
        self.frame = frame

    def fail(self, field: str, problem: str) -> BadPayload:
        return BadPayload(f"{describe(self.frame)}: {field} {problem}")

    def id(self, field: str) -> str:
        value = self.frame.get(field)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.fail(field, "is missing or not an id")
        text = str(value).strip()
        if not text or len(text) > 64:
            raise self.fail(field, "is empty or too long to be an id")
        return text

    def optional_id(self, field: str) -> str | None:
        """An id the frame may leave out; ``0`` is how OneBot writes "nobody"."""
        if self.frame.get(field) is None:
            return None
        value = self.id(field)
        return None if value == "0" else value

    def text(self, field: str) -> str | None:
        value = self.frame.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(field, "is not text")
        return value

    def time(self) -> datetime:
        value = self.frame.get("time")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail("time", "is missing or not a number")
        if not _EARLIEST <= value <= _LATEST:
            raise self.fail("time", f"{value} is not a plausible Unix time")
        return from_timestamp(value)

    def seconds(self, field: str) -> int:
        value = self.frame.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(field, "is not a whole number of seconds")
        return value


def to_event(frame: Mapping[str, Any], account: str) -> Event | None:
    """The Event a frame stands for, or None when shequn does not read it.

    Raises ``BadPayload`` when a frame shequn reads lacks a field it needs or
    holds one of the wrong type.
    """
    post_type = frame.get("post_type")
    if post_type == "message":
        return _message(frame, account)
    if post_type == "notice":
        return _notice(frame, account)
    if post_type == "request":
        return _request(frame, account)
    if isinstance(post_type, str):
        return None
    raise BadPayload(f"{describe(frame)}: post_type is missing or not text")


def _base(read: _Reader, account: str, type_: EventType, source_id: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": type_,
        "platform": PLATFORM,
        "source": f"{PLATFORM}:{account}",
        "source_id": source_id,
        "occurred_at": read.time(),
        "group": read.id("group_id"),
    }
    group_name = read.text("group_name")
    if group_name:
        base["group_name"] = group_name
    return base


def _message(frame: Mapping[str, Any], account: str) -> Event | None:
    if frame.get("message_type") != "group" or frame.get("sub_type") == "notice":
        return None
    read = _Reader(frame)
    message_id = read.id("message_id")
    base = _base(read, account, EventType.MESSAGE, f"msg:{message_id}")
    sender = frame.get("sender")
    if sender is None:
        sender = {}
    if not isinstance(sender, Mapping):
        raise read.fail("sender", "is not an object")
    name_of = _Reader(sender)
    payload: dict[str, Any] = {"message_id": message_id}
    name = name_of.text("card") or name_of.text("nickname")
    role = sender.get("role")
    if isinstance(role, str) and role in _ROLES:
        payload["role"] = _ROLES[role].value
    title = name_of.text("title")
    if title:
        payload["title"] = title
    anonymous = frame.get("anonymous")
    if isinstance(anonymous, Mapping):
        anonymous_name = _Reader(anonymous).text("name")
        payload["anonymous"] = True
        name = anonymous_name or name
    try:
        message = from_platform(frame.get("message"))
    except BadMessage as exc:
        raise read.fail("message", f"is malformed: {exc}") from None
    return Event(
        **base,
        actor=read.id("user_id"),
        actor_name=name or None,
        message=message,
        payload=payload,
    )


def _notice(frame: Mapping[str, Any], account: str) -> Event | None:
    notice_type = frame.get("notice_type")
    read = _Reader(frame)
    if notice_type == "group_increase":
        user = read.id("user_id")
        operator = read.optional_id("operator_id")
        when = read.time()
        payload: dict[str, Any] = {"role": Role.MEMBER.value}
        if frame.get("sub_type") == "invite":
            payload["via"] = "invite"
            if operator is not None and operator != user:
                payload["inviter"] = operator
        else:
            payload["via"] = "request"
            if operator is not None and operator != user:
                payload["approved_by"] = operator
        group = read.id("group_id")
        base = _base(read, account, EventType.JOIN, f"{group}:{user}:join:{_stamp(when)}")
        return Event(**base, actor=user, payload=payload)
    if notice_type == "group_decrease":
        user = read.id("user_id")
        group = read.id("group_id")
        stamp = _stamp(read.time())
        payload = {"sub_type": read.text("sub_type") or "leave"}
        if payload["sub_type"] in ("kick", "kick_me"):
            kicker = read.optional_id("operator_id")
            if kicker is None:
                raise read.fail("operator_id", "is missing on a kick")
            payload["kicked_by"] = kicker
        base = _base(read, account, EventType.LEAVE, f"{group}:{user}:leave:{stamp}")
        return Event(**base, actor=user, payload=payload)
    if notice_type == "group_ban":
        return _ban(read, account)
    if notice_type == "group_admin":
        user = read.id("user_id")
        group = read.id("group_id")
        sub_type = read.text("sub_type")
        if sub_type not in ("set", "unset"):
            raise read.fail("sub_type", "is neither set nor unset")
        role = Role.ADMIN if sub_type == "set" else Role.MEMBER
        source_id = f"{group}:{user}:admin:{sub_type}:{_stamp(read.time())}"
        base = _base(read, account, EventType.MEMBER_UPDATE, source_id)
        return Event(**base, actor=user, payload={"role": role.value})
    if notice_type == "group_recall":
        group = read.id("group_id")
        target = read.id("message_id")
        payload = {"target": target}
        by = read.optional_id("operator_id")
        if by is not None:
            payload["by"] = by
        base = _base(read, account, EventType.RECALL, f"{group}:recall:{target}")
        return Event(**base, actor=read.id("user_id"), payload=payload)
    if isinstance(notice_type, str):
        return None
    raise read.fail("notice_type", "is missing or not text")


def _ban(read: _Reader, account: str) -> Event:
    group = read.id("group_id")
    user = read.optional_id("user_id")
    when = read.time()
    duration = read.seconds("duration")
    operator = read.optional_id("operator_id")
    lifted = read.text("sub_type") == "lift_ban" or duration == 0
    stamp = _stamp(when)
    if user is None:
        payload: dict[str, Any] = {"muted_all": not lifted}
        if operator is not None:
            payload["by"] = operator
        source_id = f"{group}:all:ban:{stamp}:{0 if lifted else duration}"
        return Event(**_base(read, account, EventType.GROUP_UPDATE, source_id), payload=payload)
    if lifted:
        payload = {"unmuted": True}
        source_id = f"{group}:{user}:ban:{stamp}:0"
    else:
        payload = {"muted_until": (when + timedelta(seconds=duration)).isoformat()}
        source_id = f"{group}:{user}:ban:{stamp}:{duration}"
    if operator is not None:
        payload["by"] = operator
    base = _base(read, account, EventType.MEMBER_UPDATE, source_id)
    return Event(**base, actor=user, payload=payload)


def _request(frame: Mapping[str, Any], account: str) -> Event | None:
    if frame.get("request_type") != "group":
        return None
    read = _Reader(frame)
    user = read.id("user_id")
    group = read.id("group_id")
    flag = read.text("flag")
    if not flag:
        raise read.fail("flag", "is missing")
    sub_type = read.text("sub_type")
    if sub_type not in ("add", "invite"):
        raise read.fail("sub_type", "is neither add nor invite")
    payload: dict[str, Any] = {
        "answer": read.text("comment") or "",
        "request_id": flag,
        "sub_type": sub_type,
    }
    inviter = read.optional_id("invitor_id")
    if inviter is not None:
        payload["inviter"] = inviter
    base = _base(read, account, EventType.JOIN_REQUEST, f"{group}:{user}:request:{flag}")
    return Event(**base, actor=user, payload=payload)


def _stamp(when: datetime) -> str:
    """The event time as it appears in source ids: whole seconds, as the frame had it."""
    return str(int(when.timestamp()))
