"""Actions carried out on a real Synapse, checked from the members' side.

The rooms here are made by the bot account, so it has the power a bot is given
in a community it runs; alice and bob are ordinary members (power 0).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from nio import AsyncClient, ErrorResponse, RoomMessagesResponse, RoomSendError

from adapters.matrix.support import Accounts, make_room, matrix_config, ok
from matrix_server import Homeserver
from shequn.adapters.base import PermanentFailure
from shequn.adapters.matrix import MatrixAdapter
from shequn.core import Action, ActionType, Image, Link, Mention, Message, Text
from shequn.kit.clock import FrozenClock

pytestmark = pytest.mark.anyio

HTML = "org.matrix.custom.html"


async def content_of(client: AsyncClient, room: str, event_id: str) -> dict:
    """An event's content as a member reads it."""
    return ok(await client.room_get_event(room, event_id)).event.source["content"]


async def say(client: AsyncClient, room: str, text: str) -> RoomSendError | str:
    """A member's message: its event id, or the refusal."""
    response = await client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": text})
    return response if isinstance(response, RoomSendError) else response.event_id


async def levels(client: AsyncClient, room: str) -> dict:
    return ok(await client.room_get_state_event(room, "m.room.power_levels")).content


@pytest.fixture
async def room(people: dict) -> str:
    return await make_room(people["bot"], people["alice"], people["bob"])


async def test_a_sent_message_reads_back_escaped_with_pills_and_links(
    adapter: MatrixAdapter, people: dict, accounts: Accounts, room: str
) -> None:
    alice = accounts.alice.user_id
    message = Message.of(
        "<script>alert('读书会')</script> 欢迎 ",
        Mention(user=alice, name="爱丽丝"),
        " 请看 ",
        Link("https://example.com/?a=1&b=<2>", title="书单 & 规则"),
    )
    done = await adapter.perform(
        Action(ActionType.SEND_MESSAGE, group=room, message=message, key="welcome-1")
    )
    assert done.platform_id is not None and done.platform_id.startswith("$")
    assert done.url == f"https://matrix.to/#/{room}/{done.platform_id}"

    content = await content_of(people["alice"], room, done.platform_id)
    assert content["msgtype"] == "m.text"
    assert content["body"] == (
        "<script>alert('读书会')</script> 欢迎 爱丽丝 请看 书单 & 规则 https://example.com/?a=1&b=<2>"
    )
    assert content["format"] == HTML
    assert content["formatted_body"] == (
        "&lt;script&gt;alert(&#x27;读书会&#x27;)&lt;/script&gt; 欢迎 "
        f'<a href="https://matrix.to/#/{alice}">爱丽丝</a> 请看 '
        '<a href="https://example.com/?a=1&amp;b=&lt;2&gt;">书单 &amp; 规则</a>'
    )
    assert content["m.mentions"] == {"user_ids": [alice]}


async def test_a_reply_points_at_the_message(
    adapter: MatrixAdapter, people: dict, room: str
) -> None:
    asked = await say(people["alice"], room, "几点开始？")
    assert isinstance(asked, str)
    done = await adapter.perform(
        Action(
            ActionType.REPLY,
            group=room,
            target_message=asked,
            message=Message.of("晚上八点"),
            key="reply-1",
        )
    )
    content = await content_of(people["alice"], room, str(done.platform_id))
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": asked}}
    assert content["body"] == "晚上八点"


async def test_a_deleted_message_is_redacted(
    adapter: MatrixAdapter, people: dict, room: str
) -> None:
    spam = await say(people["bob"], room, "加我微信领红包")
    assert isinstance(spam, str)
    done = await adapter.perform(
        Action(ActionType.DELETE_MESSAGE, group=room, target_message=spam, reason="广告")
    )
    assert done.platform_id is not None and done.platform_id != spam
    assert await content_of(people["alice"], room, spam) == {}


async def test_sending_twice_with_one_key_makes_one_event(
    adapter: MatrixAdapter,
    homeserver: Homeserver,
    people: dict,
    accounts: Accounts,
    room: str,
) -> None:
    action = Action(
        ActionType.SEND_MESSAGE, group=room, message=Message.of("今晚停电，活动改期"), key="k-42"
    )
    first = await adapter.perform(action)
    again = await adapter.perform(action)
    # A restarted process (same token and device) repeating it is deduplicated too.
    restarted = MatrixAdapter(matrix_config(homeserver, accounts))
    await restarted.connect()
    try:
        after_restart = await restarted.perform(action)
    finally:
        await restarted.disconnect()
    assert first.platform_id == again.platform_id == after_restart.platform_id

    history = ok(await people["alice"].room_messages(room, limit=50))
    assert isinstance(history, RoomMessagesResponse)
    bodies = [e.source["content"].get("body") for e in history.chunk]
    assert bodies.count("今晚停电，活动改期") == 1


async def test_kick_invite_ban_and_unban_change_membership(
    adapter: MatrixAdapter, people: dict, accounts: Accounts, room: str
) -> None:
    bob = accounts.bob.user_id

    async def membership() -> str:
        member = ok(await people["alice"].room_get_state_event(room, "m.room.member", bob))
        return member.content["membership"]

    await adapter.perform(Action(ActionType.KICK, group=room, user=bob, reason="刷屏"))
    assert await membership() == "leave"
    await adapter.perform(Action(ActionType.INVITE, group=room, user=bob))
    assert await membership() == "invite"
    await adapter.perform(Action(ActionType.BAN, group=room, user=bob, reason="屡教不改"))
    assert await membership() == "ban"
    assert isinstance(await people["bob"].join(room), ErrorResponse)
    await adapter.perform(Action(ActionType.UNBAN, group=room, user=bob))
    assert await membership() == "leave"


