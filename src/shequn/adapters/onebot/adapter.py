"""A bot account on QQ (or WeChat) through a OneBot v11 bridge such as NapCat or Lagrange."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shequn.adapters.base import (
    BaseAdapter,
    Bucket,
    Done,
    EventQueue,
    Limits,
    TransientFailure,
)
from shequn.adapters.onebot.actions import (
    CAPABILITIES,
    WHY_NOT,
    Call,
    HttpApi,
    answer_data,
    done,
    plan,
    platform_id,
)
from shequn.adapters.onebot.config import OneBotConfig
from shequn.adapters.onebot.events import PLATFORM, BadPayload, describe, to_event
from shequn.adapters.onebot.server import BridgeServer
from shequn.core import Action

log = logging.getLogger(__name__)


class OneBotAdapter(BaseAdapter):
    """Listens for the bridge on a reverse WebSocket and acts through it.

    ``connect`` starts listening; it does not wait for the bridge, which dials in
    on its own schedule (and again after every drop). Events flow while a bridge
    socket carrying them is connected; when it drops, ``events()`` ends with
    ``ConnectionLost`` and, once the bridge is back, a new ``events()`` continues.
    Actions go over the socket, or to the bridge's HTTP API when ``http_url`` is
    configured; a socket action first waits, within ``action_timeout_s``, for a
    bridge to be connected.
    """

    platform = PLATFORM
    capabilities = CAPABILITIES
    why_not = WHY_NOT
    # Tencent publishes no rate limits for QQ groups, and accounts that send fast are
    # flagged by its risk control (风控) and silenced, which costs far more than a slow
    # message. A human-like pace: 20 messages a minute in one group, 5 a second overall.
    limits = Limits(per_group=Bucket.per_minute(20), per_account=Bucket.per_second(5))

    def __init__(self, config: OneBotConfig) -> None:
        super().__init__()
        self.config = config
        self._server = BridgeServer(config, on_event=self._hear, on_lost=self._lost)
        self._http: HttpApi | None = None
        self._stopping = False

    @property
    def account(self) -> str:  # type: ignore[override]
        """The bot account: the configured ``self_id``, else the ``X-Self-ID`` the first
        bridge announced; empty until one of them is known."""
        return self._server.account or ""

    @property
    def port(self) -> int:
        """The port the bridge is to dial (the system's choice when configured as 0)."""
        return self._server.port

    @property
    def bridged(self) -> bool:
        """Whether a bridge is connected and delivering events."""
        return self._server.bridged

    async def connect(self) -> None:
        self._stopping = False
        if not self._server.running:
            # A fresh start; a repeated connect keeps what is queued but not yet read.
            self._queue = EventQueue()
        if self.config.http_url is not None and self._http is None:
            self._http = HttpApi(
                self.config.http_url,
                self.config.access_token.get_secret_value(),
                timeout_s=self.config.action_timeout_s,
            )
        await self._server.start()

    async def disconnect(self) -> None:
        self._stopping = True
        await self._server.stop()
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._queue.close()

    def _hear(self, frame: Mapping[str, Any]) -> None:
        self_id = frame.get("self_id")
        if self_id is not None and str(self_id) != self.account:
            log.warning("skipped a OneBot frame for account %s, not %s", self_id, self.account)
            return
        try:
            event = to_event(frame, self.account)
        except BadPayload as exc:
            log.warning("skipped a OneBot frame: %s", exc)
            return
        if event is None:
            log.debug("ignored a OneBot frame shequn does not read: %s", describe(frame))
            return
        self._queue.put(event)

    def _lost(self, reason: str) -> None:
        if not self._stopping:
            self._queue.fail(reason)

    async def perform(self, action: Action) -> Done:
        self.require(action)
        call = plan(action)
        return done(call, await self._call(call))

    async def member_list(self, group: str) -> list[dict[str, Any]]:
        """Every member of ``group`` as the bridge lists them (``user_id``, ``nickname``,
        ``card``, ``role``, ``title``, ``join_time``, ``last_sent_time``…), for a roster
        sync. Entries that are not objects are skipped with a logged reason."""
        call = Call("get_group_member_list", {"group_id": platform_id(group)})
        data = await self._call(call)
        if not isinstance(data, list):
            raise TransientFailure(f"{call.name}: the bridge's answer holds no member list")
        members = [dict(m) for m in data if isinstance(m, Mapping)]
        if len(members) != len(data):
            log.warning(
                "%s for group %s: skipped %d entries that are not objects",
                call.name,
                group,
                len(data) - len(members),
            )
        return members

    async def _call(self, call: Call) -> Any:
        if self._http is not None:
            return await self._http.call(call)
        answer = await self._server.request(call.name, call.params, self.config.action_timeout_s)
        return answer_data(call, answer)
