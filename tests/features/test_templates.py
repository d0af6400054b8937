"""Templates, the pool and rotating invites, stored on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import START, event
from shequn.app import App, default_processors
from shequn.core import ActionType, EventType
from shequn.features.rules.service import rules_of, save_rule
from shequn.features.templates.invites import (
    InviteNotFound,
    SourceCount,
    create_invite,
    record_visit,
    set_invite_enabled,
    sources_of,
)
from shequn.features.templates.places import (
    PlaceNotFound,
    add_to_pool,
    pool_of,
    reorder_pool,
    retire_place,
    seats_of,
    update_place,
)
from shequn.features.templates.pool import PoolError
from shequn.features.templates.processor import InviteAttributionProcessor
from shequn.features.templates.service import (
    TemplateNotFound,
    apply_template,
    delete_template,
    get_template,
    save_template,
    template_of_group,
    templates_of,
)
from shequn.features.templates.template import TemplateError
from shequn.features.templates.visits import InviteError
from shequn.models import Group, GroupRule
from shequn.models.templates import GroupTemplate, InviteVisit, PoolState

FAQ = {"kind": "contains", "patterns": ["报名"], "reply": "{name}，报名链接在群公告里"}
WELCOME = {"text": "欢迎 {name} 加入 {group}"}


def _groups(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        g = Group.__table__
        return {ext: gid for ext, gid in conn.execute(select(g.c.external_id, g.c.id))}


def _seed(app: App) -> tuple[int, dict[str, int]]:
    """A community with group g1 (an admin, a member with a title, a member) and g2."""
    ref = app.community("读书会")
    app.ingestor(ref).ingest_many(
        [
            event(1, EventType.JOIN, group="g1", actor="u1", role="admin"),
            event(2, EventType.JOIN, group="g1", actor="u2"),
            event(3, EventType.MEMBER_UPDATE, group="g1", actor="u2", title="字幕侠"),
            event(4, EventType.JOIN, group="g1", actor="u3"),
            event(5, EventType.JOIN, group="g2", actor="u4"),
        ]
    )
    return ref.community_id, _groups(app)


def test_a_template_taken_from_a_group_sets_up_another(app: App) -> None:
    cid, groups = _seed(app)
    now = app.clock.now()
    with app.engine.begin() as conn:
        save_rule(conn, cid, "autoreply", "报名", FAQ, now=now, group_id=groups["g1"])
        save_rule(conn, cid, "welcome", "欢迎", WELCOME, now=now, group_id=groups["g1"])
        save_rule(conn, cid, "welcome", "g2 的欢迎", WELCOME, now=now, group_id=groups["g2"])
        save_rule(conn, cid, "autoreply", "全社群", FAQ, now=now)  # reaches every group already
        template = template_of_group(
            conn, cid, groups["g1"], schedules=[{"name": "早安", "when": "weekdays 08:30"}]
        )
        assert sorted((r.kind, r.name) for r in template.rules) == [
            ("autoreply", "报名"),
            ("welcome", "欢迎"),
        ]
        assert [(s.user, s.role, s.title) for s in template.roles] == [
            ("u1", "admin", ""),
            ("u2", "member", "字幕侠"),
        ]
        tid = save_template(conn, cid, "标准群", template.to_dict(), now=now)
        assert get_template(conn, cid, tid).template == template

        applied = apply_template(conn, cid, tid, groups["g2"], now=now, key="k")
        again = apply_template(conn, cid, tid, groups["g2"], now=now, key="k")
        in_g2 = sorted((r.kind, r.name) for r in rules_of(conn, cid) if r.group_id == groups["g2"])
    assert len(applied.rule_ids) == 1, "g2 has a welcome of its own: it is kept"
    assert [r.name for r in applied.skipped] == ["欢迎"]
    assert in_g2 == [("autoreply", "报名"), ("welcome", "g2 的欢迎")]
    assert [(a.type, a.group, a.user) for a in applied.actions] == [
        (ActionType.INVITE, "g2", "u1"),
        (ActionType.SET_ROLE, "g2", "u1"),
        (ActionType.INVITE, "g2", "u2"),
        (ActionType.SET_TITLE, "g2", "u2"),
    ]
    assert applied.schedules == [{"name": "早安", "when": "weekdays 08:30"}]
    assert again.rule_ids == [] and len(again.skipped) == 2


def test_a_template_with_a_rule_that_cannot_work_is_refused_whole(app: App) -> None:
    cid = app.community("读书会").community_id
    now = app.clock.now()
    bad = {
        "rules": [
            {"kind": "autoreply", "name": "报名", "config": {**FAQ, "reply": "{city} 你好"}},
            {"kind": "teleport", "name": "x", "config": {}},
        ]
    }
    with app.engine.begin() as conn, pytest.raises(TemplateError) as refused:
        save_template(conn, cid, "坏模板", bad, now=now)
    lines = refused.value.lines("en")
    assert lines[0].startswith("rules[0] (autoreply '报名'): ") and "{city}" in lines[0]
    assert lines[1].startswith("rules[1] (teleport 'x'): unknown rule kind 'teleport'")
    assert refused.value.lines("zh-CN")[0].startswith("rules[0] (autoreply '报名')：")
    with app.engine.begin() as conn:
        tid = save_template(conn, cid, "标准群", {"rules": []}, now=now)
        with pytest.raises(TemplateError, match="exists"):
            save_template(conn, cid, "标准群", {}, now=now)
        with pytest.raises(TemplateError, match="name"):
            save_template(conn, cid, " ", {}, now=now)
        assert [t.name for t in templates_of(conn, cid)] == ["标准群"]
        delete_template(conn, cid, tid)
        with pytest.raises(TemplateNotFound):
            delete_template(conn, cid, tid)
    with app.engine.connect() as conn:
        assert conn.execute(select(GroupTemplate)).all() == []
        assert conn.execute(select(GroupRule)).all() == []


def test_the_pool_is_kept_in_the_operators_order(app: App) -> None:
    cid, groups = _seed(app)
    other = app.community("别的社群").community_id
    now = app.clock.now()
    with app.engine.begin() as conn:
        first = add_to_pool(conn, cid, groups["g1"], capacity=3, now=now)
        second = add_to_pool(
            conn, cid, groups["g2"], capacity=200, warn_ratio=0.8, join_note="QQ群 123", now=now
        )
        with pytest.raises(PoolError, match="in the pool already"):
            add_to_pool(conn, cid, groups["g1"], capacity=3, now=now)
        with pytest.raises(PoolError, match="not in this community"):
            add_to_pool(conn, other, groups["g1"], capacity=3, now=now)
        with pytest.raises(PoolError, match=rf"missing \[{second}\]"):
            reorder_pool(conn, cid, [first], now=now)
        with pytest.raises(PoolError, match="not in the pool"):
            reorder_pool(conn, cid, [first, second, 99], now=now)
        reorder_pool(conn, cid, [second, first], now=now)
        assert [p.id for p in pool_of(conn, cid)] == [second, first]
        assert seats_of(conn, [groups["g1"], groups["g2"]]) == {groups["g1"]: 3, groups["g2"]: 1}
        update_place(conn, cid, first, capacity=5, join_url="https://example.org/{token}", now=now)
        with pytest.raises(PoolError, match="cannot change state"):
            update_place(conn, cid, first, state="full", now=now)
        retire_place(conn, cid, first, now=now)
        assert [p.id for p in pool_of(conn, cid)] == [second]
        assert add_to_pool(conn, cid, groups["g1"], capacity=3, now=now) == first
        with pytest.raises(PlaceNotFound):
            retire_place(conn, other, first, now=now)
        (place,) = [p for p in pool_of(conn, cid) if p.id == first]
    assert (place.position, place.capacity, place.state) == (1, 3, PoolState.OPEN)


def test_visits_go_to_a_group_with_room_and_joins_are_traced_to_them(app: App) -> None:
    cid, groups = _seed(app)
    now = app.clock.now()
    with app.engine.begin() as conn:
        add_to_pool(conn, cid, groups["g1"], capacity=4, join_url="https://x.org/{token}", now=now)
        add_to_pool(conn, cid, groups["g2"], capacity=2, now=now)
        invite = create_invite(conn, cid, "readers", "上海读书会", now=now)
        with pytest.raises(InviteError, match="taken"):
            create_invite(conn, cid, "readers", "again", now=now)
        poster = record_visit(conn, "readers", "海报", now=now)
        partner = record_visit(conn, "readers", "partner", now=now + timedelta(minutes=1))
        with pytest.raises(InviteError, match="src"):
            record_visit(conn, "readers", "x" * 65, now=now)
        with pytest.raises(InviteNotFound):
            record_visit(conn, "nobody", None, now=now)
    assert poster.place is not None and poster.place.group_id == groups["g1"]
    assert poster.link == f"https://x.org/{poster.token}"
    assert partner.place is not None and partner.place.group_id == groups["g1"]

    ingestor = app.ingestor(
        app.community("读书会"), [*default_processors(), InviteAttributionProcessor()]
    )
    at = START + timedelta(minutes=30)
    ingestor.ingest_many(
        [
            # The latest visit sent to g1 (the partner's) brought u7; u8 gave the poster's token.
            event(10, EventType.JOIN, group="g1", actor="u7", at=now + timedelta(minutes=2)),
            event(
                11,
                EventType.JOIN,
                group="g2",
                actor="u8",
                at=now + timedelta(minutes=3),
                invite_code=poster.token,
            ),
            # Nobody else visited: this join stays unexplained.
            event(12, EventType.JOIN, group="g1", actor="u9", at=now + timedelta(minutes=4)),
            event(13, EventType.MESSAGE, group="g1", actor="u9", at=at),
        ]
    )
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(InviteVisit.token, InviteVisit.member_id, InviteVisit.joined_at).order_by(
                InviteVisit.id
            )
        ).all()
        assert sources_of(conn, cid) == [
            SourceCount(invite, "partner", 1, 1),
            SourceCount(invite, "海报", 1, 1),
        ]
        g1_full = seats_of(conn, [groups["g1"]])[groups["g1"]]
    assert [r.member_id is not None for r in rows] == [True, True]
    assert rows[0].joined_at == now + timedelta(minutes=3)
    assert rows[1].joined_at == now + timedelta(minutes=2)
    assert g1_full == 5

    with app.engine.begin() as conn:
        # g1 is over its capacity now, g2 at it: nobody has room.
        full = record_visit(conn, "readers", None, now=now)
        assert full.place is None and full.link == ""
        set_invite_enabled(conn, cid, invite, False, now=now)
        with pytest.raises(InviteNotFound):
            record_visit(conn, "readers", None, now=now)
