"""Group rules on the dashboard and through ``/api/v1/rules``: every kind is created,
edited, reordered, turned off and deleted, each change audited; a rule that cannot work
shows every problem, keeps what the operator typed and stores nothing."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from shequn.features.operators.permissions import Role
from shequn.features.rules.kinds import KINDS
from shequn.models import AuditEntry, GroupRule
from webharness import HOSTILE_TEXTS, WebHarness

pytestmark = pytest.mark.anyio

FAQ = {
    "kind": "contains",
    "patterns": ["怎么报名"],
    "reply": "{name}，链接在群公告",
    "cooldown_s": 60,
}
SPAM = {"kind": "banned_words", "params": {"words": ["加我微信"]}, "actions": ["delete", "warn"]}


def audit(web: WebHarness, action: str) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def stored(web: WebHarness) -> list[Any]:
    with web.app.engine.connect() as conn:
        return list(conn.execute(select(GroupRule).order_by(GroupRule.id)))


def group_ids(web: WebHarness) -> list[int]:
    with web.app.engine.connect() as conn:
        from shequn.models import Group

        return list(
            conn.execute(
                select(Group.id)
                .where(Group.community_id == web.ref.community_id)
                .order_by(Group.id)
            ).scalars()
        )


def shown_problems(page: str) -> list[str]:
    block = re.search(r'<ul class="problems">(.*?)</ul>', page, re.S)
    assert block, "the problems are listed beside the form"
    return [html.unescape(p) for p in re.findall(r'<li class="text">(.*?)</li>', block[1], re.S)]


# --- the pages -----------------------------------------------------------------------------


async def test_an_autoreply_rule_is_written_edited_and_deleted_on_the_page(
    web: WebHarness,
) -> None:
    c = await web.signed_in(Role.OPERATOR)
    chooser = await c.get("/rules/new")
    assert chooser.status_code == 200
    assert all(f'data-kind="{k}"' in chooser.text for k in KINDS)
    form = await c.get("/rules/new?kind=autoreply")
    assert form.status_code == 200 and 'name="patterns"' in form.text
    group = group_ids(web)[0]
    created = await c.post(
        "/rules",
        data={
            "kind": "autoreply",
            "name": " 报名 ",
            "group_id": str(group),
            "enabled": "1",
            "position": "5",
            "match": "contains",
            "patterns": "怎么报名\r\n\r\n 报名链接 \r\n",
            "reply": "{name}，链接在群公告\r\n第二行",
            "cooldown_s": "90",
            "settings": '{"priority": 2}',
        },
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/rules?kind=autoreply&msg=created"
    (row,) = stored(web)
    assert (row.kind, row.name, row.group_id, row.position, row.enabled) == (
        "autoreply",
        "报名",
        group,
        5,
        True,
    )
    assert row.config["patterns"] == ["怎么报名", "报名链接"]
    assert row.config["reply"] == "{name}，链接在群公告\n第二行"
    assert (row.config["cooldown_s"], row.config["priority"]) == (90, 2)
    assert audit(web, "rule.create")[-1].after["name"] == "报名"

    listing = await c.get("/rules?kind=autoreply&msg=created")
    assert f'data-rule="{row.id}"' in listing.text and "规则已创建" in listing.text
    edit = await c.get(f"/rules/{row.id}")
    assert edit.status_code == 200
    assert "怎么报名\n报名链接" in edit.text, "the patterns come back one per line"
    shown = html.unescape(edit.text)
    assert '"priority": 2' in shown and '"patterns":' not in shown

    saved = await c.post(
        f"/rules/{row.id}",
        data={
            "name": "报名问答",
            "group_id": "",
            "position": "5",
            "match": "exact",
            "patterns": "怎么报名",
            "reply": "见群公告",
            "cooldown_s": "60",
            "settings": '{"priority": 2}',
        },
    )
    assert saved.status_code == 303, saved.text
    (row,) = stored(web)
    assert (row.name, row.group_id, row.enabled, row.config["kind"]) == (
        "报名问答",
        None,
        False,
        "exact",
    )
    update = audit(web, "rule.update")[-1]
    assert update.before["name"] == "报名" and update.after["name"] == "报名问答"
    assert update.before["enabled"] is True and update.after["enabled"] is False

    deleted = await c.post(f"/rules/{row.id}/delete")
    assert deleted.status_code == 303
    assert stored(web) == []
    assert audit(web, "rule.delete")[-1].before["config"]["patterns"] == ["怎么报名"]


async def test_a_bad_rule_shows_every_problem_keeps_the_input_and_stores_nothing(
    web: WebHarness,
) -> None:
    c = await web.signed_in(Role.ADMIN)
    typed = {
        "kind": "autoreply",
        "name": "坏规则",
        "position": "abc",
        "match": "regex",
        "patterns": "(a+)+$",
        "reply": "{city} 你好",
        "settings": '{"priority": 1}',
    }
    refused = await c.post("/rules", data=typed, headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    problems = shown_problems(refused.text)
    assert len(problems) >= 3, problems
    assert any("position" in p.lower() or "顺序" in p for p in problems)
    assert any("{city}" in p for p in problems), problems
    assert any("repeat" in p or "重复" in p or "nest" in p for p in problems), problems
    assert 'value="坏规则"' in refused.text and "(a+)+$" in refused.text
    assert 'value="abc"' in refused.text and "{city} 你好" in refused.text

    broken = await c.post(
        "/rules", data={"kind": "welcome", "name": "欢迎", "settings": '{"text": "hi",'}
    )
    assert broken.status_code == 422
    assert any("JSON" in p for p in shown_problems(broken.text))
    assert '{"text": "hi",' in html.unescape(broken.text)

    wrong_group = await c.post(
        "/rules",
        data={"kind": "welcome", "name": "欢迎", "group_id": "987654", "settings": "{}"},
    )
    problems = shown_problems(wrong_group.text)
    assert len(problems) == 2, "the group and the missing text, together"
    assert stored(web) == [] and audit(web, "rule.create") == []


async def test_rules_are_turned_off_and_reordered_from_the_list(web: WebHarness) -> None:
    c = await web.signed_in(Role.OPERATOR)
    api = web.api(Role.OPERATOR)
    ids = []
    for name in ("一", "二", "三"):
        reply = await api.post(
            "/api/v1/rules", json={"kind": "moderation", "name": name, "config": SPAM}
        )
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    off = await c.post(f"/rules/{ids[1]}/toggle", data={"enabled": "0"})
    assert off.status_code == 303 and off.headers["location"].endswith("msg=disabled")
    assert [r.enabled for r in stored(web)] == [True, False, True]
    moved = await c.post(f"/rules/{ids[2]}/move", data={"direction": "up"})
    assert moved.status_code == 303
    order = (await api.get("/api/v1/rules?kind=moderation")).json()["items"]
    assert [r["name"] for r in order] == ["一", "三", "二"]
    assert [r["position"] for r in order] == [10, 20, 30]
    entry = audit(web, "rule.reorder")[-1]
    assert entry.after == {str(ids[0]): 10, str(ids[2]): 20, str(ids[1]): 30}
    top = await c.post(f"/rules/{ids[0]}/move", data={"direction": "up"})
    assert top.status_code == 303 and len(audit(web, "rule.reorder")) == 1
    listing = await c.get("/rules")
    shown = [int(x) for x in re.findall(r'<tr data-rule="(\d+)">', listing.text)]
    assert shown == [ids[0], ids[2], ids[1]]
    assert "Turn on" in listing.text or "启用" in listing.text


async def test_a_per_group_rule_is_shown_as_replacing_the_community_rule(web: WebHarness) -> None:
    api = web.api(Role.OWNER)
    group = group_ids(web)[1]
    await api.post("/api/v1/rules", json={"kind": "autoreply", "name": "报名", "config": FAQ})
    await api.post(
        "/api/v1/rules",
        json={"kind": "autoreply", "name": "报名", "config": FAQ, "group_id": group},
    )
    c = await web.signed_in(Role.VIEWER)
    page = await c.get("/rules", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.text.count('data-rule="') == 2
    assert "Replaced in" in page.text or "被替换" in page.text
    only = await c.get(f"/rules?group_id={group}")
    assert only.text.count('data-rule="') == 2
    assert "/toggle" not in page.text, "a viewer sees no buttons that change rules"
    rule_id = stored(web)[0].id
    view = await c.get(f"/rules/{rule_id}")
    assert view.status_code == 200 and "<fieldset disabled>" in view.text


async def test_a_viewer_cannot_change_rules(web: WebHarness) -> None:
    api = web.api(Role.OWNER)
    rule_id = (
        await api.post("/api/v1/rules", json={"kind": "moderation", "name": "广告", "config": SPAM})
    ).json()["id"]
    viewer = await web.signed_in(Role.VIEWER)
    assert (await viewer.get("/rules/new?kind=welcome")).status_code == 403
    assert (await viewer.post(f"/rules/{rule_id}/delete")).status_code == 403
    assert (await viewer.post(f"/rules/{rule_id}/toggle", data={"enabled": "0"})).status_code == 403
    script = web.api(Role.VIEWER)
    assert (await script.get(f"/api/v1/rules/{rule_id}")).status_code == 200
    assert (await script.delete(f"/api/v1/rules/{rule_id}")).status_code == 403
    assert (
        await script.patch(f"/api/v1/rules/{rule_id}", json={"enabled": False})
    ).status_code == 403
    assert [r.enabled for r in stored(web)] == [True]


async def test_hostile_rule_names_and_settings_show_as_text(web: WebHarness) -> None:
    api = web.api(Role.OWNER)
    payload = HOSTILE_TEXTS[0]
    reply = await api.post(
        "/api/v1/rules",
        json={
            "kind": "autoreply",
            "name": payload[:120],
            "config": {**FAQ, "patterns": [HOSTILE_TEXTS[5][:400]], "reply": payload},
        },
    )
    assert reply.status_code == 201, reply.text
    c = await web.signed_in(Role.OWNER)
    for path in ("/rules", f"/rules/{reply.json()['id']}"):
        page = await c.get(path)
        assert page.status_code == 200
        assert "<script>window.__pwned" not in page.text
        assert "&lt;script&gt;window.__pwned" in page.text
    assert "</textarea></script><svg" not in page.text


# --- the API -------------------------------------------------------------------------------

GOOD: dict[str, dict[str, Any]] = {
    "autoreply": FAQ,
    "moderation": SPAM,
    "ladder": {"expiry_s": 604800, "steps": [{"at": 3, "penalty": "mute", "duration_s": 86400}]},
    "window": {
        "kind": "daily",
        "start": "23:00",
        "end": "07:00",
        "targets": [{"platform": "sim", "group": "g01"}],
    },
    "admission": {"checks": [{"kind": "question", "id": "q", "keywords": ["朋友"]}]},
    "lobby": {
        "lobby": {"platform": "sim", "group": "g01"},
        "main": {"platform": "sim", "group": "g02"},
        "min_days": 3,
    },
    "namecard": {"text": "{number}-{city}-{nickname}"},
    "welcome": {"text": "欢迎 {name} 加入{group}！", "rules_text": "1. 友善交流"},
}


async def test_every_kind_goes_through_the_api(web: WebHarness) -> None:
    api = web.api(Role.OPERATOR)
    assert set(GOOD) == set(KINDS)
    made = {}
    for kind, config in GOOD.items():
        reply = await api.post("/api/v1/rules", json={"kind": kind, "name": kind, "config": config})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        assert body["kind"] == kind and body["community_id"] == web.ref.community_id
        made[kind] = body["id"]
    every = await api.get("/api/v1/rules?limit=3")
    body = every.json()
    assert body["total"] == len(KINDS) and len(body["items"]) == 3
    seen = [r["id"] for r in body["items"]]
    while body["next_cursor"]:
        body = (await api.get(f"/api/v1/rules?limit=3&cursor={body['next_cursor']}")).json()
        seen += [r["id"] for r in body["items"]]
    assert seen == sorted(made.values())
    welcome = (await api.get("/api/v1/rules?kind=welcome")).json()
    assert [r["id"] for r in welcome["items"]] == [made["welcome"]] and welcome["total"] == 1
    assert (await api.get("/api/v1/rules?kind=telepathy")).status_code == 422
    one = await api.get(f"/api/v1/rules/{made['namecard']}")
    assert one.json()["config"]["text"] == "{number}-{city}-{nickname}"


async def test_the_api_replaces_patches_and_deletes_with_an_audit_trail(web: WebHarness) -> None:
    api = web.api(Role.ADMIN)
    group = group_ids(web)[0]
    rule = (
        await api.post("/api/v1/rules", json={"kind": "autoreply", "name": "报名", "config": FAQ})
    ).json()
    put = await api.put(
        f"/api/v1/rules/{rule['id']}",
        json={"name": "报名 2", "config": {**FAQ, "reply": "好"}, "group_id": group, "position": 7},
    )
    assert put.status_code == 200, put.text
    assert (put.json()["group_id"], put.json()["position"], put.json()["config"]["reply"]) == (
        group,
        7,
        "好",
    )
    assert put.json()["group_name"]
    patched = await api.patch(f"/api/v1/rules/{rule['id']}", json={"enabled": False})
    assert patched.json()["enabled"] is False and patched.json()["position"] == 7
    moved = await api.patch(f"/api/v1/rules/{rule['id']}", json={"position": 3})
    assert moved.json()["position"] == 3 and moved.json()["enabled"] is False
    mine = (await api.get(f"/api/v1/rules?group_id={group}")).json()
    assert [r["id"] for r in mine["items"]] == [rule["id"]]
    wrong = await api.put(
        f"/api/v1/rules/{rule['id']}", json={"name": "x", "config": FAQ, "group_id": 987654}
    )
    assert wrong.status_code == 422
    gone = await api.delete(f"/api/v1/rules/{rule['id']}")
    assert gone.status_code == 200 and gone.json()["name"] == "报名 2"
    assert (await api.get(f"/api/v1/rules/{rule['id']}")).status_code == 404
    assert (await api.delete(f"/api/v1/rules/{rule['id']}")).status_code == 404
    actions = [e.action for e in audit(web, "rule.create") + audit(web, "rule.update")]
    assert actions == ["rule.create", "rule.update", "rule.update", "rule.update"]
    assert len(audit(web, "rule.delete")) == 1


async def test_a_refused_rule_answers_422_with_every_problem(web: WebHarness) -> None:
    api = web.api(Role.OWNER)
    bad = {"kind": "regex", "patterns": ["(a+)+$"], "reply": "{city}"}
    reply = await api.post(
        "/api/v1/rules?lang=en", json={"kind": "autoreply", "name": "坏", "config": bad}
    )
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == "invalid_rule"
    problems = error["detail"]["problems"]
    assert len(problems) >= 2 and any("{city}" in p for p in problems), problems
    zh = await api.post(
        "/api/v1/rules?lang=zh-CN", json={"kind": "welcome", "name": "欢迎", "config": {}}
    )
    assert zh.status_code == 422 and "缺失" in zh.json()["error"]["detail"]["problems"][0]
    unstorable = await api.post(
        "/api/v1/rules", json={"kind": "welcome", "name": "x", "config": {"text": "a\u0000b"}}
    )
    assert unstorable.status_code == 422
    huge = await api.post(
        "/api/v1/rules", json={"kind": "welcome", "name": "x", "config": {"text": "a", "n": 10**30}}
    )
    assert huge.status_code == 422
    with web.app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(GroupRule)).scalar_one() == 0
    assert audit(web, "rule.create") == []
