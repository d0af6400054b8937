"""Actions → OneBot v11 API calls, and the bridge's answers → Done or a failure.

Each action is one call (``plan``):

=================  ===========================================================
SEND_MESSAGE       ``send_group_msg`` {group_id, message}; Done.platform_id is
                   the returned ``message_id``
REPLY              the same, with a ``reply`` segment for ``target_message`` first
DIRECT_MESSAGE     ``send_private_msg`` {user_id, message}, with ``group_id``
                   when ``action.group`` is set (a temporary chat through that
                   group); QQ only delivers to friends and, where the group
                   allows it, to fellow members — otherwise the bridge's refusal
                   comes back as a PermanentFailure
DELETE_MESSAGE     ``delete_msg`` {message_id}
KICK / BAN         ``set_group_kick`` {group_id, user_id, reject_add_request}:
                   false for a kick, true for a ban (the member's later
                   requests to join are refused)
MUTE / UNMUTE      ``set_group_ban`` {group_id, user_id, duration}: seconds,
                   rounded up; 0 lifts a mute. QQ mutes for 30 days at most
MUTE_ALL / …_ALL   ``set_group_whole_ban`` {group_id, enable}
SET_CARD           ``set_group_card`` {group_id, user_id, card}
SET_TITLE          ``set_group_special_title`` {…, special_title, duration: -1}
SET_ROLE           ``set_group_admin`` {group_id, user_id, enable}
APPROVE_JOIN /     ``set_group_add_request`` {flag, sub_type, approve, reason}
REJECT_JOIN
=================  ===========================================================

``params`` keys read: ``card`` (SET_CARD, required; empty clears it), ``title``
(SET_TITLE, required; empty clears it), ``role`` (SET_ROLE: ``admin`` or
``member``), ``request_id`` (APPROVE_JOIN / REJECT_JOIN, required: the request's
``flag``), ``sub_type`` (APPROVE_JOIN / REJECT_JOIN: ``add``, the default, or
``invite`` for an invitation of the bot) and ``reason`` (REJECT_JOIN: shown to
the applicant).

Ids go to the bridge as numbers when they are numbers (QQ's own ids), as text
otherwise (WeChat bridges name chats by text).

The bridge answers ``{"status": "ok"|"async"|"failed", "retcode": n, "data": …,
"message"/"wording": …}``. ``retcode`` 1400/1401/1403/1404 (and the HTTP API's
400/401/403/404, and go-cqhttp's 100 for a bad or impossible request) mean the
request can never work: PermanentFailure with the bridge's own words. Everything
else that failed — NapCat's 1200 when the QQ client itself failed, a timeout, a
dropped connection, an HTTP 5xx or 429 — is worth another try: TransientFailure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from shequn.adapters.base import Done, PermanentFailure, TransientFailure
from shequn.adapters.onebot.message import to_platform
from shequn.core import Action, ActionType, Message, Quote

CAPABILITIES = frozenset(
    {
        ActionType.SEND_MESSAGE,
        ActionType.REPLY,
        ActionType.DIRECT_MESSAGE,
        ActionType.DELETE_MESSAGE,
        ActionType.KICK,
        ActionType.BAN,
        ActionType.MUTE,
        ActionType.UNMUTE,
        ActionType.MUTE_ALL,
        ActionType.UNMUTE_ALL,
        ActionType.SET_CARD,
        ActionType.SET_TITLE,
        ActionType.SET_ROLE,
        ActionType.APPROVE_JOIN,
        ActionType.REJECT_JOIN,
    }
)

WHY_NOT: Mapping[ActionType, str] = {
    ActionType.PIN_MESSAGE: (
        "OneBot v11 has no call to pin a message; group essence messages are a bridge "
        "extension, not a pin"
    ),
    ActionType.UNBAN: (
        "OneBot v11 has no unban: a member kicked with their join requests refused can "
        "only be let back in from a QQ client"
    ),
    ActionType.INVITE: "OneBot v11 has no call to invite a member into a group",
    ActionType.CREATE_GROUP: "OneBot v11 has no call to create a group; a QQ client creates it",
}

#: The longest mute QQ accepts: 30 days.
MAX_MUTE = timedelta(days=30)
#: Answers that mean the request can never succeed as sent.
PERMANENT_RETCODES = frozenset({100, 400, 401, 403, 404, 1400, 1401, 1403, 1404})

_NUMBER = re.compile(r"^-?\d{1,19}$")


@dataclass(frozen=True, slots=True)
class Call:
    """One OneBot API call: the action's name, its params, and what a message lost."""

    name: str
    params: dict[str, Any]
    lost: tuple[str, ...] = field(default=())


