"""What the bot hears in real rooms on a real Synapse: the events ``events()`` yields."""

from __future__ import annotations

import io
from datetime import UTC

import pytest
from nio import UploadResponse

from adapters.matrix.support import (
    Accounts,
    Stream,
    make_room,
    matrix_config,
    ok,
    png,
    wait_until,
)
from shequn.adapters.matrix import MatrixAdapter
from shequn.core import Action, ActionType, EventType, Image, Link, Mention, Quote, Text

pytestmark = pytest.mark.anyio

HTML = "org.matrix.custom.html"


async def test_a_room_from_invite_to_departure(
    adapter: MatrixAdapter, people: dict, accounts: Accounts
) -> None:
    alice, bob = people["alice"], people["bob"]
    bot = accounts.bot.user_id
    stream = Stream(adapter)

    created = ok(await alice.room_create(name="读书会", power_level_override={"users": {bot: 100}}))
    room = created.room_id
    # Said before the bot is there: history, which must not come out as live events.
    ok(await alice.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "机器人来之前"}))
    ok(await alice.room_invite(room, bot))
    await wait_until(lambda: room in adapter.rooms and adapter.rooms[room].joined().count(bot))

    greeting = ok(
        await alice.room_send(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": f"早上好 {accounts.bot.name}，今天读这篇：https://example.com/a?id=42",
                "format": HTML,
                "formatted_body": (
                    f'早上好 <a href="https://matrix.to/#/{bot}">{accounts.bot.name}</a>'
                    "，今天读这篇：https://example.com/a?id=42"
                ),
                "m.mentions": {"user_ids": [bot]},
            },
        )
    )
    event = await stream.next()
    assert event.type is EventType.MESSAGE
    assert event.source == f"matrix:{bot}"
    assert event.source_id == greeting.event_id
    assert event.payload["message_id"] == greeting.event_id
    assert (event.group, event.group_name) == (room, "读书会")
    assert (event.actor, event.actor_name) == (accounts.alice.user_id, "爱丽丝")
    assert event.occurred_at.tzinfo is UTC
    assert event.message is not None
    assert event.message.segments == (
        Text("早上好 "),
        Mention(user=bot, name=accounts.bot.name),
        Text("，今天读这篇："),
        Link("https://example.com/a?id=42"),
    )

    reply = ok(
        await alice.room_send(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": f"> <{accounts.alice.user_id}> 早上好\n\n同意，下午讨论",
                "format": HTML,
                "formatted_body": (
                    f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/'
                    f'{greeting.event_id}">In reply to</a> 早上好</blockquote></mx-reply>'
                    "同意，下午讨论"
                ),
                "m.relates_to": {"m.in_reply_to": {"event_id": greeting.event_id}},
            },
        )
    )
    event = await stream.next()
    assert event.source_id == reply.event_id
    assert event.message is not None
    assert event.message.segments == (Quote(greeting.event_id), Text("同意，下午讨论"))

    picture = png()
    uploaded, _ = await alice.upload(
        io.BytesIO(picture), content_type="image/png", filename="封面.png", filesize=len(picture)
    )
    assert isinstance(uploaded, UploadResponse)
    ok(
        await alice.room_send(
            room,
            "m.room.message",
            {
                "msgtype": "m.image",
                "body": "封面.png",
                "url": uploaded.content_uri,
                "info": {"mimetype": "image/png", "size": len(picture), "w": 2, "h": 2},
            },
        )
    )
    event = await stream.next()
    assert event.message is not None
    assert event.message.segments == (
        Image(url=uploaded.content_uri, name="封面.png", size=len(picture)),
    )
    assert uploaded.content_uri.startswith("mxc://shequn.test/")

    ok(await alice.room_invite(room, accounts.bob.user_id))
    ok(await bob.join(room))
    event = await stream.next()
    assert event.type is EventType.JOIN
    assert (event.actor, event.actor_name) == (accounts.bob.user_id, "鲍勃")
    assert dict(event.payload) == {
        "via": "invite",
        "inviter": accounts.alice.user_id,
        "role": "member",
    }

    await adapter.perform(
        Action(ActionType.KICK, group=room, user=accounts.bob.user_id, reason="刷屏")
    )
    event = await stream.next()
    assert event.type is EventType.LEAVE
    assert event.actor == accounts.bob.user_id
    assert dict(event.payload) == {"kicked_by": bot, "reason": "刷屏"}

    ok(await alice.room_invite(room, accounts.bob.user_id))
    ok(await bob.join(room))
    assert (await stream.next()).type is EventType.JOIN
    ok(await bob.room_leave(room))
    event = await stream.next()
    assert event.type is EventType.LEAVE
    assert event.actor == accounts.bob.user_id
    assert "kicked_by" not in event.payload

    ok(
        await alice.room_put_state(
            room, "m.room.power_levels", _levels(adapter, room, {accounts.carol.user_id: 50})
        )
    )
    event = await stream.next()
    assert event.type is EventType.MEMBER_UPDATE
    assert event.actor == accounts.carol.user_id
    assert dict(event.payload) == {"role": "admin", "by": accounts.alice.user_id}

    ok(await alice.room_redact(room, greeting.event_id, reason="发错了"))
    event = await stream.next()
    assert event.type is EventType.RECALL
    assert dict(event.payload) == {
        "target": greeting.event_id,
        "by": accounts.alice.user_id,
        "reason": "发错了",
    }


