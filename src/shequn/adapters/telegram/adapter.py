"""A bot account on Telegram, through aiogram's ``Bot`` and ``Dispatcher``.

Updates reach the dispatcher two ways: the adapter's own long-polling loop
(``connect``), or ``feed`` for an update that arrived some other way (a webhook,
a test). Either way the dispatcher's handlers turn it into Events, which go on
the adapter's queue and come out of ``events()``.

The polling loop is the adapter's own rather than ``Dispatcher.start_polling``:
that one retries a failing ``getUpdates`` forever (a revoked token, a webhook
still set), where shequn wants the stream to end with ``ConnectionLost`` and the
reason, so the supervisor reconnects with backoff and the operator can see why.
The offset of the last update handled outlives a reconnect, so nothing is
fetched twice; a redelivered update would still be harmless (events keep the
update id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetMe, GetUpdates
from aiogram.types import ChatJoinRequest, ChatMemberUpdated, Update
from aiogram.types import Message as TgMessage
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError

from shequn.adapters.base import (
    BaseAdapter,
    Bucket,
    ConnectionLost,
    Done,
    EventQueue,
    Limits,
    PermanentFailure,
)
from shequn.adapters.telegram.actions import CAPABILITIES, WHY_NOT, perform
from shequn.adapters.telegram.config import TelegramConfig
from shequn.adapters.telegram.events import (
    PLATFORM,
    BadUpdate,
    join_request_events,
    member_events,
    message_events,
)
from shequn.core import Action, Event
from shequn.kit.clock import Clock, SystemClock

log = logging.getLogger(__name__)

#: The update types the adapter turns into events; ``getUpdates`` asks for these
#: only (Telegram leaves ``chat_member`` out unless it is asked for by name).
ALLOWED_UPDATES = ("message", "chat_member", "my_chat_member", "chat_join_request")

Emit = Callable[[Event], None]


class TelegramAdapter(BaseAdapter):
    """One bot account. ``session`` replaces aiogram's HTTP session (a local Bot API
    server is reached through ``config.api_base`` instead; tests record calls with
    it); ``clock`` is what mutes and timed bans count from."""

    platform = PLATFORM
    capabilities = CAPABILITIES
    why_not = WHY_NOT
    # From Telegram's bot FAQ: "If you're sending bulk notifications to multiple
    # users, the API will not allow more than 30 messages per second or so", and
    # "your bot will not be able to send more than 20 messages per minute to the
    # same group".
    limits = Limits(per_group=Bucket.per_minute(20), per_account=Bucket.per_second(30))

    def __init__(
        self,
        config: TelegramConfig,
        *,
        session: BaseSession | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.community = config.community
        if session is None:
            if config.api_base:
                api = TelegramAPIServer.from_base(config.api_base, is_local=True)
                session = AiohttpSession(api=api)
            else:
                session = AiohttpSession()
        self.bot = Bot(config.token.get_secret_value(), session=session)
        # The token starts with the bot's id: events fed before ``connect`` (a
        # webhook) already carry the right source.
        self.account = str(self.bot.id)
        self.username: str | None = None
        self.dispatcher = Dispatcher()
        self.dispatcher.message.register(self._on_message)
        self.dispatcher.chat_member.register(self._on_member)
        self.dispatcher.my_chat_member.register(self._on_member)
        self.dispatcher.chat_join_request.register(self._on_join_request)
        self._clock: Clock = clock or SystemClock()
        self._offset: int | None = None
        self._polling: asyncio.Task[None] | None = None
        self._ended = False

    # --- the dispatcher's handlers ---------------------------------------------------

    async def _on_message(self, message: TgMessage, event_update: Update, emit: Emit) -> None:
        for event in message_events(message, event_update.update_id, self.source):
            emit(event)

    async def _on_member(self, update: ChatMemberUpdated, event_update: Update, emit: Emit) -> None:
        for event in member_events(update, event_update.update_id, self.source):
            emit(event)

    async def _on_join_request(
        self, request: ChatJoinRequest, event_update: Update, emit: Emit
    ) -> None:
        for event in join_request_events(request, event_update.update_id, self.source):
            emit(event)

    async def _handle(self, update: Update) -> list[Event]:
        try:
            kind = update.event_type
        except UpdateTypeLookupError:
            # A kind newer than this aiogram knows: nothing here could use it.
            log.info("telegram update %s of an unknown kind skipped", update.update_id)
            return []
        log.debug("telegram update %s: %s", update.update_id, kind)
        out: list[Event] = []
        await self.dispatcher.feed_update(self.bot, update, emit=out.append)
        for event in out:
            self._queue.put(event)
        return out

    async def feed(self, update: Mapping[str, Any]) -> list[Event]:
        """Hand one raw update (as Telegram posts it to a webhook) to the dispatcher;
        returns the events it became, which also go to ``events()``."""
        if not isinstance(update, Mapping):
            raise BadUpdate(f"an update is a JSON object, not {type(update).__name__}")
        try:
            parsed = Update.model_validate(dict(update), context={"bot": self.bot})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the update"
            raise BadUpdate(
                f"update {update.get('update_id')!r}: {where}: {first['msg']}"
            ) from None
        return await self._handle(parsed)

    # --- connection ------------------------------------------------------------------

    async def connect(self) -> None:
        """Check the token (``getMe``) and start long polling; nothing more when
        already polling."""
        if self._polling is not None and not self._polling.done():
            return
        try:
            me = await self.bot(GetMe())
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            raise ConnectionLost(f"cannot reach Telegram: {exc.message}") from exc
        except ClientDecodeError as exc:
            raise ConnectionLost(f"Telegram's answer could not be read: {exc.message}") from exc
        except TelegramUnauthorizedError as exc:
            raise PermanentFailure(f"Telegram refused the bot token: {exc.message}") from exc
        except TelegramAPIError as exc:
            raise PermanentFailure(f"getMe failed: {exc.message}") from exc
        self.account = str(me.id)
        self.username = me.username
        if not me.can_read_all_group_messages:
            log.warning(
                "telegram bot @%s has privacy mode on: it sees only commands and replies to "
                "it in groups; turn it off with @BotFather's /setprivacy",
                me.username,
            )
        if self._ended:  # the stream of the last connection was ended; start a new one
            self._queue = EventQueue()
            self._ended = False
        self._polling = asyncio.create_task(self._poll(), name=f"telegram-poll-{self.account}")

    async def disconnect(self) -> None:
        """Stop polling, close the HTTP session and end ``events()``."""
        task, self._polling = self._polling, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.bot.session.close()
        if not self._ended:
            self._queue.close()
            self._ended = True

    def _end(self, reason: str) -> None:
        self._ended = True
        self._queue.fail(reason)

    async def _poll(self) -> None:
        timeout = self.config.poll_timeout_s
        # The request must outlast the long poll it carries.
        request_timeout = int(self.bot.session.timeout + timeout)
        while True:
            method = GetUpdates(
                offset=self._offset, timeout=timeout, allowed_updates=list(ALLOWED_UPDATES)
            )
            try:
                updates = await self.bot(method, request_timeout=request_timeout)
            except (TelegramAPIError, ClientDecodeError) as exc:
                self._end(f"getUpdates failed: {exc}")
                return
            except Exception as exc:
                log.exception("telegram polling of bot %s failed", self.account)
                self._end(f"getUpdates failed unexpectedly: {exc!r}")
                return
            for update in updates:
                self._offset = update.update_id + 1
                try:
                    await self._handle(update)
                except Exception:
                    # One update that cannot be turned into events must not stop the
                    # account: it is logged with its id and the stream goes on.
                    log.exception("telegram update %s skipped", update.update_id)

    # --- actions ---------------------------------------------------------------------

    async def perform(self, action: Action) -> Done:
        self.require(action)
        return await perform(self.bot, action, self._clock.now())
