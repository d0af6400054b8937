"""The bots page, ``/api/v1/bots`` and ``/api/v1/outbox``, and the playground.

The outbox rows are written as the runtime writes them (``enqueue``), then put in
the state each test needs. The playground tests run a real bot runtime on the
simulated platform, seeded with the test community's groups and members, in the
test's event loop — the loop the web app answers on, as under ``shequn serve``.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update

from running import until
from shequn.adapters.sim import SimWorld
from shequn.core import Action, ActionType, Message
from shequn.db.engine import WRITE
from shequn.features.operators.permissions import Role
from shequn.models import AdapterStatus, AuditEntry, OutboxRow
from shequn.runtime.bot import BotRuntime
from shequn.runtime.outbox import Pending, enqueue, manage
from shequn.web.api.bots import MovedOut, OutboxItem, OutboxPage
from shequn.web.app import create_app
from shequn.web.pages.bots import ERROR_GLIMPSE, MESSAGE_GLIMPSE, TEXT_GLIMPSE
from web.test_overview import other_workspace
from webharness import HOSTILE_TEXTS, NOW, WebHarness

pytestmark = pytest.mark.anyio
_o = OutboxRow.__table__
_a = AuditEntry.__table__


# --- helpers -------------------------------------------------------------------------------


def plant(web: WebHarness, community_id: int, rows: list[dict[str, Any]]) -> list[int]:
    """Actions in the outbox, oldest first, then put in the given state: each dict holds
    the action's ``group``, optional ``text`` and ``kind``, and the columns to set."""
    ids = []
    with web.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
        for n, row in enumerate(rows):
            values = dict(row)
            kind = values.pop("kind", ActionType.SEND_MESSAGE)
            group = values.pop("group", "g01")
            said = values.pop("text", f"通知 {n}")
            action = Action(
                kind,
                platform="sim",
                group=group,
                user="u00001" if kind is not ActionType.SEND_MESSAGE else None,
                message=Message.of(said) if kind is ActionType.SEND_MESSAGE else None,
                duration=timedelta(minutes=10) if kind is ActionType.MUTE else None,
                key=f"test-{community_id}-{group}-{n}-{len(ids)}-{said[:20]}",
            )
            enqueue(conn, [Pending(action, community_id)], now=NOW)
            row_id = conn.execute(
                select(_o.c.id).where(_o.c.idempotency_key == action.key)
            ).scalar_one()
            if values:
                conn.execute(update(_o).where(_o.c.id == row_id).values(**values))
            ids.append(row_id)
    return ids


def outbox(web: WebHarness) -> dict[int, Any]:
    with web.app.engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(_o))}


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(select(_a).where(_a.c.action == action).order_by(_a.c.id)))


def report_status(web: WebHarness, name: str, community_id: int, state: str, detail: str) -> None:
    with web.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
        conn.execute(
            insert(AdapterStatus.__table__).values(
                name=name,
                platform="sim",
                account=f"{name}-account",
                community_id=community_id,
                state=state,
                detail=detail,
                worker="host:1:abc",
                since=NOW - timedelta(hours=1),
                updated_at=NOW,
            )
        )


