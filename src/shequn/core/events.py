"""Events: everything that happens in a community, from any source.

Adapters (live), importers (history), the web API and the scheduler all emit
the same ``Event``; it is stored once, keyed by ``(source, source_id)``, and
then handed to the features. Platform ids (``group``, ``actor``) stay strings
as the platform wrote them; the store maps them to shequn's groups and members.

Payload conventions per type (all keys optional unless noted):

====================  ===========================================================
``message``           ``message`` field carries the segments; payload may hold
                      ``message_id`` (platform id, for replies / deletes)
``join``              ``role`` (owner/admin/member), ``via`` (invite, link,
                      request, import, observed…), ``inviter``, ``entry_source``
``leave``             ``kicked_by`` (an account id: a kick, not a departure)
``join_request``      ``answer`` (screening answer), ``invite_code``
``reaction``          ``target`` (message id), ``emoji``
``recall``            ``target`` (message id), ``by``
``member_update``     any of ``role``, ``title``, ``card``, ``name``
``checkin``           ``streak_key``
``purchase``          ``order_id`` (required), ``amount``, ``currency``, ``product``
``attend``            ``session`` (required), ``title``
``read``              ``article`` (required), ``url``
``tick``              ``job`` (the scheduler's job name)
====================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shequn.core.message import Message


class EventType(StrEnum):
    MESSAGE = "message"
    JOIN = "join"
    LEAVE = "leave"
    JOIN_REQUEST = "join_request"
    REACTION = "reaction"
    RECALL = "recall"
    MEMBER_UPDATE = "member_update"
    GROUP_UPDATE = "group_update"
    CHECKIN = "checkin"
    PURCHASE = "purchase"
    ATTEND = "attend"
    READ = "read"
    TICK = "tick"
    CUSTOM = "custom"


class Role(StrEnum):
    """A member's standing in one group; titles (班长, 字幕侠…) are free text beside it."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def rank(self) -> int:
        return {Role.OWNER: 2, Role.ADMIN: 1, Role.MEMBER: 0}[self]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened, as a source reported it.

    ``source`` names the stream the event came from (``sim:7``,
    ``telegram-export:123``, ``matrix:@bot:example.org``) and ``source_id`` is
    unique within it: together they make re-delivery and re-import harmless.
    """

    type: EventType
    platform: str
    source: str
    source_id: str
    occurred_at: datetime
    group: str | None = None
    group_name: str | None = None
    actor: str | None = None
    actor_name: str | None = None
    message: Message | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.source_id)

    @property
    def text(self) -> str:
        return self.message.plain_text() if self.message is not None else ""

    def with_(self, **changes: Any) -> Event:
        return replace(self, **changes)
