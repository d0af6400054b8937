"""What the dispatcher tests share: a simulated platform with groups, actions in the outbox,
and a dispatcher on simulated time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from shequn.adapters.sim import SimAdapter, SimPlatformConfig, SimWorld
from shequn.app import App
from shequn.core import Action, ActionType, Message
from shequn.db.engine import WRITE
from shequn.kit.clock import FrozenClock
from shequn.models import OutboxRow
from shequn.runtime.outbox import Pending, enqueue
from shequn.runtime.outbox.dispatcher import Dispatcher, DispatchSettings


class SimulatedTime:
    """Naps that move a FrozenClock instead of waiting."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.slept = 0.0

    async def __call__(self, seconds: float, wake: asyncio.Event) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.slept += seconds
        await asyncio.sleep(0)


def world_with_groups(clock: FrozenClock, groups: int, members: int = 3, **kw) -> SimWorld:
    world = SimWorld(clock, **kw)
    for g in range(groups):
        world.add_group(f"g{g}", f"群{g}")
        for m in range(members):
            world.seat(f"g{g}", f"u{m}", f"成员{m}")
    return world


def sends(n: int, groups: int, *, prefix: str = "k") -> list[Action]:
    return [
        Action(
            ActionType.SEND_MESSAGE,
            platform="sim",
            group=f"g{i % groups}",
            message=Message.of(f"通知 {i}"),
            key=f"{prefix}{i}",
        )
        for i in range(n)
    ]


def put(app: App, community_id: int, actions: Sequence[Action]) -> int:
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            return enqueue(conn, [Pending(a, community_id) for a in actions], now=app.clock.now())


def dispatcher(
    app: App,
    community_id: int,
    adapter: SimAdapter,
    *,
    time: SimulatedTime | None = None,
    **settings,
) -> Dispatcher:
    kwargs = {"sleep": time} if time is not None else {}
    return Dispatcher(
        app.engine,
        {(community_id, "sim"): adapter},
        clock=app.clock,
        settings=DispatchSettings(**settings),
        **kwargs,
    )


def sim_adapter(world: SimWorld, **config) -> SimAdapter:
    return SimAdapter(SimPlatformConfig(community="c", **config), world)


def rows(app: App) -> list:
    o = OutboxRow.__table__
    with app.engine.connect() as conn:
        return list(conn.execute(select(o).order_by(o.c.id)))
