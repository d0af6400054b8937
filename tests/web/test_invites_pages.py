"""Invite codes on the dashboard and through ``/api/v1/invite-codes``: batches made for a
group and a source, listed, withdrawn, and arrivals counted per source; terms that
cannot work show every problem and make nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from shequn.db.engine import WRITE
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, Group, InviteCode
from webharness import NOW, WebHarness

pytestmark = pytest.mark.anyio


def codes(web: WebHarness) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(select(InviteCode).order_by(InviteCode.id)))


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(select(AuditEntry).where(AuditEntry.action == action)))


def first_group(web: WebHarness) -> int:
    with web.app.engine.connect() as conn:
        return (
            conn.execute(
                select(Group.id)
                .where(Group.community_id == web.ref.community_id)
                .order_by(Group.id)
            )
            .scalars()
            .first()
        )


async def test_a_batch_is_made_shown_once_and_withdrawn_on_the_page(web: WebHarness) -> None:
    group = first_group(web)
    c = await web.signed_in(Role.OPERATOR)
    made = await c.post(
        "/invites",
        data={
            "group_id": str(group),
            "source": " 海报 ",
            "count": "3",
            "max_uses": "2",
            "expires_at": "2026-11-01T20:00",
        },
    )
    assert made.status_code == 200, made.text
    rows = codes(web)
    assert len(rows) == 3
    assert {(r.group_id, r.source, r.max_uses) for r in rows} == {(group, "海报", 2)}
    assert all(r.expires_at > NOW for r in rows)
    shown = re.search(r'<section class="card" id="made">(.*?)</section>', made.text, re.S)
    assert shown and all(r.code in shown[1] for r in rows), "the new codes, ready to copy"
    entry = audit(web, "invite.create")[-1]
    assert entry.after["count"] == 3 and entry.after["source"] == "海报"
    assert not any(r.code in str(entry.after) for r in rows), "the audit never keeps a code"

    page = await c.get("/invites")
    assert all(f'data-code="{r.id}"' in page.text for r in rows)
    assert 'id="made"' not in page.text
    withdrawn = await c.post(f"/invites/{rows[0].id}/disable")
    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == "/invites?msg=disabled"
    assert [r.disabled for r in codes(web)] == [True, False, False]
    assert audit(web, "invite.disable")[-1].target_id == str(rows[0].id)
    viewer = await web.signed_in(Role.VIEWER)
    assert (await viewer.post(f"/invites/{rows[1].id}/disable")).status_code == 403
    assert (await viewer.post("/invites", data={"count": "1"})).status_code == 403
    seen = await viewer.get(f"/invites?group_id={group}")
    assert seen.status_code == 200 and "/disable" not in seen.text


async def test_terms_that_cannot_work_show_every_problem_and_make_nothing(
    web: WebHarness,
) -> None:
    c = await web.signed_in(Role.ADMIN)
    typed = {
        "group_id": "987654",
        "source": "渠道",
        "count": "0",
        "max_uses": "x",
        "expires_at": "yesterday",
    }
    refused = await c.post("/invites", data=typed)
    assert refused.status_code == 422
    problems = re.findall(r'<li class="text">(.*?)</li>', refused.text)
    assert len(problems) == 4, problems
    assert 'value="渠道"' in refused.text and 'value="x"' in refused.text
    past = await c.post(
        "/invites", data={"count": "2", "max_uses": "1", "expires_at": "2020-01-01T00:00"}
    )
    assert past.status_code == 422
    assert len(re.findall(r'<li class="text">', past.text)) == 1
    assert codes(web) == [] and audit(web, "invite.create") == []


async def test_the_api_makes_lists_counts_and_withdraws(web: WebHarness) -> None:
    group = first_group(web)
    api = web.api(Role.OPERATOR)
    made = await api.post(
        "/api/v1/invite-codes",
        json={"group_id": group, "source": "公众号", "count": 2, "max_uses": None},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert len(body["codes"]) == 2 and {i["code"] for i in body["items"]} == set(body["codes"])
    assert all(i["max_uses"] is None and i["group_name"] for i in body["items"])
    anywhere = await api.post(
        "/api/v1/invite-codes",
        json={"source": "海报", "count": 1, "expires_at": (NOW + timedelta(days=3)).isoformat()},
    )
    assert anywhere.status_code == 201 and anywhere.json()["items"][0]["group_id"] is None
    with web.app.engine.connect() as conn, conn.execution_options(**WRITE).begin():
        conn.execute(update(InviteCode).where(InviteCode.code == body["codes"][0]).values(uses=5))
    viewer = web.api(Role.VIEWER)
    sources = (await viewer.get("/api/v1/invite-codes/sources")).json()
    assert sources == [{"source": "公众号", "uses": 5}, {"source": "海报", "uses": 0}]
    page = await web.signed_in(Role.VIEWER)
    shown = (await page.get("/invites")).text
    assert "公众号" in shown and "海报" in shown
    listed = (await viewer.get(f"/api/v1/invite-codes?group_id={group}&limit=1")).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    rest = (
        await viewer.get(
            f"/api/v1/invite-codes?group_id={group}&limit=1&cursor={listed['next_cursor']}"
        )
    ).json()
    assert {listed["items"][0]["code"], rest["items"][0]["code"]} == set(body["codes"])
    code_id = body["items"][0]["id"]
    off = await api.post(f"/api/v1/invite-codes/{code_id}/disable")
    assert off.status_code == 200 and off.json()["disabled"] is True
    assert (await api.post("/api/v1/invite-codes/987654/disable")).status_code == 404
    assert (await viewer.post(f"/api/v1/invite-codes/{code_id}/disable")).status_code == 403
    past = await api.post(
        "/api/v1/invite-codes?lang=en",
        json={"count": 1, "expires_at": (NOW - timedelta(days=1)).isoformat(), "group_id": 987654},
    )
    assert past.status_code == 422
    assert len(past.json()["error"]["detail"]["problems"]) == 2
    naive = await api.post("/api/v1/invite-codes", json={"expires_at": "2027-01-01T00:00:00"})
    assert naive.status_code == 422
    assert len(codes(web)) == 3
