"""A bot account on a Matrix homeserver, through matrix-nio.

``connect`` logs in (access token, or password), then makes one full-state
sync to learn the rooms the account is in, their members and power levels —
without emitting anything from it, so history never arrives as live events —
and starts the sync loop. A later ``connect`` of the same adapter (after
``ConnectionLost``) resumes from the last sync instead, so what happened while
it was away is emitted, not lost. Each later sync's room events are converted against
the tracked room state (see ``events.py``) and queued for ``events()``; invites
are joined when ``auto_join`` is set and the room is allowed.

The sync is read as raw JSON through nio's transport instead of nio's parsed
``SyncResponse``: nio's event classes rewrite the dicts they were made from
(member contents are popped) and drop events that fail its schemas, while the
conversion must see exactly what the server sent and say why it skips an event.
Actions go through nio's client methods (see ``actions.py``).

Rate limits: Synapse's default ``rc_message`` lets a normal user send 0.2
events a second with bursts of 10, which no community bot can live with, so a
bot account is expected to be exempted by the homeserver admin
(``/_synapse/admin/v1/users/<id>/override_ratelimit``). The limits below are
what shequn then holds itself to so as not to flood rooms or the server:
5 events a second per room (bursts of 10) and 10 a second for the account
(bursts of 20). When a server does limit the bot, its ``M_LIMIT_EXCEEDED``
answers become transient failures carrying ``retry_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from shequn.adapters.base import (
    ActionFailed,
    AdapterError,
    BaseAdapter,
    Bucket,
    ConnectionLost,
    Done,
    Limits,
    PermanentFailure,
    TransientFailure,
)
from shequn.adapters.matrix.actions import (
    CAPABILITIES,
    REPEATABLE,
    WHY_NOT,
    Performer,
    check,
    guarded,
    raw_request,
)
from shequn.adapters.matrix.config import MatrixConfig
from shequn.adapters.matrix.events import PLATFORM, BadEvent, RoomState, convert
from shequn.core import Action, ActionType, Event, EventType
from shequn.kit.clock import Clock, SystemClock

log = logging.getLogger(__name__)

#: How long one request may take (a long-poll sync gets its poll time on top).
REQUEST_TIMEOUT_S = 30.0

_QUIET = {"types": []}
_TIMELINE_LIMIT = 100


def _filter(timeline_limit: int) -> str:
    """A sync filter: room state and timelines only, no presence, receipts or
    typing, which shequn does not use."""
    return json.dumps(
        {
            "presence": _QUIET,
            "account_data": _QUIET,
            "room": {
                "timeline": {"limit": timeline_limit},
                "ephemeral": _QUIET,
                "account_data": _QUIET,
            },
        },
        separators=(",", ":"),
    )


def _events(section: Any, key: str) -> list[Any]:
    part = section.get(key) if isinstance(section, Mapping) else None
    events = part.get("events") if isinstance(part, Mapping) else None
    return events if isinstance(events, list) else []


def _rooms(body: Mapping[str, Any], kind: str) -> Iterable[tuple[str, Any]]:
    rooms = body.get("rooms")
    part = rooms.get(kind) if isinstance(rooms, Mapping) else None
    if not isinstance(part, Mapping):
        return []
    return [(room_id, info) for room_id, info in part.items() if isinstance(room_id, str)]


class MatrixAdapter(BaseAdapter):
    platform = PLATFORM
    capabilities = CAPABILITIES
    why_not = WHY_NOT
    repeatable = REPEATABLE
    limits = Limits(
        per_group=Bucket.per_second(5, burst=10),
        per_account=Bucket.per_second(10, burst=20),
    )
    #: Consecutive failed syncs after which the connection counts as lost, and the
    #: first wait between them (doubled each time, at most 30 s).
    max_sync_failures = 5
    sync_retry_s = 0.5
    #: How long the server may hold a sync open waiting for something to happen.
    sync_timeout_ms = 30_000

    def __init__(self, config: MatrixConfig, *, clock: Clock | None = None) -> None:
        super().__init__()
        self.config = config
        self.account = config.user_id
        #: Where MUTE's ``until`` is computed from.
        self.clock: Clock = clock or SystemClock()
        #: The rooms the account is in (and those it just left, until the sync
        #: that reports the departure has been read).
        self.rooms: dict[str, RoomState] = {}
        self._client: AsyncClient | None = None
        self._performer: Performer | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_batch: str | None = None
        self._allowed: set[str] = set()
        self._ended = False

    # -- lifecycle --------------------------------------------------------

    async def connect(self) -> None:
        """Log in, learn the rooms, and start following them. Raises
        ``ConnectionLost`` when the server cannot be reached (try again later) and
        ``AdapterError`` when it refuses the account."""
        if self._task is not None and not self._task.done():
            return
        await self._stop()  # what is left of a connection that was lost
        client = AsyncClient(
            self.config.homeserver,
            self.config.user_id,
            device_id=self.config.device_id,
            config=AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=0,
                request_timeout=REQUEST_TIMEOUT_S,
                encryption_enabled=False,
                store_sync_tokens=False,
            ),
        )
        try:
            await self._log_in(client)
            self._client = client
            self._allowed = await self._allowed_rooms(client)
            await self._first_sync()
        except TransientFailure as exc:
            await self._close_client(client)
            raise ConnectionLost(f"matrix: {exc.reason}") from exc
        except ActionFailed as exc:
            await self._close_client(client)
            raise AdapterError(f"matrix: {exc.reason}") from exc
        except BaseException:
            await self._close_client(client)
            raise
        self._performer = Performer(client, self.rooms, self.clock)
        self._task = asyncio.create_task(self._run(), name=f"matrix sync {self.account}")

    async def _first_sync(self) -> None:
        """Learn every room's full state. The first connection emits nothing from it;
        a reconnection continues from where the last sync ended, so what happened
        while it was away is emitted rather than lost."""
        resume = self._next_batch
        body = await self._sync(
            since=resume,
            full_state=True,
            timeout_ms=0,
            limit=_TIMELINE_LIMIT if resume else 1,
        )
        self._ended = False
        self.rooms.clear()
        for room_id, info in _rooms(body, "join"):
            self._follow(room_id, info, emit=resume is not None)
        for room_id, info in _rooms(body, "leave"):
            self._follow(room_id, info, emit=resume is not None)
            self.rooms.pop(room_id, None)
        self._next_batch = str(body["next_batch"])
        await self._answer_invites(body)

    async def disconnect(self) -> None:
        await self._stop()
        if not self._ended:
            self._ended = True
            self._queue.close()

    async def _stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._close_client(self._client)
        self._performer = None

    async def _close_client(self, client: AsyncClient) -> None:
        await client.close()
        if self._client is client:
            self._client = None

    async def _log_in(self, client: AsyncClient) -> None:
        token = self.config.access_token
        if token is not None:
            client.restore_login(
                self.config.user_id, self.config.device_id, token.get_secret_value()
            )
            who = check(await guarded(client.whoami(), "whoami"), "whoami")
            assert isinstance(who, WhoamiResponse)
            if who.user_id != self.config.user_id:
                raise PermanentFailure(
                    f"the access token belongs to {who.user_id}, not {self.config.user_id}"
                )
            if who.device_id:
                client.device_id = who.device_id
            return
        assert self.config.password is not None
        password = self.config.password.get_secret_value()
        response = check(
            await guarded(client.login(password, device_name="shequn"), "login"), "login"
        )
        assert isinstance(response, LoginResponse)

    async def _allowed_rooms(self, client: AsyncClient) -> set[str]:
        """The room ids ``config.rooms`` names; aliases are resolved now."""
        allowed = set()
        for ref in self.config.rooms:
            if ref.startswith("!"):
                allowed.add(ref)
                continue
            response = await guarded(client.room_resolve_alias(ref), f"resolve {ref}")
            room_id = getattr(response, "room_id", None)
            if isinstance(room_id, str):
                allowed.add(room_id)
            else:
                log.warning("room alias %s does not resolve (%s); skipped", ref, response)
        return allowed

    def _is_allowed(self, room_id: str, alias: str | None) -> bool:
        if not self.config.rooms:
            return True
        return room_id in self._allowed or (alias is not None and alias in self.config.rooms)

    # -- the sync loop ----------------------------------------------------

    async def _sync(
        self, *, since: str | None, full_state: bool, timeout_ms: int, limit: int
    ) -> Mapping[str, Any]:
        assert self._client is not None
        query = {"filter": _filter(limit), "timeout": str(timeout_ms), "set_presence": "offline"}
        if since is not None:
            query["since"] = since
        if full_state:
            query["full_state"] = "true"
        body = await raw_request(
            self._client, "GET", ["sync"], query=query, timeout=timeout_ms / 1000 + 15
        )
        if not isinstance(body.get("next_batch"), str):
            raise TransientFailure("sync: the answer has no next_batch")
        return body

    async def _run(self) -> None:
        failures = 0
        try:
            while True:
                try:
                    body = await self._sync(
                        since=self._next_batch,
                        full_state=False,
                        timeout_ms=self.sync_timeout_ms,
                        limit=_TIMELINE_LIMIT,
                    )
                except TransientFailure as exc:
                    failures += 1
                    if failures >= self.max_sync_failures:
                        self._end(f"matrix sync failed {failures} times: {exc.reason}")
                        return
                    log.warning("matrix sync failed (%s); retrying", exc.reason)
                    await asyncio.sleep(min(30.0, self.sync_retry_s * 2 ** (failures - 1)))
                    continue
                failures = 0
                for room_id, info in _rooms(body, "join"):
                    self._follow(room_id, info, emit=True)
                for room_id, info in _rooms(body, "leave"):
                    self._follow(room_id, info, emit=True)
                    self.rooms.pop(room_id, None)
                await self._answer_invites(body)
                self._next_batch = str(body["next_batch"])
        except asyncio.CancelledError:
            raise
        except PermanentFailure as exc:
            self._end(f"matrix sync refused: {exc.reason}")
        except Exception as exc:  # a bug must end the stream visibly, not hang it
            log.exception("matrix sync loop failed")
            self._end(f"matrix sync loop failed: {type(exc).__name__}: {exc}")

    def _end(self, reason: str) -> None:
        if not self._ended:
            self._ended = True
            self._queue.fail(reason)

    def _follow(self, room_id: str, info: Any, *, emit: bool) -> None:
        """Read one room's part of a sync: state first, then the timeline in order.

        An event is emitted only when the account was joined before it, so a room
        joined just now does not replay the history the server sends along."""
        room = self.rooms.setdefault(room_id, RoomState(room_id))
        for raw in _events(info, "state"):
            room.apply(raw)
        timeline = info.get("timeline") if isinstance(info, Mapping) else None
        was_joined = room.membership.get(self.account) == "join"
        if emit and was_joined and isinstance(timeline, Mapping) and timeline.get("limited"):
            log.info("room %s: the timeline has a gap; some events were not seen", room_id)
        for raw in _events(info, "timeline"):
            if emit and room.membership.get(self.account) == "join":
                self._emit(raw, room)
            room.apply(raw)

    def _emit(self, raw: Any, room: RoomState) -> None:
        if not self._is_allowed(room.room_id, room.alias):
            return
        try:
            events = convert(raw, room, source=self.source, own_user=self.account)
        except BadEvent as exc:
            log.warning("matrix event skipped: %s", exc)
            return
        except Exception:  # hostile content must not end the stream
            log.exception("matrix event in %s could not be converted", room.room_id)
            return
        for event in events:
            self._queue.put(event)

    async def _answer_invites(self, body: Mapping[str, Any]) -> None:
        if not self.config.auto_join or self._client is None:
            return
        for room_id, info in _rooms(body, "invite"):
            alias = None
            for raw in _events(info, "invite_state"):
                if isinstance(raw, Mapping) and raw.get("type") == "m.room.canonical_alias":
                    content = raw.get("content")
                    if isinstance(content, Mapping) and isinstance(content.get("alias"), str):
                        alias = content["alias"]
            if not self._is_allowed(room_id, alias):
                log.info("invite to %s ignored: the room is not in the allowed rooms", room_id)
                continue
            try:
                response = await guarded(self._client.join(room_id), f"join {room_id}")
                check(response, f"join {room_id}")
            except ActionFailed as exc:
                log.warning("could not join %s: %s", room_id, exc.reason)

    # -- actions ----------------------------------------------------------

    async def perform(self, action: Action) -> Done:
        self.require(action)
        if self._performer is None:
            raise TransientFailure("matrix: not connected")
        done = await self._performer.perform(action)
        if action.type is ActionType.CREATE_GROUP and done.platform_id:
            self._announce(done.platform_id, str(action.name))
        return done

    def _announce(self, room_id: str, name: str) -> None:
        """A room the bot made is a new group: say so, as the sync never reports the bot's
        own set-up of a room (it reports only what the bot does to others)."""
        self._queue.put(
            Event(
                type=EventType.GROUP_UPDATE,
                platform=PLATFORM,
                source=self.source,
                source_id=f"{room_id}:created",
                occurred_at=self.clock.now(),
                group=room_id,
                group_name=name,
                actor=self.account,
                payload={"name": name},
            )
        )
