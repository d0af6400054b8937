"""The outbox dispatcher on SQLite and PostgreSQL, against the simulated platform."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from dispatching import SimulatedTime, dispatcher, put, rows, sends, sim_adapter, world_with_groups
from shequn.adapters.base import STATE_SETTING, Outcome, Reconciled, TransientFailure
from shequn.adapters.sim import SimAdapter
from shequn.adapters.sim.world import transient
from shequn.app import App
from shequn.core import Action, ActionType, Message
from shequn.models import OutboxRow

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def community(app: App) -> int:
    return app.community("社群").community_id


async def test_every_action_is_performed_once_and_recorded(app: App, community: int) -> None:
    world = world_with_groups(app.clock, 5)
    put(app, community, sends(40, 5))
    await dispatcher(
        app, community, sim_adapter(world), time=SimulatedTime(app.clock)
    ).run_until_idle()
    journal = Counter(p.key for p in world.journal())
    assert journal == Counter({f"k{i}": 1 for i in range(40)})
    stored = rows(app)
    assert {r.status for r in stored} == {"done"}
    assert all(r.result["platform_id"].startswith("m") for r in stored)
    assert all(r.attempts == 1 and r.done_at is not None for r in stored)
    # One group's actions arrive in the order they were queued.
    said = [m.message.plain_text() for m in world.groups["g0"].messages]
    assert said == [f"通知 {i}" for i in range(0, 40, 5)]


async def test_enqueueing_the_same_key_twice_queues_it_once(app: App, community: int) -> None:
    assert put(app, community, sends(3, 1)) == 3
    assert put(app, community, sends(3, 1)) == 0
    assert len(rows(app)) == 3


async def test_rate_limits_hold_the_pace_and_lose_nothing(app: App, community: int) -> None:
    world = world_with_groups(app.clock, 2)
    adapter = sim_adapter(world, per_group_per_minute=20, per_account_per_second=1)
    put(app, community, sends(60, 2))
    time = SimulatedTime(app.clock)
    start = app.clock.now()
    await dispatcher(app, community, adapter, time=time).run_until_idle()
    elapsed = (app.clock.now() - start).total_seconds()
    # 30 a group at 20 a minute after a burst of 20: ten more in 30 s; the account's
    # 1/s (burst 1) is slower still: 59 s for the 59 after the first.
    assert 59 <= elapsed <= 59 * 1.05
    assert Counter(p.key for p in world.journal()) == Counter({f"k{i}": 1 for i in range(60)})
    stored = rows(app)
    assert {r.status for r in stored} == {"done"}
    assert all(r.attempts == 1 for r in stored), "a held-back action is not an attempt"


async def test_transient_failures_back_off_then_succeed(app: App, community: int) -> None:
    world = world_with_groups(app.clock, 1)
    world.fail_next(transient("502 from the platform"), transient("429", retry_after=30))
    put(app, community, sends(1, 1))
    time = SimulatedTime(app.clock)
    start = app.clock.now()
    await dispatcher(app, community, sim_adapter(world), time=time).run_until_idle()
    (row,) = rows(app)
    assert row.status == "done" and row.attempts == 3
    # 2 s after the first failure, then the platform's 30 s (more than the 4 s backoff).
    assert (app.clock.now() - start).total_seconds() == pytest.approx(32, abs=0.01)
    assert len(world.journal()) == 1


async def test_giving_up_after_max_attempts_says_why(app: App, community: int) -> None:
    world = world_with_groups(app.clock, 1)
    world.fail_next(*(transient("the platform is down") for _ in range(3)))
    put(app, community, sends(1, 1))
    d = dispatcher(
        app, community, sim_adapter(world), time=SimulatedTime(app.clock), max_attempts=3
    )
    await d.run_until_idle()
    (row,) = rows(app)
    assert row.status == "failed"
    assert row.last_error == "gave up after 3 attempts: the platform is down"
    assert world.journal() == []


async def test_permanent_failures_fail_at_once_with_the_platforms_reason(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    put(
        app,
        community,
        [
            Action(
                ActionType.MUTE,
                platform="sim",
                group="g0",
                user="nobody",
                duration=timedelta(minutes=10),
                key="mute",
            ),
            Action(
                ActionType.SEND_MESSAGE,
                platform="sim",
                group="gone",
                message=Message.of("hi"),
                key="send",
            ),
        ],
    )
    await dispatcher(
        app, community, sim_adapter(world), time=SimulatedTime(app.clock)
    ).run_until_idle()
    errors = {r.idempotency_key: (r.status, r.attempts, r.last_error) for r in rows(app)}
    assert errors == {
        "mute": ("failed", 1, "nobody is not in 群0"),
        "send": ("failed", 1, "no group 'gone' on the simulated platform"),
    }


class _NoPins(SimAdapter):
    """A platform without pinning, such as WeCom's customer groups."""

    capabilities = SimAdapter.capabilities - {ActionType.PIN_MESSAGE}
    why_not = {ActionType.PIN_MESSAGE: "its groups have no pinned messages"}


