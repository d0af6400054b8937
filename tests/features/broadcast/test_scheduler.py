"""The broadcast scheduler on both databases, driven by the frozen clock: a recurring job
runs once per occurrence, once after downtime, and a fan-out interrupted part-way leaves
every group with one copy; the delivery report follows the outbox as the real
dispatcher sends on the sim platform, and failed copies are retried, waiting ones
cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcasting import add_groups, copies
from dispatching import SimulatedTime, dispatcher, sim_adapter, world_with_groups
from shequn.adapters.base import PermanentFailure
from shequn.app import App, live_tickers
from shequn.db.engine import WRITE
from shequn.features.broadcast.service import (
    cancel_pending,
    delivery_report,
    get_job,
    get_post,
    retry_failed,
    save_post,
    schedule_post,
)
from shequn.features.broadcast.store import (
    community_info,
    group_infos,
    pacing_of,
    plan_run,
    write_run,
)
from shequn.features.broadcast.targets import resolve_targets
from shequn.features.broadcast.ticker import BroadcastTicker
from shequn.models import BroadcastDelivery
from shequn.runtime.ticks import run_ticks

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _job(app: App, cid: int, targets: str, when: str | None, pacing=None) -> int:
    with app.engine.begin() as conn:
        post_id = save_post(
            conn, cid, {"text": "{group} 晨报"}, operator_id=None, now=app.clock.now()
        )
        return schedule_post(
            conn,
            cid,
            post_id,
            targets=targets,
            when=when,
            pacing=pacing,
            operator_id=None,
            now=app.clock.now(),
        )


def _tick(app: App) -> int:
    report = run_ticks(app.engine, [BroadcastTicker()], app.clock.now())
    assert report.failed == {}
    return report.queued


def test_the_ticker_is_registered_with_the_runtime() -> None:
    assert "broadcast" in {t.name for t in live_tickers()}


def test_a_recurring_job_runs_once_per_occurrence(app: App) -> None:
    # START is Monday 09:00 UTC = 17:00 in Shanghai; the brief runs every weekday at 08:30.
    community = app.community("读书会", timezone="Asia/Shanghai")
    add_groups(app, community, 3)
    cid = community.community_id
    job_id = _job(app, cid, "all", "weekdays 08:30")
    assert _tick(app) == 0
    app.clock.advance(timedelta(hours=15, minutes=29))  # Tuesday 08:29 local
    assert _tick(app) == 0
    app.clock.advance(timedelta(minutes=1))
    assert _tick(app) == 3
    assert _tick(app) == 0  # the same moment again adds nothing
    app.clock.advance(timedelta(seconds=15))
    assert _tick(app) == 0
    app.clock.advance(timedelta(days=1))
    assert _tick(app) == 3
    assert copies(app) == {"g0": 2, "g1": 2, "g2": 2}
    with app.engine.connect() as conn:
        job = get_job(conn, cid, job_id)
    assert job.status == "active" and job.next_run > app.clock.now()


def test_a_job_due_while_down_runs_once_on_the_next_tick(app: App) -> None:
    community = app.community("读书会", timezone="Asia/Shanghai")
    add_groups(app, community, 2)
    cid = community.community_id
    daily = _job(app, cid, "all", "daily 08:30", pacing={"daily_cap": 10})
    once = _job(app, cid, "all", "2026-03-03T10:00", pacing={"daily_cap": 10})
    app.clock.advance(timedelta(days=4))  # four mornings and the one-off missed
    assert _tick(app) == 4
    assert _tick(app) == 0
    with app.engine.connect() as conn:
        assert get_job(conn, cid, once).status == "done"
        latest = get_job(conn, cid, daily)
    assert latest.last_run == app.clock.now().replace(hour=0, minute=30)  # 08:30 local today


def test_a_restart_in_the_middle_of_a_fan_out_leaves_one_copy_per_group(app: App) -> None:
    community = app.community("读书会", timezone="Asia/Shanghai")
    add_groups(app, community, 12, tags=["晨报"])
    cid = community.community_id
    job_id = _job(app, cid, "tag:晨报", "weekdays 08:30", pacing={"daily_cap": 1})
    app.clock.advance(timedelta(hours=16))
    with app.engine.connect() as conn:
        job = get_job(conn, cid, job_id)
        info = community_info(conn, cid)
        post = get_post(conn, cid, job.post_id).post
    run_at = job.next_run
    # The first five copies were written before the process died; the job's row was not.
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            audience = resolve_targets(job.targets, group_infos(conn, info))
            plan = plan_run(conn, info, post, audience, pacing_of(job.pacing), run_at)
            write_run(conn, cid, job_id, plan[:5], now=app.clock.now())
    assert sum(copies(app).values()) == 5
    assert _tick(app) == 7
    assert copies(app) == {f"g{i}": 1 for i in range(12)}
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(func.count()).select_from(BroadcastDelivery.__table__)
        ).scalar_one()
        report = delivery_report(conn, cid, job_id)
    assert rows == 12 and report.totals["queued"] == 12 and report.totals["refused"] == 0


async def test_the_report_follows_the_outbox_and_failed_copies_are_retried(app: App) -> None:
    community = app.community("读书会")
    cid = community.community_id
    add_groups(app, community, 3)
    world = world_with_groups(app.clock, 3)
    job_id = _job(app, cid, "all", None)
    adapter = sim_adapter(world)
    world.fail_next(PermanentFailure("the bot was removed from the group"))
    await dispatcher(app, cid, adapter, time=SimulatedTime(app.clock)).run_until_idle()
    with app.engine.connect() as conn:
        report = delivery_report(conn, cid, job_id)
    assert report.totals == {"queued": 0, "sent": 2, "failed": 1, "cancelled": 0, "refused": 0}
    (failed,) = [d for d in report.deliveries if d.status == "failed"]
    assert "removed" in failed.reason
    sent = [d for d in report.deliveries if d.status == "sent"]
    assert all(d.link and d.link.startswith("sim://") for d in sent)
    with app.engine.begin() as conn:
        assert retry_failed(conn, cid, job_id, now=app.clock.now()) == 1
    await dispatcher(app, cid, adapter, time=SimulatedTime(app.clock)).run_until_idle()
    with app.engine.connect() as conn:
        assert delivery_report(conn, cid, job_id).totals["sent"] == 3
    assert sorted(len(g.messages) for g in world.groups.values()) == [1, 1, 1]


async def test_pending_copies_are_cancelled_and_never_sent(app: App) -> None:
    community = app.community("读书会", timezone="Asia/Shanghai")
    cid = community.community_id
    add_groups(app, community, 2)
    world = world_with_groups(app.clock, 2)
    # 17:00 local is inside the quiet hours: both copies wait for 21:00.
    job_id = _job(app, cid, "all", None, pacing={"quiet": "09:00-21:00"})
    with app.engine.begin() as conn:
        assert cancel_pending(conn, cid, job_id, now=app.clock.now()) == 2
        assert cancel_pending(conn, cid, job_id, now=app.clock.now()) == 0
    app.clock.advance(timedelta(hours=5))
    await dispatcher(app, cid, sim_adapter(world), time=SimulatedTime(app.clock)).run_until_idle()
    with app.engine.connect() as conn:
        report = delivery_report(conn, cid, job_id)
    assert report.totals["cancelled"] == 2 and world.journal() == []