def platform_id(value: str) -> int | str:
    """An id as the bridge wants it: a number for QQ's numeric ids, text otherwise."""
    return int(value) if _NUMBER.match(value) else value


def plan(action: Action) -> Call:
    """The OneBot call that carries out ``action`` (already checked as supported)."""
    kind = action.type
    if kind in (ActionType.SEND_MESSAGE, ActionType.REPLY, ActionType.DIRECT_MESSAGE):
        return _send(action)
    if kind is ActionType.DELETE_MESSAGE:
        return Call("delete_msg", {"message_id": platform_id(_need(action.target_message))})
    group = platform_id(_need(action.group))
    if kind in (ActionType.MUTE_ALL, ActionType.UNMUTE_ALL):
        return Call(
            "set_group_whole_ban", {"group_id": group, "enable": kind is ActionType.MUTE_ALL}
        )
    if kind in (ActionType.APPROVE_JOIN, ActionType.REJECT_JOIN):
        return _answer_request(action)
    member = {"group_id": group, "user_id": platform_id(_need(action.user))}
    if kind in (ActionType.KICK, ActionType.BAN):
        return Call("set_group_kick", {**member, "reject_add_request": kind is ActionType.BAN})
    if kind is ActionType.MUTE:
        return Call("set_group_ban", {**member, "duration": _mute_seconds(action.duration)})
    if kind is ActionType.UNMUTE:
        return Call("set_group_ban", {**member, "duration": 0})
    if kind is ActionType.SET_CARD:
        return Call("set_group_card", {**member, "card": _text_param(action, "card")})
    if kind is ActionType.SET_TITLE:
        title = _text_param(action, "title")
        return Call("set_group_special_title", {**member, "special_title": title, "duration": -1})
    if kind is ActionType.SET_ROLE:
        role = action.params.get("role")
        if role not in ("admin", "member"):
            raise PermanentFailure(
                f"set_role needs params['role'] 'admin' or 'member', not {role!r}: "
                "QQ groups have one owner, who cannot be named through OneBot"
            )
        return Call("set_group_admin", {**member, "enable": role == "admin"})
    raise PermanentFailure(f"onebot has no call for {kind.value}")


def _need(value: str | None) -> str:
    # Action.__post_init__ already refuses actions without their required fields.
    if value is None:
        raise PermanentFailure("the action lacks a field its type needs")
    return value


def _send(action: Action) -> Call:
    message = action.message or Message()
    if action.type is ActionType.REPLY:
        target = _need(action.target_message)
        quotes = message.of_kind(Quote)
        if not quotes or quotes[0] != Quote(target):
            message = Message((Quote(target), *(s for s in message if not isinstance(s, Quote))))
    rendered = to_platform(message)
    if not any(s["type"] != "reply" for s in rendered.segments):
        raise PermanentFailure("the message has nothing QQ can show; nothing was sent")
    segments = rendered.as_list()
    if action.type is ActionType.DIRECT_MESSAGE:
        params: dict[str, Any] = {"user_id": platform_id(_need(action.user)), "message": segments}
        if action.group:
            params["group_id"] = platform_id(action.group)
        return Call("send_private_msg", params, rendered.lost)
    params = {"group_id": platform_id(_need(action.group)), "message": segments}
    return Call("send_group_msg", params, rendered.lost)


def _mute_seconds(duration: timedelta | None) -> int:
    if duration is None:
        raise PermanentFailure("mute needs a duration")
    if duration > MAX_MUTE:
        raise PermanentFailure(
            f"QQ mutes for 30 days at most; {duration} was asked (use a kick or a ban instead)"
        )
    return max(1, math.ceil(duration.total_seconds()))


