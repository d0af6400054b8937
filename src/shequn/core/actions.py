"""Actions: what features decide to do, carried out later by the dispatcher.

A feature returns ``Action`` values and never performs them itself; they are
written to the outbox in the same transaction as the event that caused them,
so an action is never lost and never done twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from shequn.core.message import Message
from shequn.kit.errors import InvalidAction


class ActionType(StrEnum):
    SEND_MESSAGE = "send_message"
    DIRECT_MESSAGE = "direct_message"
    REPLY = "reply"
    DELETE_MESSAGE = "delete_message"
    PIN_MESSAGE = "pin_message"
    MUTE = "mute"
    UNMUTE = "unmute"
    MUTE_ALL = "mute_all"
    UNMUTE_ALL = "unmute_all"
    KICK = "kick"
    BAN = "ban"
    UNBAN = "unban"
    APPROVE_JOIN = "approve_join"
    REJECT_JOIN = "reject_join"
    INVITE = "invite"
    SET_TITLE = "set_title"
    SET_CARD = "set_card"
    SET_ROLE = "set_role"
    NOTIFY_OPERATOR = "notify_operator"
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    ADD_POINTS = "add_points"
    #: A new group named ``name`` (a Matrix room; on WeCom a join way that opens groups).
    CREATE_GROUP = "create_group"


#: Actions shequn carries out on its own data; no platform is involved.
INTERNAL = frozenset(
    {ActionType.NOTIFY_OPERATOR, ActionType.ADD_TAG, ActionType.REMOVE_TAG, ActionType.ADD_POINTS}
)

#: The fields each action type cannot do without.
_REQUIRED: dict[ActionType, tuple[str, ...]] = {
    ActionType.SEND_MESSAGE: ("group", "message"),
    ActionType.DIRECT_MESSAGE: ("user", "message"),
    ActionType.REPLY: ("group", "message", "target_message"),
    ActionType.DELETE_MESSAGE: ("group", "target_message"),
    ActionType.PIN_MESSAGE: ("group", "target_message"),
    ActionType.MUTE: ("group", "user", "duration"),
    ActionType.UNMUTE: ("group", "user"),
    ActionType.MUTE_ALL: ("group",),
    ActionType.UNMUTE_ALL: ("group",),
    ActionType.KICK: ("group", "user"),
    ActionType.BAN: ("group", "user"),
    ActionType.UNBAN: ("group", "user"),
    ActionType.APPROVE_JOIN: ("group", "user"),
    ActionType.REJECT_JOIN: ("group", "user"),
    ActionType.INVITE: ("group", "user"),
    ActionType.SET_TITLE: ("group", "user"),
    ActionType.SET_CARD: ("group", "user"),
    ActionType.SET_ROLE: ("group", "user"),
    ActionType.NOTIFY_OPERATOR: ("message",),
    ActionType.ADD_TAG: ("member_id",),
    ActionType.REMOVE_TAG: ("member_id",),
    ActionType.ADD_POINTS: ("member_id",),
    ActionType.CREATE_GROUP: ("name",),
}


def _absent(value: Any) -> bool:
    # An empty Message is as good as none: there would be nothing to send.
    return value is None or value == "" or (isinstance(value, Message) and not value)


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do. Platform targets are platform ids, as in events.

    ``key`` is the idempotency key; the ingest pipeline derives one from the
    causing event when a feature leaves it empty.
    """

    type: ActionType
    platform: str | None = None
    group: str | None = None
    user: str | None = None
    member_id: int | None = None
    message: Message | None = None
    target_message: str | None = None
    duration: timedelta | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    key: str | None = None
    #: The name of what the action makes (CREATE_GROUP: the new group's name).
    name: str | None = None

    def __post_init__(self) -> None:
        missing = [name for name in _REQUIRED[self.type] if _absent(getattr(self, name))]
        if missing:
            raise InvalidAction(f"{self.type.value} needs {', '.join(missing)}")
        if self.duration is not None and self.duration <= timedelta(0):
            raise InvalidAction(f"{self.type.value}: duration must be positive")

    @property
    def internal(self) -> bool:
        return self.type in INTERNAL

    def with_key(self, key: str) -> Action:
        return replace(self, key=key)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the outbox."""
        out: dict[str, Any] = {"type": self.type.value}
        for name in (
            "platform",
            "group",
            "user",
            "member_id",
            "target_message",
            "reason",
            "key",
            "name",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.message is not None:
            out["message"] = self.message.to_list()
        if self.duration is not None:
            out["duration_s"] = self.duration.total_seconds()
        if self.params:
            out["params"] = dict(self.params)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        values = dict(data)
        values["type"] = ActionType(values["type"])
        if "message" in values:
            values["message"] = Message.from_list(values["message"])
        if "duration_s" in values:
            values["duration"] = timedelta(seconds=values.pop("duration_s"))
        return cls(**values)
