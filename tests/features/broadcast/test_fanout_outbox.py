"""A fan-out interrupted part-way and planned again leaves every group with exactly one copy,
on both databases: the plan's keys meet the outbox's unique idempotency key."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from shequn.app import App
from shequn.db.engine import WRITE
from shequn.features.broadcast.localtime import local_date
from shequn.features.broadcast.pacing import Pacing
from shequn.features.broadcast.plan import Delivery, of_run, plan_fanout
from shequn.features.broadcast.post import parse_post
from shequn.features.broadcast.schedule import due_runs
from shequn.features.broadcast.schedule_text import parse_schedule
from shequn.features.broadcast.targets import GroupInfo, resolve_targets
from shequn.models import OutboxRow
from shequn.runtime.outbox import Pending, enqueue

_outbox = OutboxRow.__table__
POST = parse_post({"id": "brief", "text": "{group} 晨报 · {date}"})


class Crash(Exception):
    """The process dying between two statements."""


def _queue(app: App, community_id: int, deliveries: list[Delivery], *, crash: bool = False) -> int:
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            pending = [
                Pending(d.action(), community_id, not_before=d.send_at) for d in deliveries if d.ok
            ]
            added = enqueue(conn, pending, now=app.clock.now())
            if crash:
                raise Crash
    return added


def _already_sent(app: App, post_id: str, run_at, zone: str) -> dict[tuple[str, date], int]:
    """Broadcasts per (group, local day) in the outbox, without this run's own copies."""
    counts: Counter[tuple[str, date]] = Counter()
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(_outbox.c.idempotency_key, _outbox.c.not_before).where(
                _outbox.c.idempotency_key.like("broadcast:%")
            )
        ).all()
    for key, not_before in rows:
        if not of_run(key, post_id, run_at):
            counts[(key.split(":")[2], local_date(not_before, zone))] += 1
    return dict(counts)


def _copies(app: App) -> Counter[str]:
    with app.engine.connect() as conn:
        groups = conn.execute(select(_outbox.c.group_ref)).scalars().all()
    return Counter(groups)


def test_a_restart_in_the_middle_of_a_fan_out_leaves_one_copy_per_group(app: App) -> None:
    community = app.community("读书会", timezone="Asia/Shanghai")
    groups = [
        GroupInfo(str(i), "sim", f"sim-{i}", f"{i} 群", "读书会", community.community_id, {"晨报"})
        for i in range(1, 13)
    ]
    audience = resolve_targets("tag:晨报", groups)
    brief = parse_schedule("weekdays 08:30")
    created = app.clock.now() - timedelta(days=3)
    (run_at,) = due_runs(brief, created, app.clock.now(), community.timezone)
    pacing = Pacing(daily_cap=1)

    plan = plan_fanout(POST, audience.groups, run_at, pacing, {})
    assert _queue(app, community.community_id, plan[:5]) == 5
    with pytest.raises(Crash):  # these eight never reach the database
        _queue(app, community.community_id, plan[5:], crash=True)
    assert sum(_copies(app).values()) == 5

    # On restart the same run is found due again and planned again; its own queued copies
    # are not counted against the cap, and the outbox skips the keys it holds.
    assert due_runs(brief, created, app.clock.now(), community.timezone) == [run_at]
    sent = _already_sent(app, POST.id, run_at, community.timezone)
    again = plan_fanout(POST, audience.groups, run_at, pacing, sent)
    assert all(d.ok for d in again)
    assert [d.key for d in again] == [d.key for d in plan]
    assert _queue(app, community.community_id, again) == 7
    assert _queue(app, community.community_id, again) == 0
    assert _copies(app) == Counter({f"sim-{i}": 1 for i in range(1, 13)})

    # A second post the same day meets the cap of one in every group.
    other = parse_post({"id": "notice", "text": "通知"})
    later = run_at + timedelta(hours=2)
    sent = _already_sent(app, other.id, later, community.timezone)
    assert all(d.refusal is not None for d in plan_fanout(other, groups, later, pacing, sent))