def _text_param(action: Action, key: str) -> str:
    value = action.params.get(key)
    if not isinstance(value, str):
        raise PermanentFailure(f"{action.type.value} needs params[{key!r}] as text")
    return value


def _answer_request(action: Action) -> Call:
    flag = action.params.get("request_id")
    if not isinstance(flag, str) or not flag:
        raise PermanentFailure(
            f"{action.type.value} needs params['request_id']: the join request's flag"
        )
    sub_type = action.params.get("sub_type", "add")
    if sub_type not in ("add", "invite"):
        raise PermanentFailure(f"params['sub_type'] must be 'add' or 'invite', not {sub_type!r}")
    params: dict[str, Any] = {
        "flag": flag,
        "sub_type": sub_type,
        "approve": action.type is ActionType.APPROVE_JOIN,
    }
    reason = action.params.get("reason")
    if action.type is ActionType.REJECT_JOIN and isinstance(reason, str) and reason:
        params["reason"] = reason
    return Call("set_group_add_request", params)


# ---------------------------------------------------------------------------
# answers


def answer_data(call: Call, answer: Any) -> Any:
    """The ``data`` of a successful answer; a failed one raises the matching failure."""
    if not isinstance(answer, Mapping):
        raise TransientFailure(f"{call.name}: the bridge's answer is not an object")
    status = answer.get("status")
    retcode = answer.get("retcode")
    if status in ("ok", "async") and retcode in (0, 1, None):
        return answer.get("data")
    code = retcode if isinstance(retcode, int) and not isinstance(retcode, bool) else None
    reason = f"{call.name} failed" + (f" (retcode {code})" if code is not None else "")
    reason += f": {_words(answer)}"
    if code in PERMANENT_RETCODES:
        raise PermanentFailure(reason)
    raise TransientFailure(reason)


def _words(answer: Mapping[str, Any]) -> str:
    for key in ("wording", "message", "msg"):
        value = answer.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    return f"status {str(answer.get('status'))[:32]!r} without a message"


def done(call: Call, data: Any) -> Done:
    """What the outbox keeps of a successful call."""
    details: dict[str, Any] = {"call": call.name}
    if call.lost:
        details["lost"] = list(call.lost)
    if call.name in ("send_group_msg", "send_private_msg"):
        message_id = data.get("message_id") if isinstance(data, Mapping) else None
        if isinstance(message_id, bool) or not isinstance(message_id, int | str):
            # The message went out; only its id is unknown, so it cannot be deleted later.
            details["warning"] = "the bridge returned no message_id"
            return Done(details=details)
        return Done(platform_id=str(message_id), details=details)
    return Done(details=details)


# ---------------------------------------------------------------------------
# the HTTP API


class HttpApi:
    """A bridge's HTTP API: ``POST {base}/{action}`` with the params as JSON.

    Redirects are not followed: a bridge never sends one, and following it would
    carry the token to wherever it pointed. Proxy variables from the environment
    are ignored for the same reason: the bridge sits beside shequn, and the token
    must not travel through a proxy meant for the outside world.
    """

    def __init__(self, base_url: str, token: str, *, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    async def call(self, call: Call) -> Any:
        """The call's ``data``; failures are mapped as the module docstring says."""
        try:
            response = await self._client.post(f"{self._base}/{call.name}", json=call.params)
        except httpx.TimeoutException:
            raise TransientFailure(f"{call.name}: the bridge's HTTP API did not answer") from None
        except httpx.HTTPError as exc:
            raise TransientFailure(f"{call.name}: HTTP API unreachable: {exc}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise TransientFailure(
                f"{call.name}: HTTP {status} from the bridge", retry_after=retry_after
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if status != 200:
            words = _words(answer) if isinstance(answer, Mapping) else response.reason_phrase
            reason = f"{call.name}: HTTP {status} from the bridge: {words}"
            if status in (400, 401, 403, 404, 405):
                raise PermanentFailure(reason)
            raise TransientFailure(reason)
        if answer is None:
            raise TransientFailure(f"{call.name}: the bridge's HTTP answer is not JSON")
        return answer_data(call, answer)

    async def close(self) -> None:
        await self._client.aclose()


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None
