"""CREATE_GROUP on a real Synapse: the bot makes the next room of the pool, the room comes
back to the runtime as a group, newcomers join it by its link, and staff get their power."""

from __future__ import annotations

import pytest
from nio import AsyncClient

from adapters.matrix.support import Accounts, Stream, ok
from shequn.adapters.matrix import MatrixAdapter
from shequn.core import Action, ActionType, Event, EventType

pytestmark = pytest.mark.anyio


async def until_event(stream: Stream, room: str, kind: EventType) -> tuple[Event, list[Event]]:
    """The first event of ``kind`` in ``room``, and every event read before it."""
    seen: list[Event] = []
    while True:
        event = await stream.next()
        if event.group == room and event.type is kind:
            return event, seen
        seen.append(event)


async def test_the_bot_creates_the_next_room_and_it_becomes_a_group(
    adapter: MatrixAdapter, people: dict[str, AsyncClient], accounts: Accounts
) -> None:
    stream = Stream(adapter)
    done = await adapter.perform(
        Action(
            ActionType.CREATE_GROUP,
            platform="matrix",
            name="读书会 2群",
            params={"topic": "周末共读"},
            key="pool:2:create",
        )
    )
    room = done.platform_id
    assert room is not None and room.startswith("!")
    assert done.url == f"https://matrix.to/#/{room}"
    assert done.details["creator"] == accounts.bot.user_id

    announced, before = await until_event(stream, room, EventType.GROUP_UPDATE)
    assert announced.group_name == "读书会 2群" and announced.payload == {"name": "读书会 2群"}
    assert [e for e in before if e.group == room] == [], "the room's own set-up is not news"

    # A newcomer follows the link: the public room lets them in, and the bot hears it.
    ok(await people["alice"].join(room))
    joined, _ = await until_event(stream, room, EventType.JOIN)
    assert joined.actor == accounts.alice.user_id and joined.payload["via"] == "link"

    # The template's staff: invited, then made admin.
    bob = accounts.bob.user_id
    for kind, params in ((ActionType.INVITE, {}), (ActionType.SET_ROLE, {"role": "admin"})):
        await adapter.perform(
            Action(kind, platform="matrix", group=room, user=bob, params=params, key=f"t:{kind}")
        )
    ok(await people["bob"].join(room))
    levels = ok(await people["bob"].room_get_state_event(room, "m.room.power_levels")).content
    assert levels["users"][bob] == 50
    topic = ok(await people["alice"].room_get_state_event(room, "m.room.topic")).content
    assert topic["topic"] == "周末共读"
