"""A broadcast in Debian's chromium, from composing to the delivery report.

A real uvicorn server runs on loopback over a private copy of the simulated community
(SQLite) on a frozen clock. The operator writes a post and previews it, schedules it to a
group tag for later that day (checking the targets first), and then time passes: the
test advances the clock, runs the broadcast ticker and the dispatcher on the simulated
platform — what the bot runtime does every few seconds — and the operator reads each
group's status in the delivery report. No page may run into a CSP violation or a
script error. Screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from browserharness import launch_chromium, playwright_or_skip, serving
from dispatching import SimulatedTime, dispatcher, sim_adapter
from shequn.adapters.sim import SimWorld
from shequn.app import App
from shequn.config import Settings
from shequn.features.broadcast.service import set_group_tags
from shequn.features.broadcast.ticker import BroadcastTicker
from shequn.features.community.setup import CommunityRef
from shequn.kit.clock import FrozenClock
from shequn.models import Group
from shequn.runtime.ticks import run_ticks
from shequn.web.app import create_app
from web.test_browser import Watched
from webharness import NOW

TAG = "晨读"
_g = Group.__table__


@dataclass
class Served:
    url: str
    app: App
    ref: CommunityRef
    #: The tagged groups: (external id, name).
    tagged: list[tuple[str, str]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, web_sqlite_template: Path) -> Iterator[Served]:
    playwright_or_skip()
    path = tmp_path_factory.mktemp("broadcast") / "live.db"
    shutil.copy(web_sqlite_template, path)
    app = App.create(Settings(database_url=f"sqlite:///{path}"), clock=FrozenClock(NOW))
    with app.engine.begin() as conn:
        ref = CommunityRef(
            *conn.execute(text("select workspace_id, id, name, timezone from community")).one()
        )
        groups = conn.execute(
            select(_g.c.id, _g.c.external_id, _g.c.name)
            .where(_g.c.community_id == ref.community_id)
            .order_by(_g.c.id)
            .limit(2)
        ).all()
        for group in groups:
            set_group_tags(conn, ref.community_id, group.id, [TAG], now=NOW)
    try:
        with serving(create_app(app, uploads=path.parent / "uploads")) as base:
            yield Served(base, app, ref, [(g.external_id, g.name) for g in groups])
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def watched(browser: Any, served: Served) -> Iterator[Watched]:
    w = Watched(browser, served)  # type: ignore[arg-type]  # it reads only ``url``
    yield w
    w.close()


def time_passes(served: Served, hours: int) -> SimWorld:
    """What the bot runtime does as time goes by: the ticker queues the due jobs' copies,
    the dispatcher sends them on the simulated platform."""
    served.app.clock.advance(timedelta(hours=hours))
    report = run_ticks(served.app.engine, [BroadcastTicker()], served.app.clock.now())
    assert report.failed == {}
    world = SimWorld(served.app.clock)
    for external_id, name in served.tagged:
        world.add_group(external_id, name)
    d = dispatcher(
        served.app,
        served.ref.community_id,
        sim_adapter(world),
        time=SimulatedTime(served.app.clock),  # type: ignore[arg-type]
    )
    # Playwright's own event loop runs in this thread; the dispatcher gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, d.run_until_idle()).result(timeout=60)
    return world


def test_compose_schedule_to_a_tag_and_read_the_delivery_report(
    watched: Watched, served: Served
) -> None:
    w, page = watched, watched.page
    w.sign_in("operator")

    # The content library: write a post, preview it, save it.
    w.goto("/broadcast")
    page.fill("#new-post input[name=title]", "晨读提醒")
    page.fill("#new-post input[name=tags]", "reading")
    page.fill("#new-post textarea[name=text_zh]", "{group} 的朋友们早上好，今天 {date} 一起读书")
    page.fill("#new-post textarea[name=text_en]", "Good morning, {group}")
    page.click("#new-post button[hx-post='/broadcast/preview']")
    page.wait_for_selector("#preview [data-platform=sim][data-ok=yes]")
    assert "早上好" in page.inner_text("#preview")
    w.assert_clean("the library's preview")
    with page.expect_navigation():
        page.click("#new-post button[type=submit]:not([formaction])")
    page.wait_for_load_state("networkidle")
    assert "/broadcast/posts/" in page.url
    assert page.locator(".preview-card[data-platform=sim][data-ok=yes]").count() == 1
    w.assert_clean("the post's page")
    w.shot("broadcast-post")

    # Compose: to the group tag, later today (10:00 in Shanghai now), checked first.
    with page.expect_navigation():
        page.click("a.button[href^='/broadcast/compose?post=']")
    page.wait_for_load_state("networkidle")
    page.fill("input[name=targets]", f"tag:{TAG}")
    page.check("input[name=when_kind][value=once]")
    page.fill("input[name=at]", "2026-10-05T11:30")
    page.click("button[hx-post='/broadcast/compose/check']")
    page.wait_for_selector("#check [data-matched='2']")
    assert page.locator("#check .wecom-conflicts").count() == 0
    w.assert_clean("the compose check")
    w.shot("broadcast-compose")
    with page.expect_navigation():
        page.click("button[name=go]")
    page.wait_for_load_state("networkidle")
    assert "/broadcast/jobs/" in page.url
    job_path = page.url.split(served.url, 1)[1].split("?")[0]
    assert page.get_attribute("dl.facts [data-status]", "data-status") == "active"
    assert page.locator("table.report [data-status]").count() == 0, "nothing sent yet"
    w.goto("/broadcast/calendar")
    assert "晨读提醒" in page.inner_text("ul.calendar-day")
    w.assert_clean("the calendar")

    # Two hours later the job has run and every copy went out.
    world = time_passes(served, hours=2)
    assert sorted(len(g.messages) for g in world.groups.values()) == [1, 1]
    w.goto(job_path)
    rows = page.locator("table.report tbody tr")
    seen = {
        rows.nth(i).locator(".group-name").inner_text(): rows.nth(i)
        .locator("[data-status]")
        .get_attribute("data-status")
        for i in range(rows.count())
    }
    assert seen == {name: "sent" for _, name in served.tagged}
    assert page.get_attribute("dl.facts [data-status]", "data-status") == "done"
    w.assert_clean("the delivery report")
    w.shot("broadcast-report")
