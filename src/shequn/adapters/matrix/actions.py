"""shequn ``Action`` values → Matrix client-server calls, through matrix-nio.

How each action is done on Matrix:

- SEND_MESSAGE / REPLY / DIRECT_MESSAGE: ``m.room.message`` events (one per
  attachment after the text); REPLY adds ``m.relates_to.m.in_reply_to``.
  Each is sent with the transaction id ``action.key`` (``key:1``, ``key:2``… for
  the attachments), so the homeserver keeps one event however often a send is
  retried from the same device: these actions are safe to repeat.
  DIRECT_MESSAGE reuses a room listed for the user in the bot's ``m.direct``
  account data, or creates one (``is_direct``) and records it there.
- DELETE_MESSAGE: a redaction (reason: ``action.reason``); PIN_MESSAGE: adds the
  event to ``m.room.pinned_events``.
- KICK / BAN / UNBAN / INVITE: the membership endpoints (reason: ``action.reason``).
- APPROVE_JOIN invites the knocking user; REJECT_JOIN kicks the knock.
- MUTE: Matrix has no mute, only power: the user's level is set below the
  level needed to send messages. ``Done.details`` holds ``previous_level`` (the
  user's explicit level before, or None when they had the room default) and
  ``until`` (now + ``action.duration``): Matrix will not lift the mute by itself,
  the runtime schedules the UNMUTE. UNMUTE restores ``previous_level``.
- MUTE_ALL raises ``events_default`` (and an explicit ``m.room.message`` level)
  to the admin level; ``Done.details`` keeps the previous values, and
  UNMUTE_ALL restores them.
- SET_ROLE: power level 50 for admin, the room default (0) for member.
- CREATE_GROUP: a new room named ``action.name``, made by the bot (so it holds the
  room's top power). Not repeatable: a second call would make a second room. The
  adapter announces the room to the runtime as a GROUP_UPDATE (the sync does not report
  the bot's own set-up of a room); ``Done.platform_id`` is the room id and ``Done.url``
  its matrix.to link, for newcomers.

Keys read from ``action.params``:

``request_id``               APPROVE_JOIN / REJECT_JOIN: the knocking user (else ``user``)
``reason``                   REJECT_JOIN, KICK, BAN, DELETE_MESSAGE: shown in the room
                             (else ``action.reason``)
``role``                     SET_ROLE: ``admin`` or ``member``
``previous_level``           UNMUTE: the level to restore (from MUTE's details; the
                             room default when absent or None)
``previous_events_default``  UNMUTE_ALL: from MUTE_ALL's details (0 when absent)
``previous_message_level``   UNMUTE_ALL: from MUTE_ALL's details
``join_rule``                CREATE_GROUP: ``public`` (anyone with the link; the default),
                             ``knock`` (ask to join) or ``invite`` (invited only)
``topic``                    CREATE_GROUP: the room's topic

Errors: the homeserver's ``errcode`` decides. ``M_LIMIT_EXCEEDED`` / HTTP 429
and any HTTP 5xx are transient (with ``retry_after_ms``), every other error
(M_FORBIDDEN, M_NOT_FOUND, M_UNKNOWN, M_BAD_JSON…) is permanent and its reason
carries the errcode and the server's message; connection errors and timeouts
are transient.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    DirectRoomsErrorResponse,
    DirectRoomsResponse,
    ErrorResponse,
    LocalProtocolError,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomPreset,
    RoomVisibility,
)
from nio.api import Api

from shequn.adapters.base import (
    STATE_SETTING,
    Done,
    PermanentFailure,
    TransientFailure,
)
from shequn.adapters.matrix.events import ADMIN_LEVEL, PowerLevels, RoomState
from shequn.adapters.matrix.message import Rendered, to_platform
from shequn.core import Action, ActionType, Message
from shequn.kit.clock import Clock

CAPABILITIES = frozenset(
    {
        ActionType.SEND_MESSAGE,
        ActionType.REPLY,
        ActionType.DIRECT_MESSAGE,
        ActionType.DELETE_MESSAGE,
        ActionType.PIN_MESSAGE,
        ActionType.KICK,
        ActionType.BAN,
        ActionType.UNBAN,
        ActionType.INVITE,
        ActionType.MUTE,
        ActionType.UNMUTE,
        ActionType.MUTE_ALL,
        ActionType.UNMUTE_ALL,
        ActionType.SET_ROLE,
        ActionType.APPROVE_JOIN,
        ActionType.REJECT_JOIN,
        ActionType.CREATE_GROUP,
    }
)
WHY_NOT = {
    ActionType.SET_TITLE: "Matrix has no per-room member titles; only power levels exist.",
    ActionType.SET_CARD: (
        "a Matrix display name belongs to the user, who alone can set it, not to the room."
    ),
}
#: Sends carry ``action.key`` as their transaction id, so a repeat is deduplicated
#: by the homeserver; every state-setting action is harmless to repeat anyway.
REPEATABLE = STATE_SETTING | {
    ActionType.SEND_MESSAGE,
    ActionType.REPLY,
    ActionType.DIRECT_MESSAGE,
}

T = TypeVar("T")

#: CREATE_GROUP's ``join_rule`` and the room preset that gives it (a knock room starts
#: private and has its join rule set to ``knock`` in its initial state).
_JOIN_RULES = {
    "public": RoomPreset.public_chat,
    "knock": RoomPreset.private_chat,
    "invite": RoomPreset.private_chat,
}


def matrix_to(room_id: str, event_id: str) -> str:
    return f"https://matrix.to/#/{quote(room_id, safe='!:')}/{quote(event_id, safe='$:')}"


def failure(error: ErrorResponse, what: str) -> TransientFailure | PermanentFailure:
    """The failure an error answer from the homeserver stands for."""
    response = getattr(error, "transport_response", None)
    status = getattr(response, "status", None)
    code = error.status_code or "no errcode"
    reason = f"{what}: {code} {error.message}".rstrip()
    if status:
        reason = f"{reason} (HTTP {status})"
    if code == "M_LIMIT_EXCEEDED" or status == 429:
        wait = error.retry_after_ms / 1000 if error.retry_after_ms else None
        return TransientFailure(reason, retry_after=wait)
    if isinstance(status, int) and status >= 500:
        return TransientFailure(reason)
    return PermanentFailure(reason)


def check(response: T, what: str) -> T:
    """``response`` unless it is an error answer, which is raised as a failure."""
    if isinstance(response, ErrorResponse):
        raise failure(response, what)
    return response


async def guarded(call: Awaitable[T], what: str) -> T:
    """Await a nio call, turning transport trouble into a transient failure."""
    try:
        return await call
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise TransientFailure(f"{what}: {type(exc).__name__} {exc}".rstrip()) from exc
    except LocalProtocolError as exc:
        raise TransientFailure(f"{what}: not logged in ({exc})") from exc


async def raw_request(
    client: AsyncClient,
    method: str,
    path: list[str],
    *,
    body: Mapping[str, Any] | None = None,
    query: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """A client-API call nio has no method for; returns the JSON answer or raises
    the failure the answer stands for."""
    headers = {"Authorization": f"Bearer {client.access_token}"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body, ensure_ascii=False)
    url = Api._build_path(path, dict(query) if query else None)
    what = f"{method} {'/'.join(path[:2])}"
    response = await guarded(client.send(method, url, data, headers, timeout=timeout), what)
    try:
        answer = await response.json(content_type=None)
    except ValueError:  # not JSON (a proxy's error page): the status says enough
        answer = None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientFailure(f"{what}: {type(exc).__name__} {exc}".rstrip()) from exc
    finally:
        response.release()
    if response.status == 200 and isinstance(answer, dict):
        return answer
    answer = answer if isinstance(answer, dict) else {}
    error = ErrorResponse(
        str(answer.get("error", "no message")),
        answer.get("errcode") if isinstance(answer.get("errcode"), str) else None,
        answer.get("retry_after_ms") if isinstance(answer.get("retry_after_ms"), int) else None,
    )
    error.transport_response = response
    raise failure(error, what)


class Performer:
    """Carries out actions for one logged-in client.

    ``rooms`` is the adapter's view of the rooms it is in (used to find an
    existing direct room); power-level changes always re-read the room's
    current levels first, one change per room at a time.
    """

    def __init__(self, client: AsyncClient, rooms: Mapping[str, RoomState], clock: Clock) -> None:
        self.client = client
        self.rooms = rooms
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._direct: dict[str, str] = {}
        self._handlers: dict[ActionType, Callable[[Action], Awaitable[Done]]] = {
            ActionType.SEND_MESSAGE: self._send_message,
            ActionType.REPLY: self._send_message,
            ActionType.DIRECT_MESSAGE: self._direct_message,
            ActionType.DELETE_MESSAGE: self._delete,
            ActionType.PIN_MESSAGE: self._pin,
            ActionType.KICK: self._kick,
            ActionType.REJECT_JOIN: self._kick,
            ActionType.BAN: self._ban,
            ActionType.UNBAN: self._unban,
            ActionType.INVITE: self._invite,
            ActionType.APPROVE_JOIN: self._invite,
            ActionType.MUTE: self._mute,
            ActionType.UNMUTE: self._unmute,
            ActionType.MUTE_ALL: self._mute_all,
            ActionType.UNMUTE_ALL: self._unmute_all,
            ActionType.SET_ROLE: self._set_role,
            ActionType.CREATE_GROUP: self._create_room,
        }

    async def perform(self, action: Action) -> Done:
        handler = self._handlers.get(action.type)
        if handler is None:
            raise PermanentFailure(f"matrix cannot {action.type.value}")
        return await handler(action)

    # -- messages ---------------------------------------------------------

    def _render(self, action: Action) -> Rendered:
        reply_to = action.target_message if action.type is ActionType.REPLY else None
        try:
            return to_platform(action.message or Message(), reply_to=reply_to)
        except ValueError as exc:
            raise PermanentFailure(f"{action.type.value}: {exc}") from None

    async def _send(self, room: str, action: Action, rendered: Rendered) -> Done:
        event_ids: list[str] = []
        for index, content in enumerate(rendered.contents):
            tx_id = None
            if action.key:
                tx_id = action.key if index == 0 else f"{action.key}:{index}"
            response = check(
                await guarded(
                    self.client.room_send(room, "m.room.message", content, tx_id=tx_id),
                    f"send to {room}",
                ),
                f"send to {room}",
            )
            event_ids.append(response.event_id)
        details: dict[str, Any] = {"room_id": room, "event_ids": event_ids}
        if rendered.lost:
            details["lost"] = list(rendered.lost)
        return Done(platform_id=event_ids[0], url=matrix_to(room, event_ids[0]), details=details)

    async def _send_message(self, action: Action) -> Done:
        return await self._send(str(action.group), action, self._render(action))

    async def _direct_message(self, action: Action) -> Done:
        rendered = self._render(action)
        room = await self._direct_room(str(action.user))
        return await self._send(room, action, rendered)

    async def _direct_room(self, user: str) -> str:
        """A room for talking to ``user`` alone: the known one, else a new one."""
        if user in self._direct:
            return self._direct[user]
        what = f"find direct rooms for {user}"
        listed = await guarded(self.client.list_direct_rooms(), what)
        direct: dict[str, list[str]] = {}
        if isinstance(listed, DirectRoomsResponse):
            direct = {k: list(v) for k, v in listed.rooms.items() if isinstance(v, list)}
        elif isinstance(listed, DirectRoomsErrorResponse) and listed.status_code != "M_NOT_FOUND":
            raise failure(listed, what)
        for room_id in direct.get(user, []):
            state = self.rooms.get(room_id)
            if state is not None and state.membership.get(user) in ("join", "invite"):
                self._direct[user] = room_id
                return room_id
        created = check(
            await guarded(
                self.client.room_create(
                    visibility=RoomVisibility.private,
                    is_direct=True,
                    invite=[user],
                    preset=RoomPreset.trusted_private_chat,
                ),
                f"create a direct room with {user}",
            ),
            f"create a direct room with {user}",
        )
        assert isinstance(created, RoomCreateResponse)
        self._direct[user] = created.room_id
        direct.setdefault(user, []).append(created.room_id)
        await raw_request(
            self.client,
            "PUT",
            ["user", self.client.user_id, "account_data", "m.direct"],
            body=direct,
        )
        return created.room_id

    async def _delete(self, action: Action) -> Done:
        room, target = str(action.group), str(action.target_message)
        what = f"redact {target} in {room}"
        response = check(
            await guarded(
                self.client.room_redact(
                    room, target, reason=self._reason(action), tx_id=action.key
                ),
                what,
            ),
            what,
        )
        return Done(
            platform_id=response.event_id,
            url=matrix_to(room, response.event_id),
            details={"room_id": room, "redacted": target},
        )

    async def _pin(self, action: Action) -> Done:
        room, target = str(action.group), str(action.target_message)
        async with self._lock(room):
            content = await self._state(room, "m.room.pinned_events")
            pinned = [p for p in content.get("pinned", []) if isinstance(p, str)]
            if target in pinned:
                return Done(details={"room_id": room, "pinned": pinned, "already": True})
            pinned.append(target)
            event_id = await self._put_state(room, "m.room.pinned_events", {"pinned": pinned})
        return Done(
            platform_id=event_id,
            url=matrix_to(room, event_id),
            details={"room_id": room, "pinned": pinned},
        )

    async def _create_room(self, action: Action) -> Done:
        name = str(action.name)
        join_rule = action.params.get("join_rule", "public")
        if join_rule not in _JOIN_RULES:
            raise PermanentFailure(
                f"create_group: join_rule must be one of {', '.join(_JOIN_RULES)}, "
                f"not {join_rule!r}"
            )
        topic = action.params.get("topic")
        initial_state: list[dict[str, Any]] = []
        if join_rule == "knock":
            initial_state.append(
                {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}
            )
        what = f"create the room {name}"
        created = check(
            await guarded(
                self.client.room_create(
                    name=name,
                    topic=str(topic) if topic else None,
                    preset=_JOIN_RULES[join_rule],
                    initial_state=initial_state,
                ),
                what,
            ),
            what,
        )
        assert isinstance(created, RoomCreateResponse)
        room = created.room_id
        return Done(
            platform_id=room,
            url=f"https://matrix.to/#/{quote(room, safe='!:')}",
            details={"room_id": room, "name": name, "creator": self.client.user_id},
        )

    # -- membership -------------------------------------------------------

    @staticmethod
    def _reason(action: Action) -> str | None:
        reason = action.params.get("reason") or action.reason
        return str(reason) if reason else None

    @staticmethod
    def _target(action: Action) -> str:
        if action.type in (ActionType.APPROVE_JOIN, ActionType.REJECT_JOIN):
            return str(action.params.get("request_id") or action.user)
        return str(action.user)

    async def _kick(self, action: Action) -> Done:
        room, user = str(action.group), self._target(action)
        what = f"kick {user} from {room}"
        call = self.client.room_kick(room, user, reason=self._reason(action))
        check(await guarded(call, what), what)
        return Done(details={"room_id": room, "user": user})

    async def _ban(self, action: Action) -> Done:
        room, user = str(action.group), str(action.user)
        what = f"ban {user} from {room}"
        check(
            await guarded(self.client.room_ban(room, user, reason=self._reason(action)), what),
            what,
        )
        return Done(details={"room_id": room, "user": user})

    async def _unban(self, action: Action) -> Done:
        room, user = str(action.group), str(action.user)
        what = f"unban {user} in {room}"
        check(await guarded(self.client.room_unban(room, user), what), what)
        return Done(details={"room_id": room, "user": user})

    async def _invite(self, action: Action) -> Done:
        room, user = str(action.group), self._target(action)
        what = f"invite {user} to {room}"
        check(await guarded(self.client.room_invite(room, user), what), what)
        return Done(details={"room_id": room, "user": user})

    # -- power levels -----------------------------------------------------

    def _lock(self, room: str) -> asyncio.Lock:
        return self._locks.setdefault(room, asyncio.Lock())

    async def _state(self, room: str, kind: str) -> dict[str, Any]:
        """The room's current ``kind`` state content ({} when it has none)."""
        what = f"read {kind} of {room}"
        response = await guarded(self.client.room_get_state_event(room, kind), what)
        if isinstance(response, ErrorResponse):
            if response.status_code == "M_NOT_FOUND":
                return {}
            raise failure(response, what)
        assert isinstance(response, RoomGetStateEventResponse)
        content = response.content
        # nio hands error bodies other than 404 over as if they were the content.
        if isinstance(content, dict) and isinstance(content.get("errcode"), str):
            error = ErrorResponse(str(content.get("error", "")), content["errcode"])
            error.transport_response = response.transport_response
            raise failure(error, what)
        return dict(content) if isinstance(content, dict) else {}

    async def _put_state(self, room: str, kind: str, content: dict[str, Any]) -> str:
        what = f"set {kind} of {room}"
        response = check(await guarded(self.client.room_put_state(room, kind, content), what), what)
        return str(response.event_id)

    async def _change_levels(
        self, room: str, change: Callable[[dict[str, Any], PowerLevels], dict[str, Any]]
    ) -> Done:
        """Re-read the room's power levels, apply ``change`` (which edits the content
        in place and returns the details to report) and write them back."""
        async with self._lock(room):
            content = await self._state(room, "m.room.power_levels")
            levels = PowerLevels.from_content(content)
            users = content.get("users")
            content["users"] = dict(users) if isinstance(users, Mapping) else {}
            events = content.get("events")
            content["events"] = dict(events) if isinstance(events, Mapping) else {}
            details = change(content, levels)
            if details.pop("unchanged", False):
                return Done(details={"room_id": room, **details})
            event_id = await self._put_state(room, "m.room.power_levels", content)
        return Done(
            platform_id=event_id,
            url=matrix_to(room, event_id),
            details={"room_id": room, **details},
        )

    async def _mute(self, action: Action) -> Done:
        user, duration = str(action.user), action.duration
        assert duration is not None
        until = (self.clock.now() + duration).astimezone(UTC)

        def change(content: dict[str, Any], levels: PowerLevels) -> dict[str, Any]:
            # Below everyone who may speak: the default, and whatever sending needs.
            muted = min(0, levels.users_default, levels.to_speak(), levels.events_default) - 1
            explicit = content["users"].get(user)
            details: dict[str, Any] = {"user": user, "level": muted, "until": until.isoformat()}
            if isinstance(explicit, int) and explicit <= muted:
                return {**details, "previous_level": None, "already": True, "unchanged": True}
            content["users"][user] = muted
            return {**details, "previous_level": explicit}

        return await self._change_levels(str(action.group), change)

    async def _unmute(self, action: Action) -> Done:
        user = str(action.user)
        previous = action.params.get("previous_level")

        def change(content: dict[str, Any], levels: PowerLevels) -> dict[str, Any]:
            if isinstance(previous, int) and not isinstance(previous, bool):
                content["users"][user] = previous
            else:
                content["users"].pop(user, None)
            return {"user": user, "level": content["users"].get(user, levels.users_default)}

        return await self._change_levels(str(action.group), change)

    async def _mute_all(self, action: Action) -> Done:
        def change(content: dict[str, Any], levels: PowerLevels) -> dict[str, Any]:
            details = {
                "previous_events_default": levels.events_default,
                "previous_message_level": levels.events.get("m.room.message"),
            }
            content["events_default"] = max(levels.events_default, ADMIN_LEVEL)
            if "m.room.message" in levels.events:
                content["events"]["m.room.message"] = max(
                    levels.events["m.room.message"], ADMIN_LEVEL
                )
            return details

        return await self._change_levels(str(action.group), change)

    async def _unmute_all(self, action: Action) -> Done:
        params = action.params
        restored = params.get("previous_events_default", 0)
        if not isinstance(restored, int) or isinstance(restored, bool):
            raise PermanentFailure(f"unmute_all: previous_events_default {restored!r}")

        def change(content: dict[str, Any], levels: PowerLevels) -> dict[str, Any]:
            content["events_default"] = restored
            message_level = params.get("previous_message_level")
            if isinstance(message_level, int) and not isinstance(message_level, bool):
                content["events"]["m.room.message"] = message_level
            elif "previous_message_level" in params:
                content["events"].pop("m.room.message", None)
            elif "m.room.message" in content["events"]:
                content["events"]["m.room.message"] = restored
            return {"events_default": restored}

        return await self._change_levels(str(action.group), change)

    async def _set_role(self, action: Action) -> Done:
        user, role = str(action.user), action.params.get("role")
        if role == "owner":
            raise PermanentFailure(
                "set_role: Matrix cannot take power level 100 back once given, so shequn "
                "does not make owners; give admin instead"
            )
        if role not in ("admin", "member"):
            raise PermanentFailure(f"set_role: role must be admin or member, not {role!r}")

        def change(content: dict[str, Any], levels: PowerLevels) -> dict[str, Any]:
            level = ADMIN_LEVEL if role == "admin" else 0
            if level == levels.users_default:
                content["users"].pop(user, None)
            else:
                content["users"][user] = level
            return {"user": user, "role": role, "level": level}

        return await self._change_levels(str(action.group), change)
