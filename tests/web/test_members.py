"""The member list, profiles, notes and tags on members, in the dashboard and the API,
checked against figures computed independently from the raw tables."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from shequn.features.community.setup import ensure_community
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, Identity, Member, MemberTag, Tag
from webharness import HOSTILE_TEXTS, NOW, WebHarness, plant_hostile

pytestmark = pytest.mark.anyio
_ROW_LINK = re.compile(r'<a class="clip name" href="/members/(\d+)"')


def sql(web: WebHarness, query: str, **params: Any) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(text(query), params).scalars())


def active_members(web: WebHarness) -> set[int]:
    return set(sql(web, "select id from member where merged_into_id is null"))


async def api_ids(c: httpx.AsyncClient, query: str = "", limit: int = 200) -> list[int]:
    """Every member id the API lists for ``query``, walking all pages."""
    found: list[int] = []
    cursor = None
    while True:
        url = f"/api/v1/members?limit={limit}{'&' + query if query else ''}"
        reply = await c.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert reply.status_code == 200, reply.text
        body = reply.json()
        found += [m["id"] for m in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def _speakers(web: WebHarness, since: Any = None, group: int | None = None) -> set[int]:
    """Members with a message in a group (since ``since``, in ``group``), from the event log."""
    query = (
        "select distinct i.member_id from event e join identity i on i.id = e.identity_id "
        "where e.type = 'message' and e.group_id is not null"
    )
    if since is not None:
        query += " and e.occurred_at >= :since"
    if group is not None:
        query += " and e.group_id = :group"
    return set(sql(web, query, since=since, group=group))


async def test_each_filter_lists_exactly_the_members_an_independent_query_finds(
    web: WebHarness,
) -> None:
    c = web.api(Role.VIEWER)
    everyone = active_members(web)
    groups = sql(web, "select id from chat_group order by id")
    week, month = NOW - timedelta(days=7), NOW - timedelta(days=30)
    g = groups[0]
    in_g = set(
        sql(web, "select member_id from membership where group_id = :g and left_at is null", g=g)
    )
    admins = set(
        sql(web, "select member_id from membership where role = 'admin' and left_at is null")
    )
    owners_g = set(
        sql(
            web,
            "select member_id from membership where role in ('owner') and left_at is null "
            "and group_id = :g",
            g=g,
        )
    )
    spoke = _speakers(web)
    recent_in_g = _speakers(web, week, g)
    names = {m: [n.lower() for n in names_] for m, *names_ in _all_names(web)}
    q = "小"
    expected = {
        "": everyone,
        f"group_id={g}": in_g,
        "role=admin": admins,
        f"group_id={g}&role=owner": owners_g,
        "activity=active7": _speakers(web, week) & everyone,
        "activity=active30": _speakers(web, month) & everyone,
        "activity=silent30": (spoke - _speakers(web, month)) & everyone,
        "activity=never": everyone - spoke,
        f"group_id={g}&activity=active7": in_g & recent_in_g,
        "q=%E5%B0%8F": {m for m, ns in names.items() if any(q in n for n in ns)} & everyone,
    }
    for query, members in expected.items():
        listed = await api_ids(c, query)
        assert len(listed) == len(set(listed))
        assert set(listed) == members, query
        total = (await c.get(f"/api/v1/members?limit=1&{query}")).json()["total"]
        assert total == len(members), query
    assert 0 < len(expected["activity=active7"]) < len(everyone), "the windows really filter"
    assert expected["activity=never"] and expected["activity=silent30"]
    browser = await web.signed_in(Role.VIEWER)
    page = await browser.get(f"/members?group_id={g}&limit=200")
    assert set(int(m) for m in _ROW_LINK.findall(page.text)) == in_g


def _all_names(web: WebHarness) -> list[tuple[Any, ...]]:
    """(member, its name, each identity's name and account, each card name)."""
    with web.app.engine.connect() as conn:
        rows: dict[int, list[str]] = {}
        for mid, name in conn.execute(text("select id, display_name from member")):
            rows.setdefault(mid, []).append(name or "")
        for mid, name, ext in conn.execute(
            text("select member_id, display_name, external_id from identity")
        ):
            rows[mid] += [name or "", ext]
        for mid, card in conn.execute(text("select member_id, card_name from membership")):
            rows[mid].append(card or "")
    return [(m, *ns) for m, ns in rows.items()]


async def test_pagination_walks_every_member_exactly_once(web: WebHarness) -> None:
    c = web.api(Role.VIEWER)
    listed = await api_ids(c, limit=37)
    assert len(listed) == len(set(listed)) == len(active_members(web))
    assert listed == sorted(listed)
    browser = await web.signed_in(Role.VIEWER)
    url: str | None = "/members?limit=90"
    seen: list[int] = []
    pages = 0
    while url:
        reply = await browser.get(url)
        assert reply.status_code == 200
        seen += [int(m) for m in _ROW_LINK.findall(reply.text)]
        found = re.search(r'<a rel="next" href="([^"]+)"', reply.text)
        url = found[1].replace("&amp;", "&") if found else None
        pages += 1
    assert seen == listed and pages == -(-len(listed) // 90)


async def test_a_bad_cursor_is_refused(web: WebHarness) -> None:
    c = web.api(Role.VIEWER)
    for cursor in ("!!!", "WyJ4Il0", "WzEsMl0"):  # junk, ["x"], [1,2]
        reply = await c.get(f"/api/v1/members?cursor={cursor}")
        assert reply.status_code == 422


async def test_search_takes_percent_and_underscore_literally(web: WebHarness) -> None:
    c = web.api(Role.OPERATOR)
    ids = sorted(active_members(web))[:3]
    for mid, name in zip(ids, ["50%_off 优惠", "50 off", "500ff"], strict=True):
        reply = await c.patch(f"/api/v1/members/{mid}", json={"display_name": name})
        assert reply.status_code == 200, reply.text
    assert set(await api_ids(c, "q=%25")) == {ids[0]}
    assert set(await api_ids(c, "q=0%25_o")) == {ids[0]}
    assert set(await api_ids(c, "q=50_off")) == set()
    assert {ids[0], ids[1]} <= set(await api_ids(c, "q=50"))
    assert set(await api_ids(c, "q=_")) == {
        m for m, *ns in _all_names(web) if any("_" in n for n in ns)
    } & active_members(web)


async def test_the_filter_form_swaps_only_the_table_with_htmx(web: WebHarness) -> None:
    c = await web.signed_in(Role.VIEWER)
    full = await c.get("/members")
    assert 'hx-get="/members"' in full.text and 'hx-target="#member-table"' in full.text
    assert 'hx-push-url="true"' in full.text and '<div id="member-table">' in full.text
    part = await c.get(
        "/members?activity=never", headers={"HX-Request": "true", "HX-Target": "member-table"}
    )
    assert part.status_code == 200
    assert "<html" not in part.text and "<table" in part.text
    restore = await c.get(
        "/members?activity=never",
        headers={
            "HX-Request": "true",
            "HX-Target": "member-table",
            "HX-History-Restore-Request": "true",
        },
    )
    assert "<html" in restore.text
    assert (await c.get("/members?activity=sometimes")).status_code == 422
    assert (await c.get("/members?group_id=abc")).status_code == 422
    blank = await c.get("/members?q=&group_id=&tag_id=&role=&activity=")
    assert blank.status_code == 200


async def test_profile_shows_identities_seats_activity_and_timeline(web: WebHarness) -> None:
    mid = sql(
        web,
        "select member_id from activity_member_group group by member_id "
        "order by sum(messages) desc limit 1",
    )[0]
    c = await web.signed_in(Role.VIEWER)
    page = await c.get(f"/members/{mid}")
    assert page.status_code == 200
    external = sql(web, "select external_id from identity where member_id = :m", m=mid)
    assert all(e in page.text for e in external)
    api = web.api(Role.VIEWER)
    detail = (await api.get(f"/api/v1/members/{mid}")).json()
    for seat in detail["memberships"]:
        messages = sql(
            web,
            "select count(*) from event e join identity i on i.id = e.identity_id "
            "where i.member_id = :m and e.group_id = :g and e.type = 'message'",
            m=mid,
            g=seat["group_id"],
        )[0]
        assert seat["messages"] == messages
    newest = sql(
        web,
        "select e.id from event e join identity i on i.id = e.identity_id "
        "where i.member_id = :m order by e.occurred_at desc, e.id desc",
        m=mid,
    )
    timeline: list[int] = []
    cursor = None
    while True:
        reply = await api.get(
            f"/api/v1/members/{mid}/events?limit=200" + (f"&cursor={cursor}" if cursor else "")
        )
        timeline += [e["id"] for e in reply.json()["items"]]
        cursor = reply.json()["next_cursor"]
        if not cursor:
            break
    assert timeline == newest
    older = re.search(r'rel="next" href="(/members/\d+\?cursor=[^"#]+)#timeline"', page.text)
    assert older, "a busy member's timeline has an older page"
    part = await c.get(older[1], headers={"HX-Request": "true", "HX-Target": "timeline"})
    assert "<html" not in part.text and '<ol class="timeline">' in part.text


async def test_hostile_names_and_messages_stay_escaped(web: WebHarness) -> None:
    plant_hostile(web.app, web.ref)
    hostile = [
        sql(web, "select member_id from identity where external_id = :e", e=f"h{n}")[0]
        for n in range(len(HOSTILE_TEXTS))
    ]
    c = await web.signed_in(Role.OPERATOR)
    created = await c.post("/tags", data={"name": HOSTILE_TEXTS[0][:90], "color": "red"})
    assert created.status_code == 303
    tag = sql(web, "select id from tag order by id desc limit 1")[0]
    for mid in hostile:
        await c.post(f"/members/{mid}/tags", data={"tag_id": str(tag)})
    pages = [
        await c.get("/members?q=pwned"),
        await c.get("/members?limit=200&activity=active7"),
        *[await c.get(f"/members/{mid}") for mid in hostile],
    ]
    for page in pages:
        assert page.status_code == 200
        body = page.text
        assert "<script>window.__pwned" not in body
        assert "<img src=x" not in body and "<svg onload" not in body
        assert "</textarea></script>" not in body
        assert 'href="javascript:' not in body
    listed = pages[0].text
    assert "&lt;script&gt;window.__pwned=" in listed
    assert "&lt;img src=x onerror=" in pages[2].text or "&lt;img src=x onerror=" in listed
    profile = pages[3].text  # the member whose message is an <img …> tag
    assert profile.count("&lt;img src=x onerror=") >= 2, "name and timeline message"


async def test_a_merged_member_redirects_to_the_one_it_went_into(web: WebHarness) -> None:
    keep, gone = sorted(active_members(web))[:2]
    api = web.api(Role.OPERATOR)
    assert (
        await api.post(f"/api/v1/members/{keep}/merge", json={"member_id": gone})
    ).status_code == 200
    c = await web.signed_in(Role.VIEWER)
    reply = await c.get(f"/members/{gone}")
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/members/{keep}?merged_from={gone}"
    page = await c.get(reply.headers["location"])
    assert f"#{gone}" in page.text
    assert gone not in await api_ids(web.api(Role.VIEWER))
    detail = (await api.get(f"/api/v1/members/{gone}")).json()
    assert detail["merged_into_id"] == keep


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


async def test_notes_and_tags_are_saved_and_audited(web: WebHarness) -> None:
    mid = sorted(active_members(web))[5]
    c = await web.signed_in(Role.OPERATOR)
    saved = await c.post(f"/members/{mid}/note", data={"note": "  likes <b>wine</b>  "})
    assert saved.status_code == 303 and saved.headers["location"] == f"/members/{mid}?msg=note"
    page = await c.get(saved.headers["location"])
    assert "likes &lt;b&gt;wine&lt;/b&gt;" in page.text
    entry = audit(web, "member.note")[-1]
    assert (entry.before, entry.after, entry.target_id) == (
        {"note": None},
        {"note": "likes <b>wine</b>"},
        str(mid),
    )
    assert entry.operator_name == "operator"
    api = web.api(Role.OPERATOR)
    patched = await api.patch(
        f"/api/v1/members/{mid}", json={"note": None, "display_name": "新名字"}
    )
    assert patched.status_code == 200
    assert patched.json()["note"] is None and patched.json()["display_name"] == "新名字"
    assert audit(web, "member.update")[-1].after == {"note": None, "display_name": "新名字"}
    refused = await api.patch(f"/api/v1/members/{mid}", json={"display_name": "a\x00b"})
    assert refused.status_code == 422

    tag = (await api.post("/api/v1/tags", json={"name": "试听课", "color": "green"})).json()
    added = await c.post(f"/members/{mid}/tags", data={"tag_id": str(tag["id"])})
    assert added.status_code == 303
    again = await api.post(f"/api/v1/members/{mid}/tags", json={"tag_id": tag["id"]})
    assert again.json() == {"member_id": mid, "tag_id": tag["id"], "changed": False}
    tagged = audit(web, "member.tag")
    assert len(tagged) == 1 and tagged[0].after["tag_id"] == tag["id"]
    assert tagged[0].before["tagged"] is False and tagged[0].after["tagged"] is True
    assert [t["id"] for t in (await api.get(f"/api/v1/members/{mid}")).json()["tags"]] == [
        tag["id"]
    ]
    removed = await api.delete(f"/api/v1/members/{mid}/tags/{tag['id']}")
    assert removed.json()["changed"] is True
    assert len(audit(web, "member.untag")) == 1
    readded = await api.post(f"/api/v1/members/{mid}/tags", json={"tag_id": tag["id"]})
    assert readded.json()["changed"] is True
    page_removed = await c.post(f"/members/{mid}/tags/{tag['id']}/remove")
    assert page_removed.status_code == 303
    assert sql(web, "select count(*) from member_tag where member_id = :m", m=mid) == [0]
    assert len(audit(web, "member.untag")) == 2


async def test_a_viewer_changes_nothing(web: WebHarness) -> None:
    keep, gone = sorted(active_members(web))[:2]
    with web.app.engine.begin() as conn:
        tag = conn.execute(
            Tag.__table__.insert()
            .values(workspace_id=web.ref.workspace_id, name="t", created_at=NOW)
            .returning(Tag.__table__.c.id)
        ).scalar_one()
    browser = await web.signed_in(Role.VIEWER)
    api = web.api(Role.VIEWER)
    attempts = [
        browser.post(f"/members/{keep}/note", data={"note": "x"}),
        browser.post(f"/members/{keep}/tags", data={"tag_id": str(tag)}),
        browser.post(f"/members/{keep}/tags/{tag}/remove"),
        browser.get(f"/members/{keep}/merge?other={gone}"),
        browser.post(f"/members/{keep}/merge", data={"other": str(gone)}),
        browser.post(f"/members/{gone}/unmerge"),
        browser.post("/members/tag-all", data={"assign_tag_id": str(tag)}),
        api.patch(f"/api/v1/members/{keep}", json={"note": "x"}),
        api.post(f"/api/v1/members/{keep}/tags", json={"tag_id": tag}),
        api.delete(f"/api/v1/members/{keep}/tags/{tag}"),
        api.post(f"/api/v1/members/{keep}/merge", json={"member_id": gone}),
        api.post(f"/api/v1/members/{gone}/unmerge"),
        api.post(f"/api/v1/tags/{tag}/assign", json={}),
    ]
    for attempt in attempts:
        reply = await attempt
        assert reply.status_code == 403, reply.request.url
    with web.app.engine.connect() as conn:
        assert conn.execute(select(MemberTag.member_id)).all() == []
        assert conn.execute(select(Member.id).where(Member.merged_into_id.is_not(None))).all() == []
        assert conn.execute(select(Member.note).where(Member.note.is_not(None))).all() == []
    page = await browser.get(f"/members/{keep}")
    assert "/note" not in page.text and "/unmerge" not in page.text and "tag-all" not in page.text


async def test_another_workspaces_members_and_tags_are_not_found(web: WebHarness) -> None:
    with web.app.engine.begin() as conn:
        other = ensure_community(conn, "别家", now=NOW, workspace="other")
        member = conn.execute(
            Member.__table__.insert()
            .values(workspace_id=other.workspace_id, display_name="外人", created_at=NOW)
            .returning(Member.__table__.c.id)
        ).scalar_one()
        conn.execute(
            Identity.__table__.insert().values(
                workspace_id=other.workspace_id,
                member_id=member,
                origin_member_id=member,
                platform="sim",
                external_id="x1",
                created_at=NOW,
            )
        )
        tag = conn.execute(
            Tag.__table__.insert()
            .values(workspace_id=other.workspace_id, name="外", created_at=NOW)
            .returning(Tag.__table__.c.id)
        ).scalar_one()
    mine = sorted(active_members(web) - {member})[0]
    api = web.api(Role.OWNER)
    browser = await web.signed_in(Role.OWNER)
    for reply in [
        await api.get(f"/api/v1/members/{member}"),
        await api.get(f"/api/v1/members/{member}/events"),
        await api.patch(f"/api/v1/members/{member}", json={"note": "x"}),
        await api.post(f"/api/v1/members/{member}/tags", json={"tag_id": tag}),
        await api.post(f"/api/v1/members/{mine}/tags", json={"tag_id": tag}),
        await api.post(f"/api/v1/members/{mine}/merge", json={"member_id": member}),
        await api.post(f"/api/v1/members/{member}/unmerge"),
        await api.get(f"/api/v1/tags/{tag}"),
        await api.patch(f"/api/v1/tags/{tag}", json={"name": "y"}),
        await api.delete(f"/api/v1/tags/{tag}"),
        await api.post(f"/api/v1/tags/{tag}/assign", json={}),
        await browser.get(f"/members/{member}"),
        await browser.get(f"/tags/{tag}"),
        await browser.post(f"/members/{mine}/merge", data={"other": str(member)}),
    ]:
        assert reply.status_code == 404, reply.request.url
    assert member not in await api_ids(api)
    with web.app.engine.connect() as conn:
        assert (
            conn.execute(select(Member.merged_into_id).where(Member.id == member)).scalar() is None
        )
        assert conn.execute(select(MemberTag.tag_id)).all() == []
