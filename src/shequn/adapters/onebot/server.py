"""The reverse-WebSocket server a OneBot v11 bridge connects to.

In OneBot's reverse WebSocket the bridge (NapCat, Lagrange…) dials shequn. Its
handshake carries ``Authorization: Bearer <token>`` (or ``?access_token=`` in the
URL, which the spec also allows), ``X-Self-ID`` (the bot's account) and
``X-Client-Role``: ``Universal`` for one socket carrying both events and API
calls, or ``Event`` and ``API`` for two sockets that split them. A handshake with
a missing or wrong token is answered 401 before any frame is read; a wrong path
404; a missing ``X-Self-ID`` or an unknown role 400 (a missing role is read as
``Universal``, which is what bridges that omit it mean); an account other than the one
this server serves 403; a role already held by a live socket 409 (a bridge that
reconnects after a silent drop gets in once keepalive pings have found the old
socket dead).

Frames from the bridge are events (they have ``post_type``) or answers to API
calls (they have the ``echo`` the call carried). Meta events — heartbeat and
lifecycle — are consumed here and only logged. A frame that is not JSON, not an
object, or neither event nor answer is skipped with a logged reason; the socket
keeps going. When the socket that carries events closes, ``on_lost`` is told, so
the adapter can end its event stream with ``ConnectionLost``; calls still waiting
on a closed API socket fail as transient.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from shequn.adapters.base import TransientFailure
from shequn.adapters.onebot.config import SELF_ID, OneBotConfig

log = logging.getLogger(__name__)

#: Frames up to this size are read: a member list of a 3000-member group is a few
#: megabytes, and anything far larger is a bridge gone wrong.
MAX_FRAME = 16 * 1024 * 1024


class Role(StrEnum):
    UNIVERSAL = "Universal"
    EVENT = "Event"
    API = "API"

    @property
    def carries_events(self) -> bool:
        return self is not Role.API

    @property
    def carries_api(self) -> bool:
        return self is not Role.EVENT


class BridgeServer:
    """Accepts bridge sockets for one bot account, and makes API calls over them.

    ``on_event`` receives every event frame (a JSON object with ``post_type``,
    meta events excepted); ``on_lost`` is told why when the socket carrying events
    closes. ``account`` is the bot account served: the configured ``self_id``, else
    the ``X-Self-ID`` of the first bridge to connect.
    """

    def __init__(
        self,
        config: OneBotConfig,
        *,
        on_event: Callable[[Mapping[str, Any]], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self.config = config
        self.account: str | None = config.self_id
        self._token = config.access_token.get_secret_value().encode()
        self._on_event = on_event
        self._on_lost = on_lost
        self._server: Server | None = None
        self._events: ServerConnection | None = None
        self._api: ServerConnection | None = None
        self._api_ready = asyncio.Event()
        self._pending: dict[str, tuple[asyncio.Future[Any], ServerConnection]] = {}
        self._echo_prefix = secrets.token_hex(4)
        self._echo_counter = itertools.count(1)
        #: The last heartbeat's ``status`` object, for health pages.
        self.status: Mapping[str, Any] | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when configured as 0)."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def bridged(self) -> bool:
        """Whether a bridge socket that carries events is connected."""
        return self._events is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._check,
            max_size=MAX_FRAME,
        )
        log.info(
            "OneBot server listening on %s:%d%s", self.config.host, self.port, self.config.path
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        self._fail_pending(None, "the server was stopped")

    # -- handshake ---------------------------------------------------------

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse a handshake that is not from this account's bridge (see module doc)."""
        refusal = self._refusal(request)
        if refusal is None:
            return None
        status, text = refusal
        log.warning("refused a OneBot handshake from %s: %s", _peer(connection), text.split(":")[0])
        return connection.respond(status, text + "\n")

    def _refusal(self, request: Request) -> tuple[HTTPStatus, str] | None:
        url = urlsplit(request.path)
        if (url.path.rstrip("/") or "/") != self.config.path:
            return HTTPStatus.NOT_FOUND, "not found"
        if not self._authorized(request.headers, url.query):
            return HTTPStatus.UNAUTHORIZED, "missing or wrong access token"
        self_id = request.headers.get("X-Self-ID", "").strip()
        if not SELF_ID.match(self_id):
            return HTTPStatus.BAD_REQUEST, "X-Self-ID is missing or not an account id"
        if self.account is not None and self_id != self.account:
            return HTTPStatus.FORBIDDEN, f"this server serves account {self.account}"
        role = _role(request.headers)
        if role is None:
            return HTTPStatus.BAD_REQUEST, "X-Client-Role must be Universal, Event or API"
        if self._taken(role):
            return HTTPStatus.CONFLICT, f"a bridge socket for {role.value} is already connected"
        return None

    def _authorized(self, headers: Headers, query: str) -> bool:
        offered: str | None = None
        header = headers.get("Authorization", "")
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            offered = value.strip()
        else:
            values = parse_qs(query).get("access_token")
            offered = values[0] if values else None
        return offered is not None and hmac.compare_digest(offered.encode(), self._token)

    def _taken(self, role: Role) -> bool:
        return (role.carries_events and self._events is not None) or (
            role.carries_api and self._api is not None
        )

    # -- a connected bridge ------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None  # the handler runs only after a handshake
        role = _role(request.headers) or Role.UNIVERSAL
        self_id = request.headers.get("X-Self-ID", "").strip()
        # Two handshakes may have passed the check at once; only one holds the role.
        if self._taken(role) or (self.account is not None and self_id != self.account):
            await connection.close(1008, f"a bridge socket for {role.value} is already connected")
            return
        self.account = self_id
        if role.carries_events:
            self._events = connection
        if role.carries_api:
            self._api = connection
            self._api_ready.set()
        log.info("OneBot bridge for %s connected (%s) from %s", self_id, role, _peer(connection))
        try:
            async for raw in connection:
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            self._release(connection, role)

    def _release(self, connection: ServerConnection, role: Role) -> None:
        reason = f"the bridge disconnected (code {connection.close_code}"
        reason += f", {connection.close_reason})" if connection.close_reason else ")"
        if role.carries_api and self._api is connection:
            self._api = None
            self._api_ready.clear()
            self._fail_pending(connection, reason)
        if role.carries_events and self._events is connection:
            self._events = None
            log.warning("OneBot bridge for %s: %s", self.account, reason)
            self._on_lost(reason)

    def _receive(self, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                log.warning("skipped a OneBot frame: binary, not UTF-8 text (%d bytes)", len(raw))
                return
        try:
            frame = json.loads(raw)
        except (ValueError, RecursionError):
            log.warning("skipped a OneBot frame: not JSON (%d characters)", len(raw))
            return
        if not isinstance(frame, dict):
            log.warning("skipped a OneBot frame: JSON %s, not an object", type(frame).__name__)
            return
        if "post_type" in frame:
            if frame["post_type"] == "meta_event":
                self._meta(frame)
                return
            try:
                self._on_event(frame)
            except Exception:
                # One frame must never take the socket down with it.
                log.exception("skipped a OneBot frame that could not be handled")
            return
        echo = frame.get("echo")
        if isinstance(echo, str) and echo:
            waiting = self._pending.get(echo)
            if waiting is None:
                log.info("an answer to an unknown or expired call (echo %s)", echo[:64])
            elif not waiting[0].done():
                waiting[0].set_result(frame)
            return
        log.warning("skipped a OneBot frame: neither an event (post_type) nor an answer (echo)")

    def _meta(self, frame: Mapping[str, Any]) -> None:
        kind = frame.get("meta_event_type")
        if kind == "heartbeat":
            status = frame.get("status")
            if isinstance(status, Mapping):
                self.status = status
                if status.get("online") is False:
                    log.warning("OneBot bridge for %s reports the bot offline", self.account)
        elif kind == "lifecycle":
            log.info("OneBot bridge for %s: lifecycle %s", self.account, frame.get("sub_type"))

    # -- API calls ---------------------------------------------------------

    async def request(self, name: str, params: Mapping[str, Any], timeout: float) -> Any:
        """Send one API call and wait for its answer (the whole frame) up to ``timeout``
        seconds, including the wait for a bridge to be connected at all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._api_ready.wait()
        except TimeoutError:
            raise TransientFailure(f"{name}: no OneBot bridge is connected") from None
        connection = self._api
        if connection is None:
            raise TransientFailure(f"{name}: the OneBot bridge just disconnected")
        echo = f"{self._echo_prefix}:{next(self._echo_counter)}"
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[echo] = (future, connection)
        frame = {"action": name, "params": dict(params), "echo": echo}
        try:
            async with asyncio.timeout_at(deadline):
                await connection.send(json.dumps(frame, ensure_ascii=False))
                return await future
        except TimeoutError:
            raise TransientFailure(
                f"{name}: the bridge did not answer within {timeout:g} s"
            ) from None
        except ConnectionClosed:
            raise TransientFailure(f"{name}: the bridge disconnected before answering") from None
        finally:
            self._pending.pop(echo, None)

    def _fail_pending(self, connection: ServerConnection | None, reason: str) -> None:
        for future, sent_on in list(self._pending.values()):
            if (connection is None or sent_on is connection) and not future.done():
                future.set_exception(TransientFailure(f"no answer: {reason}"))


def _role(headers: Headers) -> Role | None:
    value = headers.get("X-Client-Role", "").strip()
    if not value:
        return Role.UNIVERSAL
    for role in Role:
        if value.lower() == role.value.lower():
            return role
    return None


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else "an unknown peer"
