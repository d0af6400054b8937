"""Action → WeCom calls: what a customer-group account can do, and WeCom's errors.

Only one action reaches a customer group through the API: SEND_MESSAGE, as a
mass-send task (企业群发, ``externalcontact/add_msg_template`` with ``chat_type``
``group``). WeCom delivers it once the sender — the group's owner — confirms it in
the WeCom client, and lets each customer group receive one such message a day.
Everything else a moderator does in a customer group (removing, muting, pinning,
renaming) the owner does by hand in the client; there is no API for it.

CREATE_GROUP cannot make a group at once either: it creates a join way (「加入群聊」QR
code, 群活码) with ``auto_create_room`` over the pool's current groups, and WeCom opens a
new group named ``action.name`` plus a number when a customer scans it and those groups
are full. ``Done.url`` is the QR code; the group itself is announced later by the
``change_external_chat`` callback of its creation.

``params`` keys read:

- ``sender`` (SEND_MESSAGE): the member who sends; the configured ``sender`` or the
  group's owner when absent.
- ``miniprogram`` (SEND_MESSAGE): a mini-program card to attach, an object with
  ``title``, ``appid``, ``page`` and ``pic_media_id`` as WeCom defines them.
- ``chat_ids`` (CREATE_GROUP, required): the 1 to 5 groups the join way starts from.
- ``room_base_id`` (CREATE_GROUP): the number WeCom gives the first group it opens.
- ``state`` (CREATE_GROUP): comes back as the ``entry_source`` of those who join by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from shequn.adapters.base import ActionFailed, PermanentFailure, TransientFailure
from shequn.adapters.wecom.api import WeComApiError
from shequn.adapters.wecom.message import MAX_ATTACHMENTS, Rendered
from shequn.core import ActionType

CAPABILITIES = frozenset({ActionType.SEND_MESSAGE, ActionType.CREATE_GROUP})
#: A mass send repeated after an unknown outcome would be a second task, and a join way
#: repeated a second QR code, so nothing here is repeatable.
REPEATABLE: frozenset[ActionType] = frozenset()

_OWNER_DOES_IT = (
    "WeCom has no API to {what} in a customer group; the group owner does it in the WeCom client"
)
_INTERNAL = "shequn carries this out on its own data; no platform is involved"

WHY_NOT: Mapping[ActionType, str] = {
    ActionType.DIRECT_MESSAGE: (
        "this account serves customer groups; WeCom only lets a customer's own contact "
        "send them one-to-one messages"
    ),
    ActionType.REPLY: "WeCom mass messages cannot reply to a message in a customer group",
    ActionType.DELETE_MESSAGE: "WeCom cannot delete a member's message in a customer group",
    ActionType.PIN_MESSAGE: _OWNER_DOES_IT.format(what="pin a message"),
    ActionType.MUTE: _OWNER_DOES_IT.format(what="silence a member"),
    ActionType.UNMUTE: _OWNER_DOES_IT.format(what="silence or unsilence a member"),
    ActionType.MUTE_ALL: _OWNER_DOES_IT.format(what="silence everyone"),
    ActionType.UNMUTE_ALL: _OWNER_DOES_IT.format(what="silence or unsilence everyone"),
    ActionType.KICK: _OWNER_DOES_IT.format(what="remove a member"),
    ActionType.BAN: _OWNER_DOES_IT.format(what="remove or bar a member"),
    ActionType.UNBAN: _OWNER_DOES_IT.format(what="bar or unbar a member"),
    ActionType.APPROVE_JOIN: "customer groups have no join requests to approve",
    ActionType.REJECT_JOIN: "customer groups have no join requests to reject",
    ActionType.INVITE: (
        "WeCom cannot add a customer to a group by API; create a join way (群活码) and "
        "send its QR code instead"
    ),
    ActionType.SET_TITLE: _OWNER_DOES_IT.format(what="give a member a title"),
    ActionType.SET_CARD: _OWNER_DOES_IT.format(what="set a member's group nickname"),
    ActionType.SET_ROLE: _OWNER_DOES_IT.format(what="appoint admins"),
    ActionType.NOTIFY_OPERATOR: _INTERNAL,
    ActionType.ADD_TAG: _INTERNAL,
    ActionType.REMOVE_TAG: _INTERNAL,
    ActionType.ADD_POINTS: _INTERNAL,
}

#: ``content`` of a mass message's text: at most 4000 bytes (WeCom's documentation).
MAX_TEXT_BYTES = 4000

#: errcodes worth trying again: -1 system busy, 6000 data version conflict (several
#: writers at once), 45009 call frequency limit, 45033 concurrent call limit.
TRANSIENT_ERRCODES = frozenset({-1, 6000, 45009, 45033})
#: How long WeCom blocks after its frequency limit: as long as the window that was
#: exceeded, a minute for the per-minute limit (global error code 45009).
FREQUENCY_BLOCK_S = 60.0
#: WeCom's answer when no targeted group can receive a mass message (41048 无可发送的
#: 客户): for a send to one group, its message for the day has been sent already.
DAILY_LIMIT_ERRCODES = frozenset({41048})

_HINTS = {
    40014: "the access token is not valid",
    42001: "the access token has expired",
    60011: "the app has no privilege over this member or group",
    48002: "the app may not call this API (configure it under 客户联系 → 可调用接口的应用)",
    40058: "WeCom refused a parameter",
}


def failure_of(err: WeComApiError) -> ActionFailed:
    """The Transient / PermanentFailure an API error means, with WeCom's own message."""
    if err.network:
        return TransientFailure(str(err))
    if err.errcode is None:
        status = err.status or 0
        if status == 429 or status >= 500:
            return TransientFailure(str(err), retry_after=err.retry_after)
        return PermanentFailure(str(err))
    if err.errcode in TRANSIENT_ERRCODES:
        retry = FREQUENCY_BLOCK_S if err.errcode == 45009 else None
        return TransientFailure(str(err), retry_after=retry)
    hint = _HINTS.get(err.errcode)
    if hint is None and 41000 <= err.errcode < 42000:
        hint = "a required parameter is missing"
    return PermanentFailure(f"{err} ({hint})" if hint else str(err))


