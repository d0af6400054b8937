"""The simulated platform behaves as a platform where it matters to shequn."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shequn.adapters.base import Adapter, Outcome, PermanentFailure, Unsupported
from shequn.adapters.sim import Refused, SimAdapter, SimPlatformConfig, SimWorld
from shequn.adapters.sim.message import from_platform, to_platform
from shequn.core import Action, ActionType, EventType, Message
from shequn.kit.clock import FrozenClock

pytestmark = pytest.mark.anyio
PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture
def world() -> SimWorld:
    w = SimWorld(FrozenClock(datetime(2026, 11, 2, 9, tzinfo=UTC)))
    w.add_group("g1", "读书群")
    w.seat("g1", "u1", "小王")
    w.seat("g1", "u2", "老李", role="admin")
    return w


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.json")))
def test_recorded_messages_convert_both_ways_without_loss(name: str) -> None:
    payload = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    message = from_platform(payload)
    rendered = to_platform(message)
    assert rendered.payload == payload and rendered.lost == ()


async def test_the_adapter_hears_its_groups_and_acts(world: SimWorld) -> None:
    adapter = SimAdapter(SimPlatformConfig(community="c"), world)
    assert isinstance(adapter, Adapter)
    await adapter.connect()
    world.say("g1", "u1", "大家好")
    send = Action(ActionType.SEND_MESSAGE, group="g1", message=Message.of("欢迎"), key="k1")
    done = await adapter.perform(send)
    await adapter.disconnect()
    heard = [e async for e in adapter.events()]
    assert [(e.type, e.actor, e.text) for e in heard] == [(EventType.MESSAGE, "u1", "大家好")]
    assert heard[0].source == "sim:world" and heard[0].payload["message_id"]
    assert done.url == f"sim://g1/{done.platform_id}"
    assert (await adapter.reconcile(send)).outcome is Outcome.DONE
    assert (await adapter.reconcile(send.with_key("never"))).outcome is Outcome.ABSENT


async def test_a_muted_member_cannot_speak_until_the_mute_ends(world: SimWorld) -> None:
    mute = Action(ActionType.MUTE, group="g1", user="u1", duration=timedelta(minutes=10), key="m")
    world.apply(mute, "bot")
    with pytest.raises(Refused, match="muted"):
        world.say("g1", "u1", "我被禁言了吗")
    assert isinstance(world.clock, FrozenClock)
    world.clock.advance(timedelta(minutes=11))
    assert world.say("g1", "u1", "好了").type is EventType.MESSAGE


async def test_kicks_and_bans_come_back_as_leaves_and_bans_refuse_rejoining(
    world: SimWorld,
) -> None:
    heard = []
    world.subscribe(heard.append)
    world.apply(Action(ActionType.BAN, group="g1", user="u1", key="b"), "bot")
    assert [(e.type, e.payload.get("kicked_by")) for e in heard] == [(EventType.LEAVE, "bot")]
    with pytest.raises(Refused, match="banned"):
        world.join("g1", "u1", "小王")
    world.apply(Action(ActionType.UNBAN, group="g1", user="u1", key="ub"), "bot")
    assert world.join("g1", "u1", "小王").type is EventType.JOIN


async def test_what_the_platform_cannot_do_fails_with_a_reason(world: SimWorld) -> None:
    adapter = SimAdapter(SimPlatformConfig(community="c"), world)
    with pytest.raises(Unsupported, match="sim cannot add_tag"):
        await adapter.perform(Action(ActionType.ADD_TAG, member_id=1, key="t"))
    with pytest.raises(PermanentFailure, match="message m999 is not in 读书群"):
        await adapter.perform(
            Action(ActionType.DELETE_MESSAGE, group="g1", target_message="m999", key="d")
        )
    assert world.journal() == []
