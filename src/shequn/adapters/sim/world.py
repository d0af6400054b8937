"""The simulated platform's state: groups, their members and messages, and the journal.

Members act through ``say``, ``join``, ``leave`` and ``ask_to_join``; bots act
through ``apply``. Every change a platform would report becomes an ``Event`` handed
to the subscribed adapters — including what bots did (a kick comes back as a
leave), exactly as real platforms echo them.

The journal records every action a bot performed, keyed by its idempotency key.
It is written before ``apply`` returns, like a platform's own record, so after a
crash the dispatcher can ask whether an action happened (``performed``), and the
tests can count how many times each one did.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from shequn.adapters.base import Done, PermanentFailure, TransientFailure, Unsupported
from shequn.adapters.sim.events import event
from shequn.core import Action, ActionType, Event, EventType, Message, Quote
from shequn.kit.clock import Clock


class Refused(Exception):
    """What the platform would not let a member do (a muted member speaking)."""


@dataclass(slots=True)
class SimMember:
    user: str
    name: str
    role: str = "member"
    title: str = ""
    card: str = ""
    muted_until: datetime | None = None


@dataclass(slots=True)
class SimMessage:
    id: str
    group: str
    user: str
    name: str
    message: Message
    at: datetime
    by_bot: bool = False
    deleted: bool = False


@dataclass(slots=True)
class SimGroup:
    id: str
    name: str
    members: dict[str, SimMember] = field(default_factory=dict)
    banned: set[str] = field(default_factory=set)
    requests: dict[str, str] = field(default_factory=dict)  # user -> their answer
    messages: list[SimMessage] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)
    muted_all: bool = False


@dataclass(frozen=True, slots=True)
class Performed:
    key: str
    type: str
    group: str | None
    user: str | None
    platform_id: str | None


class _Journal:
    """Performed actions, in memory or in a SQLite file of the platform's own."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:", check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS performed ("
            "seq INTEGER PRIMARY KEY, key TEXT, type TEXT, grp TEXT, usr TEXT, platform_id TEXT)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS performed_key ON performed (key)")
        self._db.commit()

    def add(self, p: Performed) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO performed (key, type, grp, usr, platform_id) VALUES (?, ?, ?, ?, ?)",
                (p.key, p.type, p.group, p.user, p.platform_id),
            )
            self._db.commit()

    def find(self, key: str) -> Performed | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, type, grp, usr, platform_id FROM performed WHERE key = ? "
                "ORDER BY seq LIMIT 1",
                (key,),
            ).fetchone()
        return Performed(*row) if row else None

    def all(self) -> list[Performed]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, type, grp, usr, platform_id FROM performed ORDER BY seq"
            ).fetchall()
        return [Performed(*r) for r in rows]

    def close(self) -> None:
        self._db.close()


