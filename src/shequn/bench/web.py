"""``shequn bench web``: how long the dashboard's heaviest pages take on the server.

A community of 100 groups, 100,000 members and 10,000,000 messages (a year of
the simulator, stopped at the target) is stored through the real pipeline; the
bench then requests the overview, the group list, group detail pages and member
list pages in-process through the ASGI app, signed in as an owner, and reports
p50 and p95 of each (target: every p95 under 300 ms). The baseline, measured in
the same run, is what the operator had before the dashboard: ``shequn report``'s
full health report of the community, built from the same rollups.

``--keep PATH`` stores the community in a SQLite file that later runs reuse.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, desc, func, select

from shequn.app import App
from shequn.bench.common import run_on_database
from shequn.bench.metrics import _events
from shequn.config import Settings
from shequn.features.analytics.report import build_report, default_scope
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role
from shequn.models import Community, Group, GroupDay, Membership, Tag
from shequn.simulator import SimConfig

TARGET_P95_MS = 300.0
RUNS = 25
WARMUP = 2
BENCH_USER = "bench-owner"


def community_config(messages: int) -> SimConfig:
    """100 groups and 122,000 people for 10M messages (about 82 % of the simulated
    population ever joins a group: the 100,000 members the bench promises), scaled
    down with the message count for quick runs."""
    groups = max(3, min(100, messages // 100_000))
    members = max(300, min(122_000, messages * 122 // 10_000))
    return SimConfig(groups=groups, members=members, days=365, seed=21, end=date(2026, 10, 31))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _session(app: App) -> str:
    """A signed-in owner's session cookie (created, with its workspace's first operator
    account, if the database has none)."""
    now = datetime.now(UTC)
    with app.engine.begin() as conn:
        workspace = conn.execute(select(Community.workspace_id).limit(1)).scalar_one()
        operator = conn.execute(
            select(accounts._op.c.id).where(accounts._op.c.username == BENCH_USER)
        ).scalar()
        if operator is None:
            operator = accounts.create_operator(
                conn, workspace, BENCH_USER, "bench-password", role=Role.OWNER.value, now=now
            ).id
        token, _ = accounts.start_session(conn, operator, now=now)
    return token


def _page_urls(conn: Connection) -> dict[str, list[str]]:
    """The pages to time, with a few variants each, as an operator would open them."""
    biggest = conn.execute(
        select(Membership.group_id)
        .where(Membership.left_at.is_(None))
        .group_by(Membership.group_id)
        .order_by(desc(func.count()))
        .limit(5)
    ).scalars()
    others = conn.execute(select(Group.id).order_by(Group.id).limit(5)).scalars()
    groups = list(dict.fromkeys([*biggest, *others]))
    tag = conn.execute(select(Tag.id).limit(1)).scalar()
    first_group = groups[0]
    members = [
        "/members",
        f"/members?group_id={first_group}",
        "/members?activity=active7",
        "/members?activity=silent30",
        "/members?q=%E5%B0%8F",  # 小, a common character in simulated names
    ]
    if tag is not None:
        members.append(f"/members?tag_id={tag}")
    return {
        "overview": ["/"],
        "group_list": ["/groups"],
        "group_detail": [f"/groups/{g}" for g in groups],
        "member_list": members,
    }


async def _time_pages(app: App, urls: dict[str, list[str]], cookie: str) -> dict[str, Any]:
    from shequn.web.app import create_app

    asgi = create_app(app)
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", cookies={"shequn_session": cookie}
    ) as client:
        timings: dict[str, dict[str, float]] = {}
        for name, variants in urls.items():
            samples: list[float] = []
            for n in range(WARMUP * len(variants) + RUNS):
                url = variants[n % len(variants)]
                started = time.perf_counter()
                reply = await client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                if reply.status_code != 200:
                    raise RuntimeError(f"{url} answered {reply.status_code}: {reply.text[:300]}")
                if n >= WARMUP * len(variants):
                    samples.append(elapsed)
            timings[name] = {
                "p50_ms": round(statistics.median(samples), 1),
                "p95_ms": round(_percentile(samples, 0.95), 1),
                "requests": len(samples),
            }
    return timings


def _timed(fn: Callable[[], Any], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _measure(url: str, messages: int, *, fill: bool) -> dict[str, Any]:
    app = App.create(Settings(database_url=url))
    try:
        app.migrate()
        config = community_config(messages)
        if fill:
            ref = app.community("bench", timezone=config.timezone)
            app.ingestor(ref).ingest_many(_events(config, messages))
            if app.engine.dialect.name == "postgresql":
                with app.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
                    conn.commit()
        cookie = _session(app)
        with app.engine.connect() as conn:
            urls = _page_urls(conn)
            cid, name, tz = conn.execute(
                select(Community.id, Community.name, Community.timezone).limit(1)
            ).one()

            def report() -> Any:
                scope = default_scope(conn, cid, tz, now=datetime.now(UTC))
                return build_report(
                    conn, scope, community_name=name, generated_at=datetime.now(UTC)
                )

            baseline_ms = _timed(report)
            counts = {
                "groups": conn.execute(select(func.count()).select_from(Group)).scalar_one(),
                "members": conn.execute(
                    select(func.count(func.distinct(Membership.member_id)))
                ).scalar_one(),
                "messages": conn.execute(select(func.sum(GroupDay.messages))).scalar() or 0,
            }
        pages = asyncio.run(_time_pages(app, urls, cookie))
        worst = max(p["p95_ms"] for p in pages.values())
        return {
            **counts,
            "pages": pages,
            "worst_p95_ms": worst,
            "target_p95_ms": TARGET_P95_MS,
            "baseline_report_ms": baseline_ms,
            "ratio": baseline_ms / worst if worst else 0.0,
        }
    finally:
        app.close()


def bench_web(db: str, messages: int, keep: Path | None = None) -> dict[str, Any]:
    return run_on_database("web", db, keep, lambda url, fill: _measure(url, messages, fill=fill))