async def test_a_muted_member_cannot_speak_until_unmuted(
    adapter: MatrixAdapter, people: dict, accounts: Accounts, room: str, clock: FrozenClock
) -> None:
    alice = accounts.alice.user_id
    done = await adapter.perform(
        Action(ActionType.MUTE, group=room, user=alice, duration=timedelta(minutes=10))
    )
    assert done.details["previous_level"] is None
    assert done.details["until"] == (clock.now() + timedelta(minutes=10)).isoformat()
    assert (await levels(people["alice"], room))["users"][alice] == -1

    refused = await say(people["alice"], room, "我被禁言了吗？")
    assert isinstance(refused, RoomSendError) and refused.status_code == "M_FORBIDDEN"
    assert isinstance(await say(people["bob"], room, "我还能说话"), str)

    await adapter.perform(
        Action(
            ActionType.UNMUTE,
            group=room,
            user=alice,
            params={"previous_level": done.details["previous_level"]},
        )
    )
    assert alice not in (await levels(people["alice"], room))["users"]
    assert isinstance(await say(people["alice"], room, "可以说话了"), str)


async def test_mute_all_silences_members_and_unmute_all_restores(
    adapter: MatrixAdapter, people: dict, room: str
) -> None:
    done = await adapter.perform(Action(ActionType.MUTE_ALL, group=room))
    assert done.details["previous_events_default"] == 0
    refused = await say(people["alice"], room, "全员禁言？")
    assert isinstance(refused, RoomSendError) and refused.status_code == "M_FORBIDDEN"
    notice = await adapter.perform(
        Action(ActionType.SEND_MESSAGE, group=room, message=Message.of("管理员公告"))
    )
    assert notice.platform_id is not None

    await adapter.perform(
        Action(
            ActionType.UNMUTE_ALL,
            group=room,
            params={k: v for k, v in done.details.items() if k.startswith("previous_")},
        )
    )
    assert (await levels(people["alice"], room))["events_default"] == 0
    assert isinstance(await say(people["alice"], room, "恢复了"), str)


async def test_set_role_gives_and_takes_admin_power(
    adapter: MatrixAdapter, people: dict, accounts: Accounts, room: str
) -> None:
    bob = accounts.bob.user_id
    await adapter.perform(
        Action(ActionType.SET_ROLE, group=room, user=bob, params={"role": "admin"})
    )
    assert (await levels(people["bob"], room))["users"][bob] == 50
    await adapter.perform(
        Action(ActionType.SET_ROLE, group=room, user=bob, params={"role": "member"})
    )
    assert bob not in (await levels(people["bob"], room))["users"]
    with pytest.raises(PermanentFailure, match="owner"):
        await adapter.perform(
            Action(ActionType.SET_ROLE, group=room, user=bob, params={"role": "owner"})
        )


async def test_pinning_adds_to_the_pinned_events_once(
    adapter: MatrixAdapter, people: dict, room: str
) -> None:
    rules = await say(people["alice"], room, "群规：不发广告")
    assert isinstance(rules, str)
    action = Action(ActionType.PIN_MESSAGE, group=room, target_message=rules)
    await adapter.perform(action)
    repeated = await adapter.perform(action)
    assert repeated.details["already"] is True
    pinned = ok(await people["alice"].room_get_state_event(room, "m.room.pinned_events"))
    assert pinned.content["pinned"] == [rules]


async def test_a_direct_message_opens_one_direct_room_and_reuses_it(
    adapter: MatrixAdapter, people: dict, accounts: Accounts
) -> None:
    carol = accounts.carol.user_id
    first = await adapter.perform(
        Action(ActionType.DIRECT_MESSAGE, user=carol, message=Message.of("欢迎加入！"), key="dm-1")
    )
    dm_room = first.details["room_id"]
    invite = ok(await people["bot"].room_get_state_event(dm_room, "m.room.member", carol))
    assert invite.content["membership"] == "invite"
    assert invite.content["is_direct"] is True
    ok(await people["carol"].join(dm_room))
    assert (await content_of(people["carol"], dm_room, str(first.platform_id)))["body"] == (
        "欢迎加入！"
    )

    second = await adapter.perform(
        Action(ActionType.DIRECT_MESSAGE, user=carol, message=Message.of("记得签到"), key="dm-2")
    )
    assert second.details["room_id"] == dm_room


async def test_without_power_a_kick_is_refused_with_the_servers_reason(
    adapter: MatrixAdapter, people: dict, accounts: Accounts
) -> None:
    members_room = await make_room(people["alice"], people["bot"], people["bob"])
    with pytest.raises(PermanentFailure, match="M_FORBIDDEN") as refused:
        await adapter.perform(
            Action(ActionType.KICK, group=members_room, user=accounts.bob.user_id)
        )
    assert not refused.value.transient
    assert "You cannot kick" in refused.value.reason


async def test_an_image_with_an_mxc_url_is_an_image_event(
    adapter: MatrixAdapter, people: dict, room: str
) -> None:
    done = await adapter.perform(
        Action(
            ActionType.SEND_MESSAGE,
            group=room,
            message=Message.of(
                Text("今天的书："), Image(url="mxc://shequn.test/cover", name="封面.png")
            ),
            key="img-1",
        )
    )
    text_id, image_id = done.details["event_ids"]
    assert (await content_of(people["alice"], room, text_id))["body"] == "今天的书："
    image = await content_of(people["alice"], room, image_id)
    assert image == {"msgtype": "m.image", "body": "封面.png", "url": "mxc://shequn.test/cover"}
