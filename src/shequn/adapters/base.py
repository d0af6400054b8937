"""The Adapter protocol: what shequn needs from a chat platform, and nothing more.

An adapter turns one bot account on one platform into a stream of ``Event`` values
and carries out ``Action`` values there. Everything else — which community an
event belongs to, what to do about it, when to try again — lives above it, so an
adapter is a thin, testable translation layer:

- ``connect`` / ``disconnect`` open and close the platform connection;
- ``events()`` yields what happens until the connection ends (``ConnectionLost``
  when it ends on its own, so the supervisor reconnects with backoff);
- ``perform(action)`` does one action and returns ``Done``, or raises
  ``TransientFailure`` (try again later), ``PermanentFailure`` (never will work,
  with the reason) or ``Unsupported`` (the platform cannot do this at all);
- ``reconcile(action)`` answers, after a crash, whether an action whose outcome
  was never recorded actually happened, where the platform lets one ask;
- ``capabilities`` says which action types the platform supports, ``why_not`` why
  the others are missing, ``repeatable`` which ones are safe to perform again when
  their outcome is unknown, and ``limits`` the platform's rate limits.

Every adapter package has the same files: ``adapter.py`` (the class),
``events.py`` (platform payloads → ``Event``), ``actions.py`` (``Action`` → platform
calls), ``message.py`` (segments ↔ the platform's message format), ``config.py``
(its settings), and a folder of recorded payloads under ``tests/adapters/<name>``.
Adapters import ``core`` and ``kit`` only, never each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from shequn.core import Action, ActionType, Event
from shequn.kit.errors import ShequnError

#: Actions that set a state rather than add something: doing one twice leaves the
#: platform as doing it once did, so one whose outcome is unknown may be repeated.
STATE_SETTING = frozenset(
    {
        ActionType.DELETE_MESSAGE,
        ActionType.PIN_MESSAGE,
        ActionType.MUTE,
        ActionType.UNMUTE,
        ActionType.MUTE_ALL,
        ActionType.UNMUTE_ALL,
        ActionType.KICK,
        ActionType.BAN,
        ActionType.UNBAN,
        ActionType.APPROVE_JOIN,
        ActionType.REJECT_JOIN,
        ActionType.SET_TITLE,
        ActionType.SET_CARD,
        ActionType.SET_ROLE,
    }
)


class AdapterError(ShequnError):
    """Base of every adapter failure."""


class ConnectionLost(AdapterError):
    """The platform connection ended without being asked to; reconnecting may help."""


class ActionFailed(AdapterError):
    """An action did not happen. ``reason`` is shown to the operator as it is."""

    transient: ClassVar[bool] = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(ActionFailed):
    """Worth trying again: a timeout, a 5xx, a rate limit (``retry_after`` seconds,
    when the platform said how long to wait)."""

    transient = True

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentFailure(ActionFailed):
    """Will never work as asked: no permission, an unknown group, a message gone."""


class Unsupported(PermanentFailure):
    """The platform cannot do this kind of action at all."""


@dataclass(frozen=True, slots=True)
class Done:
    """What the platform answered when an action succeeded: the id of what it made (a
    sent message), a link to it where the platform gives one, and anything else worth
    keeping in the outbox row."""

    platform_id: str | None = None
    url: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.platform_id is not None:
            out["platform_id"] = self.platform_id
        if self.url is not None:
            out["url"] = self.url
        if self.details:
            out["details"] = dict(self.details)
        return out


class Outcome(StrEnum):
    DONE = "done"  # it happened: record it, do not repeat it
    ABSENT = "absent"  # it did not happen: safe to perform
    UNKNOWN = "unknown"  # the platform cannot say


@dataclass(frozen=True, slots=True)
class Reconciled:
    outcome: Outcome
    done: Done | None = None


UNKNOWN = Reconciled(Outcome.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket: ``rate`` actions per second on average, bursts up to ``burst``."""

    rate: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least 1")

    @classmethod
    def per_minute(cls, n: int, *, burst: int | None = None) -> Bucket:
        return cls(n / 60, burst if burst is not None else n)

    @classmethod
    def per_second(cls, n: float, *, burst: int | None = None) -> Bucket:
        return cls(n, burst if burst is not None else max(1, int(n)))


@dataclass(frozen=True, slots=True)
class Limits:
    """A platform's rate limits for one bot account: per group it acts in, and for
    the account as a whole. ``None`` means the platform sets none worth keeping."""

    per_group: Bucket | None = None
    per_account: Bucket | None = None


@runtime_checkable
class Adapter(Protocol):
    #: The platform's name as events carry it: ``sim``, ``matrix``, ``telegram``…
    platform: str
    #: The bot account's id on the platform; events' ``source`` is ``platform:account``.
    account: str
    capabilities: frozenset[ActionType]
    why_not: Mapping[ActionType, str]
    repeatable: frozenset[ActionType]
    limits: Limits

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    def events(self) -> AsyncIterator[Event]: ...

    async def perform(self, action: Action) -> Done: ...

    async def reconcile(self, action: Action) -> Reconciled: ...


class BaseAdapter:
    """What most adapters share: the capability check with its reason, an event queue
    for platforms that push (webhooks, WebSocket servers), and ``reconcile`` answering
    UNKNOWN for platforms that cannot be asked."""

    platform: str = ""
    account: str = ""
    capabilities: frozenset[ActionType] = frozenset()
    why_not: Mapping[ActionType, str] = {}
    repeatable: frozenset[ActionType] = STATE_SETTING
    limits: Limits = Limits()

    def __init__(self) -> None:
        self._queue: EventQueue = EventQueue()

    @property
    def source(self) -> str:
        return f"{self.platform}:{self.account}"

    def require(self, action: Action) -> None:
        """Raise ``Unsupported`` with the platform's reason unless it can do ``action``."""
        if action.type not in self.capabilities:
            why = self.why_not.get(action.type, "the platform has no such operation")
            raise Unsupported(f"{self.platform} cannot {action.type.value}: {why}")

    async def reconcile(self, action: Action) -> Reconciled:
        return UNKNOWN

    def events(self) -> AsyncIterator[Event]:
        return self._queue.drain()


class EventQueue:
    """Events pushed by callbacks, drained by ``events()``: ``close()`` ends the stream,
    ``fail(reason)`` ends it with ``ConnectionLost``."""

    _END = object()

    def __init__(self) -> None:
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._failure: str | None = None

    def put(self, event: Event) -> None:
        self._items.put_nowait(event)

    def close(self) -> None:
        self._items.put_nowait(self._END)

    def fail(self, reason: str) -> None:
        self._failure = reason
        self._items.put_nowait(self._END)

    async def drain(self) -> AsyncIterator[Event]:
        while True:
            item = await self._items.get()
            if item is self._END:
                if self._failure is not None:
                    failure, self._failure = self._failure, None
                    raise ConnectionLost(failure)
                return
            yield item
