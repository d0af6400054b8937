"""The playground in Debian's chromium: an operator speaks as a member of a simulated
group, and watches the transcript — and the bot acting in it — refresh by itself.

A real uvicorn server runs on loopback over a private copy of the simulated
community (SQLite) with the bot runtime beside it, on a simulated platform seeded
with the community's groups, exactly as ``shequn demo`` serves it. The bot's actions
are put in the outbox from the test, as a feature would; the runtime's dispatcher
finds them at its next poll. A screenshot lands in ``tests/artifacts/``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from browserharness import launch_chromium, playwright_or_skip, serving
from shequn.adapters.sim import SimWorld
from shequn.app import App
from shequn.config import Settings
from shequn.core import Action, ActionType, Message
from shequn.db.engine import WRITE
from shequn.features.community.setup import CommunityRef
from shequn.kit.clock import FrozenClock
from shequn.runtime.bot import BotRuntime
from shequn.runtime.outbox import Pending, enqueue
from shequn.web.app import create_app
from web.test_browser import Watched
from webharness import HOSTILE_TEXTS, NOW

#: How long the page may take to show what the bot did (a poll of the dispatcher, a
#: poll of the transcript, and a slow machine).
SEEN_WITHIN_MS = 10_000


@dataclass
class Served:
    url: str
    app: App
    ref: CommunityRef
    runtime: BotRuntime
    world: SimWorld


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, web_sqlite_template: Path) -> Iterator[Served]:
    playwright_or_skip()  # before building anything a missing browser would waste
    path = tmp_path_factory.mktemp("playground") / "live.db"
    shutil.copy(web_sqlite_template, path)
    app = App.create(Settings(database_url=f"sqlite:///{path}"), clock=FrozenClock(NOW))
    with app.engine.connect() as conn:
        ref = CommunityRef(
            *conn.execute(text("select workspace_id, id, name, timezone from community")).one()
        )
    world = SimWorld(app.clock)
    runtime = app.bot_runtime(
        [{"kind": "sim", "name": "sim-bot", "community": ref.name}], world=world
    )
    try:
        asgi = create_app(app, uploads=path.parent / "uploads", runtime=runtime)
        with serving(asgi) as base:
            yield Served(base, app, ref, runtime, world)
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


def stored(served: Served, said: str, timeout: float = 10.0) -> int:
    """How many message events hold ``said``, once the runtime has stored it."""
    deadline = time.monotonic() + timeout
    while True:
        with served.app.engine.connect() as conn:
            found = conn.execute(
                text("select count(*) from event where type = 'message' and text = :t"),
                {"t": said},
            ).scalar_one()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def bot_acts(served: Served, *actions: Action) -> None:
    """Put actions in the outbox, as a feature reacting to an event would."""
    community = served.runtime.entries[0].community.community_id
    with served.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
        enqueue(conn, [Pending(a, community) for a in actions], now=served.app.clock.now())


def test_an_operator_speaks_as_a_member_and_watches_the_bot(
    watched: Watched, served: Served
) -> None:
    w, page = watched, watched.page
    w.sign_in("operator")
    w.goto("/playground")
    with page.expect_navigation():  # choosing a group loads its playground
        page.select_option("form.filters select[name=group]", "g03")
    page.wait_for_load_state("networkidle")
    assert "group=g03" in page.url
    members = served.world.groups["g03"].members
    speaker = sorted(u for u, m in list(members.items()) if m.role == "member")[0]

    said = "浏览器里说的第一句话"
    page.select_option("#act select[name=member]", speaker)
    page.fill("#act textarea[name=text]", said)
    page.click("#act button[name=action][value=say]")
    page.wait_for_selector("#act .play-feedback[role=status]")
    page.wait_for_selector(f"#transcript li.chat-line:has-text('{said}')", timeout=SEEN_WITHIN_MS)
    assert stored(served, said) == 1, "what the member said is in the event log"

    # The bot answers and mutes the member; the page shows both without a reload.
    bot_acts(
        served,
        Action(
            ActionType.SEND_MESSAGE,
            platform="sim",
            group="g03",
            message=Message.of("请文明发言，谢谢配合"),
            key="browser-say",
        ),
        Action(
            ActionType.MUTE,
            platform="sim",
            group="g03",
            user=speaker,
            duration=timedelta(minutes=10),
            key="browser-mute",
        ),
    )
    page.wait_for_selector(
        "#transcript li.chat-line.bot:has-text('请文明发言')", timeout=SEEN_WITHIN_MS
    )
    page.wait_for_selector(
        f"#transcript li.chat-line[data-muted]:has-text('{said}')", timeout=SEEN_WITHIN_MS
    )
    page.wait_for_function(
        "() => document.querySelectorAll('#transcript [data-status=done]').length >= 2",
        timeout=SEEN_WITHIN_MS,
    )
    assert "请文明发言" in page.inner_text("#transcript .bot-actions")

    # Muted, the member cannot speak: the platform's reason shows beside the form.
    page.fill("#act textarea[name=text]", "我还能说话吗")
    page.click("#act button[name=action][value=say]")
    page.wait_for_selector("#act .play-feedback[role=alert]")
    assert "is muted in" in page.inner_text("#act .play-feedback")

    # A newcomer with a hostile name says hostile things: shown as text, never run.
    page.select_option("#act select[name=member]", "")
    page.fill("#act input[name=name]", HOSTILE_TEXTS[1][:64])
    page.click("#act button[name=action][value=join]")
    page.wait_for_selector("#act .play-feedback[role=status]")
    for hostile in HOSTILE_TEXTS[:2]:
        page.fill("#act textarea[name=text]", hostile)
        page.click("#act button[name=action][value=say]")
        page.wait_for_selector("#act .play-feedback[role=status]")
    page.wait_for_function(
        "(t) => document.querySelector('#transcript').innerText.includes(t)",
        arg=HOSTILE_TEXTS[0],
        timeout=SEEN_WITHIN_MS,
    )
    page.wait_for_timeout(1500)  # a poll or two more, in case anything were to run
    w.assert_clean("the playground")
    w.shot("playground")

    # The bots page shows the adapter this process runs, and what the bot did.
    w.goto("/bots")
    assert page.locator("tr[data-adapter='sim-bot'] [data-state=connected]").count() == 1
    done = page.locator("table.outbox [data-status=done]")
    assert done.count() >= 2
    assert "请文明发言" in page.inner_text("table.outbox")
    w.assert_clean("the bots page")
    w.shot("bots")
