"""The bot runtime end to end on the simulated platform: heard, stored, acted on."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from dispatching import put, sends, world_with_groups
from running import running, until
from shequn.adapters.base import ConnectionLost
from shequn.adapters.sim import Refused, SimAdapter, SimWorld
from shequn.app import App
from shequn.core import Action, ActionType, Event, EventType, Mention, Message
from shequn.kit.errors import ConfigError
from shequn.models import AdapterStatus, EventRow, Group, Identity, Membership
from shequn.runtime.supervisor import Entry, Supervisor

pytestmark = pytest.mark.anyio
SIM = {"kind": "sim", "name": "sim-bot", "community": "社群"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def count(app: App, table) -> int:
    with app.engine.connect() as conn:
        return len(conn.execute(select(table)).all())


async def test_what_members_do_is_stored_and_queued_actions_are_performed(app: App) -> None:
    world = world_with_groups(app.clock, 2)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        world.join("g0", "u9", "新人小王")
        world.say("g0", "u9", "大家好，我是小王")
        await until(lambda: runtime.stats.stored == 2)
        with app.engine.connect() as conn:
            (group,) = conn.execute(select(Group.__table__)).all()
            seat = conn.execute(select(Membership.__table__)).one()
            identity = conn.execute(select(Identity.__table__)).one()
        assert (group.platform, group.external_id, group.name) == ("sim", "g0", "群0")
        assert (identity.external_id, identity.display_name) == ("u9", "新人小王")
        assert seat.left_at is None
        community = runtime.entries[0].community.community_id
        put(app, community, sends(10, 2))
        runtime.dispatcher.wake()
        await until(lambda: len(world.journal()) == 10)
    bot_said = [m.message.plain_text() for m in world.groups["g1"].messages if m.by_bot]
    assert bot_said == [f"通知 {i}" for i in range(1, 10, 2)]


async def test_the_bots_own_kicks_come_back_as_leaves(app: App) -> None:
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        world.join("g0", "u9", "广告哥")
        await until(lambda: runtime.stats.stored == 1)

        put(
            app,
            runtime.entries[0].community.community_id,
            [Action(ActionType.KICK, platform="sim", group="g0", user="u9", key="kick")],
        )
        runtime.dispatcher.wake()
        await until(lambda: runtime.stats.stored == 2)
    with app.engine.connect() as conn:
        seat = conn.execute(select(Membership.__table__)).one()
        kinds = [r.type for r in conn.execute(select(EventRow.__table__).order_by(EventRow.id))]
    assert kinds == ["join", "leave"]
    assert seat.left_at is not None
    assert "u9" not in world.groups["g0"].members


async def test_adapter_status_is_written_for_the_dashboard(app: App) -> None:
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        await until(lambda: runtime.supervisor.states.get("sim-bot") == "connected")
    with app.engine.connect() as conn:
        (row,) = conn.execute(select(AdapterStatus.__table__)).all()
    assert (row.name, row.platform, row.account, row.state) == (
        "sim-bot",
        "sim",
        "shequn-bot",
        "stopped",
    )


def test_adapter_tables_are_checked_before_anything_starts(app: App) -> None:
    with pytest.raises(ConfigError, match="unknown kind 'irc'"):
        app.bot_runtime([{"kind": "irc", "community": "c"}])
    with pytest.raises(ConfigError, match="adapter 'x'.*latency_ms"):
        app.bot_runtime([{**SIM, "name": "x", "latency_ms": -1}])
    with pytest.raises(ConfigError, match="two adapters are named 'sim-bot'"):
        app.bot_runtime([SIM, SIM])
    with pytest.raises(ConfigError, match="already has a sim adapter"):
        app.bot_runtime([SIM, {**SIM, "name": "other"}])


class _Flaky(SimAdapter):
    """Drops its connection twice before it holds."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failures = 2

    async def connect(self) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionLost("the homeserver closed the connection")
        await super().connect()


async def test_the_supervisor_reconnects_with_growing_backoff(app: App) -> None:
    world = SimWorld(app.clock)
    world.add_group("g0", "群0")
    base = app.bot_runtime([SIM], world=world).entries[0]
    entry = Entry("flaky", _Flaky(base.adapter.config, world), base.community)
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)

    heard: list[Event] = []

    async def sink(_: Entry, event: Event) -> None:
        heard.append(event)

    supervisor = Supervisor(app.engine, [entry], sink, clock=app.clock, worker="w", sleep=nap)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await until(lambda: supervisor.states.get("flaky") == "connected")
    world.seat("g0", "u1", "甲")
    world.say("g0", "u1", "在吗")
    await until(lambda: len(heard) == 1)
    stop.set()
    await task
    assert naps == [1.0, 2.0]
    assert heard[0].text == "在吗"


async def test_chat_commands_are_answered_and_carried_out(app: App) -> None:
    world = world_with_groups(app.clock, 1)
    world.groups["g0"].members["u0"].role = "admin"
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        # The roster comes from what the platform reported: the admin joins as one.
        world.leave("g0", "u0")
        world.join("g0", "u0", "管理员")
        ingested = runtime.stats.stored
        await until(lambda: runtime.stats.stored == ingested + 2)

        promote = Event(
            type=EventType.MEMBER_UPDATE,
            platform="sim",
            source="test",
            source_id="promote",
            occurred_at=app.clock.now(),
            group="g0",
            actor="u0",
            payload={"role": "admin"},
        )
        await runtime._heard(runtime.entries[0], promote)
        world.join("g0", "u5", "新人")
        await until(lambda: runtime.stats.stored == ingested + 4)

        world.say("g0", "u5", "/rules")
        await until(lambda: any(m.by_bot for m in world.groups["g0"].messages))
        reply = [m for m in world.groups["g0"].messages if m.by_bot][-1]
        assert "群规" in reply.message.plain_text()

        world.say("g0", "u0", Message.of("/mute ", Mention(user="u5", name="新人"), " 10m"))
        await until(lambda: world.groups["g0"].members["u5"].muted_until is not None)

        with pytest.raises(Refused, match="muted"):
            world.say("g0", "u5", "我还能说话吗")

        # A member may not mute anyone: the bot says so instead.
        before = sum(m.by_bot for m in world.groups["g0"].messages)
        world.say("g0", "u1", Message.of("/mute ", Mention(user="u0", name="管理员")))
        await until(lambda: sum(m.by_bot for m in world.groups["g0"].messages) > before)
    assert world.groups["g0"].members["u0"].muted_until is None
