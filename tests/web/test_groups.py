"""The group list, a group's page and ``/api/v1/groups``: the report's scores and reasons,
filters, keyset pages, the member table, hostile names, and tenant isolation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from shequn.features.operators.permissions import Role
from shequn.web.api.groups import GroupItem, GroupReport, GroupSeat
from shequn.web.paging import Page
from web.test_overview import other_workspace, report_of
from webharness import HOSTILE_GROUP, HOSTILE_TEXTS, WebHarness, plant_hostile

pytestmark = pytest.mark.anyio
_ROW = re.compile(
    r'<tr data-group="(\d+)"( class="declining")?>.*?<span class="score (\w+)">(\d+)</span>', re.S
)


def rows_of(html: str) -> list[tuple[int, bool, str, int]]:
    return [(int(g), bool(d), band, int(s)) for g, d, band, s in _ROW.findall(html)]


async def test_group_list_shows_the_reports_scores(web: WebHarness) -> None:
    report = {g["id"]: g for g in report_of(web)["groups"]}
    c = await web.signed_in(Role.VIEWER)
    html = (await c.get("/groups")).text
    rows = rows_of(html)
    assert {gid for gid, *_ in rows} == set(report)
    for gid, declining, band, score in rows:
        health = report[gid]["health"]
        assert (declining, score) == (health["declining"], health["score"])
        assert band == ("good" if score >= 70 else "warn" if score >= 40 else "bad")
    # Weakest first by default.
    assert [s for *_, s in rows] == sorted(s for *_, s in rows)
    assert any(d for _, d, _, _ in rows)
    assert 'data-nav="groups" class="active"' in html


async def test_group_list_filters_and_sorts(web: WebHarness) -> None:
    report = report_of(web)["groups"]
    c = await web.signed_in(Role.VIEWER)
    declining = rows_of((await c.get("/groups?declining=true")).text)
    assert {g for g, *_ in declining} == {g["id"] for g in report if g["health"]["declining"]}
    assert rows_of((await c.get("/groups?platform=nowhere")).text) == []
    assert len(rows_of((await c.get("/groups?platform=sim")).text)) == len(report)
    one = report[0]
    found = rows_of((await c.get("/groups", params={"q": one["name"][-3:]})).text)
    assert one["id"] in {g for g, *_ in found}
    # A LIKE wildcard is just a character.
    assert rows_of((await c.get("/groups", params={"q": "%"})).text) == []
    by_members = rows_of((await c.get("/groups?sort=members")).text)
    members = {g["id"]: g["totals"]["members"] for g in report}
    assert [members[g] for g, *_ in by_members] == sorted(members.values(), reverse=True)
    assert (await c.get("/groups?sort=bogus")).status_code == 422
    assert (await c.get("/groups?cursor=bm9wZQ")).status_code == 422


async def test_group_api_pages_through_every_group_once(web: WebHarness) -> None:
    report = {g["id"]: g for g in report_of(web, "en")["groups"]}
    c = web.api(Role.VIEWER)
    for sort in ("score", "members", "messages", "name"):
        seen: list[int] = []
        cursor = None
        while True:
            params = {"sort": sort, "limit": 2, "lang": "en"}
            if cursor:
                params["cursor"] = cursor
            reply = await c.get("/api/v1/groups", params=params)
            assert reply.status_code == 200, reply.text
            page = Page[GroupItem].model_validate(reply.json())
            assert page.total == len(report)
            seen += [i.id for i in page.items]
            for item in page.items:
                health = report[item.id]["health"]
                assert (item.score, item.declining) == (health["score"], health["declining"])
                assert [(r.code, r.detail) for r in item.reasons] == [
                    (r["code"], r["detail"]) for r in health["reasons"]
                ]
                assert item.members == report[item.id]["totals"]["members"]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(report) and len(seen) == len(report), sort
    reply = await c.get("/api/v1/groups", params={"declining": "true"})
    assert {i["id"] for i in reply.json()["items"]} == {
        gid for gid, g in report.items() if g["health"]["declining"]
    }
    cursor = (await c.get("/api/v1/groups?sort=name&limit=1")).json()["next_cursor"]
    assert (await c.get("/api/v1/groups", params={"cursor": cursor})).status_code == 422


async def test_group_page_shows_its_report_and_reasons(web: WebHarness) -> None:
    report = report_of(web, "en")
    group = next(g for g in report["groups"] if g["health"]["declining"])
    c = await web.signed_in(Role.VIEWER)
    html = (await c.get(f"/groups/{group['id']}", headers={"Accept-Language": "en"})).text
    health = re.search(r'<section class="card" id="health">(.*?)</section>', html, re.S)
    assert health
    for reason in group["health"]["reasons"]:
        assert reason["detail"] in health[1] and reason["advice"] in health[1]
    score = group["health"]["score"]
    band = "good" if score >= 70 else "warn" if score >= 40 else "bad"
    assert f'<span class="score {band}">{score}</span>' in html
    blocks = re.findall(r'<script type="application/json" id="([^"]+)">', html)
    assert blocks == ["chart-daily", "chart-weekly", "chart-heatmap", "chart-cohorts"]
    assert f"{group['totals']['messages']:,}" in html
    for term in group["topics"]["weeks"][0]["terms"][:3]:
        assert term["term"] in html


async def test_group_api_is_the_reports_group(web: WebHarness) -> None:
    report = report_of(web, "en")
    group = report["groups"][0]
    reply = await web.api(Role.VIEWER).get(f"/api/v1/groups/{group['id']}?lang=en")
    assert reply.status_code == 200
    body = GroupReport.model_validate(reply.json())
    assert body.model_dump(mode="json", include={"totals", "activity", "health", "cohorts"}) == {
        k: group[k] for k in ("totals", "activity", "health", "cohorts")
    }
    assert body.range_end.isoformat() == report["range"]["to"]


async def test_member_table_pages_through_every_seat_once(web: WebHarness) -> None:
    with web.app.engine.connect() as conn:
        gid, _ = conn.execute(
            text("select group_id, count(*) from membership group by group_id order by 2 desc")
        ).first()
        numbers = {
            status: list(
                conn.execute(
                    text(f"select number from membership where group_id = :g {where} order by 1"),
                    {"g": gid},
                ).scalars()
            )
            for status, where in (
                ("present", "and left_at is null"),
                ("left", "and left_at is not null"),
                ("all", ""),
            )
        }
    c = web.api(Role.VIEWER)
    for status, expected in numbers.items():
        seen, cursor = [], None
        while True:
            params = {"status": status, "limit": 40}
            if cursor:
                params["cursor"] = cursor
            reply = await c.get(f"/api/v1/groups/{gid}/members", params=params)
            page = Page[GroupSeat].model_validate(reply.json())
            seen += [s.number for s in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected and seen, status
    browser = await web.signed_in(Role.VIEWER)
    html = (await browser.get(f"/groups/{gid}?status=all")).text
    members = re.search(r'<section class="card" id="members">(.*?)</section>', html, re.S)
    assert members
    links = re.findall(r'href="/members/(\d+)"', members[1])
    assert len(links) == min(50, len(numbers["all"]))
    nxt = re.search(r'<a href="([^"]+)#members" rel="next">', members[1])
    assert nxt and "status=all" in nxt[1]
    second = (await browser.get(nxt[1].replace("&amp;", "&"))).text
    more = re.findall(r'href="/members/(\d+)"', second.split('id="members"')[1])
    assert not set(more) & set(links)


async def test_hostile_group_and_member_names_stay_inert(web: WebHarness) -> None:
    plant_hostile(web.app, web.ref)
    with web.app.engine.connect() as conn:
        gid = conn.execute(text("select id from chat_group where external_id = 'hostile'")).scalar()
    c = await web.signed_in(Role.VIEWER)
    for path in ("/groups", f"/groups/{gid}?status=all", "/", "/events"):
        html = (await c.get(path)).text
        assert "<script>window.__pwned" not in html, path
        assert "<img src=x" not in html and "<svg onload" not in html, path
        assert "</textarea></script>" not in html, path
    listing = (await c.get("/groups?q=" + "群")).text
    assert "&lt;script&gt;window.__pwned=&#39;group&#39;&lt;/script&gt;" in listing
    detail = (await c.get(f"/groups/{gid}?status=all")).text
    # A very long name (cut to the column's length on ingest) sits in a clipping element.
    assert re.search(r'class="name clip"[^>]*>长{200}', detail)
    reply = await web.api(Role.VIEWER).get(f"/api/v1/groups/{gid}")
    assert reply.json()["name"] == HOSTILE_GROUP
    seats = (await web.api(Role.VIEWER).get(f"/api/v1/groups/{gid}/members")).json()
    assert {s["display_name"][:200] for s in seats["items"]} == {t[:200] for t in HOSTILE_TEXTS}


async def test_another_workspaces_group_is_not_found(web: WebHarness) -> None:
    other, gid = other_workspace(web)
    browser = await web.signed_in(Role.OWNER)
    assert (await browser.get(f"/groups/{gid}")).status_code == 404
    api = web.api(Role.OWNER)
    for path in (f"/api/v1/groups/{gid}", f"/api/v1/groups/{gid}/members"):
        reply = await api.get(path)
        assert reply.status_code == 404 and reply.json()["error"]["code"] == "not_found"
    assert (await api.get(f"/api/v1/groups?community_id={other.community_id}")).status_code == 404
    listed = (await api.get("/api/v1/groups?limit=200")).json()["items"]
    assert gid not in {g["id"] for g in listed}
    assert (await api.get("/api/v1/groups/99999999999")).status_code == 422
