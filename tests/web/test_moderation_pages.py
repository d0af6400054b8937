"""The moderation log and the blacklist on the dashboard and through the API.

Decisions come from the real moderation processor: a rule is saved through the API,
then a member's message is ingested with the live processors, as the bots ingest it.
Undo and the blacklist queue real outbox actions; every change is audited.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from factories import event
from shequn.app import live_processors
from shequn.features.operators.permissions import Role
from shequn.models import AuditEntry, BlacklistEntry, ModerationEntry, OutboxRow
from webharness import NOW, WebHarness

pytestmark = pytest.mark.anyio
HOSTILE_WORD = "<script>x"


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def outbox(web: WebHarness) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(select(OutboxRow).order_by(OutboxRow.id)))


def log(web: WebHarness) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(select(ModerationEntry).order_by(ModerationEntry.id)))


def ordinary_member(web: WebHarness, group: str = "g01", skip: int = 0) -> tuple[int, str]:
    """A member of ``group`` who is neither its owner nor an admin: (member id, account)."""
    with web.app.engine.connect() as conn:
        row = conn.execute(
            text(
                "select i.member_id, i.external_id from membership s"
                " join chat_group g on g.id = s.group_id"
                " join identity i on i.member_id = s.member_id"
                " where g.external_id = :g and s.role = 'member' and s.left_at is null"
                " order by i.member_id limit 1 offset :skip"
            ),
            {"g": group, "skip": skip},
        ).one()
    return row.member_id, row.external_id


async def moderation_rule(web: WebHarness, name: str, words: list[str], actions: list[str]) -> int:
    config: dict[str, Any] = {
        "kind": "banned_words",
        "params": {"words": words},
        "actions": actions,
    }
    if "mute" in actions:
        config["mute_s"] = 600
    reply = await web.api(Role.OPERATOR).post(
        "/api/v1/rules", json={"kind": "moderation", "name": name, "config": config}
    )
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def say(web: WebHarness, n: int, user: str, said: str, group: str = "g01") -> None:
    at = NOW - timedelta(minutes=30 - n)
    web.app.ingestor(web.ref, live_processors()).ingest_many(
        [event(900_000 + n, text=said, group=group, actor=user, at=at, message_id=f"mod{n}")]
    )


def rows_shown(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-entry="(\d+)"', page)]


async def test_the_log_shows_each_decision_and_an_operator_undoes_one(web: WebHarness) -> None:
    member, user = ordinary_member(web)
    await moderation_rule(web, "<script>禁止引流", [HOSTILE_WORD, "加微信"], ["delete", "mute"])
    say(web, 1, user, "想要资料的加微信 abc123")
    say(web, 2, user, f"再来 {HOSTILE_WORD}")
    first, second = log(web)
    assert (first.kind, first.matched, first.member_id) == ("banned_words", "加微信", member)

    viewer = await web.signed_in(Role.VIEWER)
    page = await viewer.get("/moderation")
    assert page.status_code == 200
    assert rows_shown(page.text) == [second.id, first.id], "newest first"
    assert "包含违禁词" in page.text, "the reason in the reader's language"
    assert "&lt;script&gt;禁止引流" in page.text and "<script>禁止" not in page.text
    assert "&lt;script&gt;x" in page.text and "<script>x" not in page.text
    assert "/undo" not in page.text, "a viewer gets no undo button"
    english = await viewer.get("/moderation", headers={"Accept-Language": "en"})
    assert "contains the banned word" in english.text or "包含违禁词" in english.text

    operator = await web.signed_in(Role.OPERATOR)
    page = await operator.get(f"/moderation?member_id={member}&kind=banned_words")
    assert f'action="/moderation/{first.id}/undo"' in page.text
    done = await operator.post(
        f"/moderation/{first.id}/undo", data={"member_id": str(member), "kind": "banned_words"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == (
        f"/moderation?member_id={member}&kind=banned_words&msg=undone"
    )
    unmutes = [r for r in outbox(web) if r.type == "unmute"]
    assert [r.idempotency_key for r in unmutes] == [f"moderation-undo:{first.id}:0"]
    entry = audit(web, "moderation.undo")[-1]
    assert entry.target_id == str(first.id) and entry.after["actions"] == ["unmute"]
    again = await operator.post(f"/moderation/{first.id}/undo")
    assert again.headers["location"] == "/moderation?msg=already"
    assert len([r for r in outbox(web) if r.type == "unmute"]) == 1
    page = await operator.get("/moderation?msg=undone")
    assert "已撤销" in page.text or "undone" in page.text.lower()
    assert (await viewer.post(f"/moderation/{second.id}/undo")).status_code == 403


async def test_the_log_api_filters_pages_and_undoes(web: WebHarness) -> None:
    member, user = ordinary_member(web)
    other, other_user = ordinary_member(web, skip=1)
    await moderation_rule(web, "禁止引流", ["加微信"], ["delete", "mute"])
    await moderation_rule(web, "删广告", ["代购"], ["delete"])
    say(web, 1, user, "加微信")
    say(web, 2, other_user, "加微信 呀")
    say(web, 3, user, "代购 便宜")
    api = web.api(Role.VIEWER)
    everything = (await api.get("/api/v1/moderation/log?limit=2")).json()
    assert len(everything["items"]) == 2 and everything["next_cursor"]
    rest = (
        await api.get(f"/api/v1/moderation/log?limit=2&cursor={everything['next_cursor']}")
    ).json()
    ids = [e["id"] for e in everything["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3 and rest["next_cursor"] is None
    mine = (await api.get(f"/api/v1/moderation/log?member_id={member}")).json()["items"]
    assert [e["matched"] for e in mine] == ["代购", "加微信"]
    assert mine[0]["reason"]["en"] and mine[0]["reason"]["zh"]
    assert mine[0]["undoable"] is False and mine[1]["undoable"] is True
    assert [a["type"] for a in mine[1]["actions"]] == ["delete_message", "mute"]
    script = web.api(Role.ADMIN)
    undone = await script.post(f"/api/v1/moderation/log/{mine[1]['id']}/undo")
    assert undone.status_code == 200, undone.text
    body = undone.json()
    assert [a["type"] for a in body["actions"]] == ["unmute"]
    assert body["notes"] and body["notes"][0]["zh"], "the deletion cannot be restored"
    twice = await script.post(f"/api/v1/moderation/log/{mine[1]['id']}/undo")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_undone"
    nothing = await script.post(f"/api/v1/moderation/log/{mine[0]['id']}/undo")
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "nothing_to_undo"
    assert (await script.post("/api/v1/moderation/log/987654/undo")).status_code == 404
    assert (await api.post(f"/api/v1/moderation/log/{mine[0]['id']}/undo")).status_code == 403
    theirs = (await api.get(f"/api/v1/moderation/log?member_id={other}")).json()["items"]
    assert len(theirs) == 1 and theirs[0]["undone_at"] is None
    assert len(audit(web, "moderation.undo")) == 1


async def test_a_member_is_blacklisted_from_their_page_and_taken_off_again(
    web: WebHarness,
) -> None:
    member, user = ordinary_member(web)
    operator = await web.signed_in(Role.OPERATOR)
    profile = await operator.get(f"/members/{member}")
    assert 'action="/blacklist"' in profile.text
    viewer = await web.signed_in(Role.VIEWER)
    assert 'action="/blacklist"' not in (await viewer.get(f"/members/{member}")).text
    added = await operator.post(
        "/blacklist", data={"member_id": str(member), "reason": "<b>发广告</b>"}
    )
    assert added.status_code == 303 and added.headers["location"] == "/blacklist?msg=added"
    removals = [r for r in outbox(web) if r.type in ("kick", "ban")]
    assert {r.type for r in removals} == {"kick", "ban"}
    assert all(r.idempotency_key.startswith("blacklist:") for r in removals)
    assert audit(web, "blacklist.add")[-1].after["reason"] == "<b>发广告</b>"
    again = await operator.post("/blacklist", data={"member_id": str(member), "reason": "x"})
    assert again.status_code == 303 and len(audit(web, "blacklist.add")) == 1
    assert len([r for r in outbox(web) if r.type in ("kick", "ban")]) == len(removals)

    page = await viewer.get("/blacklist")
    assert f'data-member="{member}"' in page.text and user in page.text
    assert "&lt;b&gt;发广告&lt;/b&gt;" in page.text
    assert "/remove" not in page.text
    assert (await viewer.post(f"/blacklist/{member}/remove")).status_code == 403

    removed = await operator.post(f"/blacklist/{member}/remove")
    assert removed.status_code == 303
    with web.app.engine.connect() as conn:
        assert conn.execute(select(BlacklistEntry)).all() == []
    assert [r.type for r in outbox(web) if r.type == "unban"]
    assert audit(web, "blacklist.remove")[-1].before["reason"] == "<b>发广告</b>"
    assert (await operator.post(f"/blacklist/{member}/remove")).status_code == 404
    assert (await operator.post("/blacklist", data={"member_id": "abc"})).status_code == 422


async def test_the_blacklist_api(web: WebHarness) -> None:
    member, user = ordinary_member(web)
    api = web.api(Role.ADMIN)
    added = await api.post("/api/v1/blacklist", json={"member_id": member, "reason": "骗子"})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["member_id"] == member and body["reason"] == "骗子"
    assert {"platform": "sim", "external_id": user} in body["accounts"]
    same = await api.post("/api/v1/blacklist", json={"member_id": member, "reason": "另一个"})
    assert same.json()["id"] == body["id"] and same.json()["reason"] == "骗子"
    listed = (await web.api(Role.VIEWER).get("/api/v1/blacklist")).json()
    assert [e["member_id"] for e in listed["items"]] == [member]
    assert (await api.post("/api/v1/blacklist", json={"member_id": 987654})).status_code == 404
    assert (
        await web.api(Role.VIEWER).post("/api/v1/blacklist", json={"member_id": member})
    ).status_code == 403
    gone = await api.delete(f"/api/v1/blacklist/{member}")
    assert gone.status_code == 200 and gone.json()["id"] == body["id"]
    assert (await api.delete(f"/api/v1/blacklist/{member}")).status_code == 404
    assert (await web.api(Role.VIEWER).get("/api/v1/blacklist")).json()["items"] == []


async def test_hostile_log_content_is_escaped_everywhere_it_shows(web: WebHarness) -> None:
    member, user = ordinary_member(web)
    await moderation_rule(web, "名字", ["<img src=x onerror=alert(1)>"], ["delete", "warn"])
    say(web, 1, user, "看 <img src=x onerror=alert(1)> 这个")
    c = await web.signed_in(Role.OWNER)
    page = await c.get("/moderation")
    assert log(web), "the message was moderated"
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
