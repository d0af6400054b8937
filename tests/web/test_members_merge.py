"""Merging and unmerging members of the simulated community from the dashboard and the
API: the round trip gives both members back exactly, and the health report does not
move."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from shequn.features.analytics.report import build_report, default_scope
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, Member, Workspace
from webharness import WebHarness

pytestmark = pytest.mark.anyio


def snapshot(web: WebHarness, members: list[int]) -> dict[str, list[tuple[Any, ...]]]:
    """The members' seats, rollup rows and identities, as plain tuples."""
    ids = ",".join(str(m) for m in members)
    queries = {
        "seats": "select member_id, group_id, number, role, joined_at, left_at, title, "
        f"card_name, entry_source from membership where member_id in ({ids}) order by 1, 2",
        "days": "select member_id, group_id, day, messages from activity_member_day "
        f"where member_id in ({ids}) order by 1, 2, 3",
        "groups": "select member_id, group_id, first_message_at, last_message_at, messages "
        f"from activity_member_group where member_id in ({ids}) order by 1, 2",
        "identities": f"select member_id, id from identity where member_id in ({ids}) order by 2",
    }
    with web.app.engine.connect() as conn:
        return {k: [tuple(r) for r in conn.execute(text(q))] for k, q in queries.items()}


def report(web: WebHarness) -> dict[str, Any]:
    now = web.app.clock.now()
    with web.app.engine.connect() as conn:
        scope = default_scope(conn, web.ref.community_id, web.ref.timezone, now=now)
        return build_report(conn, scope, community_name=web.ref.name, generated_at=now)


def pairs(web: WebHarness) -> list[tuple[int, int]]:
    """Pairs to merge: two members sharing a busy group (their seats combine) and two
    with no group in common (the seats move whole), later member kept in one of them."""
    with web.app.engine.connect() as conn:
        shared = conn.execute(
            text(
                "select a.member_id, b.member_id from membership a "
                "join membership b on b.group_id = a.group_id and b.member_id > a.member_id "
                "join activity_member_group x on x.member_id = a.member_id "
                "join activity_member_group y on y.member_id = b.member_id "
                "order by x.messages + y.messages desc limit 1"
            )
        ).one()
        apart = conn.execute(
            text(
                "select a.member_id, b.member_id from membership a join membership b "
                "on b.member_id > a.member_id + 10 where not exists (select 1 from membership "
                "c join membership d on d.group_id = c.group_id where c.member_id = a.member_id "
                "and d.member_id = b.member_id) and a.member_id not in (:s0, :s1) "
                "and b.member_id not in (:s0, :s1) order by a.member_id, b.member_id limit 1"
            ),
            {"s0": shared[0], "s1": shared[1]},
        ).one()
    return [(shared[0], shared[1]), (apart[1], apart[0])]


async def test_merge_then_unmerge_gives_both_members_back(web: WebHarness) -> None:
    api = web.api(Role.OPERATOR)
    chosen = pairs(web)
    members = [m for pair in chosen for m in pair]
    before, figures = snapshot(web, members), report(web)
    for keep, gone in chosen:
        merged = await api.post(f"/api/v1/members/{keep}/merge", json={"member_id": gone})
        assert merged.status_code == 200, merged.text
        assert merged.json()["kept"] == keep and merged.json()["identities_moved"] == 1
    during = snapshot(web, members)
    assert during != before
    assert all(m[0] not in {g for _, g in chosen} for m in during["identities"])
    assert report(web)["overview"] != figures["overview"], "the merge changes who spoke"
    for keep, gone in chosen:
        detail = (await api.get(f"/api/v1/members/{keep}")).json()
        assert gone in [m["id"] for m in detail["merged_members"]]
        undone = await api.post(f"/api/v1/members/{gone}/unmerge")
        assert undone.status_code == 200, undone.text
        assert undone.json()["kept"] == keep and undone.json()["restored"] == gone
    assert snapshot(web, members) == before
    after = report(web)
    assert after == figures | {"generated_at": after["generated_at"]}
    with web.app.engine.connect() as conn:
        entries = conn.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.action.in_(["member.merge", "member.unmerge"]))
            .order_by(AuditEntry.id)
        ).all()
        version = conn.execute(select(Workspace.members_version)).scalar_one()
    assert [(a, t) for a, t, _, _ in entries] == [
        ("member.merge", str(chosen[0][1])),
        ("member.merge", str(chosen[1][1])),
        ("member.unmerge", str(chosen[0][1])),
        ("member.unmerge", str(chosen[1][1])),
    ]
    merge_entry = entries[0]
    assert merge_entry.before["merged"]["id"] == chosen[0][1]
    assert merge_entry.after["merged_into_id"] == chosen[0][0]
    assert entries[2].before == {"merged_into_id": chosen[0][0]}
    assert entries[2].after["merged_into_id"] is None
    assert version == 4


async def test_merge_and_unmerge_from_the_profile_page(web: WebHarness) -> None:
    (keep, gone), _ = pairs(web)
    before = snapshot(web, [keep, gone])
    c = await web.signed_in(Role.OPERATOR)
    profile = await c.get(f"/members/{keep}")
    assert f'action="/members/{keep}/merge"' in profile.text
    review = await c.get(f"/members/{keep}/merge?other={gone}")
    assert review.status_code == 200
    assert f'name="other" value="{gone}"' in review.text
    done = await c.post(f"/members/{keep}/merge", data={"other": str(gone)})
    assert done.status_code == 303 and done.headers["location"] == f"/members/{keep}?msg=merged"
    page = await c.get(done.headers["location"])
    assert f'action="/members/{gone}/unmerge"' in page.text
    undone = await c.post(f"/members/{gone}/unmerge")
    assert undone.status_code == 303
    assert undone.headers["location"] == f"/members/{keep}?msg=unmerged&restored={gone}"
    assert snapshot(web, [keep, gone]) == before
    again = await c.post(f"/members/{gone}/unmerge")
    assert again.status_code == 409
    self_merge = await c.get(f"/members/{keep}/merge?other={keep}")
    assert (
        self_merge.status_code == 200 and f'action="/members/{keep}/merge"' not in self_merge.text
    )


async def test_refusals_are_clear(web: WebHarness) -> None:
    (keep, gone), _ = pairs(web)
    api = web.api(Role.OPERATOR)
    not_merged = await api.post(f"/api/v1/members/{keep}/unmerge")
    assert not_merged.status_code == 409
    assert "not merged" in not_merged.json()["error"]["message"]
    itself = await api.post(f"/api/v1/members/{keep}/merge", json={"member_id": keep})
    assert itself.status_code == 409
    await api.post(f"/api/v1/members/{keep}/merge", json={"member_id": gone})
    twice = await api.post(f"/api/v1/members/{keep}/merge", json={"member_id": gone})
    assert twice.status_code == 409 and "already merged" in twice.json()["error"]["message"]
    into_merged = await api.post(f"/api/v1/members/{gone}/merge", json={"member_id": keep})
    assert into_merged.status_code == 409
    with web.app.engine.connect() as conn:
        assert conn.execute(select(Member.merged_into_id).where(Member.id == gone)).scalar() == keep
