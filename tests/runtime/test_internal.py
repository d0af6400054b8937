"""shequn's own actions performed by the real dispatcher: operator notices become tasks in
the inbox, rules' tags land on members, points fail with their reason.

Everything runs on both databases; the last case goes end to end through the bot runtime
on the simulated platform: a join request that a broken admission rule holds becomes a
task an operator can see.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from dispatching import SimulatedTime, put, rows, world_with_groups
from factories import START, event
from running import until
from shequn.app import App
from shequn.core import Action, ActionType, Message
from shequn.features.community.merge import merge_members
from shequn.features.tasks import kinds
from shequn.features.tasks.service import task_rows
from shequn.models import GroupRule, Identity, MemberTag, OperatorTask, OutboxRow, Tag
from shequn.runtime.internal import NO_LEDGER, InternalActions
from shequn.runtime.outbox.dispatcher import Dispatcher, DispatchSettings

pytestmark = pytest.mark.anyio
SIM = {"kind": "sim", "name": "sim-bot", "community": "读书会"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def own_dispatcher(app: App) -> Dispatcher:
    """A dispatcher serving no platform, only shequn's own actions, on simulated time."""
    return Dispatcher(
        app.engine,
        {},
        clock=app.clock,
        settings=DispatchSettings(),
        sleep=SimulatedTime(app.clock),
        internal=InternalActions(app.engine, clock=app.clock),
    )


def tasks(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(OperatorTask).order_by(OperatorTask.id)))


def member_of(app: App, user: str) -> int:
    with app.engine.connect() as conn:
        return conn.execute(
            select(Identity.member_id).where(
                Identity.platform == "sim", Identity.external_id == user
            )
        ).scalar_one()


def tags_of(app: App, member_id: int) -> list[tuple[str, str]]:
    with app.engine.connect() as conn:
        return [
            (r.name, r.source)
            for r in conn.execute(
                select(Tag.name, MemberTag.source)
                .join(MemberTag, MemberTag.tag_id == Tag.id)
                .where(MemberTag.member_id == member_id)
                .order_by(Tag.name)
            )
        ]


def hold_notice(key: str = "hold:1") -> Action:
    return Action(
        ActionType.NOTIFY_OPERATOR,
        platform="sim",
        group="g1",
        user="u1",
        message=Message.of("入群申请待审核：<b>小李</b>（u1）申请加入 g1"),
        params={"hold": "join_request", "policy_id": "7"},
        reason="admission policy 7: no answer",
        key=key,
    )


async def test_an_operator_notice_becomes_one_task_even_when_performed_again(app: App) -> None:
    cid = app.community("c").community_id
    app.ingestor(app.community("c")).ingest_many([event(1, actor="u1")])
    put(app, cid, [hold_notice()])
    await own_dispatcher(app).run_until_idle()
    (task,) = tasks(app)
    (row,) = rows(app)
    assert row.status == "done" and row.result["details"] == {"task_id": task.id}
    assert (task.kind, task.platform, task.group_ref, task.user_ref) == (
        kinds.ADMISSION_HOLD,
        "sim",
        "g1",
        "u1",
    )
    assert task.text == "入群申请待审核：<b>小李</b>（u1）申请加入 g1"
    assert task.member_id == member_of(app, "u1") and task.group_id is not None
    assert task.source_key == "hold:1" and task.done_at is None
    assert task.params == {"hold": "join_request", "policy_id": "7"}

    # The dispatcher died after opening the task but before recording it: the row is
    # found abandoned, performed again, and still makes one task.
    with app.engine.begin() as conn:
        conn.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row.id)
            .values(
                status="in_flight",
                worker="gone",
                lease_until=app.clock.now() - timedelta(seconds=1),
                result=None,
            )
        )
    await own_dispatcher(app).run_until_idle()
    (again,) = rows(app)
    assert again.status == "done" and again.attempts == 2
    assert [t.id for t in tasks(app)] == [task.id]
    assert again.result["details"] == {"task_id": task.id}


async def test_a_rule_tags_a_member_and_takes_the_tag_off(app: App) -> None:
    ref = app.community("c")
    app.ingestor(ref).ingest_many([event(1, actor="u1"), event(2, actor="u2")])
    u1, u2 = member_of(app, "u1"), member_of(app, "u2")

    def tag(n: int, kind: ActionType, member: int, name: str, **kw: Any) -> Action:
        return Action(kind, member_id=member, params={"tag": name}, key=f"tag:{n}", **kw)

    put(
        app,
        ref.community_id,
        [
            tag(1, ActionType.ADD_TAG, u1, " 活跃 "),
            tag(2, ActionType.ADD_TAG, u1, "活跃"),
            tag(3, ActionType.ADD_TAG, u2, "活跃", platform="sim", user="u2"),
            tag(4, ActionType.ADD_TAG, u2, "待删"),
            tag(5, ActionType.REMOVE_TAG, u2, "待删"),
            tag(6, ActionType.REMOVE_TAG, u2, "从没有过"),
        ],
    )
    await own_dispatcher(app).run_until_idle()
    stored = rows(app)
    assert [r.status for r in stored] == ["done"] * 6
    assert [r.result["details"]["changed"] for r in stored] == [
        True,
        False,
        True,
        True,
        True,
        False,
    ]
    assert tags_of(app, u1) == [("活跃", "rule")], "the tag was created once, source rule"
    assert tags_of(app, u2) == [("活跃", "rule")]
    with app.engine.connect() as conn:
        assert sorted(conn.execute(select(Tag.name)).scalars()) == ["待删", "活跃"]


