"""Actions → Bot API calls, and Telegram's errors → shequn's failures.

Every call goes through the ``Bot`` (and so through its session), one method
object each. What each action type does on Telegram:

- ``send_message`` / ``reply`` / ``direct_message``: the text with its entities
  (``sendMessage``), then each image, file, sticker, voice or video and poll as
  a call of its own; ``Done.platform_id`` is the first message sent, and
  ``details["message_ids"]`` lists all of them. A reply that outlived its target
  still goes out, unthreaded: what it says matters more than where it hangs.
- ``delete_message``, ``pin_message``: by the Telegram message id.
- ``mute``: ``restrictChatMember`` with every permission off until now +
  ``duration``. Telegram takes a restriction of under 30 s or over 366 days as
  forever, so durations are clamped to 40 s … 365 days (a margin for clock
  skew) and the clamp is noted in ``details``. ``unmute`` restores the chat's
  default permissions (``getChat``).
- ``mute_all`` / ``unmute_all``: ``setChatPermissions`` turning every sending
  permission off / on, keeping the chat's other defaults as they are.
- ``kick``: ban, then unban with ``only_if_banned`` — they are out, and may
  come back. ``ban`` / ``unban``: ``banChatMember`` (for ``duration`` when
  given, clamped like a mute) / ``unbanChatMember`` with ``only_if_banned``.
- ``approve_join`` / ``reject_join``: answer a join request; Telegram names a
  request by the user's id. A reject reason is not shown to the user: Telegram
  has no field for it.
- ``set_title``: an administrator's custom title
  (``setChatAdministratorCustomTitle``; only for administrators the bot
  promoted) or a regular member's tag (``setChatMemberTag``) — the same label
  beside the name, 0-16 characters without emoji. The owner's cannot be set.
- ``set_role``: ``promoteChatMember`` with ``ADMIN_RIGHTS`` for ``admin``,
  every right off for ``member``.
- ``invite``: a bot cannot add anyone to a group itself; it makes an invite
  link for one person (``createChatInviteLink``, named after the user so the
  join that follows names it as its entry source) and returns it in
  ``Done.url`` for another action to deliver.

``params`` keys read:

=====================  ======================================================
``thread_id``          send_message: the forum topic to post in
``revoke_messages``    ban: also delete everything they sent (bool)
``request_id``         approve_join / reject_join: the request (the user id;
                       ``action.user`` when absent)
``title``              set_title: the new title, ``""`` clears it (required)
``role``               set_role: ``admin`` or ``member`` (required)
=====================  ======================================================
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    ApproveChatJoinRequest,
    BanChatMember,
    CreateChatInviteLink,
    DeclineChatJoinRequest,
    DeleteMessage,
    GetChat,
    GetChatMember,
    PinChatMessage,
    PromoteChatMember,
    RestrictChatMember,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendPoll,
    SendSticker,
    SendVideo,
    SendVideoNote,
    SendVoice,
    SetChatAdministratorCustomTitle,
    SetChatMemberTag,
    SetChatPermissions,
    TelegramMethod,
    UnbanChatMember,
)
from aiogram.types import ChatPermissions, InputPollOption, ReplyParameters
from aiogram.types import Message as TgMessage

from shequn.adapters.base import ActionFailed, Done, PermanentFailure, TransientFailure
from shequn.adapters.telegram.message import Attachment, Rendered, to_platform
from shequn.core import Action, ActionType, Poll
from shequn.core.actions import INTERNAL

T = TypeVar("T")

#: Telegram ids as shequn keeps them: ASCII digits, negative for groups.
_NUMBER = re.compile(r"-?[0-9]+")

WHY_NOT: Mapping[ActionType, str] = {
    ActionType.SET_CARD: (
        "Telegram has no per-group display name; a member's name is the same in every chat"
    ),
    ActionType.CREATE_GROUP: (
        "Telegram bots cannot create groups; a person creates one and adds the bot as admin"
    ),
    **{
        kind: "shequn carries this out on its own data; no chat platform is involved"
        for kind in INTERNAL
    },
}

#: What ``set_role`` makes an admin: what a community moderator needs (remove
#: messages, mute and remove members, invite, pin) and nothing that could change
#: the group itself or make further admins.
ADMIN_RIGHTS = frozenset(
    {
        "can_manage_chat",
        "can_delete_messages",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
    }
)
_ALL_RIGHTS = tuple(name for name in PromoteChatMember.model_fields if name.startswith("can_")) + (
    "is_anonymous",
)

#: The permissions that let a member post something; ``mute_all`` turns these off.
SENDING = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
)
#: A muted member may do nothing at all.
MUTED = ChatPermissions(**dict.fromkeys(ChatPermissions.model_fields, False))

#: Telegram's bounds for a restriction or ban to be temporary, with room for skew.
SHORTEST = timedelta(seconds=40)
LONGEST = timedelta(days=365)
TITLE_MAX = 16
LINK_NAME_MAX = 32

_SEND: dict[str, type[TelegramMethod[TgMessage]]] = {
    "photo": SendPhoto,
    "document": SendDocument,
    "sticker": SendSticker,
    "voice": SendVoice,
    "video": SendVideo,
    "audio": SendAudio,
    "video_note": SendVideoNote,
    "animation": SendAnimation,
}


# --- errors --------------------------------------------------------------------------


def failure(exc: Exception, method: str) -> ActionFailed:
    """The shequn failure for a Telegram error, with Telegram's own words in it."""
    if isinstance(exc, TelegramRetryAfter):
        return TransientFailure(
            f"{method}: Telegram flood control, retry in {exc.retry_after} s",
            retry_after=float(exc.retry_after),
        )
    if isinstance(exc, TelegramMigrateToChat):
        return PermanentFailure(
            f"{method}: the group became supergroup {exc.migrate_to_chat_id}; use that id"
        )
    if isinstance(exc, TelegramEntityTooLarge):
        return PermanentFailure(f"{method}: {exc.message}")
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return TransientFailure(f"{method}: {exc.message}")
    if isinstance(exc, TelegramAPIError):
        return PermanentFailure(f"{method}: {exc.message}")
    if isinstance(exc, ClientDecodeError):
        return TransientFailure(f"{method}: Telegram's answer could not be read ({exc.message})")
    raise TypeError(f"not a Telegram error: {exc!r}")


