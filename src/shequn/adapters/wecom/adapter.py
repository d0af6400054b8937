"""A WeCom (企业微信) corporation's customer groups (客户群) as a shequn account.

This adapter sees rosters and changes, not messages. WeCom tells an app when a
customer group is created, renamed, handed to a new owner, given a notice or
dismissed, and when members join or leave (the ``change_external_chat`` callback);
the group detail API lists its members. It does not deliver what members say in
customer groups through callbacks or any API: only the chat archive (会话存档), a
separately licensed product with its own SDK, does that, and this adapter does not
use it. So there are no MESSAGE events, and the only action is a mass message
(企业群发), which WeCom delivers once the group's owner confirms it.

The adapter keeps, in memory, the roster it last turned into events for each group:
a change callback that does not name its members is resolved by fetching the group
detail and comparing, and ``sync_groups`` reports members it has not reported
before. After a restart the roster is empty, so the next sync reports every member
again under the same source ids, which the event store drops as repeats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import requests

from shequn.adapters.base import (
    BaseAdapter,
    Bucket,
    Done,
    Limits,
    PermanentFailure,
)
from shequn.adapters.wecom.actions import (
    CAPABILITIES,
    DAILY_LIMIT_ERRCODES,
    REPEATABLE,
    WHY_NOT,
    daily_limit_reason,
    failure_of,
    join_way_body,
    mass_send_body,
    next_mass_send,
    welcome_template_body,
)
from shequn.adapters.wecom.api import WeComApi, WeComApiError
from shequn.adapters.wecom.callback import Skipped, WeComCallback
from shequn.adapters.wecom.config import WeComConfig
from shequn.adapters.wecom.events import (
    MEMBER_CHANGES,
    PLATFORM,
    QUIT_REMOVED,
    BadPayload,
    ChangeContext,
    ChatChange,
    GroupDetail,
    Member,
    change_events,
    parse_group_detail,
    recent_joiners,
    snapshot_events,
    with_members,
    without,
)
from shequn.adapters.wecom.message import to_platform
from shequn.core import Action, ActionType, Event
from shequn.kit.clock import Clock, SystemClock
from shequn.kit.timeutil import DEFAULT_TIMEZONE, zone

log = logging.getLogger(__name__)

#: WeCom counts days in China time.
WECOM_ZONE = zone(DEFAULT_TIMEZONE)


@dataclass(frozen=True, slots=True)
class JoinWay:
    """A group QR code (群活码): ``config_id`` names it for later changes, ``qr_code`` is
    the image URL to show customers."""

    config_id: str
    qr_code: str


class WeComAdapter(BaseAdapter):
    """One corporation's customer groups. ``handle_callback`` is mounted by the web
    layer on the callback URL; ``sync_groups`` reads every group's roster."""

    platform = PLATFORM
    capabilities = CAPABILITIES
    why_not = WHY_NOT
    repeatable = REPEATABLE
    # WeCom's documented base frequency limit (主动调用频率限制) is, per corporation and
    # per API, 10,000 calls a minute and 150,000 an hour. Spread evenly the hourly cap
    # is 2,500 a minute: that is the sustained rate here, with bursts far below the
    # minute cap. Nothing per group: the one-message-a-day rule is enforced in perform.
    limits = Limits(per_group=None, per_account=Bucket.per_minute(2500))

    def __init__(
        self,
        config: WeComConfig,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.account = config.corp_id
        self._api = WeComApi(config, session=session)
        self._callback = WeComCallback(config)
        self._clock: Clock = clock or SystemClock()
        self._rosters: dict[str, GroupDetail] = {}
        self._owners: dict[str, str] = {}
        self._mass_sent: dict[str, date] = {}
        self._roster_lock = asyncio.Lock()
        self.connected = False

    # -- connection ------------------------------------------------------------------

    async def connect(self) -> None:
        """Nothing to open: WeCom pushes to the callback URL and is called per request."""
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False
        self._queue.close()
        self._api.close()

    # -- callbacks -------------------------------------------------------------------

    def verify_callback(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom's URL verification (GET): the text to answer with."""
        return self._callback.verify(msg_signature, timestamp, nonce, echostr)

    async def handle_callback(
        self, msg_signature: str, timestamp: str, nonce: str, body: bytes
    ) -> list[Event]:
        """Read one callback POST, resolve who changed where WeCom did not say, queue
        the events and return them. Raises ``CallbackRejected`` for a request that is
        not a genuine WeCom callback."""
        change = self._callback.read(msg_signature, timestamp, nonce, body)
        if isinstance(change, Skipped):
            log.info("wecom %s: callback skipped: %s", self.account, change.reason)
            return []
        async with self._roster_lock:
            context = await self._context_for(change)
            events = change_events(change, self.source, context)
            self._remember(change, context)
        for event in events:
            self._queue.put(event)
        return events

    async def _fetch(self, chat_id: str) -> GroupDetail | None:
        """The group's detail now, or None (logged) when WeCom cannot give it: the
        callback's own events are still worth keeping."""
        try:
            detail = parse_group_detail(await self._api.group_detail(chat_id))
        except (WeComApiError, BadPayload) as exc:
            log.warning("wecom %s: no detail for group %s: %s", self.account, chat_id, exc)
            return None
        if detail.owner:
            self._owners[detail.chat_id] = detail.owner
        return detail

    async def _context_for(self, change: ChatChange) -> ChangeContext:
        chat, kind = change.chat_id, change.kind
        before = self._rosters.get(chat)
        if change.change_type == "dismiss":
            return ChangeContext(before=before)
        if change.change_type == "create":
            return ChangeContext(after=await self._fetch(chat))
        if kind not in MEMBER_CHANGES:
            return ChangeContext(before=before, after=await self._fetch(chat))
        if change.members is not None:
            owner = None
            if kind == "del_member" and change.quit_scene == QUIT_REMOVED:
                owner = await self._owner_if_known_or_fetched(chat)
            return ChangeContext(before=before, owner=owner)
        after = await self._fetch(chat)
        if after is None:
            return ChangeContext(before=before)
        return ChangeContext(
            members=_changed(change, before, after), owner=after.owner, before=before, after=after
        )

    async def _owner_if_known_or_fetched(self, chat_id: str) -> str | None:
        known = self._rosters.get(chat_id)
        if known is not None and known.owner:
            return known.owner
        if chat_id in self._owners:
            return self._owners[chat_id]
        detail = await self._fetch(chat_id)
        return detail.owner if detail is not None else None

    def _remember(self, change: ChatChange, context: ChangeContext) -> None:
        """Move the known roster on by exactly what was reported, so that the next sync
        reports whatever else changed meanwhile."""
        chat, kind = change.chat_id, change.kind
        before, after = context.before, context.after
        if change.change_type == "dismiss":
            self._rosters.pop(chat, None)
            self._owners.pop(chat, None)
            return
        if change.change_type == "create":
            if after is not None:
                self._rosters[chat] = after
            return
        if before is None:
            return
        if kind in MEMBER_CHANGES:
            members = change.members if change.members is not None else context.members
            if members is None:
                return
            if kind == "add_member":
                found = [
                    (after.member(u) if after is not None else None)
                    or Member(userid=u, joined_at=change.occurred_at)
                    for u in members
                ]
                self._rosters[chat] = with_members(before, found)
            else:
                self._rosters[chat] = without(before, members)
        elif after is not None:
            self._rosters[chat] = replace(
                before, name=after.name, owner=after.owner, notice=after.notice, admins=after.admins
            )

    # -- sync ------------------------------------------------------------------------

    async def sync_groups(self) -> list[Event]:
        """Every customer group's roster against what was reported before: a
        GROUP_UPDATE for groups new or changed, a JOIN for members not reported yet,
        a LEAVE for members gone unreported. Returns the events without queueing them.

        All details are fetched before anything is remembered, so a sync that fails
        half-way (TransientFailure) changes nothing and can simply run again. A group
        WeCom refuses to describe (dismissed meanwhile, out of the app's reach) is
        skipped with a logged reason.
        """
        try:
            chat_ids = await self._api.group_ids()
        except WeComApiError as exc:
            raise failure_of(exc) from None
        fetched: list[tuple[str, Any]] = []
        for chat_id in chat_ids:
            try:
                fetched.append((chat_id, await self._api.group_detail(chat_id)))
            except WeComApiError as exc:
                failure = failure_of(exc)
                if failure.transient:
                    raise failure from None
                log.warning("wecom %s: group %s skipped: %s", self.account, chat_id, exc)
        now = self._clock.now()
        events: list[Event] = []
        async with self._roster_lock:
            for chat_id, data in fetched:
                try:
                    detail = parse_group_detail(data)
                except BadPayload as exc:
                    log.warning("wecom %s: group %s skipped: %s", self.account, chat_id, exc)
                    continue
                events.extend(
                    snapshot_events(detail, self.source, self._rosters.get(detail.chat_id), now)
                )
                self._rosters[detail.chat_id] = detail
                if detail.owner:
                    self._owners[detail.chat_id] = detail.owner
        return events

    # -- actions ---------------------------------------------------------------------

    def today(self) -> date:
        """Today in WeCom's reckoning (China time)."""
        return self._clock.now().astimezone(WECOM_ZONE).date()

    def mass_send_used(self, group: str, day: date) -> bool:
        """Whether ``group`` has had its mass message for ``day`` from this account."""
        return self._mass_sent.get(group) == day

    async def perform(self, action: Action) -> Done:
        self.require(action)
        if action.type is ActionType.CREATE_GROUP:
            return await self._create_group(action)
        return await self._mass_send(action)

    async def _create_group(self, action: Action) -> Done:
        """A join way that opens groups named ``action.name`` once the pool's are full."""
        chat_ids = action.params.get("chat_ids")
        if not isinstance(chat_ids, list) or not all(isinstance(c, str) for c in chat_ids):
            raise PermanentFailure(
                "create_group: params.chat_ids must list the groups the join way starts from"
            )
        base, base_id = _numbered(str(action.name))
        given, state = action.params.get("room_base_id"), action.params.get("state")
        if isinstance(given, int) and not isinstance(given, bool):
            base, base_id = str(action.name), given
        try:
            join_way = await self.add_join_way(
                base,
                chat_ids,
                auto_create_room=True,
                room_base_id=base_id,
                state=str(state) if state else None,
                remark=str(action.name)[:30],
            )
        except ValueError as exc:
            raise PermanentFailure(f"create_group: {exc}") from None
        return Done(
            platform_id=None,
            url=join_way.qr_code,
            details={"config_id": join_way.config_id, "room_base_name": base},
        )

    async def _mass_send(self, action: Action) -> Done:
        group, message, today = action.group, action.message, self.today()
        if group is None or message is None:
            raise PermanentFailure("a mass message needs a group and a message")
        last = self._mass_sent.get(group)
        if last is not None and last >= today:
            raise PermanentFailure(daily_limit_reason(next_mass_send(last, today)))
        rendered = to_platform(message)
        sender = action.params.get("sender") or self.config.sender
        if not sender:
            sender = await self._owner_for_sending(group)
        body = mass_send_body(group, str(sender), rendered, action.params.get("miniprogram"))
        # Claimed before the request, so a second send racing this one is refused too.
        self._mass_sent[group] = today
        try:
            answer = await self._api.add_msg_template(body)
        except WeComApiError as exc:
            if exc.errcode in DAILY_LIMIT_ERRCODES:
                reason = daily_limit_reason(next_mass_send(today, today))
                raise PermanentFailure(f"{reason} [WeCom {exc.errcode}: {exc.errmsg}]") from None
            self._release(group, last)
            raise failure_of(exc) from None
        msgid = answer.get("msgid")
        fail_list = answer.get("fail_list") or []
        if not isinstance(fail_list, list):
            fail_list = [fail_list]
        if group in fail_list:
            self._release(group, last)
            raise PermanentFailure(
                f"WeCom did not queue the mass message for group {group}: it is in the "
                f"answer's fail_list (msgid {msgid})"
            )
        return Done(
            platform_id=str(msgid) if msgid else None,
            details={
                "fail_list": [str(item) for item in fail_list],
                "sender": str(sender),
                "lost": list(rendered.lost),
            },
        )

    def _release(self, group: str, last: date | None) -> None:
        if last is None:
            self._mass_sent.pop(group, None)
        else:
            self._mass_sent[group] = last

    async def _owner_for_sending(self, group: str) -> str:
        known = self._rosters.get(group)
        owner = known.owner if known is not None else self._owners.get(group)
        if owner:
            return owner
        try:
            detail = parse_group_detail(await self._api.group_detail(group))
        except WeComApiError as exc:
            raise failure_of(exc) from None
        except BadPayload as exc:
            raise PermanentFailure(f"cannot tell who owns group {group}: {exc}") from None
        if not detail.owner:
            raise PermanentFailure(
                f"WeCom names no owner for group {group}; give params.sender to send"
            )
        self._owners[group] = detail.owner
        return detail.owner

    async def add_join_way(
        self,
        room_base_name: str,
        chat_ids: Sequence[str],
        *,
        auto_create_room: bool = True,
        room_base_id: int | None = None,
        state: str | None = None,
        remark: str | None = None,
    ) -> JoinWay:
        """Create a group QR code (群活码) for up to five groups and return it.

        With ``auto_create_room`` WeCom opens a new group named ``room_base_name``
        plus a number (from ``room_base_id``) when the last one fills up. ``state``
        comes back on each member who joins through it (as a JOIN's
        ``entry_source``), which tells campaigns apart. Bad arguments raise
        ``ValueError``; WeCom's refusals Transient / PermanentFailure.
        """
        body = join_way_body(
            room_base_name,
            chat_ids,
            auto_create_room=auto_create_room,
            room_base_id=room_base_id,
            state=state,
            remark=remark,
        )
        try:
            created = await self._api.post("externalcontact/groupchat/add_join_way", body)
            config_id = created.get("config_id")
            if not isinstance(config_id, str) or not config_id:
                raise PermanentFailure("WeCom created a join way but returned no config_id")
            answer = await self._api.post(
                "externalcontact/groupchat/get_join_way", {"config_id": config_id}
            )
        except WeComApiError as exc:
            raise failure_of(exc) from None
        join_way = answer.get("join_way")
        qr_code = join_way.get("qr_code") if isinstance(join_way, dict) else None
        if not isinstance(qr_code, str) or not qr_code:
            raise PermanentFailure(f"WeCom returned no qr_code for join way {config_id}")
        return JoinWay(config_id=config_id, qr_code=qr_code)

    async def add_group_welcome_template(
        self, text: str, image_media_id: str | None = None, *, notify: bool = True
    ) -> str:
        """Create a group welcome template (入群欢迎语素材) and return its template id.

        ``%NICKNAME%`` in ``text`` is replaced by each newcomer's name. With ``notify``
        WeCom asks the group owners to apply it to their groups.
        """
        body = welcome_template_body(
            text, image_media_id, agent_id=self.config.agent_id, notify=notify
        )
        try:
            answer = await self._api.post("externalcontact/group_welcome_template/add", body)
        except WeComApiError as exc:
            raise failure_of(exc) from None
        template_id = answer.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise PermanentFailure("WeCom created a welcome template but returned no template_id")
        return template_id


def _numbered(name: str) -> tuple[str, int | None]:
    """A group name ending in a number as WeCom's base name and first number: WeCom names
    the groups it opens base + number, so "读书会 3" opens "读书会 3", then "读书会 4"."""
    digits = len(name) - len(name.rstrip("0123456789"))
    if digits == 0 or digits == len(name) or digits > 6:
        return name, None
    return name[:-digits], int(name[-digits:])


def _changed(
    change: ChatChange, before: GroupDetail | None, after: GroupDetail
) -> tuple[str, ...] | None:
    """Who joined or left, from the roster before and after the change; None when it
    cannot be told (no earlier roster for a departure, or WeCom's detail not caught up
    yet — it documents that a detail may lag its change event)."""
    if before is not None:
        if change.kind == "add_member":
            found = tuple(m.userid for m in after.members if m.userid not in before.member_ids)
        else:
            found = tuple(m.userid for m in before.members if m.userid not in after.member_ids)
        return found or None
    if change.kind == "add_member" and change.member_count:
        return recent_joiners(after, change.occurred_at, change.member_count) or None
    return None
