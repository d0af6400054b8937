"""WeCom payloads → Events. Pure: no network, no clock, no state.

Two payloads carry what happens in a customer group (客户群):

- the change callback (客户群变更事件, ``change_external_chat``), read by
  ``callback.py`` into a ``ChatChange``: a group was created, dismissed, renamed,
  got a new owner or notice, or members came and went;
- the group detail (``externalcontact/groupchat/get``), read here into a
  ``GroupDetail``: name, owner, notice, admins and the full member list.

A change callback names the members who came or went only when WeCom includes
``MemChangeList``; otherwise the adapter works them out from two group details and
passes them in a ``ChangeContext``. Scene codes differ between the two payloads
(WeCom's documentation): the callback's ``JoinScene`` is 0 for an invitation
(direct or by link) and 3 for the group QR code, its ``QuitScene`` 0 for leaving
and 1 for removal by the owner or an admin; the detail's ``join_scene`` is 1 for
a direct invitation, 2 for an invitation link and 3 for the QR code.

Source ids are stable composites so that a re-delivered callback or a repeated
sync is stored once: ``{chat}:{user}:join:{ts}`` with the member's join time
where WeCom gives it (the event time otherwise), ``{chat}:{user}:leave:{ts}``,
``{chat}:{change}:{ts}`` for group changes and ``{chat}:snapshot:{digest}`` for a
group state first seen by a sync.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shequn.core import Event, EventType, Role
from shequn.kit.timeutil import from_timestamp

PLATFORM = "wecom"

log = logging.getLogger(__name__)

#: The callback's JoinScene.
CALLBACK_JOIN_VIA = {0: "invite", 3: "qrcode"}
#: The group detail's join_scene.
DETAIL_JOIN_VIA = {1: "invite", 2: "link", 3: "qrcode"}
#: The callback's QuitScene for a member removed by the owner or an admin.
QUIT_REMOVED = 1
#: The group detail's member type.
MEMBER_TYPES = {1: "employee", 2: "external"}

MEMBER_CHANGES = frozenset({"add_member", "del_member"})
GROUP_CHANGES = frozenset({"change_owner", "change_name", "change_notice"})

#: Unix times WeCom could plausibly send (2000-01-01 … 2100-01-01).
_EARLIEST, _LATEST = 946_684_800, 4_102_444_800


class BadPayload(ValueError):
    """A WeCom payload that cannot be read; the message names the field and the payload."""


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a customer group, as the group detail lists them."""

    userid: str
    member_type: str | None = None
    joined_at: datetime | None = None
    via: str | None = None
    inviter: str | None = None
    name: str | None = None
    nickname: str | None = None
    unionid: str | None = None
    state: str | None = None

    @property
    def display_name(self) -> str | None:
        return self.nickname or self.name


