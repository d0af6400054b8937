"""The rules, moderation log, blacklist and invite pages in Debian's chromium: hostile
rule names, matched text and reasons stay inert, nothing overflows, no script errors,
and an operator writes a rule through the form's friendly fields."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from browserharness import launch_chromium, serving
from factories import event
from shequn.app import App, live_processors
from shequn.config import Settings
from shequn.db.engine import WRITE
from shequn.features.community.setup import CommunityRef
from shequn.features.moderation.service import blacklist_add
from shequn.features.rules.service import save_rule
from shequn.kit.clock import FrozenClock
from shequn.web.app import create_app
from web.test_browser import Live, Watched
from webharness import HOSTILE_TEXTS, NOW, plant_hostile

HOSTILE_WORD = "<script>window.__pwned='word'</script>"


def _plant_moderation(app: App, ref: CommunityRef) -> None:
    """A hostile rule that fires on a hostile message, a hostile blacklist reason, and
    a hostile invite source."""
    with app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
        save_rule(
            conn,
            ref.community_id,
            "moderation",
            HOSTILE_TEXTS[1][:120],
            {"kind": "banned_words", "params": {"words": [HOSTILE_WORD]}, "actions": ["delete"]},
            now=NOW,
        )
        member = conn.execute(
            text("select member_id from identity where external_id = 'h0'")
        ).scalar_one()
        blacklist_add(
            conn, ref.community_id, member, reason=HOSTILE_TEXTS[5], operator_id=None, now=NOW
        )
    said = event(
        990_001,
        text=f"看这里 {HOSTILE_WORD}",
        group="hostile",
        actor="h1",
        at=NOW - timedelta(minutes=5),
        message_id="hostile-mod",
    )
    app.ingestor(ref, live_processors()).ingest_many([said])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, web_sqlite_template: Path) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("rules-live") / "live.db"
    shutil.copy(web_sqlite_template, path)
    app = App.create(Settings(database_url=f"sqlite:///{path}"), clock=FrozenClock(NOW))
    with app.engine.connect() as conn:
        ref = CommunityRef(
            *conn.execute(text("select workspace_id, id, name, timezone from community")).one()
        )
    plant_hostile(app, ref)
    _plant_moderation(app, ref)
    try:
        with serving(create_app(app, uploads=path.parent / "uploads")) as base:
            yield Live(base, app, ref)
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def watched(browser: Any, live: Live) -> Iterator[Watched]:
    w = Watched(browser, live)
    yield w
    w.close()


def test_hostile_content_is_inert_on_the_rules_pages(watched: Watched, live: Live) -> None:
    w, page = watched, watched.page
    w.sign_in("owner")
    with live.app.engine.connect() as conn:
        rule_id = conn.execute(text("select id from group_rule")).scalar_one()
        logged = conn.execute(text("select count(*) from moderation_log")).scalar_one()
    assert logged >= 2, "the hostile message was moderated and the blacklist logged"
    w.goto("/invites")
    page.fill("input[name=source]", HOSTILE_TEXTS[0][:60])
    page.fill("input[name=count]", "2")
    page.click("#new-codes button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#made textarea").input_value().count("\n") >= 2
    for path in (
        "/rules",
        f"/rules/{rule_id}",
        "/rules/new?kind=moderation",
        "/moderation",
        "/blacklist",
        "/invites",
    ):
        w.goto(path)
        w.assert_clean(path)
    w.goto("/moderation")
    body = page.inner_text("main")
    assert HOSTILE_WORD in body, "the matched text shows as text"
    assert HOSTILE_TEXTS[1][:40] in body, "the rule's name shows as text"
    w.shot("moderation-log")
    w.goto("/blacklist")
    assert "</textarea></script>" in page.inner_text("main")
    w.goto("/invites")
    assert "<script>window.__pwned" in page.inner_text("main")
    w.shot("invites")


def test_an_operator_writes_a_rule_with_the_friendly_fields(watched: Watched, live: Live) -> None:
    w, page = watched, watched.page
    w.sign_in("operator")
    w.goto("/rules/new?kind=autoreply")
    page.fill("input[name=name]", "报名问答")
    page.select_option("select[name=match]", "contains")
    page.fill("textarea[name=patterns]", "怎么报名\n报名链接")
    page.fill("textarea[name=reply]", "{name}，报名链接在群公告")
    page.click("form.rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/rules?kind=autoreply&msg=created")
    assert "报名问答" in page.inner_text("main")
    w.assert_clean("/rules after saving")
    w.shot("rules")
    w.goto("/rules/new?kind=welcome")
    page.fill("input[name=name]", "欢迎")
    page.fill("textarea[name=settings]", '{"text": "欢迎 {nmae}"}')
    page.click("form.rule-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    problems = page.inner_text("ul.problems")
    assert "nmae" in problems
    assert page.input_value("input[name=name]") == "欢迎", "the input stays"
    w.shot("rule-refused")
