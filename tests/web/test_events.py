"""The events feed and ``/api/v1/events``: keyset pages that visit every matching event
exactly once, filters, the live view, hostile text, and tenant isolation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from shequn.features.community import events_feed
from shequn.features.operators.permissions import Role
from shequn.web.api.events import EventItem
from shequn.web.paging import Page
from web.test_overview import other_workspace
from webharness import WebHarness, plant_hostile

pytestmark = pytest.mark.anyio


def ids_where(web: WebHarness, where: str, **params: Any) -> list[int]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(text(f"select id from event where {where} order by id desc"), params)
            .scalars()
            .all()
        )


async def walk(c: Any, limit: int = 100, **filters: Any) -> list[EventItem]:
    """Every item the API gives for ``filters``, following cursors to the end."""
    seen: list[EventItem] = []
    cursor = None
    for _ in range(10_000):
        params = {**filters, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        reply = await c.get("/api/v1/events", params=params)
        assert reply.status_code == 200, reply.text
        page = Page[EventItem].model_validate(reply.json())
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def busiest_group(web: WebHarness) -> int:
    with web.app.engine.connect() as conn:
        return conn.execute(
            text("select group_id from event group by group_id order by count(*) desc limit 1")
        ).scalar_one()


async def test_a_groups_events_come_exactly_once_newest_first(web: WebHarness) -> None:
    gid = busiest_group(web)
    items = await walk(web.api(Role.VIEWER), limit=200, group_id=gid)
    assert [i.id for i in items] == ids_where(web, "group_id = :g", g=gid)
    assert len(items) > 1000 and all(i.group_id == gid for i in items)
    message = next(i for i in items if i.type == "message")
    with web.app.engine.connect() as conn:
        member, body = conn.execute(
            text(
                "select i.member_id, e.text from event e join identity i on i.id = e.identity_id"
                " where e.id = :e"
            ),
            {"e": message.id},
        ).one()
    assert (message.member_id, message.text) == (member, body[: events_feed.TEXT_LIMIT])


async def test_filters_by_type_and_member(web: WebHarness) -> None:
    c = web.api(Role.VIEWER)
    joins = await walk(c, limit=200, type="join")
    assert [i.id for i in joins] == ids_where(web, "type = 'join'")
    with web.app.engine.connect() as conn:
        member = conn.execute(
            text(
                "select i.member_id from event e join identity i on i.id = e.identity_id"
                " group by i.member_id order by count(*) desc limit 1"
            )
        ).scalar_one()
    mine = await walk(c, member_id=member)
    assert [i.id for i in mine] == ids_where(
        web, "identity_id in (select id from identity where member_id = :m)", m=member
    )
    assert mine and {i.member_id for i in mine} == {member}
    gid = busiest_group(web)
    both = await walk(c, group_id=gid, type="leave", member_id=member)
    assert [i.id for i in both] == ids_where(
        web,
        "group_id = :g and type = 'leave' and identity_id in "
        "(select id from identity where member_id = :m)",
        g=gid,
        m=member,
    )
    assert (await c.get("/api/v1/events?type=nonsense")).status_code == 422
    assert (await c.get("/api/v1/events?cursor=WyJ4Il0")).status_code == 422  # ["x"]
    assert (await c.get("/api/v1/events?member_id=987654")).json()["items"] == []


async def test_sparse_filters_read_bounded_stretches(
    web: WebHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a stretch far smaller than the log, a rare type yields short (even empty)
    # pages with a cursor, and walking them still finds every match exactly once.
    monkeypatch.setattr(events_feed, "SCAN", 500)
    c = web.api(Role.VIEWER)
    leaves = await walk(c, limit=7, type="leave")
    assert [i.id for i in leaves] == ids_where(web, "type = 'leave'")
    assert leaves
    gid = busiest_group(web)
    mine = await walk(c, limit=5, group_id=gid, type="leave")
    assert [i.id for i in mine] == ids_where(web, "group_id = :g and type = 'leave'", g=gid)
    everything = await walk(c, limit=200)
    assert [i.id for i in everything] == ids_where(web, "1 = 1")


async def test_the_feed_page_filters_pages_and_goes_live(web: WebHarness) -> None:
    gid = busiest_group(web)
    expected = ids_where(web, "group_id = :g", g=gid)
    c = await web.signed_in(Role.VIEWER)
    html = (await c.get(f"/events?group_id={gid}")).text
    assert 'data-nav="events" class="active"' in html
    first = [int(x) for x in re.findall(r'<tr data-event="(\d+)">', html)]
    assert first == expected[:50]
    nxt = re.search(r'<a href="([^"]+)" rel="next">', html)
    assert nxt
    second = (await c.get(nxt[1].replace("&amp;", "&"))).text
    assert [int(x) for x in re.findall(r'<tr data-event="(\d+)">', second)] == expected[50:100]
    assert "hx-trigger" not in html  # auto-refresh is off until asked for
    live = (await c.get(f"/events?group_id={gid}&live=true")).text
    assert 'hx-trigger="every 10s"' in live and f"group_id={gid}" in live
    partial = await c.get(f"/events?group_id={gid}&live=true", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith("<tbody") and "<html" not in partial.text
    # Empty form fields mean "any"; nonsense is refused.
    assert (await c.get("/events?group_id=&type=&member_id=")).status_code == 200
    assert (await c.get("/events?group_id=abc")).status_code == 422
    assert (await c.get("/events?type=bogus")).status_code == 422


async def test_hostile_text_is_escaped_in_the_feed(web: WebHarness) -> None:
    plant_hostile(web.app, web.ref)
    c = await web.signed_in(Role.VIEWER)
    html = (await c.get("/events?type=message")).text
    assert "<script>window.__pwned" not in html and "<svg onload" not in html
    assert "&lt;script&gt;window.__pwned=&#39;script&#39;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert "长" * events_feed_glimpse() + "…" in html


def events_feed_glimpse() -> int:
    from shequn.web.pages.events import GLIMPSE

    return GLIMPSE


async def test_another_workspaces_events_stay_hidden(web: WebHarness) -> None:
    other, gid = other_workspace(web)
    c = web.api(Role.OWNER)
    assert (await c.get(f"/api/v1/events?community_id={other.community_id}")).status_code == 404
    assert (await c.get(f"/api/v1/events?group_id={gid}")).json()["items"] == []
    newest = (await c.get("/api/v1/events?limit=5")).json()["items"]
    assert all(i["community_id"] == web.ref.community_id for i in newest)
    browser = await web.signed_in(Role.OWNER)
    assert "不该被看到的消息" not in (await browser.get("/events")).text
