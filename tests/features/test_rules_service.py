"""Auto-reply rules are checked before they are stored, and answer in the groups."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from dispatching import world_with_groups
from shequn.app import App
from shequn.features.autoreply import RuleError
from shequn.features.rules.service import (
    RuleNotFound,
    autoreply_rules,
    delete_rule,
    save_autoreply,
)
from shequn.models import GroupRule, RuleState

pytestmark = pytest.mark.anyio
FAQ = {
    "kind": "contains",
    "patterns": ["报名"],
    "reply": "{name}，报名链接在群公告里",
    "cooldown_s": 60,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_rule_that_cannot_work_is_refused_and_nothing_is_stored(app: App) -> None:
    cid = app.community("读书会").community_id
    with app.engine.begin() as conn, pytest.raises(RuleError) as refused:
        save_autoreply(conn, cid, "坏规则", {**FAQ, "reply": "{city} 你好"}, now=app.clock.now())
    assert "{city}" in str(refused.value)
    with app.engine.begin() as conn, pytest.raises(RuleError, match="nested|repeat|重复"):
        save_autoreply(
            conn,
            cid,
            "失控",
            {"kind": "regex", "patterns": ["(a+)+$"], "reply": "x"},
            now=app.clock.now(),
        )
    with app.engine.connect() as conn:
        assert conn.execute(select(GroupRule)).all() == []


def test_rules_round_trip_and_can_be_replaced_and_deleted(app: App) -> None:
    cid = app.community("读书会").community_id
    other = app.community("别的社群").community_id
    now = app.clock.now()
    with app.engine.begin() as conn:
        rid = save_autoreply(conn, cid, "报名", FAQ, now=now)
        (rule,) = autoreply_rules(conn, cid)
        assert (rule.id, rule.name, rule.patterns) == (str(rid), "报名", ("报名",))
        save_autoreply(conn, cid, "报名", {**FAQ, "patterns": ["怎么参加"]}, now=now, rule_id=rid)
        assert autoreply_rules(conn, cid)[0].patterns == ("怎么参加",)
        with pytest.raises(RuleNotFound):
            delete_rule(conn, other, rid)
        delete_rule(conn, cid, rid)
        assert autoreply_rules(conn, cid) == []


async def test_a_member_asking_gets_one_answer_per_cooldown(app: App) -> None:
    ref = app.community("读书会")
    with app.engine.begin() as conn:
        save_autoreply(conn, ref.community_id, "报名", FAQ, now=app.clock.now())
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([{"kind": "sim", "name": "sim", "community": "读书会"}], world=world)
    task = asyncio.create_task(runtime.run())
    await runtime.started()
    try:
        for _ in range(500):
            if runtime.supervisor.states.get("sim") == "connected":
                break
            await asyncio.sleep(0.01)
        world.say("g0", "u1", "请问怎么报名？")
        for _ in range(1000):
            if any(m.by_bot for m in world.groups["g0"].messages):
                break
            await asyncio.sleep(0.01)
        bot = [m for m in world.groups["g0"].messages if m.by_bot]
        assert [m.message.plain_text() for m in bot] == ["成员1，报名链接在群公告里"]
        world.say("g0", "u2", "我也想报名")
        stored = runtime.stats.stored
        for _ in range(1000):
            if runtime.stats.stored > stored:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert sum(m.by_bot for m in world.groups["g0"].messages) == 1, "cooling down"
    finally:
        runtime.stop()
        await task
    with app.engine.connect() as conn:
        (cooldown,) = conn.execute(select(RuleState)).all()
    assert cooldown.key.startswith("cooldown:")