class SimWorld:
    """One simulated platform, shared by every simulated bot account of a process."""

    def __init__(self, clock: Clock, *, journal: Path | None = None) -> None:
        self.clock = clock
        self.groups: dict[str, SimGroup] = {}
        self.direct: list[tuple[str, Message]] = []
        self._journal = _Journal(journal)
        self._listeners: list[Callable[[Event], None]] = []
        self._ids = itertools.count(1)
        self._run = uuid.uuid4().hex[:8]  # event ids stay unique across restarts
        self._failures: list[Exception] = []
        self._lock = threading.RLock()

    # --- set-up and observation ---------------------------------------------------------

    def add_group(self, group: str, name: str) -> SimGroup:
        with self._lock:
            return self.groups.setdefault(group, SimGroup(group, name))

    def seat(self, group: str, user: str, name: str, role: str = "member") -> SimMember:
        """Put a member in a group without an event: the roster the platform already had."""
        with self._lock:
            member = SimMember(user, name, role)
            self._group(group).members[user] = member
            return member

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Event], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def performed(self, key: str) -> Performed | None:
        return self._journal.find(key)

    def journal(self) -> list[Performed]:
        return self._journal.all()

    def fail_next(self, *failures: Exception) -> None:
        """Make the next actions fail with these errors, in order (an outage, a 429…)."""
        with self._lock:
            self._failures.extend(failures)

    def close(self) -> None:
        self._journal.close()

    # --- what members do ----------------------------------------------------------------

    def say(
        self, group: str, user: str, text: str | Message, *, reply_to: str | None = None
    ) -> Event:
        with self._lock:
            g = self._group(group)
            member = g.members.get(user)
            now = self.clock.now()
            if member is None:
                raise Refused(f"{user} is not in {g.name}")
            if member.muted_until is not None and member.muted_until > now:
                raise Refused(f"{member.name} is muted in {g.name} until {member.muted_until}")
            if g.muted_all and member.role == "member":
                raise Refused(f"only admins may speak in {g.name} now")
            message = Message.of(text) if isinstance(text, str) else text
            if reply_to is not None:
                message = Message((Quote(reply_to),)) + message
            msg = self._post(g, user, member.card or member.name, message, by_bot=False)
            return self._emit(
                EventType.MESSAGE,
                g,
                user,
                member.card or member.name,
                message=message,
                payload={"message_id": msg.id, "role": member.role},
            )

    def join(self, group: str, user: str, name: str, *, via: str = "link") -> Event:
        with self._lock:
            g = self._group(group)
            if user in g.banned:
                raise Refused(f"{name} is banned from {g.name}")
            g.members[user] = SimMember(user, name)
            g.requests.pop(user, None)
            return self._emit(EventType.JOIN, g, user, name, payload={"role": "member", "via": via})

    def leave(self, group: str, user: str) -> Event:
        with self._lock:
            g = self._group(group)
            member = g.members.pop(user, None)
            if member is None:
                raise Refused(f"{user} is not in {g.name}")
            return self._emit(EventType.LEAVE, g, user, member.name)

    def ask_to_join(self, group: str, user: str, name: str, answer: str = "") -> Event:
        with self._lock:
            g = self._group(group)
            if user in g.banned:
                raise Refused(f"{name} is banned from {g.name}")
            g.requests[user] = answer
            return self._emit(
                EventType.JOIN_REQUEST,
                g,
                user,
                name,
                payload={"answer": answer, "request_id": user},
            )

    # --- what bots do -------------------------------------------------------------------

    def apply(self, action: Action, account: str) -> Done:
        """Carry out a bot's action, journal it, and report what the platform reports."""
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            done = self._apply(action, account)
            self._journal.add(
                Performed(
                    action.key or "", action.type.value, action.group, action.user, done.platform_id
                )
            )
            return done

    def _apply(self, a: Action, account: str) -> Done:
        t = ActionType
        if a.type is t.DIRECT_MESSAGE:
            assert a.user is not None and a.message is not None
            self.direct.append((a.user, a.message))
            return Done(platform_id=f"dm{next(self._ids)}")
        if a.type is t.CREATE_GROUP:
            return self._create_group(str(a.name), account)
        g = self._known(a.group)
        now = self.clock.now()
        if a.type in (t.SEND_MESSAGE, t.REPLY):
            assert a.message is not None
            message = a.message
            if a.type is t.REPLY and a.target_message:
                message = Message((Quote(a.target_message),)) + message
            msg = self._post(g, account, "shequn", message, by_bot=True)
            return Done(platform_id=msg.id, url=f"sim://{g.id}/{msg.id}")
        if a.type is t.DELETE_MESSAGE:
            msg = self._message(g, a.target_message)
            msg.deleted = True
            return Done(platform_id=msg.id)
        if a.type is t.PIN_MESSAGE:
            msg = self._message(g, a.target_message)
            g.pinned.append(msg.id)
            return Done(platform_id=msg.id)
        if a.type is t.MUTE_ALL:
            g.muted_all = True
            return Done()
        if a.type is t.UNMUTE_ALL:
            g.muted_all = False
            return Done()
        user = a.user or ""
        if a.type is t.MUTE:
            assert a.duration is not None
            member = self._member(g, user)
            member.muted_until = now + a.duration
            return Done(details={"until": member.muted_until.isoformat()})
        if a.type is t.UNMUTE:
            self._member(g, user).muted_until = None
            return Done()
        if a.type in (t.KICK, t.BAN):
            if a.type is t.BAN:
                g.banned.add(user)
            member = g.members.pop(user, None)
            if member is None and a.type is t.KICK:
                raise PermanentFailure(f"{user} is not in {g.name}")
            if member is not None:
                self._emit(EventType.LEAVE, g, user, member.name, payload={"kicked_by": account})
            return Done()
        if a.type is t.UNBAN:
            g.banned.discard(user)
            return Done()
        if a.type is t.APPROVE_JOIN:
            if user not in g.requests:
                raise PermanentFailure(f"{user} has not asked to join {g.name}")
            g.requests.pop(user)
            g.members[user] = SimMember(user, str(a.params.get("name", user)))
            self._emit(EventType.JOIN, g, user, None, payload={"role": "member", "via": "request"})
            return Done()
        if a.type is t.REJECT_JOIN:
            if g.requests.pop(user, None) is None:
                raise PermanentFailure(f"{user} has not asked to join {g.name}")
            return Done()
        if a.type is t.INVITE:
            if user in g.banned:
                raise PermanentFailure(f"{user} is banned from {g.name}")
            g.members.setdefault(user, SimMember(user, str(a.params.get("name", user))))
            self._emit(EventType.JOIN, g, user, None, payload={"role": "member", "via": "invite"})
            return Done()
        if a.type in (t.SET_TITLE, t.SET_CARD, t.SET_ROLE):
            member = self._member(g, user)
            name = {t.SET_TITLE: "title", t.SET_CARD: "card", t.SET_ROLE: "role"}[a.type]
            value = str(a.params.get(name, ""))
            setattr(member, name, value)
            self._emit(EventType.MEMBER_UPDATE, g, user, member.name, payload={name: value})
            return Done()
        raise Unsupported(f"sim cannot {a.type.value}: it is one of shequn's own actions")

    def _create_group(self, name: str, account: str) -> Done:
        """A new group with the bot as its only (unseated) creator; the platform announces it,
        as real ones do, so the runtime learns the group from the event."""
        g = self.add_group(f"new{next(self._ids)}", name)
        self._emit(EventType.GROUP_UPDATE, g, account, "shequn", payload={"name": name})
        return Done(platform_id=g.id, url=f"sim://{g.id}", details={"creator": account})

    # --- helpers ------------------------------------------------------------------------

    def _group(self, group: str) -> SimGroup:
        g = self.groups.get(group)
        if g is None:
            raise Refused(f"no group {group!r}")
        return g

    def _known(self, group: str | None) -> SimGroup:
        g = self.groups.get(group or "")
        if g is None:
            raise PermanentFailure(f"no group {group!r} on the simulated platform")
        return g

    @staticmethod
    def _member(g: SimGroup, user: str) -> SimMember:
        member = g.members.get(user)
        if member is None:
            raise PermanentFailure(f"{user} is not in {g.name}")
        return member

    @staticmethod
    def _message(g: SimGroup, message_id: str | None) -> SimMessage:
        for msg in reversed(g.messages):
            if msg.id == message_id and not msg.deleted:
                return msg
        raise PermanentFailure(f"message {message_id} is not in {g.name}")

    def _post(
        self, g: SimGroup, user: str, name: str, message: Message, *, by_bot: bool
    ) -> SimMessage:
        msg = SimMessage(f"m{next(self._ids)}", g.id, user, name, message, self.clock.now(), by_bot)
        g.messages.append(msg)
        if len(g.messages) > 1000:
            del g.messages[:-1000]
        return msg

    def _emit(
        self,
        kind: EventType,
        g: SimGroup,
        user: str,
        name: str | None,
        *,
        message: Message | None = None,
        payload: dict | None = None,
    ) -> Event:
        ev = event(
            kind,
            source="sim:world",
            source_id=f"{self._run}:{next(self._ids)}",
            at=self.clock.now(),
            group=g.id,
            group_name=g.name,
            actor=user,
            actor_name=name,
            message=message,
            payload=payload,
        )
        for listener in list(self._listeners):
            listener(ev)
        return ev


def transient(reason: str = "the platform is busy", retry_after: float | None = None) -> Exception:
    """An error to queue with ``fail_next``: what a 5xx or a 429 looks like."""
    return TransientFailure(reason, retry_after=retry_after)
