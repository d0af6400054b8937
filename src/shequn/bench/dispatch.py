"""``shequn bench dispatch``: how close the dispatcher runs to the platforms' rate limits.

Three measurements, each on its own fresh database:

1. **Pace.** 50,000 sends fanned out over 500 simulated groups under Telegram's
   limits (20 messages a minute per group, 30 a second for the bot), dispatched on
   simulated time. The floor is the least time the limits allow: every bucket
   starts full, so ``(actions − burst) / rate`` for the account, and the same per
   group, whichever is longer. ``ratio`` is that floor over the time taken (1.0 is
   perfect pacing); ``dropped`` and ``duplicated`` come from the simulated
   platform's journal and must both be 0.
2. **Throughput.** The same kind of actions with the limits off, on the real
   clock: the dispatcher's own cost per action (claim, perform, record).
3. **Latency.** A member types ``/rules`` in a group; the bot runtime stores the
   message, the chat-command feature answers it, and the dispatcher sends the
   reply. Timed from the message reaching the adapter to the reply being performed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shequn.adapters.base import Bucket, Done
from shequn.adapters.sim import SimAdapter, SimPlatformConfig, SimWorld
from shequn.app import App
from shequn.bench.common import chunked, scratch_database
from shequn.config import Settings
from shequn.core import Action, ActionType, Message
from shequn.db.engine import WRITE
from shequn.kit.clock import FrozenClock
from shequn.runtime.outbox import Pending, enqueue
from shequn.runtime.outbox.dispatcher import Dispatcher, DispatchSettings
from shequn.runtime.outbox.store import Claimed

PER_GROUP_PER_MINUTE = 20
PER_ACCOUNT_PER_SECOND = 30
TARGET_RATIO = 0.95
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class _SimulatedTime:
    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    async def __call__(self, seconds: float, wake: asyncio.Event) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)


def limited_dispatcher(
    app: App, community_id: int, world: SimWorld, clock: FrozenClock
) -> tuple[Dispatcher, SimAdapter]:
    """The dispatcher over a simulated platform with Telegram's limits, napping on
    simulated time: what the dispatch and broadcast benches measure against the floor."""
    config = SimPlatformConfig(
        community="bench",
        per_group_per_minute=PER_GROUP_PER_MINUTE,
        per_account_per_second=PER_ACCOUNT_PER_SECOND,
    )
    adapter = SimAdapter(config, world)
    dispatcher = Dispatcher(
        app.engine,
        {(community_id, "sim"): adapter},
        clock=clock,
        settings=DispatchSettings(batch=500),
        sleep=_SimulatedTime(clock),
    )
    return dispatcher, adapter


def _world(clock: FrozenClock, groups: int) -> SimWorld:
    world = SimWorld(clock)
    for g in range(groups):
        world.add_group(f"g{g}", f"群{g}")
    return world


def _fill(app: App, community_id: int, actions: int, groups: int) -> None:
    items = (
        Pending(
            Action(
                ActionType.SEND_MESSAGE,
                platform="sim",
                group=f"g{i % groups}",
                message=Message.of(f"周五晚八点分享会提醒 #{i}"),
                key=f"bench:{i}",
            ),
            community_id,
        )
        for i in range(actions)
    )
    for chunk in chunked(items, 5000):
        with app.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                enqueue(conn, chunk, now=app.clock.now())


def floor_seconds(actions: int, groups: int, group: Bucket, account: Bucket) -> float:
    """The least time the limits allow for ``actions`` spread evenly over ``groups``."""
    per_group = -(-actions // groups)
    return max(
        max(0, actions - account.burst) / account.rate,
        max(0, per_group - group.burst) / group.rate,
    )


def _pace(db: str, actions: int, groups: int) -> dict[str, Any]:
    with scratch_database(db, "dispatch_pace") as url:
        clock = FrozenClock(START)
        app = App.create(Settings(database_url=url), clock=clock)
        try:
            app.migrate()
            ref = app.community("bench")
            _fill(app, ref.community_id, actions, groups)
            world = _world(clock, groups)
            dispatcher, adapter = limited_dispatcher(app, ref.community_id, world, clock)
            wall = time.perf_counter()
            asyncio.run(dispatcher.run_until_idle())
            wall = time.perf_counter() - wall
            simulated = (clock.now() - START).total_seconds()
            journal = Counter(p.key for p in world.journal())
            limits = adapter.limits
            assert limits.per_group is not None and limits.per_account is not None
            floor = floor_seconds(actions, groups, limits.per_group, limits.per_account)
            return {
                "actions": actions,
                "groups": groups,
                "simulated_s": round(simulated, 1),
                "floor_s": round(floor, 1),
                "pace_wall_s": round(wall, 1),
                "dropped": sum(1 for i in range(actions) if f"bench:{i}" not in journal),
                "duplicated": sum(n - 1 for n in journal.values() if n > 1),
                "ratio": floor / simulated if simulated else 0.0,
            }
        finally:
            app.close()


def _throughput(db: str, actions: int, groups: int) -> dict[str, Any]:
    with scratch_database(db, "dispatch_speed") as url:
        app = App.create(Settings(database_url=url))
        try:
            app.migrate()
            ref = app.community("bench")
            _fill(app, ref.community_id, actions, groups)
            world = _world(FrozenClock(START), groups)
            adapter = SimAdapter(SimPlatformConfig(community="bench"), world)
            dispatcher = Dispatcher(
                app.engine,
                {(ref.community_id, "sim"): adapter},
                clock=app.clock,
                settings=DispatchSettings(batch=500, limits=False),
            )
            started = time.perf_counter()
            asyncio.run(dispatcher.run_until_idle())
            elapsed = time.perf_counter() - started
            performed = len(world.journal())
            return {"actions_per_s": round(performed / elapsed, 1), "throughput_s": elapsed}
        finally:
            app.close()


def _latency(messages: int, groups: int) -> dict[str, Any]:
    """Message in → reply performed, through the whole runtime, on SQLite."""
    with scratch_database("sqlite", "dispatch_latency") as url:
        app = App.create(Settings(database_url=url))
        try:
            app.migrate()
            world = SimWorld(app.clock)
            for g in range(groups):
                world.add_group(f"g{g}", f"群{g}")
                world.seat(f"g{g}", f"u{g}", f"成员{g}")
            runtime = app.bot_runtime(
                [{"kind": "sim", "name": "bench", "community": "bench"}], world=world
            )
            sent: dict[str, float] = {}
            replied: dict[str, float] = {}

            def on_done(row: Claimed, done: Done) -> None:
                target = row.data.get("target_message")
                if target in sent and target not in replied:
                    replied[target] = time.perf_counter()

            runtime.dispatcher.on_done = on_done
            return asyncio.run(_drive(runtime, world, sent, replied, messages, groups))
        finally:
            app.close()


async def _drive(
    runtime: Any,
    world: SimWorld,
    sent: dict[str, float],
    replied: dict[str, float],
    messages: int,
    groups: int,
) -> dict[str, Any]:
    task = asyncio.create_task(runtime.run())
    await runtime.started()
    names = [e.name for e in runtime.entries]
    await _until(lambda: all(runtime.supervisor.states.get(n) == "connected" for n in names))
    for n in range(messages):
        g = n % groups
        started = time.perf_counter()
        event = world.say(f"g{g}", f"u{g}", "/rules")
        sent[event.payload["message_id"]] = started
        await _until(lambda e=event: e.payload["message_id"] in replied, timeout=30)
    runtime.stop()
    await task
    latencies = sorted((replied[m] - sent[m]) * 1000 for m in sent)
    return {
        "latency_messages": len(latencies),
        "latency_p50_ms": round(statistics.median(latencies), 2),
        "latency_p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2),
    }


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise RuntimeError("the runtime did not answer in time")
        await asyncio.sleep(0.0005)


def bench_dispatch(db: str, actions: int, groups: int, latency_messages: int) -> dict[str, Any]:
    pace = _pace(db, actions, groups)
    speed = _throughput(db, actions, groups)
    latency = _latency(latency_messages, min(groups, 50))
    return {
        "bench": "dispatch",
        "db": db,
        **{k: v for k, v in pace.items() if k != "ratio"},
        "actions_per_s": speed["actions_per_s"],
        **latency,
        "target_ratio": TARGET_RATIO,
        "ratio": pace["ratio"],
    }
