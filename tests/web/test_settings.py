"""API tokens and the community's settings: a token's secret is shown once and works until
revoked; a new time zone recounts the rollups, which then match a fresh recount."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shequn.features.analytics.rollup.rebuild import ROLLUPS, rebuild
from shequn.features.operators.permissions import Role
from shequn.models import ApiToken, AuditEntry, Community, Group
from webharness import WebHarness

pytestmark = pytest.mark.anyio
_SECRET = re.compile(r'id="token-secret"[^>]*value="(sq_[^"]+)"')


async def test_a_token_is_shown_once_works_and_dies_when_revoked(web: WebHarness) -> None:
    c = await web.signed_in(Role.ADMIN)
    made = await c.post("/settings/tokens", data={"name": "nightly <export>", "role": "operator"})
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    found = _SECRET.search(made.text)
    assert found, made.text
    secret = found[1]
    assert "nightly &lt;export&gt;" in made.text
    page = await c.get("/settings")
    assert secret not in page.text and secret[:10] in page.text
    with web.app.engine.connect() as conn:
        assert not conn.execute(select(ApiToken.id).where(ApiToken.token_hash == secret)).first()
        logged = conn.execute(
            select(AuditEntry.after).where(AuditEntry.action == "token.create")
        ).scalar_one()
    assert secret not in str(logged) and logged["role"] == "operator"

    script = web.client()
    script.headers["Authorization"] = f"Bearer {secret}"
    me = await script.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role"] == "operator"
    listed = (await c.get("/api/v1/tokens")).json()["items"]
    mine = next(t for t in listed if t["name"] == "nightly <export>")
    assert mine["last_used_at"] is not None and mine["creator"] == "admin"

    revoked = await c.post(f"/settings/tokens/{mine['id']}/revoke")
    assert revoked.status_code == 303
    assert (await script.get("/api/v1/me")).status_code == 401
    with web.app.engine.connect() as conn:
        actions = conn.execute(
            select(AuditEntry.action).where(AuditEntry.target_type == "api_token")
        ).scalars()
        assert list(actions) == ["token.create", "token.revoke"]


async def test_tokens_through_the_api_and_the_rank_rule(web: WebHarness) -> None:
    admin = web.api(Role.ADMIN)
    too_high = await admin.post("/api/v1/tokens", json={"name": "x", "role": "owner"})
    assert too_high.status_code == 409
    made = await admin.post("/api/v1/tokens", json={"name": "reader", "role": "viewer"})
    assert made.status_code == 201
    body = made.json()
    assert body["secret"].startswith("sq_") and body["prefix"] == body["secret"][:10]
    reader = web.client()
    reader.headers["Authorization"] = f"Bearer {body['secret']}"
    assert (await reader.get("/api/v1/imports")).status_code == 200
    assert (await reader.get("/api/v1/tokens")).status_code == 403
    again = (await admin.get("/api/v1/tokens")).json()["items"]
    assert all("secret" not in t for t in again)
    gone = await admin.delete(f"/api/v1/tokens/{body['id']}")
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    assert (await reader.get("/api/v1/imports")).status_code == 401
    web.token(Role.OWNER)
    owners = [
        t for t in (await admin.get("/api/v1/tokens")).json()["items"] if t["role"] == "owner"
    ]
    refused = await admin.delete(f"/api/v1/tokens/{owners[0]['id']}")
    assert refused.status_code == 409, "an admin cannot revoke an owner's token"


def rollups(web: WebHarness) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row of the community's groups, in a stable order."""
    out = {}
    with web.app.engine.connect() as conn:
        groups = select(Group.id).where(Group.community_id == web.ref.community_id)
        for model in ROLLUPS:
            table = model.__table__
            columns = [c for c in table.c if c.name != "id"]
            rows = conn.execute(select(*columns).where(table.c.group_id.in_(groups)))
            out[table.name] = sorted(tuple(r) for r in rows)
    return out


async def wait_for_recount(c: httpx.AsyncClient, community_id: int) -> dict[str, Any]:
    for _ in range(600):
        body = (await c.get(f"/api/v1/communities/{community_id}/settings")).json()
        if body["recount"] and body["recount"]["status"] in ("done", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("the recount did not end")


async def test_a_new_time_zone_recounts_the_rollups(web: WebHarness) -> None:
    before = rollups(web)
    api = web.api(Role.ADMIN)
    viewer = web.api(Role.VIEWER)
    browser = await web.signed_in(Role.VIEWER)
    cid = web.ref.community_id
    bad = await api.patch(f"/api/v1/communities/{cid}/settings", json={"timezone": "Mars/Base"})
    assert bad.status_code == 422
    reply = await api.patch(
        f"/api/v1/communities/{cid}/settings", json={"timezone": "America/Los_Angeles"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["timezone"] == "America/Los_Angeles"
    assert reply.json()["recount"]["status"] in ("queued", "running", "done")
    settled = await wait_for_recount(viewer, cid)
    assert settled["recount"]["status"] == "done", settled
    assert settled["recount"]["events"] > 1000
    recounted = rollups(web)
    assert recounted["activity_group_day"] != before["activity_group_day"], "days moved"
    rebuild(web.app.engine, cid)
    assert rollups(web) == recounted, "the recount equals a fresh recount"
    page = await browser.get("/settings")
    assert "America/Los_Angeles" in page.text and "events" in page.text
    with web.app.engine.connect() as conn:
        entry = conn.execute(
            select(AuditEntry.before, AuditEntry.after).where(
                AuditEntry.action == "community.update"
            )
        ).one()
    assert entry.before["timezone"] == "Asia/Shanghai"
    assert entry.after["timezone"] == "America/Los_Angeles"


async def test_the_settings_page_shows_a_recount_under_way(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        conn.execute(
            text(
                "insert into import_job (workspace_id, community_id, kind, filename, path, status,"
                " size_bytes, bytes_read, events, summary, created_at) values"
                " (:w, :c, 'recount', '', '', 'running', 0, 0, 0, :s, :t)"
            ),
            {
                "w": web.ref.workspace_id,
                "c": web.ref.community_id,
                "s": '{"runner": "elsewhere|1|x", "heartbeat": "2026-10-05T02:00:00+00:00"}',
                "t": web.app.clock.now().replace(tzinfo=None)
                if web.app.engine.dialect.name == "sqlite"
                else web.app.clock.now(),
            },
        )
    c = await web.signed_in(Role.VIEWER)
    page = await c.get("/settings", headers={"Accept-Language": "en"})
    assert "recounted for the new time zone" in page.text
    assert 'hx-get="/settings/recount"' in page.text


async def test_renaming_the_community(web: WebHarness) -> None:
    c = await web.signed_in(Role.ADMIN)
    hostile = "<script>alert(1)</script>" + "长" * 150
    reply = await c.post(
        "/settings/community",
        data={
            "community_id": str(web.ref.community_id),
            "name": hostile,
            "timezone": "Asia/Shanghai",
        },
    )
    assert reply.status_code == 303
    page = await c.get("/settings")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    with web.app.engine.connect() as conn:
        assert conn.execute(select(Community.name)).scalar_one() == hostile
        assert not conn.execute(text("select id from import_job")).first(), "no recount"
    empty = await c.post(
        "/settings/community",
        data={"community_id": str(web.ref.community_id), "name": "  ", "timezone": "UTC+8"},
    )
    assert empty.status_code == 422
    other = await web.api(Role.ADMIN).get("/api/v1/communities/987654/settings")
    assert other.status_code == 404
