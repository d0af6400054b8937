"""The audit log page and API: filters return exactly the matching entries, dates are days
in the community's zone, pages follow each other, and hostile values stay inert."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shequn.features.audit.service import Actor, diff, record
from shequn.features.operators.permissions import Role
from webharness import WebHarness

pytestmark = pytest.mark.anyio
ZONE = ZoneInfo("Asia/Shanghai")  # the simulated community's
ENTRIES = [
    # who, action, target type, target id, when (UTC)
    ("alice", "member.note", "member", "5", datetime(2026, 10, 1, 15, 59, tzinfo=UTC)),
    ("bob", "tag.create", "tag", "7", datetime(2026, 10, 1, 16, 1, tzinfo=UTC)),
    ("alice", "tag.create", "tag", "8", datetime(2026, 10, 2, 10, 0, tzinfo=UTC)),
    ("carol", "operator.update", "operator", "5", datetime(2026, 10, 3, 9, 30, tzinfo=UTC)),
    ("bob", "member.note", "member", "7", datetime(2026, 10, 4, 20, 0, tzinfo=UTC)),
]


def fill(web: WebHarness) -> list[int]:
    """The entries, oldest first; returns their ids."""
    with web.app.engine.begin() as conn:
        for who, action, kind, target, at in ENTRIES:
            actor = Actor(web.ref.workspace_id, None, who, "10.0.0.1")
            record(conn, actor, action, kind, target, before={"n": 1}, after={"n": 2}, now=at)
        rows = conn.exec_driver_sql("select id from audit_log order by id").all()
    return [r[0] for r in rows]


def expected(ids: list[int], **want: Any) -> list[int]:
    """The ids the filters should return, newest first, computed without the service."""
    out = []
    for entry_id, (who, action, kind, target, at) in zip(ids, ENTRIES, strict=True):
        day = at.astimezone(ZONE).date().isoformat()
        if (
            want.get("operator", who) == who
            and want.get("action", action) == action
            and want.get("target_type", kind) == kind
            and want.get("target_id", target) == target
            and want.get("since", day) <= day <= want.get("until", day)
        ):
            out.append(entry_id)
    return out[::-1]


FILTERS: list[dict[str, str]] = [
    {},
    {"operator": "alice"},
    {"action": "tag.create"},
    {"target_type": "member"},
    {"target_type": "tag", "target_id": "7"},
    {"target_id": "5"},
    {"since": "2026-10-02"},
    {"until": "2026-10-01"},
    {"since": "2026-10-02", "until": "2026-10-02"},
    {"operator": "bob", "since": "2026-10-03"},
    {"operator": "nobody"},
]


async def test_filters_return_exactly_the_matching_entries(web: WebHarness) -> None:
    ids = fill(web)
    api = web.api(Role.ADMIN)
    for filters in FILTERS:
        reply = await api.get("/api/v1/audit", params=filters)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        want = expected(ids, **filters)
        assert [e["id"] for e in body["items"]] == want, filters
        assert body["total"] == len(want), filters


async def test_pages_follow_each_other_newest_first(web: WebHarness) -> None:
    ids = fill(web)
    api = web.api(Role.OWNER)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = (await api.get("/api/v1/audit", params=params)).json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    browser = await web.signed_in(Role.ADMIN)
    first = await browser.get("/audit?limit=1&operator=bob")
    assert first.status_code == 200 and first.text.count("<tr>") == 1 + 1
    link = re.search(r'href="(/audit\?[^"]*cursor=[^"]+)"', first.text)
    assert link, "a next-page link"
    second = await browser.get(link[1].replace("&amp;", "&"))
    assert "member #7" in first.text and "tag #7" not in first.text
    assert second.text.count("<tr>") == 1 + 1
    assert "tag #7" in second.text and "member #7" not in second.text
    assert "cursor=" not in second.text.split('class="pager"')[1]
    bad = await api.get("/api/v1/audit", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


async def test_the_page_filters_by_local_day_and_shows_the_diff(web: WebHarness) -> None:
    ids = fill(web)
    browser = await web.signed_in(Role.OWNER)
    page = await browser.get("/audit", params={"since": "2026-10-02", "until": "2026-10-02"})
    assert page.status_code == 200
    shown = {int(i) for i in _target_ids(page.text)}
    assert shown == {7, 8}, "23:59 on Oct 1 in Shanghai is out, 00:01 on Oct 2 is in"
    assert "<del" in page.text and "<ins" in page.text
    assert len(expected(ids, since="2026-10-02", until="2026-10-02")) == 2


def _target_ids(html: str) -> list[str]:
    return re.findall(r"(?:member|tag|operator) #(\d+)", html)


async def test_hostile_values_are_escaped_and_clipped(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        actor = Actor(web.ref.workspace_id, None, '<img src=x onerror="alert(1)">', None)
        record(
            conn,
            actor,
            "member.note<script>",
            "member",
            "<b>1</b>",
            before={"note": "<script>alert(1)</script>", "name": "\u202eevil"},
            after={
                "note": "x" * 10_000,
                "name": "\u202eevil",
                "javascript:": "javascript:alert(1)",
            },
            now=datetime(2026, 10, 4, tzinfo=UTC),
        )
    c = await web.signed_in(Role.ADMIN)
    page = await c.get("/audit")
    assert page.status_code == 200
    for raw in ("<script>", "<img src=x", "<b>1</b>", 'href="javascript:'):
        assert raw not in page.text, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=" in page.text
    assert "x" * 200 not in page.text and "x" * 150 in page.text
    assert page.text.count("\u202eevil") == 0, "unchanged keys are not listed"


def test_diff_lists_only_changed_keys() -> None:
    changes = diff({"a": 1, "b": "same", "c": [1]}, {"a": 2, "b": "same", "d": None}, limit=50)
    assert [(c.key, c.before, c.after) for c in changes] == [
        ("a", "1", "2"),
        ("c", "[1]", None),
        ("d", None, "null"),
    ]
    assert [(c.key, c.before, c.after) for c in diff(None, {"k": "v"})] == [("k", None, "v")]
    assert diff({"k": "v"}, {"k": "v"}) == []
    assert diff(None, {"long": "y" * 500}, limit=10)[0].after == "y" * 9 + "…"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
async def test_only_admins_and_owners_read_the_log(web: WebHarness, role: Role) -> None:
    browser = await web.signed_in(role)
    assert (await browser.get("/audit")).status_code == 403
    assert (await web.api(role).get("/api/v1/audit")).status_code == 403
    page = await browser.get("/settings")
    assert 'href="/audit"' not in page.text
