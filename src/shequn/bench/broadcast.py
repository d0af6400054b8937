"""``shequn bench broadcast``: one post fanned out to many groups, queued and then sent.

On a fresh database with 500 simulated groups (by default):

1. **Enqueue.** ``schedule_post`` sends one post now to ``all``: the targets resolved,
   every group's copy rendered and planned (daily cap, WeCom's limit), its delivery row
   and outbox row written, in one transaction. ``enqueue_s`` is that call's wall time
   (target: under a second for 500 groups).
2. **Completion.** The real dispatcher sends the copies to the sim platform under
   Telegram's limits (20 messages a minute per group, 30 a second for the bot) on
   simulated time. The floor is the least time the limits allow (every bucket starts
   full: ``(copies − burst) / rate`` for the account, the same per group, whichever is
   longer); ``ratio`` is that floor over the simulated time taken (target ≥ 0.95).
   ``dropped`` and ``duplicated`` come from the platform's journal and must be 0.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from shequn.adapters.sim import SimWorld
from shequn.app import App
from shequn.bench.common import scratch_database
from shequn.bench.dispatch import (
    floor_seconds,
    limited_dispatcher,
)
from shequn.config import Settings
from shequn.db.engine import WRITE
from shequn.features.broadcast.report import delivery_report
from shequn.features.broadcast.service import save_post, schedule_post
from shequn.kit.clock import FrozenClock
from shequn.models import Group

TARGET_RATIO = 0.95
TARGET_ENQUEUE_S = 1.0
#: A Monday, 10:00 in Shanghai: outside any quiet hours.
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
POST = {"title": "分享会提醒", "text": "{group} 的朋友们：周五晚八点分享会，{date}，不见不散"}


def _groups(app: App, workspace_id: int, community_id: int, groups: int) -> SimWorld:
    world = SimWorld(app.clock)
    rows = []
    for g in range(groups):
        world.add_group(f"g{g}", f"群{g}")
        rows.append(
            {
                "workspace_id": workspace_id,
                "community_id": community_id,
                "platform": "sim",
                "external_id": f"g{g}",
                "name": f"群{g}",
                "created_at": app.clock.now(),
            }
        )
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            conn.execute(insert(Group.__table__), rows)
    return world


def bench_broadcast(db: str, groups: int) -> dict[str, Any]:
    with scratch_database(db, "broadcast") as url:
        clock = FrozenClock(START)
        app = App.create(Settings(database_url=url), clock=clock)
        try:
            app.migrate()
            ref = app.community("bench", timezone="Asia/Shanghai")
            world = _groups(app, ref.workspace_id, ref.community_id, groups)
            with app.engine.connect() as conn:
                conn.execution_options(**WRITE)
                with conn.begin():
                    post_id = save_post(
                        conn, ref.community_id, POST, operator_id=None, now=clock.now()
                    )
                started = time.perf_counter()
                with conn.begin():
                    job_id = schedule_post(
                        conn,
                        ref.community_id,
                        post_id,
                        targets="all",
                        when=None,
                        pacing=None,
                        operator_id=None,
                        now=clock.now(),
                    )
                enqueue_s = time.perf_counter() - started
            dispatcher, adapter = limited_dispatcher(app, ref.community_id, world, clock)
            began = clock.now()
            wall = time.perf_counter()
            asyncio.run(dispatcher.run_until_idle())
            wall = time.perf_counter() - wall
            simulated = (clock.now() - began).total_seconds()
            with app.engine.connect() as conn:
                totals = delivery_report(conn, ref.community_id, job_id).totals
            journal = Counter(p.key for p in world.journal())
            limits = adapter.limits
            assert limits.per_group is not None and limits.per_account is not None
            floor = floor_seconds(groups, groups, limits.per_group, limits.per_account)
            return {
                "bench": "broadcast",
                "db": db,
                "groups": groups,
                "sent": totals["sent"],
                "refused": totals["refused"],
                "dropped": groups - len(journal),
                "duplicated": sum(n - 1 for n in journal.values() if n > 1),
                "simulated_s": round(simulated, 1),
                "floor_s": round(floor, 1),
                "dispatch_wall_s": round(wall, 2),
                "target_enqueue_s": TARGET_ENQUEUE_S,
                "enqueue_s": enqueue_s,
                "target_ratio": TARGET_RATIO,
                "ratio": floor / simulated if simulated else 1.0,
            }
        finally:
            app.close()
