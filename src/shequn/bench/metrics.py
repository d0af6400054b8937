"""``shequn bench metrics``: the overview from the rollups against the same figures from raw events.

A simulated community of N messages (10 million by default: 100 groups over
a year) is stored through the real pipeline, which keeps the rollups as it
goes. The bench then computes the dashboard's overview — per group messages,
joins, leaves, and speakers of the range, its last 7 and last 30 days — for
the last 91 days, both from the rollups (``overview.from_rollups``) and by
scanning the event log (``overview.from_events``), several times each, and
checks that both give the same figures. Storing the community is not timed.

``--keep PATH`` stores the community in a SQLite file that later runs reuse,
so the ten-minute ingest is paid once.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from shequn.app import App
from shequn.bench.common import run_on_database
from shequn.config import Settings
from shequn.core import Event, EventType
from shequn.features.analytics import overview
from shequn.features.analytics.report import default_scope
from shequn.features.analytics.scope import Scope
from shequn.models import Community, EventRow
from shequn.simulator import SimConfig, simulate

RUNS = 5


def community_config(messages: int) -> SimConfig:
    """A community big enough that its year holds more than ``messages`` messages (the
    simulator writes fewer than 200 a year per person); the stream stops at the target."""
    groups = max(3, min(100, messages // 100_000))
    members = max(300, messages // 150)
    return SimConfig(groups=groups, members=members, days=365, seed=21, end=date(2026, 10, 31))


def _events(config: SimConfig, messages: int) -> Iterator[Event]:
    """The community's events until its ``messages``-th message."""
    seen = 0
    for event in simulate(config).events():
        if event.type is EventType.MESSAGE:
            seen += 1
            if seen > messages:
                return
        yield event


def _timed(fn: Callable[[Connection, Scope], Any], conn: Connection, scope: Scope) -> tuple:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = fn(conn, scope)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _measure(url: str, messages: int, *, fill: bool) -> dict[str, Any]:
    app = App.create(Settings(database_url=url))
    try:
        app.migrate()
        config = community_config(messages)
        if fill:
            ref = app.community("bench", timezone=config.timezone)
            app.ingestor(ref).ingest_many(_events(config, messages))
            if app.engine.dialect.name == "postgresql":
                # Measure a database whose planner statistics are current, as autovacuum
                # keeps a production one, not one caught in the minute after a bulk load.
                with app.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
        with app.engine.connect() as conn:
            cid, tz = conn.execute(select(Community.id, Community.timezone).limit(1)).one()
            stored = conn.execute(
                select(func.count()).where(EventRow.type == "message")
            ).scalar_one()
            scope = default_scope(conn, cid, tz, now=datetime.now(UTC))
            rollup_ms, fast = _timed(overview.from_rollups, conn, scope)
            raw_ms, slow = _timed(overview.from_events, conn, scope)
        if fast != slow:
            raise RuntimeError("the rollups and the event log disagree on the overview")
        return {
            "messages": stored,
            "groups": len(fast),
            "rollup_ms": rollup_ms,
            "raw_ms": raw_ms,
            "ratio": raw_ms / rollup_ms if rollup_ms else 0.0,
        }
    finally:
        app.close()


def bench_metrics(db: str, messages: int, keep: Path | None = None) -> dict[str, Any]:
    return run_on_database(
        "metrics", db, keep, lambda url, fill: _measure(url, messages, fill=fill)
    )
