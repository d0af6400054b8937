"""Tags: the page and the API create, change and delete them, audited; the bulk
"tag all matching" assigns exactly the filtered members, once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, MemberTag, Tag
from webharness import HOSTILE_TEXTS, WebHarness

pytestmark = pytest.mark.anyio


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def tagged(web: WebHarness, tag_id: int) -> set[int]:
    with web.app.engine.connect() as conn:
        return set(
            conn.execute(select(MemberTag.member_id).where(MemberTag.tag_id == tag_id)).scalars()
        )


async def listed(api: httpx.AsyncClient, query: str) -> set[int]:
    """Every member the API lists for ``query`` (all pages); checks the total too."""
    found: set[int] = set()
    cursor = ""
    while True:
        body = (await api.get(f"/api/v1/members?limit=200&{query}{cursor}")).json()
        found |= {m["id"] for m in body["items"]}
        if not body["next_cursor"]:
            assert body["total"] == len(found)
            return found
        cursor = f"&cursor={body['next_cursor']}"


async def test_tags_are_created_renamed_and_deleted_on_the_page(web: WebHarness) -> None:
    c = await web.signed_in(Role.OPERATOR)
    created = await c.post(
        "/tags", data={"name": "  老会员 ", "color": "purple", "description": "两年以上"}
    )
    assert created.status_code == 303 and created.headers["location"] == "/tags?msg=created"
    with web.app.engine.connect() as conn:
        tag = conn.execute(select(Tag)).one()
    assert (tag.name, tag.color, tag.description) == ("老会员", "purple", "两年以上")
    page = await c.get("/tags?msg=created")
    assert "老会员" in page.text and "tag-purple" in page.text
    taken = await c.post("/tags", data={"name": "老会员"})
    assert taken.status_code == 409
    assert 'value="老会员"' in taken.text, "the form keeps what was typed"
    bad_colour = await c.post("/tags", data={"name": "x", "color": "#ff0000"})
    assert bad_colour.status_code == 422
    blank = await c.post("/tags", data={"name": "   "})
    assert blank.status_code == 422
    edit = await c.get(f"/tags/{tag.id}")
    assert edit.status_code == 200 and 'value="老会员"' in edit.text
    renamed = await c.post(
        f"/tags/{tag.id}", data={"name": "资深会员", "color": "blue", "description": ""}
    )
    assert renamed.status_code == 303
    entry = audit(web, "tag.update")[-1]
    assert entry.before["name"] == "老会员" and entry.after["name"] == "资深会员"
    assert entry.after["color"] == "blue" and entry.after["description"] is None
    deleted = await c.post(f"/tags/{tag.id}/delete")
    assert deleted.status_code == 303
    assert audit(web, "tag.delete")[-1].before["name"] == "资深会员"
    assert [e.after["name"] for e in audit(web, "tag.create")] == ["老会员"]
    with web.app.engine.connect() as conn:
        assert conn.execute(select(Tag.id)).all() == []


async def test_the_api_manages_tags_and_counts_their_members(web: WebHarness) -> None:
    api = web.api(Role.OPERATOR)
    made = [
        (await api.post("/api/v1/tags", json={"name": name, "color": "teal"})).json()
        for name in ("b", "a", "c")
    ]
    assert [t["name"] for t in made] == ["b", "a", "c"]
    listed = (await api.get("/api/v1/tags?limit=2")).json()
    assert [t["name"] for t in listed["items"]] == ["a", "b"]
    rest = (await api.get(f"/api/v1/tags?limit=2&cursor={listed['next_cursor']}")).json()
    assert [t["name"] for t in rest["items"]] == ["c"] and rest["next_cursor"] is None
    dup = await api.post("/api/v1/tags", json={"name": "a"})
    assert dup.status_code == 409
    assert (await api.patch(f"/api/v1/tags/{made[0]['id']}", json={"name": "a"})).status_code == 409
    assert (await api.post("/api/v1/tags", json={"name": "z", "color": "navy"})).status_code == 422
    assert (await api.post("/api/v1/tags", json={"name": "z\u0000"})).status_code == 422
    assert (await api.post("/api/v1/tags", json={"name": "z" * 101})).status_code == 422
    patched = await api.patch(f"/api/v1/tags/{made[0]['id']}", json={"description": "说明"})
    assert patched.json()["name"] == "b" and patched.json()["description"] == "说明"
    member = (await api.get("/api/v1/members?limit=1")).json()["items"][0]["id"]
    await api.post(f"/api/v1/members/{member}/tags", json={"tag_id": made[1]["id"]})
    one = (await api.get(f"/api/v1/tags/{made[1]['id']}")).json()
    assert one["members"] == 1
    gone = await api.delete(f"/api/v1/tags/{made[1]['id']}")
    assert gone.status_code == 200 and gone.json()["members"] == 1
    assert (await api.get(f"/api/v1/tags/{made[1]['id']}")).status_code == 404
    assert tagged(web, made[1]["id"]) == set()
    viewer = web.api(Role.VIEWER)
    assert (await viewer.get("/api/v1/tags")).status_code == 200
    for reply in [
        await viewer.post("/api/v1/tags", json={"name": "v"}),
        await viewer.patch(f"/api/v1/tags/{made[0]['id']}", json={"name": "v"}),
        await viewer.delete(f"/api/v1/tags/{made[0]['id']}"),
    ]:
        assert reply.status_code == 403
    browser = await web.signed_in(Role.VIEWER)
    for reply in [
        await browser.post("/tags", data={"name": "v"}),
        await browser.get(f"/tags/{made[0]['id']}"),
        await browser.post(f"/tags/{made[0]['id']}", data={"name": "v"}),
        await browser.post(f"/tags/{made[0]['id']}/delete"),
    ]:
        assert reply.status_code == 403
    page = await browser.get("/tags")
    assert page.status_code == 200 and "/delete" not in page.text


async def test_bulk_assign_tags_exactly_the_filtered_members_once(web: WebHarness) -> None:
    api = web.api(Role.OPERATOR)
    tag = (await api.post("/api/v1/tags", json={"name": "沉默", "color": "gray"})).json()["id"]
    group = (await api.get("/api/v1/members?limit=1")).json()["items"][0]["groups"][0]["id"]
    flt = {"group_id": group, "activity": "silent30"}
    expected = await listed(api, f"group_id={group}&activity=silent30")
    assert expected
    first = await api.post(f"/api/v1/tags/{tag}/assign", json=flt)
    assert first.json() == {"tag_id": tag, "matched": len(expected), "added": len(expected)}
    assert tagged(web, tag) == expected
    second = await api.post(f"/api/v1/tags/{tag}/assign", json=flt)
    assert second.json() == {"tag_id": tag, "matched": len(expected), "added": 0}
    assert tagged(web, tag) == expected
    entries = audit(web, "tag.bulk_assign")
    assert len(entries) == 2
    assert entries[0].after["filter"] == flt and entries[0].after["matched"] == len(expected)
    assert entries[0].after["added"] == len(expected) and entries[1].after["added"] == 0
    # The list's own form, without JavaScript: the filter rides along as hidden fields.
    c = await web.signed_in(Role.OPERATOR)
    other = (await api.post("/api/v1/tags", json={"name": "从未发言"})).json()["id"]
    page = await c.get("/members?activity=never")
    assert 'action="/members/tag-all"' in page.text
    assert '<input type="hidden" name="activity" value="never">' in page.text
    never = await listed(api, "activity=never")
    posted = await c.post(
        "/members/tag-all", data={"activity": "never", "assign_tag_id": str(other)}
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == (
        f"/members?activity=never&msg=bulk&count={len(never)}&added={len(never)}"
    )
    assert tagged(web, other) == never
    assert await listed(api, f"tag_id={other}") == never


async def test_hostile_tag_names_stay_escaped(web: WebHarness) -> None:
    api = web.api(Role.OPERATOR)
    names = [t[:100] for t in HOSTILE_TEXTS if "\u202e" not in t] + ["\u202eevil <b>x</b>"]
    ids = []
    for name in names:
        reply = await api.post("/api/v1/tags", json={"name": name, "color": "red"})
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    member = (await api.get("/api/v1/members?limit=1")).json()["items"][0]["id"]
    for tag in ids:
        await api.post(f"/api/v1/members/{member}/tags", json={"tag_id": tag})
    c = await web.signed_in(Role.OPERATOR)
    for url in ["/tags", "/members?limit=5", f"/members/{member}", f"/tags/{ids[0]}"]:
        body = (await c.get(url)).text
        assert "<script>window.__pwned" not in body, url
        assert "<img src=x" not in body and "<svg onload" not in body, url
        assert "<b>x</b>" not in body, url
    with web.app.engine.connect() as conn:
        assert conn.execute(text("select count(*) from tag")).scalar_one() == len(names)