async def walk(c: Any, **params: Any) -> list[OutboxItem]:
    seen: list[OutboxItem] = []
    cursor = None
    for _ in range(1000):
        extra = {"cursor": cursor} if cursor else {}
        reply = await c.get("/api/v1/outbox", params={**params, **extra})
        assert reply.status_code == 200, reply.text
        page = OutboxPage.model_validate(reply.json())
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def rows_shown(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-action="(\d+)">', page)]


@asynccontextmanager
async def playground(
    web: WebHarness, tmp_path: Path
) -> AsyncIterator[tuple[BotRuntime, SimWorld, WebHarness]]:
    """A bot runtime on a simulated platform seeded with the community's groups, running
    in this loop, and the web app over it."""
    world = SimWorld(web.app.clock)
    runtime = web.app.bot_runtime(
        [{"kind": "sim", "name": "sim-bot", "community": web.ref.name}], world=world
    )
    harness = WebHarness(
        web.app, create_app(web.app, uploads=tmp_path / "uploads", runtime=runtime), web.ref
    )
    task = asyncio.create_task(runtime.run())
    await runtime.started()
    try:
        await until(lambda: runtime.supervisor.states.get("sim-bot") == "connected")
        yield runtime, world, harness
    finally:
        runtime.stop()
        await task
        for c in harness.clients:
            await c.aclose()


def events_said(web: WebHarness, said: str) -> int:
    with web.app.engine.connect() as conn:
        return conn.execute(
            text("select count(*) from event where type = 'message' and text = :t"), {"t": said}
        ).scalar_one()


def member_named(world: SimWorld, group: str, name: str) -> str:
    return next(m.user for m in world.groups[group].members.values() if m.name == name)


# --- the bots page and the API -------------------------------------------------------------


async def test_adapters_and_actions_are_listed_for_the_community_only(web: WebHarness) -> None:
    other, _ = other_workspace(web)
    report_status(web, "sim-bot", web.ref.community_id, "retrying", "the connection closed")
    report_status(web, "elsewhere-bot", other.community_id, "connected", "")
    mine = plant(
        web,
        web.ref.community_id,
        [
            {"status": "done", "result": {"platform_id": "m1", "url": "https://chat.example/m1"}},
            {"status": "failed", "last_error": "bot is not an admin"},
            {"status": "pending"},
            {"status": "uncertain", "last_error": "no answer within 20 s"},
            {"status": "done", "result": {"url": "javascript:alert(1)", "platform_id": "m2"}},
            {"status": "in_flight", "attempts": 1},
        ],
    )
    theirs = plant(web, other.community_id, [{"status": "failed"}, {"status": "pending"}])

    c = web.api(Role.VIEWER)
    adapters = (await c.get("/api/v1/bots/adapters")).json()
    assert [(a["name"], a["state"], a["detail"]) for a in adapters] == [
        ("sim-bot", "retrying", "the connection closed")
    ]
    items = await walk(c, limit=2)
    assert [i.id for i in items] == sorted(mine, reverse=True)
    assert all(i.community_id == web.ref.community_id for i in items)
    first = next(i for i in items if i.id == mine[0])
    assert (first.text, first.group_ref, first.group_name) == ("通知 0", "g01", "快乐育儿团1群")
    assert first.result == {"platform_id": "m1", "url": "https://chat.example/m1"}
    failed = await walk(c, status="failed")
    assert [i.id for i in failed] == [mine[1]] and failed[0].last_error == "bot is not an admin"
    page = OutboxPage.model_validate((await c.get("/api/v1/outbox")).json())
    assert page.counts == {
        "pending": 1,
        "in_flight": 1,
        "done": 2,
        "failed": 1,
        "cancelled": 0,
        "uncertain": 1,
    }
    assert (await c.get("/api/v1/outbox?group=g02")).json()["items"] == []
    assert (await c.get(f"/api/v1/outbox?community_id={other.community_id}")).status_code == 404
    assert (await c.get("/api/v1/outbox?status=bogus")).status_code == 422
    assert (await c.get("/api/v1/outbox?cursor=WyJ4Il0")).status_code == 422

    browser = await web.signed_in(Role.VIEWER)
    reply = await browser.get("/bots")
    assert reply.status_code == 200
    body = reply.text
    assert 'data-nav="bots" class="active"' in body
    assert 'data-adapter="sim-bot"' in body and "elsewhere-bot" not in body
    assert 'data-state="retrying"' in body and "the connection closed" in body
    assert rows_shown(body) == sorted(mine, reverse=True)
    assert not set(theirs) & set(rows_shown(body))
    assert '<a href="https://chat.example/m1"' in body
    assert "javascript:alert" not in body  # a result that is not a web address is no link
    assert 'name="ids"' not in body  # a viewer gets no checkboxes
    failed_page = (await browser.get("/bots?status=failed")).text
    assert rows_shown(failed_page) == [mine[1]]
    assert (await browser.get("/bots?status=bogus")).status_code == 422


async def test_the_page_pages_through_actions_and_escapes_them(web: WebHarness) -> None:
    hostile = plant(
        web,
        web.ref.community_id,
        [
            {"text": t, "status": "failed", "last_error": t[:4000]}
            for t in HOSTILE_TEXTS
            for _ in range(8)
        ],
    )
    c = await web.signed_in(Role.OPERATOR)
    first = (await c.get("/bots")).text
    assert rows_shown(first) == sorted(hostile, reverse=True)[:50]
    assert "<script>window.__pwned" not in first and "<svg onload" not in first
    assert "&lt;script&gt;window.__pwned=&#39;script&#39;&lt;/script&gt;" in first
    # The 10,000-character message and error are clipped, each to its glimpse.
    assert {len(run) for run in re.findall("长+…", first)} == {TEXT_GLIMPSE + 1, ERROR_GLIMPSE + 1}
    assert first.count('name="ids"') == 50  # an operator may retry every failed row
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older
    second = (await c.get(html.unescape(older[1]))).text
    assert rows_shown(second) == sorted(hostile, reverse=True)[50:]


async def test_retry_and_cancel_move_only_the_right_rows(web: WebHarness) -> None:
    other, _ = other_workspace(web)
    mine = plant(
        web,
        web.ref.community_id,
        [
            {"status": "failed", "last_error": "bot is not an admin", "attempts": 8},
            {"status": "uncertain", "last_error": "no answer within 20 s", "attempts": 1},
            {"status": "pending", "attempts": 2, "last_error": "busy; retrying"},
            {"status": "in_flight", "attempts": 1, "worker": "w", "lease_until": NOW},
            {"status": "done", "attempts": 1},
            {"status": "cancelled"},
        ],
    )
    failed, uncertain, pending, in_flight, done, cancelled = mine
    theirs = plant(web, other.community_id, [{"status": "failed"}, {"status": "pending"}])
    before = outbox(web)

    c = web.api(Role.OPERATOR)
    reply = await c.post("/api/v1/outbox/retry", json={"ids": mine + theirs})
    assert reply.status_code == 200, reply.text
    assert MovedOut.model_validate(reply.json()) == MovedOut(changed=2, ids=[failed, uncertain])
    after = outbox(web)
    for row_id in (failed, uncertain):
        row = after[row_id]
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
        assert row.not_before == NOW
    unchanged = [pending, in_flight, done, cancelled, *theirs]
    assert all(after[i] == before[i] for i in unchanged)
    retried = audit(web, "outbox.retry")
    assert [(int(e.target_id), e.before["last_error"], e.after["status"]) for e in retried] == [
        (failed, "bot is not an admin", "pending"),
        (uncertain, "no answer within 20 s", "pending"),
    ]

    browser = await web.signed_in(Role.OPERATOR)
    form = {"ids": [str(i) for i in mine + theirs], "csrf_token": browser.csrf}
    del browser.headers["X-CSRF-Token"]  # the form's own token, as a browser sends it
    reply = await browser.post("/bots/cancel", data=form)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/bots?msg=cancelled&n=3"
    after = outbox(web)
    assert [after[i].status for i in mine] == [
        "cancelled",
        "cancelled",
        "cancelled",
        "in_flight",
        "done",
        "cancelled",
    ]
    assert all(after[i] == before[i] for i in theirs)
    cancelled_log = audit(web, "outbox.cancel")
    assert [int(e.target_id) for e in cancelled_log] == [failed, uncertain, pending]
    assert {e.operator_name for e in cancelled_log} == {"operator"}
    notice = (await browser.get(reply.headers["location"])).text
    assert 'class="flash"' in notice and ">3 " in notice
    none = await browser.post("/bots/retry", data={"csrf_token": browser.csrf})
    assert none.headers["location"] == "/bots?msg=none"
    with web.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
        assert manage.retry(conn, other.community_id, mine, now=NOW) == 0
        assert manage.cancel(conn, web.ref.community_id, theirs, now=NOW) == 0
    assert all(outbox(web)[i] == before[i] for i in theirs)


async def test_a_viewer_cannot_retry_or_cancel(web: WebHarness) -> None:
    ids = plant(web, web.ref.community_id, [{"status": "failed"}, {"status": "pending"}])
    before = outbox(web)
    c = web.api(Role.VIEWER)
    for path in ("/api/v1/outbox/retry", "/api/v1/outbox/cancel"):
        assert (await c.post(path, json={"ids": ids})).status_code == 403
    browser = await web.signed_in(Role.VIEWER)
    for path in ("/bots/retry", "/bots/cancel"):
        reply = await browser.post(path, data={"ids": [str(i) for i in ids]})
        assert reply.status_code == 403
    assert outbox(web) == before
    assert audit(web, "outbox.retry") == [] and audit(web, "outbox.cancel") == []


# --- the playground --------------------------------------------------------------------------


async def test_the_playground_says_it_is_off_without_a_runtime(web: WebHarness) -> None:
    viewer = await web.signed_in(Role.VIEWER)
    reply = await viewer.get("/playground")
    assert reply.status_code == 200
    assert "shequn demo" in reply.text and "kind = &#34;sim&#34;" in reply.text
    assert "hx-trigger" not in reply.text
    assert "/playground" not in (await viewer.get("/bots")).text  # no link to it either
    pane = await viewer.get("/playground/transcript?group=g01")
    assert pane.status_code == 200 and "hx-trigger" not in pane.text
    operator = await web.signed_in(Role.OPERATOR)
    data = {"group": "g01", "member": "u00001", "action": "say", "text": "在吗"}
    assert (await operator.post("/playground", data=data)).status_code == 409


async def test_members_speak_join_and_leave_and_the_bot_acts(
    web: WebHarness, tmp_path: Path
) -> None:
    async with playground(web, tmp_path) as (runtime, world, h):
        g01 = world.groups["g01"]
        speaker = sorted(u for u, m in g01.members.items() if m.role == "member")[0]
        c = await h.signed_in(Role.OPERATOR)
        page = (await c.get(f"/playground?group=g01&member={speaker}")).text
        assert '<option value="g01" selected>' in page and 'value="g05"' in page
        assert f'<option value="{speaker}" selected>' in page
        assert 'hx-trigger="every 1s, playground-acted from:body"' in page
        assert (await c.get("/bots")).text.count('href="/playground"') == 1

        said = "大家好，试玩场第一句"
        reply = await c.post(
            "/playground",
            data={"group": "g01", "member": speaker, "action": "say", "text": said},
            headers={"HX-Request": "true"},
        )
        assert reply.status_code == 200 and reply.headers["HX-Trigger"] == "playground-acted"
        assert reply.text.lstrip().startswith('<section class="card play-act" id="act">')
        assert 'role="status"' in reply.text
        assert f'<option value="{speaker}" selected>' in reply.text
        await until(lambda: events_said(web, said) == 1)
        pane = (await c.get("/playground/transcript?group=g01")).text
        assert said in pane and pane.lstrip().startswith('<section class="play-transcript"')

        # The bot acts through the outbox: it speaks, and mutes the member.
        community = runtime.entries[0].community.community_id
        with web.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
            enqueue(
                conn,
                [
                    Pending(
                        Action(
                            ActionType.SEND_MESSAGE,
                            platform="sim",
                            group="g01",
                            message=Message.of("请文明发言"),
                            key="pg-say",
                        ),
                        community,
                    ),
                    Pending(
                        Action(
                            ActionType.MUTE,
                            platform="sim",
                            group="g01",
                            user=speaker,
                            duration=timedelta(minutes=10),
                            key="pg-mute",
                        ),
                        community,
                    ),
                ],
                now=NOW,
            )
        runtime.dispatcher.wake()
        await until(lambda: g01.members[speaker].muted_until is not None)
        await until(lambda: _done(web, 2))
        pane = (await c.get("/playground/transcript?group=g01")).text
        bot_line = re.search(r'<li class="chat-line bot"[^>]*>(.*?)</li>', pane, re.S)
        assert bot_line and "请文明发言" in bot_line[1]
        mine = re.search(r'<li class="chat-line"[^>]*data-muted>(.*?)</li>', pane, re.S)
        assert mine and said in mine[1]
        assert pane.count('data-status="done"') == 2

        # A muted member cannot speak: the reason shows beside the form.
        refused = await c.post(
            "/playground",
            data={"group": "g01", "member": speaker, "action": "say", "text": "我还能说话吗"},
            headers={"HX-Request": "true"},
        )
        assert refused.status_code == 200 and 'role="alert"' in refused.text
        assert "is muted in" in refused.text and "我还能说话吗" in refused.text
        plain = await c.post(
            "/playground",
            data={"group": "g01", "member": speaker, "action": "say", "text": "再试一次"},
        )
        assert plain.status_code == 409 and "<html" in plain.text and "is muted in" in plain.text

        # A new member joins, asks nothing, leaves; another asks to join.
        joined = await c.post(
            "/playground",
            data={"group": "g01", "member": "", "action": "join", "name": "新来的小李"},
            headers={"HX-Request": "true"},
        )
        assert 'role="status"' in joined.text
        newcomer = member_named(world, "g01", "新来的小李")
        assert f'<option value="{newcomer}" selected>' in joined.text
        await c.post(
            "/playground",
            data={"group": "g01", "member": newcomer, "action": "leave"},
            headers={"HX-Request": "true"},
        )
        assert newcomer not in g01.members
        await c.post(
            "/playground",
            data={"group": "g01", "action": "ask", "name": "想进群的小赵", "answer": "朋友推荐"},
            headers={"HX-Request": "true"},
        )
        assert list(g01.requests.values()) == ["朋友推荐"]
        await until(lambda: _kinds(web) == ["join", "leave", "join_request"])
        pane = (await c.get("/playground/transcript?group=g01")).text
        assert "想进群的小赵" in pane

        # A banned member cannot come back.
        with web.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
            enqueue(
                conn,
                [
                    Pending(
                        Action(
                            ActionType.BAN, platform="sim", group="g01", user=speaker, key="pg-ban"
                        ),
                        community,
                    )
                ],
                now=NOW,
            )
        runtime.dispatcher.wake()
        await until(lambda: speaker in g01.banned)
        page = (await c.get("/playground?group=g01")).text
        groups = re.findall(r'<optgroup label="[^"]*">(.*?)</optgroup>', page, re.S)
        assert f'<option value="{speaker}">' in groups[-1]  # listed among the banned
        back = await c.post(
            "/playground",
            data={"group": "g01", "member": speaker, "action": "join"},
            headers={"HX-Request": "true"},
        )
        assert 'role="alert"' in back.text and "is banned from" in back.text
        assert speaker not in g01.members

        # An action that failed while the bot was away goes out once an operator retries it.
        (lost,) = plant(
            web,
            community,
            [
                {
                    "group": "g01",
                    "text": "掉线时没发出的通知",
                    "status": "failed",
                    "last_error": "down",
                }
            ],
        )
        api = h.api(Role.OPERATOR)
        moved = await api.post("/api/v1/outbox/retry", json={"ids": [lost]})
        assert moved.json() == {"changed": 1, "ids": [lost]}
        await until(lambda: outbox(web)[lost].status == "done")
        assert [m.message.plain_text() for m in g01.messages if m.by_bot][
            -1
        ] == "掉线时没发出的通知"

        # A viewer watches but cannot act.
        viewer = await h.signed_in(Role.VIEWER)
        watched = (await viewer.get("/playground?group=g01")).text
        assert 'hx-post="/playground"' not in watched and "hx-trigger" in watched
        data = {"group": "g01", "member": newcomer, "action": "join"}
        assert (await viewer.post("/playground", data=data)).status_code == 403
        assert (await c.get("/playground?group=nope")).status_code == 404


def _done(web: WebHarness, n: int) -> bool:
    with web.app.engine.connect() as conn:
        return manage.status_counts(conn, web.ref.community_id)["done"] == n


def _kinds(web: WebHarness) -> list[str]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "select e.type from event e join identity i on i.id = e.identity_id"
                    " where i.display_name in ('新来的小李', '想进群的小赵') order by e.id"
                )
            ).scalars()
        )