async def test_an_unsupported_action_fails_with_the_platforms_reason(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    adapter = _NoPins(sim_adapter(world).config, world)
    put(
        app,
        community,
        [
            Action(
                ActionType.PIN_MESSAGE, platform="sim", group="g0", target_message="m1", key="pin"
            )
        ],
    )
    await dispatcher(app, community, adapter, time=SimulatedTime(app.clock)).run_until_idle()
    (row,) = rows(app)
    assert (row.status, row.last_error) == (
        "failed",
        "sim cannot pin_message: its groups have no pinned messages",
    )


async def test_actions_for_a_platform_without_a_running_adapter_wait(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    put(
        app,
        community,
        [
            Action(
                ActionType.SEND_MESSAGE,
                platform="telegram",
                group="-100",
                message=Message.of("hi"),
                key="tg",
            )
        ],
    )
    put(app, community, sends(1, 1))
    await dispatcher(
        app, community, sim_adapter(world), time=SimulatedTime(app.clock)
    ).run_until_idle()
    assert {r.idempotency_key: r.status for r in rows(app)} == {"tg": "pending", "k0": "done"}


def _abandon(app: App, keys: list[str]) -> None:
    """Leave rows as a dispatcher that died mid-action leaves them."""
    o = OutboxRow.__table__
    with app.engine.begin() as conn:
        conn.execute(
            update(o)
            .where(o.c.idempotency_key.in_(keys))
            .values(
                status="in_flight",
                worker="dead",
                attempts=1,
                lease_until=app.clock.now() - timedelta(seconds=1),
            )
        )


async def test_an_interrupted_action_the_platform_did_is_not_repeated(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    put(app, community, sends(2, 1))
    adapter = sim_adapter(world)
    # k0 reached the platform before its dispatcher died; k1 did not.
    world.apply(sends(1, 1)[0], adapter.account)
    _abandon(app, ["k0", "k1"])
    await dispatcher(app, community, adapter, time=SimulatedTime(app.clock)).run_until_idle()
    assert Counter(p.key for p in world.journal()) == {"k0": 1, "k1": 1}
    assert {r.idempotency_key: r.status for r in rows(app)} == {"k0": "done", "k1": "done"}


class _Forgetful(SimAdapter):
    """A platform that cannot say whether an action happened (Telegram, OneBot)."""

    async def reconcile(self, action: Action) -> Reconciled:
        return Reconciled(Outcome.UNKNOWN)


async def test_an_unknown_outcome_repeats_only_what_is_safe_to_repeat(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    adapter = _Forgetful(sim_adapter(world).config, world)
    mute = Action(
        ActionType.MUTE,
        platform="sim",
        group="g0",
        user="u1",
        duration=timedelta(minutes=5),
        key="mute",
    )
    assert ActionType.MUTE in STATE_SETTING
    put(app, community, [*sends(1, 1), mute])
    _abandon(app, ["k0", "mute"])
    await dispatcher(app, community, adapter, time=SimulatedTime(app.clock)).run_until_idle()
    by_key = {r.idempotency_key: r for r in rows(app)}
    assert by_key["mute"].status == "done"
    assert by_key["k0"].status == "uncertain"
    assert "cannot tell whether it happened" in by_key["k0"].last_error
    assert [p.key for p in world.journal()] == ["mute"]


class _Slow(SimAdapter):
    async def perform(self, action: Action):
        await asyncio.sleep(1)
        return await super().perform(action)


async def test_a_platform_that_does_not_answer_in_time_is_reconciled(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    adapter = _Slow(sim_adapter(world).config, world)
    put(app, community, sends(1, 1))
    d = dispatcher(app, community, adapter, time=SimulatedTime(app.clock), perform_timeout=0.05)
    report = await d.run_once()
    (row,) = rows(app)
    # The sim journal says it never happened: it goes back to the queue.
    assert report.retried == 1 and row.status == "pending"
    assert "no answer within 0.05 s" in row.last_error


async def test_two_dispatchers_share_the_outbox_without_doubles(app: App, community: int) -> None:
    world = world_with_groups(app.clock, 20)
    put(app, community, sends(400, 20))
    adapter = sim_adapter(world)
    first = dispatcher(app, community, adapter, time=SimulatedTime(app.clock), batch=25)
    second = dispatcher(app, community, adapter, time=SimulatedTime(app.clock), batch=25)
    await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    assert Counter(p.key for p in world.journal()) == Counter({f"k{i}": 1 for i in range(400)})
    assert {r.status for r in rows(app)} == {"done"}
    assert {r.worker for r in rows(app)} == {first.worker, second.worker}


async def test_a_broken_stored_action_fails_without_stopping_the_others(
    app: App, community: int
) -> None:
    world = world_with_groups(app.clock, 1)
    put(app, community, sends(2, 1))
    o = OutboxRow.__table__
    with app.engine.begin() as conn:
        conn.execute(
            update(o).where(o.c.idempotency_key == "k0").values(action={"type": "teleport"})
        )
    await dispatcher(
        app, community, sim_adapter(world), time=SimulatedTime(app.clock)
    ).run_until_idle()
    by_key = {r.idempotency_key: r for r in rows(app)}
    assert by_key["k0"].status == "failed"
    assert "cannot be read" in by_key["k0"].last_error
    assert by_key["k1"].status == "done"


def test_transient_failure_carries_retry_after() -> None:
    assert TransientFailure("429", retry_after=3).retry_after == 3


async def test_an_action_with_after_s_waits_that_long(app: App, community: int) -> None:
    world = world_with_groups(app.clock, 1)
    later = Action(
        ActionType.SEND_MESSAGE,
        platform="sim",
        group="g0",
        message=Message.of("欢迎新朋友"),
        params={"after_s": 90},
        key="welcome",
    )
    put(app, community, [later])
    start = app.clock.now()
    (row,) = rows(app)
    assert row.not_before == start + timedelta(seconds=90)
    d = dispatcher(app, community, sim_adapter(world), time=SimulatedTime(app.clock))
    assert (await d.run_once()).claimed == 0
    await d.run_until_idle()
    assert app.clock.now() == start + timedelta(seconds=90)
    assert [p.key for p in world.journal()] == ["welcome"]