def _levels(adapter: MatrixAdapter, room: str, users: dict[str, int]) -> dict:
    """The room's power levels as the bot tracked them, with ``users`` added."""
    power = adapter.rooms[room].power
    return {
        "users": {**power.users, **users},
        "users_default": power.users_default,
        "events_default": power.events_default,
        "events": dict(power.events),
    }


async def test_knocks_are_join_requests_and_approval_is_a_join_by_request(
    adapter: MatrixAdapter, people: dict, accounts: Accounts
) -> None:
    stream = Stream(adapter)
    room = await make_room(
        people["bot"],
        initial_state=[
            {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "knock"}}
        ],
    )
    await wait_until(lambda: room in adapter.rooms)

    ok(await people["carol"].room_knock(room, reason="我是读书会的老会员"))
    event = await stream.next()
    assert event.type is EventType.JOIN_REQUEST
    assert (event.actor, event.actor_name) == (accounts.carol.user_id, "卡萝")
    assert dict(event.payload) == {
        "answer": "我是读书会的老会员",
        "request_id": accounts.carol.user_id,
    }

    await adapter.perform(
        Action(
            ActionType.APPROVE_JOIN,
            group=room,
            user=accounts.carol.user_id,
            params={"request_id": event.payload["request_id"]},
        )
    )
    ok(await people["carol"].join(room))
    event = await stream.next()
    assert event.type is EventType.JOIN
    assert event.payload["via"] == "request"

    ok(await people["bob"].room_knock(room, reason="随便看看"))
    assert (await stream.next()).type is EventType.JOIN_REQUEST
    await adapter.perform(
        Action(
            ActionType.REJECT_JOIN,
            group=room,
            user=accounts.bob.user_id,
            params={"request_id": accounts.bob.user_id, "reason": "暂不接受新成员"},
        )
    )
    member = ok(
        await people["bot"].room_get_state_event(room, "m.room.member", accounts.bob.user_id)
    )
    assert member.content["membership"] == "leave"
    assert member.content["reason"] == "暂不接受新成员"


async def test_rooms_outside_the_allow_list_are_neither_joined_nor_heard(
    homeserver, people: dict, accounts: Accounts
) -> None:
    alice = people["alice"]
    allowed = await make_room(alice, people["bot"], name="允许的群")
    bot = MatrixAdapter(matrix_config(homeserver, accounts, rooms=[allowed]))
    await bot.connect()
    try:
        stream = Stream(bot)
        other = ok(await alice.room_create(name="别的群", invite=[accounts.bot.user_id])).room_id
        ok(await alice.room_send(other, "m.room.message", {"msgtype": "m.text", "body": "别处"}))
        sent = ok(
            await alice.room_send(allowed, "m.room.message", {"msgtype": "m.text", "body": "这里"})
        )
        event = await stream.next()
        assert event.source_id == sent.event_id
        assert other not in bot.rooms
        member = ok(await alice.room_get_state_event(other, "m.room.member", accounts.bot.user_id))
        assert member.content["membership"] == "invite"
    finally:
        await bot.disconnect()


async def test_a_reconnection_delivers_what_was_said_while_away(
    adapter: MatrixAdapter, people: dict, accounts: Accounts
) -> None:
    alice = people["alice"]
    room = await make_room(alice, people["bot"], name="断线测试")
    await wait_until(lambda: room in adapter.rooms)
    before = Stream(adapter)
    await adapter.disconnect()
    with pytest.raises(StopAsyncIteration):
        await before.next()

    missed = ok(
        await alice.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "你不在的时候"})
    )
    await adapter.connect()
    event = await Stream(adapter).next()
    assert event.source_id == missed.event_id
    assert event.text == "你不在的时候"
    assert event.group_name == "断线测试"