async def test_hostile_text_in_the_playground_renders_inert(
    web: WebHarness, tmp_path: Path
) -> None:
    async with playground(web, tmp_path) as (_, world, h):
        c = await h.signed_in(Role.OWNER)
        for n, hostile in enumerate(HOSTILE_TEXTS):
            name = hostile[:64]
            await c.post(
                "/playground",
                data={"group": "g02", "member": "", "action": "join", "name": name},
                headers={"HX-Request": "true"},
            )
            user = member_named(world, "g02", name)
            reply = await c.post(
                "/playground",
                data={"group": "g02", "member": user, "action": "say", "text": hostile},
                headers={"HX-Request": "true"},
            )
            assert 'role="status"' in reply.text, f"hostile text {n} was not sent"
        await until(lambda: events_said(web, HOSTILE_TEXTS[0]) == 1)
        pane = (await c.get("/playground/transcript?group=g02")).text
        page = (await c.get("/playground?group=g02&q=script")).text
        for shown in (pane, page):
            assert "<script>window.__pwned" not in shown and "<svg onload" not in shown
            assert "<img src=x" not in shown and "<b>bold</b>" not in shown
        assert "&lt;script&gt;window.__pwned=&#39;script&#39;&lt;/script&gt;" in pane
        assert "长" * MESSAGE_GLIMPSE + "…" in pane and "长" * (MESSAGE_GLIMPSE + 1) not in pane
        assert "&lt;script&gt;window.__pwned" in page  # the member list, searched