async def call(bot: Bot, method: TelegramMethod[T]) -> T:
    """Make one Bot API call; Telegram's errors come out as shequn's failures."""
    try:
        return await bot(method)
    except (TelegramAPIError, ClientDecodeError) as exc:
        raise failure(exc, method.__api_method__) from exc


# --- ids and links -------------------------------------------------------------------


def _chat(value: str | None) -> int | str:
    if value is not None and value.startswith("@") and len(value) > 1:
        return value
    return _int(value, "chat id")


def _int(value: Any, what: str) -> int:
    text = str(value)
    if not _NUMBER.fullmatch(text):
        raise PermanentFailure(f"{value!r} is not a Telegram {what}")
    return int(text)


def message_url(chat_id: int | str, message_id: int, username: str | None = None) -> str | None:
    """A link to a message: by the chat's public username, or the members-only
    ``t.me/c/`` form for a supergroup (its id without the ``-100``). Basic groups
    and private chats have no message links."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        return f"https://t.me/{chat_id[1:]}/{message_id}"
    text = str(chat_id)
    if text.startswith("-100") and text[4:].isdigit():
        return f"https://t.me/c/{text[4:]}/{message_id}"
    return None


def _clamped(duration: timedelta, details: dict[str, Any]) -> timedelta:
    if SHORTEST <= duration <= LONGEST:
        return duration
    kept = min(max(duration, SHORTEST), LONGEST)
    details["clamped"] = (
        f"Telegram takes under 30 s or over 366 days as forever; "
        f"asked for {duration.total_seconds():g} s, set {kept.total_seconds():g} s"
    )
    return kept


# --- sending -------------------------------------------------------------------------


def _media_call(item: Attachment | Poll) -> tuple[type[TelegramMethod[TgMessage]], dict[str, Any]]:
    if isinstance(item, Poll):
        options = [InputPollOption(text=o) for o in item.options]
        return SendPoll, {"question": item.question, "options": options}
    return _SEND[item.kind], {item.kind: item.file}


def calls_for(
    chat: int | str,
    rendered: Rendered,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
) -> list[TelegramMethod[TgMessage]]:
    """The Bot API calls that send ``rendered``: its text first, then its media; the
    first call carries the reply."""
    planned: list[tuple[type[TelegramMethod[TgMessage]], dict[str, Any]]] = []
    if rendered.text.strip():
        fields: dict[str, Any] = {"text": rendered.text}
        if rendered.entities:
            fields["entities"] = list(rendered.entities)
        planned.append((SendMessage, fields))
    planned.extend(_media_call(item) for item in rendered.media)
    out: list[TelegramMethod[TgMessage]] = []
    for n, (method, fields) in enumerate(planned):
        fields = {"chat_id": chat, **fields}
        if thread_id is not None:
            fields["message_thread_id"] = thread_id
        if n == 0 and reply_to is not None:
            fields["reply_parameters"] = ReplyParameters(
                message_id=reply_to, allow_sending_without_reply=True
            )
        out.append(method(**fields))
    return out


async def send(
    bot: Bot,
    chat: int | str,
    rendered: Rendered,
    *,
    reply_to: int | None = None,
    thread_id: int | None = None,
    lost: tuple[str, ...] = (),
) -> Done:
    """Send every part of ``rendered``. A failure after some parts went out is
    permanent (saying which went out), so that a retry never posts them twice."""
    planned = calls_for(chat, rendered, reply_to=reply_to, thread_id=thread_id)
    if not planned:
        raise PermanentFailure("the message has nothing Telegram can show")
    sent: list[TgMessage] = []
    for method in planned:
        try:
            sent.append(await call(bot, method))
        except ActionFailed as exc:
            if not sent:
                raise
            ids = ", ".join(str(m.message_id) for m in sent)
            raise PermanentFailure(
                f"sent {len(sent)} of {len(planned)} parts (messages {ids}); then {exc.reason}"
            ) from exc
    first = sent[0]
    public = first.chat.username if first.chat.type != "private" else None
    details: dict[str, Any] = {"message_ids": [str(m.message_id) for m in sent]}
    everything_lost = (*rendered.lost, *lost)
    if everything_lost:
        details["lost"] = list(everything_lost)
    return Done(
        platform_id=str(first.message_id),
        url=message_url(first.chat.id, first.message_id, public),
        details=details,
    )


# --- the action types ----------------------------------------------------------------

Handler = Callable[[Bot, Action, datetime], Awaitable[Done]]


def _message(action: Action) -> Rendered:
    assert action.message is not None  # Action checks the fields its type needs
    return to_platform(action.message)


async def _send_message(bot: Bot, action: Action, now: datetime) -> Done:
    rendered = _message(action)
    thread = action.params.get("thread_id")
    return await send(
        bot,
        _chat(action.group),
        rendered,
        reply_to=rendered.reply_to,
        thread_id=_int(thread, "topic id") if thread is not None else None,
    )


async def _reply(bot: Bot, action: Action, now: datetime) -> Done:
    target = _int(action.target_message, "message id")
    return await send(bot, _chat(action.group), _message(action), reply_to=target)


async def _direct_message(bot: Bot, action: Action, now: datetime) -> Done:
    rendered = _message(action)
    lost: tuple[str, ...] = ()
    if rendered.reply_to is not None:
        lost = ("a direct message cannot reply to a group's message; sent without the reply",)
    return await send(bot, _int(action.user, "user id"), rendered, lost=lost)


async def _delete_message(bot: Bot, action: Action, now: datetime) -> Done:
    target = _int(action.target_message, "message id")
    await call(bot, DeleteMessage(chat_id=_chat(action.group), message_id=target))
    return Done(platform_id=str(target))


async def _pin_message(bot: Bot, action: Action, now: datetime) -> Done:
    chat, target = _chat(action.group), _int(action.target_message, "message id")
    await call(bot, PinChatMessage(chat_id=chat, message_id=target))
    return Done(platform_id=str(target), url=message_url(chat, target))


async def _mute(bot: Bot, action: Action, now: datetime) -> Done:
    assert action.duration is not None
    details: dict[str, Any] = {}
    until = now + _clamped(action.duration, details)
    await call(
        bot,
        RestrictChatMember(
            chat_id=_chat(action.group),
            user_id=_int(action.user, "user id"),
            permissions=MUTED,
            use_independent_chat_permissions=True,
            until_date=until,
        ),
    )
    details["until"] = until.isoformat()
    return Done(details=details)


async def _defaults(bot: Bot, chat: int | str) -> ChatPermissions | None:
    return (await call(bot, GetChat(chat_id=chat))).permissions


async def _unmute(bot: Bot, action: Action, now: datetime) -> Done:
    chat = _chat(action.group)
    defaults = await _defaults(bot, chat)
    if defaults is None:
        raise PermanentFailure(f"Telegram gave no default permissions for {chat}; not a group?")
    await call(
        bot,
        RestrictChatMember(
            chat_id=chat,
            user_id=_int(action.user, "user id"),
            permissions=defaults,
            use_independent_chat_permissions=True,
        ),
    )
    return Done()


async def _sending(bot: Bot, action: Action, allowed: bool) -> Done:
    chat = _chat(action.group)
    current = await _defaults(bot, chat) or ChatPermissions()
    permissions = current.model_copy(update=dict.fromkeys(SENDING, allowed))
    await call(
        bot,
        SetChatPermissions(
            chat_id=chat, permissions=permissions, use_independent_chat_permissions=True
        ),
    )
    return Done()


async def _mute_all(bot: Bot, action: Action, now: datetime) -> Done:
    return await _sending(bot, action, False)


async def _unmute_all(bot: Bot, action: Action, now: datetime) -> Done:
    return await _sending(bot, action, True)


async def _kick(bot: Bot, action: Action, now: datetime) -> Done:
    chat, user = _chat(action.group), _int(action.user, "user id")
    await call(bot, BanChatMember(chat_id=chat, user_id=user))
    await call(bot, UnbanChatMember(chat_id=chat, user_id=user, only_if_banned=True))
    return Done()


async def _ban(bot: Bot, action: Action, now: datetime) -> Done:
    details: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if action.duration is not None:
        until = now + _clamped(action.duration, details)
        extra["until_date"] = until
        details["until"] = until.isoformat()
    revoke = action.params.get("revoke_messages")
    if revoke is not None:
        extra["revoke_messages"] = bool(revoke)
    await call(
        bot,
        BanChatMember(chat_id=_chat(action.group), user_id=_int(action.user, "user id"), **extra),
    )
    return Done(details=details)


async def _unban(bot: Bot, action: Action, now: datetime) -> Done:
    await call(
        bot,
        UnbanChatMember(
            chat_id=_chat(action.group),
            user_id=_int(action.user, "user id"),
            only_if_banned=True,
        ),
    )
    return Done()


def _requester(action: Action) -> int:
    return _int(action.params.get("request_id") or action.user, "join request id")


async def _approve_join(bot: Bot, action: Action, now: datetime) -> Done:
    user = _requester(action)
    await call(bot, ApproveChatJoinRequest(chat_id=_chat(action.group), user_id=user))
    return Done(platform_id=str(user))


async def _reject_join(bot: Bot, action: Action, now: datetime) -> Done:
    user = _requester(action)
    await call(bot, DeclineChatJoinRequest(chat_id=_chat(action.group), user_id=user))
    return Done(platform_id=str(user))


async def _set_title(bot: Bot, action: Action, now: datetime) -> Done:
    title = action.params.get("title")
    if not isinstance(title, str):
        raise PermanentFailure("set_title needs params['title'], a string ('' clears it)")
    if len(title) > TITLE_MAX:
        raise PermanentFailure(f"Telegram titles hold at most {TITLE_MAX} characters: {title!r}")
    chat, user = _chat(action.group), _int(action.user, "user id")
    member = await call(bot, GetChatMember(chat_id=chat, user_id=user))
    status = member.status
    if status == "administrator":
        if not getattr(member, "can_be_edited", False):
            raise PermanentFailure(
                f"Telegram lets a bot title only the administrators it promoted; {user} "
                "was promoted by someone else"
            )
        await call(
            bot, SetChatAdministratorCustomTitle(chat_id=chat, user_id=user, custom_title=title)
        )
        return Done(details={"as": "custom_title"})
    if status == "creator":
        raise PermanentFailure("only the group's owner can set the owner's title on Telegram")
    if status == "member" or (status == "restricted" and getattr(member, "is_member", False)):
        await call(bot, SetChatMemberTag(chat_id=chat, user_id=user, tag=title))
        return Done(details={"as": "tag"})
    raise PermanentFailure(f"{user} is not in the group (Telegram says {status})")


async def _set_role(bot: Bot, action: Action, now: datetime) -> Done:
    role = action.params.get("role")
    if role not in ("admin", "member"):
        raise PermanentFailure(
            f"set_role on Telegram takes params['role'] 'admin' or 'member', not {role!r}"
            " (a bot cannot hand over a group's ownership)"
        )
    rights = {name: role == "admin" and name in ADMIN_RIGHTS for name in _ALL_RIGHTS}
    await call(
        bot,
        PromoteChatMember(
            chat_id=_chat(action.group), user_id=_int(action.user, "user id"), **rights
        ),
    )
    return Done(details={"role": role})


async def _invite(bot: Bot, action: Action, now: datetime) -> Done:
    user = _int(action.user, "user id")
    link = await call(
        bot,
        CreateChatInviteLink(
            chat_id=_chat(action.group), name=f"invite {user}"[:LINK_NAME_MAX], member_limit=1
        ),
    )
    return Done(
        platform_id=link.invite_link, url=link.invite_link, details={"name": link.name or ""}
    )


HANDLERS: Mapping[ActionType, Handler] = {
    ActionType.SEND_MESSAGE: _send_message,
    ActionType.REPLY: _reply,
    ActionType.DIRECT_MESSAGE: _direct_message,
    ActionType.DELETE_MESSAGE: _delete_message,
    ActionType.PIN_MESSAGE: _pin_message,
    ActionType.MUTE: _mute,
    ActionType.UNMUTE: _unmute,
    ActionType.MUTE_ALL: _mute_all,
    ActionType.UNMUTE_ALL: _unmute_all,
    ActionType.KICK: _kick,
    ActionType.BAN: _ban,
    ActionType.UNBAN: _unban,
    ActionType.APPROVE_JOIN: _approve_join,
    ActionType.REJECT_JOIN: _reject_join,
    ActionType.SET_TITLE: _set_title,
    ActionType.SET_ROLE: _set_role,
    ActionType.INVITE: _invite,
}
#: Every action type Telegram lets a bot do; ``WHY_NOT`` says why the others are missing.
CAPABILITIES = frozenset(HANDLERS)


async def perform(bot: Bot, action: Action, now: datetime) -> Done:
    """Carry out one action the adapter has already checked it supports. ``now``
    anchors mutes and timed bans."""
    return await HANDLERS[action.type](bot, action, now)
