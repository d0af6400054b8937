"""The overview page and ``/api/v1/communities``: the report's figures, the declining groups
with their reasons in the operator's language, and nothing of another workspace."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text

from shequn.core import Event, EventType, Message
from shequn.features.analytics.report import ReportOptions, build_report, default_scope
from shequn.features.community.setup import CommunityRef, ensure_community
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role
from shequn.models import Workspace
from shequn.web.api.communities import CommunityItem, CommunityOverview
from shequn.web.paging import Page
from webharness import NOW, PASSWORD, WebHarness

pytestmark = pytest.mark.anyio


def report_of(web: WebHarness, lang: str = "zh-CN", ref: CommunityRef | None = None) -> dict:
    ref = ref or web.ref
    with web.app.engine.connect() as conn:
        scope = default_scope(conn, ref.community_id, ref.timezone, now=web.app.clock.now())
        return build_report(
            conn,
            scope,
            community_name=ref.name,
            generated_at=web.app.clock.now(),
            options=ReportOptions(lang=lang),
        )


def section(html: str, ident: str) -> str:
    found = re.search(rf'<section[^>]*id="{ident}"[^>]*>(.*?)</section>', html, re.S)
    assert found, f"no section {ident}"
    return found[1]


def other_workspace(web: WebHarness) -> tuple[CommunityRef, int]:
    """A second tenant with a community and a group of its own: never visible from the first."""
    with web.app.engine.begin() as conn:
        ref = ensure_community(conn, "他人的社群", now=NOW, workspace="elsewhere")
    at = NOW - timedelta(days=2)
    web.app.ingestor(ref).ingest_many(
        [
            Event(
                type=EventType.MESSAGE,
                platform="sim",
                source="other",
                source_id="o1",
                occurred_at=at,
                group="other-group",
                group_name="别人的群",
                actor="stranger",
                actor_name="陌生人",
                message=Message.of("不该被看到的消息"),
            )
        ]
    )
    with web.app.engine.connect() as conn:
        gid = conn.execute(
            text("select id from chat_group where community_id = :c"), {"c": ref.community_id}
        ).scalar_one()
    return ref, gid


async def test_overview_shows_the_reports_figures_and_declining_groups(web: WebHarness) -> None:
    report = report_of(web)
    declining = {g["id"]: g for g in report["groups"] if g["health"]["declining"]}
    assert declining, "the simulated community has a declining group"
    c = await web.signed_in(Role.VIEWER)
    reply = await c.get("/")
    assert reply.status_code == 200
    html = reply.text
    assert 'data-nav="overview" class="active"' in html
    overview = report["overview"]
    stats = re.findall(r'<div class="stat[^"]*">([^<]+)</div><div class="stat-label">', html)
    fmt = lambda n: f"{n:,}"  # noqa: E731  (zh-CN groups digits like English)
    assert stats[:5] == [
        fmt(overview["groups"]),
        fmt(overview["declining_groups"]),
        fmt(overview["totals"]["members"]),
        fmt(overview["totals"]["messages"]),
        fmt(overview["totals"]["speakers"]),
    ]
    alerts = section(html, "alerts")
    assert set(map(int, re.findall(r'href="/groups/(\d+)"', alerts))) == set(declining)
    for group in declining.values():
        for reason in group["health"]["reasons"]:
            assert reason["detail"] in alerts
            assert reason["advice"] in alerts
    assert "下一步" in alerts  # the shared macros translate too
    # The trend's data travels as JSON for the chart code, never as script.
    blocks = re.findall(r'<script type="application/json" id="([^"]+)">', html)
    assert blocks == ["chart-activity", "chart-comings"]
    assert 'data-chart="trend"' in html and "charts.js" in html and "echarts.min.js" in html


async def test_overview_api_agrees_with_the_report_in_either_language(web: WebHarness) -> None:
    c = web.api(Role.VIEWER)
    for lang in ("en", "zh-CN"):
        report = report_of(web, lang)
        reply = await c.get(f"/api/v1/communities/{web.ref.community_id}/overview?lang={lang}")
        assert reply.status_code == 200, reply.text
        body = CommunityOverview.model_validate(reply.json())
        overview = report["overview"]
        assert (body.groups, body.declining_groups) == (
            overview["groups"],
            overview["declining_groups"],
        )
        totals = overview["totals"]
        assert (body.members, body.messages, body.speakers, body.joins, body.leaves) == (
            totals["members"],
            totals["messages"],
            totals["speakers"],
            totals["joins"],
            totals["leaves"],
        )
        activity = overview["activity"]
        assert (body.dau, body.wau, body.mau, body.speaker_ratio) == (
            activity["dau"],
            activity["wau"],
            activity["mau"],
            activity["speaker_ratio"],
        )
        assert [d.model_dump(mode="json") for d in body.daily] == overview["daily"][-91:]
        expected = {
            g["id"]: [(r["code"], r["detail"], r["advice"]) for r in g["health"]["reasons"]]
            for g in report["groups"]
            if g["health"]["declining"]
        }
        assert {
            a.group_id: [(r.code, r.detail, r.advice) for r in a.reasons] for a in body.declining
        } == expected


async def test_communities_lists_the_workspaces_own(web: WebHarness) -> None:
    _, _ = other_workspace(web)
    c = web.api(Role.VIEWER)
    reply = await c.get("/api/v1/communities")
    assert reply.status_code == 200
    page = Page[CommunityItem].model_validate(reply.json())
    assert [(i.id, i.name, i.groups) for i in page.items] == [
        (web.ref.community_id, web.ref.name, 5)
    ]
    assert page.total == 1


async def test_another_workspaces_community_is_not_found(web: WebHarness) -> None:
    other, _ = other_workspace(web)
    c = web.api(Role.OWNER)
    reply = await c.get(f"/api/v1/communities/{other.community_id}/overview")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"
    assert (await c.get("/api/v1/communities/987654/overview")).status_code == 404
    assert (await c.get("/api/v1/communities/0/overview")).status_code == 422


async def test_a_workspace_without_a_community_is_pointed_to_import(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        workspace = conn.execute(
            insert(Workspace.__table__)
            .values(name="empty", created_at=NOW)
            .returning(Workspace.__table__.c.id)
        ).scalar_one()
        accounts.create_operator(conn, workspace, "newcomer", PASSWORD, role="owner", now=NOW)
    c = web.client()
    form = await c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    reply = await c.post(
        "/login", data={"username": "newcomer", "password": PASSWORD, "csrf_token": token[1]}
    )
    assert reply.status_code == 303
    for path in ("/", "/groups", "/events"):
        page = await c.get(path, headers={"Accept-Language": "en"})
        assert page.status_code == 200, path
        assert 'href="/imports"' in page.text and "No community yet" in page.text


async def test_overview_speaks_english_when_asked(web: WebHarness) -> None:
    report = report_of(web, "en")
    c = await web.signed_in(Role.OPERATOR)
    await c.post("/me/language", data={"locale": "en", "csrf_token": c.csrf})  # type: ignore[attr-defined]
    html = (await c.get("/")).text
    assert "Groups that need attention" in html and "Declining groups" in html
    declining = [g for g in report["groups"] if g["health"]["declining"]]
    first: dict[str, Any] = declining[0]["health"]["reasons"][0]
    assert first["detail"] in html
