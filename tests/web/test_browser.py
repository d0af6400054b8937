"""The dashboard in Debian's chromium: what an operator does on a normal day, and
hostile chat content staying inert on every page.

A real uvicorn server runs on loopback over a private copy of the simulated
community (SQLite), with a group of hostile members planted in it. Screenshots
of the main pages land in ``tests/artifacts/`` for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from browserharness import ARTIFACTS, WATCH_CSP, launch_chromium, serving
from shequn.app import App
from shequn.config import Settings
from shequn.features.community.setup import CommunityRef
from shequn.kit.clock import FrozenClock
from shequn.web.app import create_app
from webharness import HOSTILE_GROUP, HOSTILE_TEXTS, NOW, PASSWORD, plant_hostile

#: Detects any planted payload that ran, and what the page's own scripts report.
_PWNED = "() => window.__pwned || null"
_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


@dataclass
class Live:
    url: str
    app: App
    ref: CommunityRef


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, web_sqlite_template: Path) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("live") / "live.db"
    shutil.copy(web_sqlite_template, path)
    app = App.create(Settings(database_url=f"sqlite:///{path}"), clock=FrozenClock(NOW))
    with app.engine.connect() as conn:
        ref = CommunityRef(
            *conn.execute(text("select workspace_id, id, name, timezone from community")).one()
        )
    plant_hostile(app, ref)
    try:
        with serving(create_app(app, uploads=path.parent / "uploads")) as base:
            yield Live(base, app, ref)
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


class Watched:
    """A page that records console errors, dialogs and CSP violations."""

    def __init__(self, browser: Any, live: Live, locale: str = "zh-CN") -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
        self.context.add_init_script(WATCH_CSP)
        self.page = self.context.new_page()
        self.live = live
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def goto(self, path: str) -> Any:
        self.page.goto(self.live.url + path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def sign_in(self, username: str = "owner") -> None:
        self.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def assert_clean(self, where: str) -> None:
        assert self.page.evaluate(_PWNED) is None, f"a planted script ran on {where}"
        assert not self.dialogs, f"a dialog opened on {where}: {self.dialogs}"
        assert self.page.evaluate("() => window.__csp") == [], f"CSP violations on {where}"
        assert not self.errors, f"script errors on {where}: {self.errors}"
        assert self.page.evaluate(_OVERFLOW) <= 2, f"{where} overflows sideways"

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any, live: Live) -> Iterator[Watched]:
    w = Watched(browser, live)
    yield w
    w.close()


def _charts_drawn(page: Any) -> list[bool]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-chart]'))"
        ".map((el) => !!el.querySelector('svg, canvas'))"
    )


def _member(live: Live, hostile: int | None = None) -> tuple[int, str]:
    """A member with a name (or the planted hostile member number ``hostile``)."""
    with live.app.engine.connect() as conn:
        if hostile is None:
            row = conn.execute(
                text(
                    "select m.id, m.display_name from member m join membership s"
                    " on s.member_id = m.id where m.display_name <> '' order by m.id limit 1"
                )
            ).one()
        else:
            row = conn.execute(
                text(
                    "select m.id, m.display_name from member m join identity i"
                    " on i.member_id = m.id where i.external_id = :e"
                ),
                {"e": f"h{hostile}"},
            ).one()
    return row.id, row.display_name


def _group_id(live: Live, external_id: str) -> int:
    with live.app.engine.connect() as conn:
        return conn.execute(
            text("select id from chat_group where external_id = :e"), {"e": external_id}
        ).scalar_one()


def test_an_operators_day(watched: Watched, live: Live) -> None:
    """Sign in, read the overview, open the declining group's reasons, tag a member,
    switch the language."""
    w, page = watched, watched.page
    w.sign_in("operator")
    assert page.url.rstrip("/") == live.url
    assert live.ref.name in page.inner_text("h1")
    assert all(_charts_drawn(page)) and _charts_drawn(page), "overview charts are drawn"
    w.assert_clean("the overview")
    w.shot("overview")

    declining = page.locator(f"a[href='/groups/{_group_id(live, 'g03')}']").first
    assert declining.count() == 1, "the declining group is among the alerts"
    declining.click()
    page.wait_for_load_state("networkidle")
    reasons = page.locator("ul.reasons li")
    assert reasons.count() >= 1, "the declining group says why"
    assert "下一步" in page.inner_text("ul.reasons") or "Next step" in page.inner_text("ul.reasons")
    w.assert_clean("the group page")
    w.shot("group")

    w.goto("/groups")
    assert page.locator("table a[href^='/groups/']").count() >= 5
    w.assert_clean("the group list")
    w.shot("groups")

    w.goto("/tags")
    page.fill("form.tag-form input[name=name]", "核心成员")
    page.click("form.tag-form button[type=submit]")
    page.wait_for_load_state("networkidle")

    member_id, name = _member(live)
    w.goto("/members")
    page.fill("input[name=q]", name)
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state("networkidle")
    link = page.locator(f"#member-table a[href='/members/{member_id}']")
    assert link.count() == 1, "the search finds the member"
    w.shot("members")
    link.click()
    page.wait_for_load_state("networkidle")
    page.select_option("select[name=tag_id]", label="核心成员")
    page.click("form[action$='/tags'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "核心成员" in page.inner_text("main")
    w.assert_clean("the member profile")
    w.shot("member")
    with live.app.engine.connect() as conn:
        tagged = conn.execute(
            text(
                "select count(*) from member_tag mt join tag t on t.id = mt.tag_id"
                " where mt.member_id = :m and t.name = '核心成员'"
            ),
            {"m": member_id},
        ).scalar_one()
        audited = conn.execute(
            text("select count(*) from audit_log where action = 'member.tag'")
        ).scalar_one()
    assert tagged == 1 and audited >= 1

    w.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "概览" in page.inner_text("nav.side")
    page.click("#language-form button[value=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Overview" in page.inner_text("nav.side")
    w.assert_clean("the overview in English")
    w.shot("overview-en")


def test_hostile_content_is_inert_everywhere(watched: Watched, live: Live) -> None:
    w, page = watched, watched.page
    w.sign_in("owner")
    hostile_group = _group_id(live, "hostile")
    w.goto("/tags")
    page.fill("form.tag-form input[name=name]", HOSTILE_TEXTS[1][:100])
    page.click("form.tag-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    pages = [
        "/",
        "/groups",
        f"/groups/{hostile_group}",
        f"/events?group_id={hostile_group}",
        f"/members?group_id={hostile_group}",
        "/members?q=" + "%3Cscript%3E",
        "/tags",
        "/audit",
    ]
    for n in range(len(HOSTILE_TEXTS)):
        member_id, _ = _member(live, n)
        pages.append(f"/members/{member_id}")
    for path in pages:
        w.goto(path)
        w.assert_clean(path)
    w.goto(f"/groups/{hostile_group}")
    assert HOSTILE_GROUP.strip("\u202e") in page.inner_text("h1") or "<script>" in page.inner_text(
        "h1"
    ), "the hostile name is shown as text"
    w.shot("hostile-group")
    member_id, _ = _member(live, 0)
    w.goto(f"/members/{member_id}")
    assert HOSTILE_TEXTS[0] in page.inner_text("main"), "the payload is visible as plain text"
    w.shot("hostile-member")
    w.goto(f"/events?group_id={hostile_group}")
    body = page.inner_text("main")
    assert HOSTILE_TEXTS[5] in body and "DROP TABLE" in body
    w.shot("hostile-events")
    with live.app.engine.connect() as conn:
        assert conn.execute(text("select count(*) from member")).scalar_one() > 400