@dataclass(frozen=True, slots=True)
class GroupDetail:
    """A customer group's state at one moment (``groupchat/get``)."""

    chat_id: str
    name: str | None
    owner: str | None
    notice: str | None
    created_at: datetime | None
    admins: tuple[str, ...]
    members: tuple[Member, ...]
    member_version: str | None

    def member(self, userid: str) -> Member | None:
        for member in self.members:
            if member.userid == userid:
                return member
        return None

    @property
    def member_ids(self) -> frozenset[str]:
        return frozenset(m.userid for m in self.members)

    def role_of(self, userid: str) -> Role:
        if userid == self.owner:
            return Role.OWNER
        return Role.ADMIN if userid in self.admins else Role.MEMBER

    def fields(self) -> dict[str, Any]:
        """What a GROUP_UPDATE says about the group (JSON-ready)."""
        out: dict[str, Any] = {
            "name": self.name,
            "owner": self.owner,
            "notice": self.notice,
            "admins": list(self.admins),
            "member_count": len(self.members),
        }
        if self.created_at is not None:
            out["created_at"] = self.created_at.isoformat()
        if self.member_version is not None:
            out["member_version"] = self.member_version
        return out

    @property
    def digest(self) -> str:
        """A short fingerprint of the group's state, for snapshot source ids."""
        parts = [
            self.name or "",
            self.owner or "",
            self.notice or "",
            ",".join(sorted(self.admins)),
            ",".join(sorted(self.member_ids)),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ChatChange:
    """One ``change_external_chat`` callback, read but not yet interpreted."""

    chat_id: str
    change_type: str
    update_detail: str | None
    occurred_at: datetime
    join_scene: int | None = None
    quit_scene: int | None = None
    member_count: int | None = None
    #: ``MemChangeList`` when WeCom sent it; ``None`` when it did not.
    members: tuple[str, ...] | None = None
    last_version: str | None = None
    current_version: str | None = None

    @property
    def kind(self) -> str:
        """``create``, ``dismiss`` or the update's detail (``add_member``…)."""
        if self.change_type == "update" and self.update_detail:
            return self.update_detail
        return self.change_type

    @property
    def timestamp(self) -> int:
        return int(self.occurred_at.timestamp())


@dataclass(frozen=True, slots=True)
class ChangeContext:
    """What the adapter learned around a change that the callback itself did not say.

    ``members``: who came or went, when ``MemChangeList`` was absent; ``owner``: the
    group's owner (who WeCom's removals are attributed to); ``before`` / ``after``:
    the group as last known and as fetched after the change.
    """

    members: tuple[str, ...] | None = None
    owner: str | None = None
    before: GroupDetail | None = None
    after: GroupDetail | None = None


# -- reading payload values ----------------------------------------------------------


def when(value: Any, what: str) -> datetime:
    """A Unix time in seconds as an aware UTC datetime; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadPayload(f"{what}: {value!r} is not a Unix time")
    try:
        seconds = int(value)
    except ValueError:
        raise BadPayload(f"{what}: {value!r} is not a Unix time") from None
    if not _EARLIEST <= seconds <= _LATEST:
        raise BadPayload(f"{what}: {seconds} is out of range for a Unix time")
    return from_timestamp(seconds)


def _text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{where}: {key} is {type(value).__name__}, not a string")
    return value


def _required(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(data, key, where)
    if value is None:
        raise BadPayload(f"{where}: {key} is missing")
    return value


def _int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadPayload(f"{where}: {key} is {value!r}, not an integer")
    return value


def _member(raw: Any, where: str) -> Member:
    if not isinstance(raw, Mapping):
        raise BadPayload(f"{where}: a member is {type(raw).__name__}, not an object")
    userid = _required(raw, "userid", where)
    at = f"{where} member {userid}"
    invitor = raw.get("invitor")
    if invitor is not None and not isinstance(invitor, Mapping):
        raise BadPayload(f"{at}: invitor is not an object")
    join_time = raw.get("join_time")
    member_type = _int(raw, "type", at)
    join_scene = _int(raw, "join_scene", at)
    return Member(
        userid=userid,
        member_type=MEMBER_TYPES.get(member_type) if member_type is not None else None,
        joined_at=when(join_time, f"{at}: join_time") if join_time is not None else None,
        via=DETAIL_JOIN_VIA.get(join_scene) if join_scene is not None else None,
        inviter=_text(invitor, "userid", f"{at} invitor") if invitor else None,
        name=_text(raw, "name", at),
        nickname=_text(raw, "group_nickname", at),
        unionid=_text(raw, "unionid", at),
        state=_text(raw, "state", at),
    )


def parse_group_detail(data: Any) -> GroupDetail:
    """Read the ``group_chat`` object of a ``groupchat/get`` answer."""
    if not isinstance(data, Mapping):
        raise BadPayload(f"group_chat is {type(data).__name__}, not an object")
    chat_id = _required(data, "chat_id", "group_chat")
    where = f"group_chat {chat_id}"
    members_raw = data.get("member_list") or []
    if not isinstance(members_raw, list):
        raise BadPayload(f"{where}: member_list is not a list")
    admins_raw = data.get("admin_list") or []
    if not isinstance(admins_raw, list):
        raise BadPayload(f"{where}: admin_list is not a list")
    admins: list[str] = []
    for admin in admins_raw:
        if not isinstance(admin, Mapping):
            raise BadPayload(f"{where}: an admin is not an object")
        admins.append(_required(admin, "userid", f"{where} admin_list"))
    created = data.get("create_time")
    members: dict[str, Member] = {}
    for raw in members_raw:
        member = _member(raw, where)
        members.setdefault(member.userid, member)
    return GroupDetail(
        chat_id=chat_id,
        name=_text(data, "name", where),
        owner=_text(data, "owner", where),
        notice=_text(data, "notice", where),
        created_at=when(created, f"{where}: create_time") if created is not None else None,
        admins=tuple(admins),
        members=tuple(members.values()),
        member_version=_text(data, "member_version", where),
    )


# -- building events -----------------------------------------------------------------


def _join(
    source: str,
    chat_id: str,
    group_name: str | None,
    userid: str,
    *,
    at: datetime,
    via: str,
    role: Role,
    member: Member | None,
    extra: Mapping[str, Any] | None = None,
) -> Event:
    joined_at = member.joined_at if member is not None and member.joined_at else at
    payload: dict[str, Any] = {"role": role.value, "via": via}
    if member is not None:
        if member.inviter:
            payload["inviter"] = member.inviter
        if member.member_type:
            payload["member_type"] = member.member_type
        if member.state:
            payload["entry_source"] = member.state
        if member.unionid:
            payload["unionid"] = member.unionid
    if extra:
        payload.update(extra)
    return Event(
        type=EventType.JOIN,
        platform=PLATFORM,
        source=source,
        source_id=f"{chat_id}:{userid}:join:{int(joined_at.timestamp())}",
        occurred_at=joined_at,
        group=chat_id,
        group_name=group_name,
        actor=userid,
        actor_name=member.display_name if member is not None else None,
        payload=payload,
    )


def _leave(
    source: str,
    chat_id: str,
    group_name: str | None,
    userid: str,
    *,
    at: datetime,
    stamp: str,
    member: Member | None,
    payload: Mapping[str, Any],
) -> Event:
    return Event(
        type=EventType.LEAVE,
        platform=PLATFORM,
        source=source,
        source_id=f"{chat_id}:{userid}:leave:{stamp}",
        occurred_at=at,
        group=chat_id,
        group_name=group_name,
        actor=userid,
        actor_name=member.display_name if member is not None else None,
        payload=dict(payload),
    )


def _group_update(
    source: str, source_id: str, chat_id: str, group_name: str | None, at: datetime, payload: dict
) -> Event:
    return Event(
        type=EventType.GROUP_UPDATE,
        platform=PLATFORM,
        source=source,
        source_id=source_id,
        occurred_at=at,
        group=chat_id,
        group_name=group_name,
        payload=payload,
    )


def change_events(
    change: ChatChange, source: str, context: ChangeContext | None = None
) -> list[Event]:
    """The events one change callback stands for.

    Without a context only what the callback says is used: a member change without
    ``MemChangeList`` then becomes one GROUP_UPDATE saying how many members changed
    (``members_unknown``) rather than JOIN / LEAVE events for guessed members.
    """
    context = context or ChangeContext()
    after, before = context.after, context.before
    known = after or before
    group_name = known.name if known is not None else None
    chat, ts, at = change.chat_id, change.timestamp, change.occurred_at
    kind = change.kind

    if change.change_type == "create":
        payload: dict[str, Any] = {"change": "create", "created": True}
        if after is not None:
            payload.update(after.fields())
        events = [_group_update(source, f"{chat}:create:{ts}", chat, group_name, at, payload)]
        if after is not None:
            events.extend(
                _join(
                    source,
                    chat,
                    group_name,
                    m.userid,
                    at=at,
                    via=m.via or "invite",
                    role=after.role_of(m.userid),
                    member=m,
                )
                for m in after.members
            )
        return events

    if change.change_type == "dismiss":
        payload = {"change": "dismiss", "dismissed": True}
        return [_group_update(source, f"{chat}:dismiss:{ts}", chat, group_name, at, payload)]

    if change.change_type != "update":
        log.warning("wecom: skipping change_external_chat %s: unknown ChangeType %r", chat, kind)
        return []

    if kind in MEMBER_CHANGES:
        members = change.members if change.members is not None else context.members
        if members is None:
            payload = {"change": kind, "members_unknown": True}
            if change.member_count is not None:
                payload["member_change_count"] = change.member_count
            return [_group_update(source, f"{chat}:{kind}:{ts}", chat, group_name, at, payload)]
        if kind == "add_member":
            scene = change.join_scene
            via = CALLBACK_JOIN_VIA.get(scene) if scene is not None else None
            return [
                _join(
                    source,
                    chat,
                    group_name,
                    userid,
                    at=at,
                    via=via or _detail_via(after, userid) or "observed",
                    role=after.role_of(userid) if after is not None else Role.MEMBER,
                    member=after.member(userid) if after is not None else None,
                )
                for userid in members
            ]
        owner = context.owner or (known.owner if known is not None else None)
        removed = change.quit_scene == QUIT_REMOVED
        leave_payload: dict[str, Any] = {"removed": removed}
        if change.quit_scene is not None:
            leave_payload["quit_scene"] = change.quit_scene
        if removed and owner:
            # WeCom does not say who removed a member; its owner is the one who can.
            leave_payload["kicked_by"] = owner
        return [
            _leave(
                source,
                chat,
                group_name,
                userid,
                at=at,
                stamp=str(ts),
                member=before.member(userid) if before is not None else None,
                payload=leave_payload,
            )
            for userid in members
        ]

    payload = {"change": kind}
    if kind not in GROUP_CHANGES:
        log.info("wecom: change_external_chat %s has an unfamiliar UpdateDetail %r", chat, kind)
    if after is not None:
        payload.update(after.fields())
    return [_group_update(source, f"{chat}:{kind}:{ts}", chat, group_name, at, payload)]


def _detail_via(detail: GroupDetail | None, userid: str) -> str | None:
    member = detail.member(userid) if detail is not None else None
    return member.via if member is not None else None


def snapshot_events(
    detail: GroupDetail, source: str, before: GroupDetail | None, observed_at: datetime
) -> list[Event]:
    """What a sync learns from one group's detail, against what was known before.

    A GROUP_UPDATE when the group is new or its name, owner, notice or admins
    changed; a JOIN for each member not seen before; a LEAVE (``observed``) for each
    member who is gone without a callback having said so.
    """
    chat, name = detail.chat_id, detail.name
    events: list[Event] = []
    if before is None or _group_state(before) != _group_state(detail):
        payload = {"change": "snapshot", **detail.fields()}
        events.append(
            _group_update(
                source, f"{chat}:snapshot:{detail.digest}", chat, name, observed_at, payload
            )
        )
    seen = before.member_ids if before is not None else frozenset()
    events.extend(
        _join(
            source,
            chat,
            name,
            m.userid,
            at=observed_at,
            via=m.via or "observed",
            role=detail.role_of(m.userid),
            member=m,
        )
        for m in detail.members
        if m.userid not in seen
    )
    if before is not None:
        stamp = detail.member_version or str(int(observed_at.timestamp()))
        events.extend(
            _leave(
                source,
                chat,
                name,
                m.userid,
                at=observed_at,
                stamp=stamp,
                member=m,
                payload={"observed": True},
            )
            for m in before.members
            if m.userid not in detail.member_ids
        )
    return events


def _group_state(detail: GroupDetail) -> tuple[Any, ...]:
    return (detail.name, detail.owner, detail.notice, frozenset(detail.admins))


def recent_joiners(detail: GroupDetail, around: datetime, count: int) -> tuple[str, ...]:
    """The ``count`` members whose join time is nearest after ``around`` minus a
    minute's slack: how a join is attributed when the callback named nobody and no
    earlier roster exists to compare with. Empty when no join time fits."""
    slack = 60
    earliest = around.timestamp() - slack
    fitting = [
        m for m in detail.members if m.joined_at is not None and m.joined_at.timestamp() >= earliest
    ]
    fitting.sort(key=lambda m: m.joined_at or around, reverse=True)
    return tuple(m.userid for m in fitting[: max(count, 0)])


def without(detail: GroupDetail, userids: Iterable[str]) -> GroupDetail:
    """The group as it is once ``userids`` left."""
    gone = set(userids)
    return replace(detail, members=tuple(m for m in detail.members if m.userid not in gone))


def with_members(detail: GroupDetail, members: Iterable[Member]) -> GroupDetail:
    """The group as it is once ``members`` joined (those already in it are kept)."""
    present = detail.member_ids
    added = tuple(m for m in members if m.userid not in present)
    return replace(detail, members=detail.members + added)