async def test_a_merged_member_is_tagged_as_the_member_that_absorbed_them(app: App) -> None:
    ref = app.community("c")
    app.ingestor(ref).ingest_many([event(1, actor="u1"), event(2, actor="u2")])
    keep, gone = member_of(app, "u1"), member_of(app, "u2")
    with app.engine.begin() as conn:
        merge_members(conn, keep, gone)
    put(
        app,
        ref.community_id,
        [Action(ActionType.ADD_TAG, member_id=gone, params={"tag": "老朋友"}, key="t")],
    )
    await own_dispatcher(app).run_until_idle()
    assert tags_of(app, keep) == [("老朋友", "rule")] and tags_of(app, gone) == []


async def test_points_and_bad_tag_actions_fail_with_their_reason(app: App) -> None:
    ref = app.community("c")
    app.ingestor(ref).ingest_many([event(1, actor="u1")])
    u1 = member_of(app, "u1")
    put(
        app,
        ref.community_id,
        [
            Action(ActionType.ADD_POINTS, member_id=u1, params={"points": 5}, key="p"),
            Action(ActionType.ADD_TAG, member_id=u1, key="no-name"),
            Action(ActionType.ADD_TAG, member_id=u1, params={"tag": "a\x1bb"}, key="ctrl"),
            Action(ActionType.ADD_TAG, member_id=u1 + 1000, params={"tag": "x"}, key="nobody"),
        ],
    )
    await own_dispatcher(app).run_until_idle()
    outcome = {r.idempotency_key: (r.status, r.last_error, r.attempts) for r in rows(app)}
    assert outcome["p"] == ("failed", NO_LEDGER, 1), "failed at once, not retried"
    assert outcome["no-name"][:2] == ("failed", "add_tag: params.tag must name the tag")
    assert "control characters" in outcome["ctrl"][1]
    assert (
        outcome["nobody"][1] == f"add_tag: member {u1 + 1000} is not in this community's workspace"
    )
    assert tags_of(app, u1) == []


async def test_the_performer_alone_is_idempotent_by_key(app: App) -> None:
    cid = app.community("c").community_id
    performer = InternalActions(app.engine, clock=app.clock)
    first = await performer.perform(cid, hold_notice("k1"))
    second = await performer.perform(cid, hold_notice("k1"))
    other = await performer.perform(cid, hold_notice("k2"))
    assert first == second and first != other
    with app.engine.connect() as conn:
        assert [t.source_key for t in task_rows(conn, cid)] == ["k2", "k1"]


# --- end to end ---------------------------------------------------------------------------


async def test_a_request_held_by_a_broken_rule_reaches_the_operator_inbox(app: App) -> None:
    cid = app.community("读书会").community_id
    broken = {"checks": [{"kind": "question", "id": "q", "mode": "regex", "pattern": "(a+)+"}]}
    with app.engine.begin() as conn:
        conn.execute(
            insert(GroupRule).values(
                community_id=cid,
                kind="admission",
                name="手改坏了",
                config=broken,
                created_at=START,
                updated_at=START,
            )
        )
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    runtime.tick_s = 3600
    running = asyncio.create_task(runtime.run())
    try:
        await runtime.started()
        await until(lambda: runtime.supervisor.states.get("sim-bot") == "connected")
        world.ask_to_join("g0", "u7", "小李", "问题：从哪里知道本群？\n答案：aaaa")
        await until(lambda: len(tasks(app)) == 1)
        await until(lambda: {r.status for r in rows(app)} == {"done"})
    finally:
        runtime.stop()
        await running
    (task,) = tasks(app)
    assert task.kind == kinds.ADMISSION_HOLD and task.community_id == cid
    assert "入群申请待审核" in task.text and "无法加载" in task.text
    assert (task.platform, task.group_ref, task.user_ref) == ("sim", "g0", "u7")
    assert task.group_id is not None, "the group is known to shequn"
    assert "u7" in world.groups["g0"].requests, "the request waits for the operator"
    (row,) = [r for r in rows(app) if r.type == "notify_operator"]
    assert row.platform is None and row.idempotency_key == task.source_key
