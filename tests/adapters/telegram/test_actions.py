"""Each action type makes exactly these Bot API calls (as they go on the wire) and
returns this Done; Telegram's errors become the right failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.exceptions import TelegramNetworkError

from shequn.adapters.base import PermanentFailure, TransientFailure, Unsupported
from shequn.adapters.telegram.actions import ADMIN_RIGHTS
from shequn.core import (
    Action,
    ActionType,
    File,
    Image,
    Link,
    Mention,
    Message,
    Poll,
    Quote,
)

pytestmark = pytest.mark.anyio

GROUP = "-1001987654321"
CHAT = -1001987654321
CHEN = "6023456789"
NOW = datetime(2024, 6, 14, 10, 0, tzinfo=UTC)

MUTED = {
    name: False
    for name in (
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
        "can_react_to_messages",
        "can_edit_tag",
        "can_change_info",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
    )
}
#: The chat's defaults in payloads/responses/getChat.json.
DEFAULTS = {
    "can_send_messages": True,
    "can_send_audios": True,
    "can_send_documents": True,
    "can_send_photos": True,
    "can_send_videos": True,
    "can_send_video_notes": True,
    "can_send_voice_notes": True,
    "can_send_polls": False,
    "can_send_other_messages": True,
    "can_add_web_page_previews": True,
    "can_react_to_messages": True,
    "can_edit_tag": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_pin_messages": False,
    "can_manage_topics": False,
}
SENDING = [name for name in DEFAULTS if name.startswith("can_send") or "web_page" in name]


def act(kind: ActionType, **fields) -> Action:
    return Action(type=kind, platform="telegram", key="outbox:1", **fields)


def ts(when: datetime) -> str:
    return str(int(when.timestamp()))


# --- messages ------------------------------------------------------------------------


async def test_send_message_with_mentions_and_links(adapter, session) -> None:
    session.answer_with("sendMessage", "sendMessage")
    done = await adapter.perform(
        act(
            ActionType.SEND_MESSAGE,
            group=GROUP,
            message=Message.of(
                "📢欢迎 ",
                Mention(user=CHEN, name="陈大伟"),
                " 和 ",
                Mention(name="lin_xiaowen"),
                "，资料：",
                Link("https://example.org/santi", title="三体导读"),
            ),
        )
    )
    assert session.made() == [
        (
            "sendMessage",
            {
                "chat_id": CHAT,
                "text": "📢欢迎 @陈大伟 和 @lin_xiaowen，资料：三体导读",
                "entities": [
                    {
                        "type": "text_mention",
                        "offset": 5,
                        "length": 4,
                        "user": {"id": 6023456789, "is_bot": False, "first_name": "陈大伟"},
                    },
                    {"type": "mention", "offset": 12, "length": 12},
                    {
                        "type": "text_link",
                        "offset": 28,
                        "length": 4,
                        "url": "https://example.org/santi",
                    },
                ],
            },
        )
    ]
    assert done.platform_id == "1301"
    assert done.url == "https://t.me/c/1987654321/1301"
    assert done.details == {"message_ids": ["1301"]}


async def test_public_group_links_by_username(adapter, session) -> None:
    session.answer_with("sendMessage", "sendMessage_public")
    done = await adapter.perform(
        act(ActionType.SEND_MESSAGE, group="@shanghai_readers", message=Message.of("公告"))
    )
    assert session.made() == [("sendMessage", {"chat_id": "@shanghai_readers", "text": "公告"})]
    assert done.url == "https://t.me/shanghai_readers/5120"


async def test_media_follow_the_text_one_call_each(adapter, session) -> None:
    session.answer_with("sendMessage", "sendMessage")
    session.answer_with("sendPhoto", "sendPhoto")
    session.answer_with("sendDocument", "sendDocument")
    session.answer_with("sendPoll", "sendPoll")
    done = await adapter.perform(
        act(
            ActionType.SEND_MESSAGE,
            group=GROUP,
            message=Message.of(
                Quote("1204"),
                "周六活动安排👇",
                Image(url="https://example.org/poster.jpg"),
                File(name="活动安排.pdf", file_id="BQACAgUAAxkBAAIEuWZr_doc"),
                Poll("周六能来吗？", ("能", "不能")),
            ),
            params={"thread_id": "3301"},
        )
    )
    reply = {"message_id": 1204, "allow_sending_without_reply": True}
    assert session.made() == [
        (
            "sendMessage",
            {
                "chat_id": CHAT,
                "message_thread_id": 3301,
                "text": "周六活动安排👇",
                "reply_parameters": reply,
            },
        ),
        (
            "sendPhoto",
            {"chat_id": CHAT, "message_thread_id": 3301, "photo": "https://example.org/poster.jpg"},
        ),
        (
            "sendDocument",
            {"chat_id": CHAT, "message_thread_id": 3301, "document": "BQACAgUAAxkBAAIEuWZr_doc"},
        ),
        (
            "sendPoll",
            {
                "chat_id": CHAT,
                "message_thread_id": 3301,
                "question": "周六能来吗？",
                "options": [{"text": "能"}, {"text": "不能"}],
            },
        ),
    ]
    assert done.platform_id == "1301"
    assert done.details == {
        "message_ids": ["1301", "1302", "1303", "1304"],
        "lost": [
            "Telegram cannot send text and media as one message; the text goes first, "
            "then each attachment"
        ],
    }


async def test_reply_threads_to_the_target(adapter, session) -> None:
    session.answer_with("sendMessage", "sendMessage")
    done = await adapter.perform(
        act(ActionType.REPLY, group=GROUP, target_message="1205", message=Message.of("收到👌"))
    )
    assert session.made() == [
        (
            "sendMessage",
            {
                "chat_id": CHAT,
                "text": "收到👌",
                "reply_parameters": {"message_id": 1205, "allow_sending_without_reply": True},
            },
        )
    ]
    assert done.platform_id == "1301"


async def test_direct_message_goes_to_the_user(adapter, session) -> None:
    session.answer_with("sendMessage", "sendMessage_private")
    done = await adapter.perform(
        act(ActionType.DIRECT_MESSAGE, user="5012345678", message=Message.of(Quote("9"), "你好"))
    )
    assert session.made() == [("sendMessage", {"chat_id": 5012345678, "text": "你好"})]
    assert done.platform_id == "91"
    assert done.url is None
    assert done.details["lost"] == [
        "a direct message cannot reply to a group's message; sent without the reply"
    ]


async def test_nothing_to_show_is_refused_without_a_call(adapter, session) -> None:
    with pytest.raises(PermanentFailure, match="nothing Telegram can show"):
        await adapter.perform(
            act(ActionType.SEND_MESSAGE, group=GROUP, message=Message.of(Quote("1")))
        )
    assert session.calls == []


async def test_a_failure_after_some_parts_went_out_is_permanent(adapter, session) -> None:
    session.answer_with("sendMessage", "sendMessage")
    session.answer_with("sendPhoto", "flood_wait")
    with pytest.raises(PermanentFailure) as failed:
        await adapter.perform(
            act(
                ActionType.SEND_MESSAGE,
                group=GROUP,
                message=Message.of("海报", Image(file_id="AgACAgUAAxkDAAIFFGZr_sent")),
            )
        )
    assert failed.value.reason == (
        "sent 1 of 2 parts (messages 1301); then sendPhoto: Telegram flood control, retry in 17 s"
    )


# --- moderation ----------------------------------------------------------------------


async def test_delete_message(adapter, session) -> None:
    session.answer_with("deleteMessage", "true")
    done = await adapter.perform(act(ActionType.DELETE_MESSAGE, group=GROUP, target_message="1205"))
    assert session.made() == [("deleteMessage", {"chat_id": CHAT, "message_id": 1205})]
    assert done.platform_id == "1205"


async def test_pin_message(adapter, session) -> None:
    session.answer_with("pinChatMessage", "true")
    done = await adapter.perform(act(ActionType.PIN_MESSAGE, group=GROUP, target_message="1208"))
    assert session.made() == [("pinChatMessage", {"chat_id": CHAT, "message_id": 1208})]
    assert done.url == "https://t.me/c/1987654321/1208"


async def test_mute_takes_every_permission_until_now_plus_duration(adapter, session) -> None:
    session.answer_with("restrictChatMember", "true")
    done = await adapter.perform(
        act(ActionType.MUTE, group=GROUP, user=CHEN, duration=timedelta(minutes=10))
    )
    until = NOW + timedelta(minutes=10)
    assert session.made() == [
        (
            "restrictChatMember",
            {
                "chat_id": CHAT,
                "user_id": 6023456789,
                "permissions": MUTED,
                "use_independent_chat_permissions": True,
                "until_date": ts(until),
            },
        )
    ]
    assert done.details == {"until": until.isoformat()}


@pytest.mark.parametrize(
    ("asked", "kept"),
    [(timedelta(seconds=5), timedelta(seconds=40)), (timedelta(days=400), timedelta(days=365))],
)
async def test_mute_outside_telegrams_bounds_is_clamped(adapter, session, asked, kept) -> None:
    session.answer_with("restrictChatMember", "true")
    done = await adapter.perform(act(ActionType.MUTE, group=GROUP, user=CHEN, duration=asked))
    assert session.calls[0].fields["until_date"] == ts(NOW + kept)
    assert done.details["clamped"] == (
        "Telegram takes under 30 s or over 366 days as forever; "
        f"asked for {asked.total_seconds():g} s, set {kept.total_seconds():g} s"
    )


async def test_unmute_restores_the_chats_defaults(adapter, session) -> None:
    session.answer_with("getChat", "getChat")
    session.answer_with("restrictChatMember", "true")
    await adapter.perform(act(ActionType.UNMUTE, group=GROUP, user=CHEN))
    assert session.made() == [
        ("getChat", {"chat_id": CHAT}),
        (
            "restrictChatMember",
            {
                "chat_id": CHAT,
                "user_id": 6023456789,
                "permissions": DEFAULTS,
                "use_independent_chat_permissions": True,
            },
        ),
    ]


@pytest.mark.parametrize(("kind", "allowed"), [("mute_all", False), ("unmute_all", True)])
async def test_mute_all_switches_only_sending(adapter, session, kind, allowed) -> None:
    session.answer_with("getChat", "getChat")
    session.answer_with("setChatPermissions", "true")
    await adapter.perform(act(ActionType(kind), group=GROUP))
    expected = {**DEFAULTS, **dict.fromkeys(SENDING, allowed)}
    assert session.made() == [
        ("getChat", {"chat_id": CHAT}),
        (
            "setChatPermissions",
            {"chat_id": CHAT, "permissions": expected, "use_independent_chat_permissions": True},
        ),
    ]


async def test_kick_bans_then_unbans_so_they_may_return(adapter, session) -> None:
    session.answer_with("banChatMember", "true")
    session.answer_with("unbanChatMember", "true")
    await adapter.perform(act(ActionType.KICK, group=GROUP, user=CHEN))
    assert session.made() == [
        ("banChatMember", {"chat_id": CHAT, "user_id": 6023456789}),
        ("unbanChatMember", {"chat_id": CHAT, "user_id": 6023456789, "only_if_banned": True}),
    ]


async def test_timed_ban_that_also_removes_their_messages(adapter, session) -> None:
    session.answer_with("banChatMember", "true")
    done = await adapter.perform(
        act(
            ActionType.BAN,
            group=GROUP,
            user=CHEN,
            duration=timedelta(days=7),
            params={"revoke_messages": True},
        )
    )
    until = NOW + timedelta(days=7)
    assert session.made() == [
        (
            "banChatMember",
            {
                "chat_id": CHAT,
                "user_id": 6023456789,
                "until_date": ts(until),
                "revoke_messages": True,
            },
        )
    ]
    assert done.details == {"until": until.isoformat()}


async def test_unban_only_if_banned(adapter, session) -> None:
    session.answer_with("unbanChatMember", "true")
    await adapter.perform(act(ActionType.UNBAN, group=GROUP, user=CHEN))
    assert session.made() == [
        ("unbanChatMember", {"chat_id": CHAT, "user_id": 6023456789, "only_if_banned": True})
    ]


@pytest.mark.parametrize(
    ("kind", "api"),
    [("approve_join", "approveChatJoinRequest"), ("reject_join", "declineChatJoinRequest")],
)
async def test_join_requests_are_answered_by_user_id(adapter, session, kind, api) -> None:
    session.answer_with(api, "true")
    done = await adapter.perform(
        act(
            ActionType(kind),
            group=GROUP,
            user=CHEN,
            params={"request_id": CHEN, "reason": "名额已满"},
        )
    )
    assert session.made() == [(api, {"chat_id": CHAT, "user_id": 6023456789})]
    assert done.platform_id == CHEN


# --- titles and roles ----------------------------------------------------------------


async def test_title_of_an_admin_the_bot_promoted(adapter, session) -> None:
    session.answer_with("getChatMember", "getChatMember_admin")
    session.answer_with("setChatAdministratorCustomTitle", "true")
    done = await adapter.perform(
        act(ActionType.SET_TITLE, group=GROUP, user="5012345678", params={"title": "领读人"})
    )
    assert session.made() == [
        ("getChatMember", {"chat_id": CHAT, "user_id": 5012345678}),
        (
            "setChatAdministratorCustomTitle",
            {"chat_id": CHAT, "user_id": 5012345678, "custom_title": "领读人"},
        ),
    ]
    assert done.details == {"as": "custom_title"}


async def test_title_of_a_regular_member_is_their_tag(adapter, session) -> None:
    session.answer_with("getChatMember", "getChatMember_member")
    session.answer_with("setChatMemberTag", "true")
    done = await adapter.perform(
        act(ActionType.SET_TITLE, group=GROUP, user=CHEN, params={"title": "字幕侠"})
    )
    assert session.made()[1] == (
        "setChatMemberTag",
        {"chat_id": CHAT, "user_id": 6023456789, "tag": "字幕侠"},
    )
    assert done.details == {"as": "tag"}


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("getChatMember_foreign_admin", "only the administrators it promoted"),
        ("getChatMember_owner", "only the group's owner can set the owner's title"),
        ("getChatMember_left", r"6023456789 is not in the group \(Telegram says left\)"),
    ],
)
async def test_titles_telegram_will_not_let_the_bot_set(adapter, session, member, reason) -> None:
    session.answer_with("getChatMember", member)
    with pytest.raises(PermanentFailure, match=reason):
        await adapter.perform(
            act(ActionType.SET_TITLE, group=GROUP, user=CHEN, params={"title": "班长"})
        )
    assert [api for api, _ in session.made()] == ["getChatMember"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "needs params\\['title'\\]"),
        ({"title": "一二三四五六七八九十一二三四五六七"}, "at most 16"),
    ],
)
async def test_bad_titles_are_refused_before_any_call(adapter, session, params, reason) -> None:
    with pytest.raises(PermanentFailure, match=reason):
        await adapter.perform(act(ActionType.SET_TITLE, group=GROUP, user=CHEN, params=params))
    assert session.calls == []


@pytest.mark.parametrize("role", ["admin", "member"])
async def test_set_role_promotes_or_demotes(adapter, session, role) -> None:
    session.answer_with("promoteChatMember", "true")
    await adapter.perform(act(ActionType.SET_ROLE, group=GROUP, user=CHEN, params={"role": role}))
    ((api, fields),) = session.made()
    assert api == "promoteChatMember"
    assert fields.pop("chat_id") == CHAT
    assert fields.pop("user_id") == 6023456789
    granted = {name for name, on in fields.items() if on}
    assert granted == (set(ADMIN_RIGHTS) if role == "admin" else set())
    assert {
        "can_manage_chat",
        "can_delete_messages",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
    } == ADMIN_RIGHTS
    assert {"can_promote_members", "can_change_info", "is_anonymous"} <= set(fields)


async def test_set_role_owner_is_refused(adapter, session) -> None:
    with pytest.raises(PermanentFailure, match="ownership"):
        await adapter.perform(
            act(ActionType.SET_ROLE, group=GROUP, user=CHEN, params={"role": "owner"})
        )
    assert session.calls == []


async def test_invite_makes_a_one_person_link(adapter, session) -> None:
    session.answer_with("createChatInviteLink", "createChatInviteLink")
    done = await adapter.perform(act(ActionType.INVITE, group=GROUP, user=CHEN))
    assert session.made() == [
        (
            "createChatInviteLink",
            {"chat_id": CHAT, "name": "invite 6023456789", "member_limit": 1},
        )
    ]
    assert done.url == "https://t.me/+Yx7bQ2mN4kA1ZjI1"


async def test_set_card_is_unsupported_with_the_reason(adapter, session) -> None:
    with pytest.raises(Unsupported, match="no per-group display name"):
        await adapter.perform(
            act(ActionType.SET_CARD, group=GROUP, user=CHEN, params={"card": "三班 陈大伟"})
        )
    assert session.calls == []


# --- errors --------------------------------------------------------------------------


async def _network_down(method):
    raise TelegramNetworkError(method=method, message="Request timeout error")


@pytest.mark.parametrize(
    ("answer", "failure", "reason", "retry_after"),
    [
        (
            "flood_wait",
            TransientFailure,
            "restrictChatMember: Telegram flood control, retry in 17 s",
            17.0,
        ),
        ("bad_gateway", TransientFailure, "restrictChatMember: Bad Gateway", None),
        (_network_down, TransientFailure, "restrictChatMember: Request timeout error", None),
        (
            "bad_request",
            PermanentFailure,
            "restrictChatMember: Bad Request: not enough rights to restrict/unrestrict chat member",
            None,
        ),
        (
            "forbidden",
            PermanentFailure,
            "restrictChatMember: Forbidden: bot was kicked from the supergroup chat",
            None,
        ),
        (
            "migrated",
            PermanentFailure,
            "restrictChatMember: the group became supergroup -1001987654321; use that id",
            None,
        ),
    ],
)
async def test_telegram_errors_become_failures(
    adapter, session, payload, answer, failure, reason, retry_after
) -> None:
    body = payload(f"responses/{answer}") if isinstance(answer, str) else answer
    session.answer("restrictChatMember", body)
    with pytest.raises(failure) as failed:
        await adapter.perform(
            act(ActionType.MUTE, group="-4012345678", user=CHEN, duration=timedelta(minutes=1))
        )
    assert type(failed.value) is failure
    assert failed.value.reason == reason
    assert getattr(failed.value, "retry_after", None) == retry_after


async def test_gone_message_is_permanent(adapter, session) -> None:
    session.answer_with("deleteMessage", "message_not_found")
    with pytest.raises(PermanentFailure, match="message to delete not found"):
        await adapter.perform(act(ActionType.DELETE_MESSAGE, group=GROUP, target_message="999"))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"group": "上海读书会", "target_message": "1"}, "'上海读书会' is not a Telegram chat id"),
        ({"group": GROUP, "target_message": "chat:1"}, "'chat:1' is not a Telegram message id"),
    ],
)
async def test_ids_telegram_cannot_use_are_refused(adapter, session, fields, reason) -> None:
    with pytest.raises(PermanentFailure, match=reason):
        await adapter.perform(act(ActionType.PIN_MESSAGE, **fields))
    assert session.calls == []