def next_mass_send(last: date | None, today: date) -> date:
    """The first day a group can receive another mass message, given the day it last
    received one (China time, WeCom's day): today when it has not yet today."""
    if last is None or last < today:
        return today
    return last + timedelta(days=1)


def daily_limit_reason(next_day: date) -> str:
    return (
        f"WeCom allows one mass message per group per day (next possible: {next_day.isoformat()})"
    )


def _miniprogram(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise PermanentFailure("params.miniprogram must be an object")
    card: dict[str, Any] = {}
    for key in ("title", "appid", "page", "pic_media_id"):
        item = value.get(key)
        if not isinstance(item, str) or not item:
            raise PermanentFailure(f"params.miniprogram.{key} must be a non-empty string")
        card[key] = item
    return {"msgtype": "miniprogram", "miniprogram": card}


def mass_send_body(
    group: str, sender: str, rendered: Rendered, miniprogram: Any = None
) -> dict[str, Any]:
    """The ``add_msg_template`` body sending ``rendered`` to one customer group.

    ``chat_id_list`` names the group, so its owner need not pick it again, and
    ``allow_select`` stays off so the owner cannot send it to other groups.
    """
    attachments = list(rendered.payload.get("attachments") or [])
    if miniprogram is not None:
        attachments.append(_miniprogram(miniprogram))
    if len(attachments) > MAX_ATTACHMENTS:
        raise PermanentFailure(
            f"WeCom takes at most {MAX_ATTACHMENTS} attachments, this message has "
            f"{len(attachments)}"
        )
    text = rendered.text
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise PermanentFailure(
            f"the text is {size} bytes; WeCom takes at most {MAX_TEXT_BYTES} in a mass message"
        )
    if not text and not attachments:
        raise PermanentFailure("the message has nothing WeCom can send")
    body: dict[str, Any] = {
        "chat_type": "group",
        "sender": sender,
        "chat_id_list": [group],
        "allow_select": False,
    }
    if text:
        body["text"] = {"content": text}
    if attachments:
        body["attachments"] = attachments
    return body


#: A join way (「加入群聊」) serves at most five groups (WeCom error 41091).
MAX_JOIN_WAY_GROUPS = 5
#: ``scene`` 2: the join way is a QR code (1 would be a mini-program button).
JOIN_WAY_QR = 2


def join_way_body(
    room_base_name: str,
    chat_ids: Sequence[str],
    *,
    auto_create_room: bool,
    room_base_id: int | None,
    state: str | None,
    remark: str | None,
) -> dict[str, Any]:
    """The ``groupchat/add_join_way`` body for a group QR code (群活码)."""
    ids = [c for c in dict.fromkeys(chat_ids) if c]
    if not 1 <= len(ids) <= MAX_JOIN_WAY_GROUPS:
        raise ValueError(f"a join way needs 1 to {MAX_JOIN_WAY_GROUPS} groups, not {len(ids)}")
    if state is not None and len(state) > 30:
        raise ValueError("state is limited to 30 characters")
    body: dict[str, Any] = {
        "scene": JOIN_WAY_QR,
        "auto_create_room": 1 if auto_create_room else 0,
        "chat_id_list": ids,
    }
    if auto_create_room:
        if not room_base_name:
            raise ValueError("auto_create_room needs a room_base_name")
        body["room_base_name"] = room_base_name
        if room_base_id is not None:
            body["room_base_id"] = room_base_id
    if remark:
        body["remark"] = remark
    if state:
        body["state"] = state
    return body


def welcome_template_body(
    text: str, image_media_id: str | None, *, agent_id: int | None, notify: bool
) -> dict[str, Any]:
    """The ``group_welcome_template/add`` body. ``%NICKNAME%`` in ``text`` becomes
    each newcomer's name; ``agentid`` is sent when configured (WeCom asks for it from
    older multi-app suites)."""
    if not text and not image_media_id:
        raise ValueError("a welcome template needs text or an image")
    body: dict[str, Any] = {"notify": 1 if notify else 0}
    if text:
        body["text"] = {"content": text}
    if image_media_id:
        body["image"] = {"media_id": image_media_id}
    if agent_id is not None:
        body["agentid"] = agent_id
    return body
