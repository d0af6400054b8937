"""Admission at work: join requests decided, newcomers welcomed, lobbies promoted, cards set.

Each scenario runs the stored rules through the real ingest pipeline (and, for the ones a
member would see, the real bot runtime on the simulated platform), on both databases.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from dispatching import rows, world_with_groups
from factories import START, event
from running import running, until, write
from shequn.app import App, default_processors
from shequn.core import ActionType, EventType, Mention, Message
from shequn.features.admission.processor import AdmissionProcessor
from shequn.features.admission.service import (
    CodeError,
    CodeNotFound,
    code_rows,
    create_codes,
    disable_code,
    uses_by_source,
)
from shequn.features.admission.store import Loaded, RuleBook
from shequn.features.admission.ticker import AdmissionTicker
from shequn.features.moderation.service import blacklist_add
from shequn.features.rules.service import StoredRule, save_rule
from shequn.models import (
    Group,
    GroupRule,
    Identity,
    InviteCode,
    MemberTag,
    ModerationEntry,
    RuleState,
    Tag,
)
from shequn.runtime.ticks import run_ticks

pytestmark = pytest.mark.anyio
SIM = {"kind": "sim", "name": "sim-bot", "community": "读书会"}
QUESTION = {
    "checks": [
        {"kind": "question", "id": "q", "question": "从哪里知道本群？", "keywords": ["读书"]}
    ]
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def rule(app: App, cid: int, kind: str, name: str, config: dict, **kw: Any) -> int:
    with app.engine.begin() as conn:
        return save_rule(conn, cid, kind, name, config, now=app.clock.now(), **kw)


def ingestor(app: App, name: str = "读书会", **kw: Any):
    """The pipeline with the seats and admission only: what this feature needs, and nothing
    another feature could change."""
    processors = [*default_processors(), AdmissionProcessor(**kw)]
    return app.ingestor(app.community(name), processors)


def queued(app: App, kind: ActionType | None = None) -> list[Any]:
    return [r for r in rows(app) if kind is None or r.type == kind.value]


def tick(app: App, ticker: AdmissionTicker) -> int:
    report = run_ticks(app.engine, [ticker], app.clock.now())
    assert report.failed == {}
    return report.queued


def settled(app: App) -> bool:
    """Nothing due now is left in the outbox for the platform."""
    now = app.clock.now()
    return not any(
        r.status in ("pending", "in_flight") and r.platform and r.not_before <= now
        for r in rows(app)
    )


# --- join requests ------------------------------------------------------------------------


async def test_screening_answers_let_members_in_or_turn_them_away(app: App) -> None:
    cid = app.community("读书会").community_id
    rule(app, cid, "admission", "入群问题", QUESTION)
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime, tick_s=3600):
        world.ask_to_join("g0", "u7", "小李", "问题：从哪里知道本群？\n答案：读书会的朋友推荐")
        world.ask_to_join("g0", "u8", "路人", "问题：从哪里知道本群？\n答案：随便看看")
        await until(lambda: not world.groups["g0"].requests)
    assert "u7" in world.groups["g0"].members and "u8" not in world.groups["g0"].members
    done = {(p.type, p.user) for p in world.journal()}
    assert done == {("approve_join", "u7"), ("reject_join", "u8")}
    (refusal,) = queued(app, ActionType.REJECT_JOIN)
    assert refusal.action["params"]["reason"] == "答案不符合本群要求。"
    with app.engine.connect() as conn:
        entries = ModerationEntry.__table__
        log = conn.execute(select(entries).order_by(entries.c.id)).all()
    assert [(e.user_ref, e.kind, [a["type"] for a in e.actions]) for e in log] == [
        ("u7", "admission", ["approve_join"]),
        ("u8", "admission", ["reject_join"]),
    ]
    assert "读书" in log[0].matched and log[1].matched == "随便看看"
    assert json.loads(log[1].reason)["zh"] == "答案“随便看看”未包含任一关键词"


def test_invite_codes_are_spent_once_expire_and_are_counted_per_source(app: App) -> None:
    cid = app.community("读书会").community_id
    other = app.community("别的社群").community_id
    rule(app, cid, "admission", "邀请码", {"checks": [{"kind": "invite_code", "id": "c"}]})
    with app.engine.begin() as conn:
        (poster,) = create_codes(
            conn,
            cid,
            group_id=None,
            source="海报",
            count=1,
            max_uses=1,
            expires_at=None,
            now=START,
        )
        (letter,) = create_codes(
            conn,
            cid,
            group_id=None,
            source="公众号",
            count=1,
            max_uses=None,
            expires_at=START + timedelta(days=1),
            now=START,
        )
    pipeline = ingestor(app)

    def ask(n: int, user: str, code: str, **kw: Any) -> str:
        before = {r.id for r in rows(app)}
        pipeline.ingest(event(n, EventType.JOIN_REQUEST, actor=user, invite_code=code, **kw))
        (new,) = [r for r in rows(app) if r.id not in before]
        return new.type

    assert ask(1, "u1", poster.lower()) == "approve_join"
    assert ask(2, "u2", poster) == "reject_join", "single use: the second is refused"
    assert ask(3, "u1", poster) == "approve_join", "its redeemer retrying is let in again"
    assert ask(4, "u3", letter) == "approve_join"
    assert ask(5, "u4", letter, at=START + timedelta(days=2)) == "reject_join", "expired"
    assert ask(6, "u5", "NOSUCH99") == "reject_join"
    refusals = [r.action["params"]["reason"] for r in queued(app, ActionType.REJECT_JOIN)]
    assert refusals == [
        f"邀请码 {poster} 已用完。",
        f"邀请码 {letter} 已过期。",
        "邀请码 NOSUCH99 不存在。",
    ]
    with app.engine.connect() as conn:
        assert uses_by_source(conn, cid) == {"公众号": 1, "海报": 1}
        listed = code_rows(conn, cid)
        assert [(c.code, c.source, c.uses, c.max_uses) for c in listed] == [
            (letter, "公众号", 1, None),
            (poster, "海报", 1, 1),
        ]
        assert code_rows(conn, cid, before_id=listed[0].id) == listed[1:]
        tagged = conn.execute(
            select(Identity.external_id, Tag.name, MemberTag.source)
            .join(MemberTag, MemberTag.member_id == Identity.member_id)
            .join(Tag, Tag.id == MemberTag.tag_id)
            .order_by(Identity.external_id)
        ).all()
    assert tagged == [("u1", "source:海报", "admission"), ("u3", "source:公众号", "admission")]
    with app.engine.begin() as conn:
        disable_code(conn, cid, listed[0].id)
        with pytest.raises(CodeNotFound):
            disable_code(conn, other, listed[0].id)
    assert ask(7, "u3", letter) == "reject_join", "a withdrawn code refuses even its users"


def test_codes_on_terms_that_cannot_work_are_refused_whole(app: App) -> None:
    cid = app.community("读书会").community_id
    other = app.community("别的社群").community_id
    pipeline = ingestor(app, "别的社群")
    pipeline.ingest(event(1, EventType.JOIN, group="elsewhere"))
    with app.engine.connect() as conn:
        foreign = conn.execute(select(Group.id)).scalar_one()
    with app.engine.begin() as conn, pytest.raises(CodeError) as refused:
        create_codes(
            conn,
            cid,
            group_id=foreign,
            source="x" * 65,
            count=0,
            max_uses=0,
            expires_at=START - timedelta(hours=1),
            now=START,
        )
    said = str(refused.value)
    for field in ("count", "source", "max_uses", "expires_at", "group_id"):
        assert field in said
    with app.engine.begin() as conn:
        made = create_codes(
            conn,
            other,
            group_id=foreign,
            source="",
            count=30,
            max_uses=None,
            expires_at=None,
            now=START,
        )
        stored = conn.execute(select(InviteCode.code, InviteCode.group_id)).all()
    assert len(set(made)) == 30 and sorted(made) == sorted(c for c, _ in stored)
    assert {g for _, g in stored} == {foreign}


def test_paid_entry_follows_the_members_orders(app: App) -> None:
    cid = app.community("读书会").community_id
    fee = {"kind": "payment", "id": "pay", "fee": "99", "currency": "CNY"}
    rule(app, cid, "admission", "付费入群", {"checks": [fee]})
    pipeline = ingestor(app)
    order = {"order_id": "o-1", "amount": "99.00", "currency": "cny", "product": "年卡"}
    pipeline.ingest(event(1, EventType.PURCHASE, group=None, actor="u5", **order))
    pipeline.ingest(event(2, EventType.PURCHASE, group=None, actor="u6", order_id="o-2", amount=9))
    pipeline.ingest(event(3, EventType.JOIN_REQUEST, actor="u5"))
    pipeline.ingest(event(4, EventType.JOIN_REQUEST, actor="u6"))
    pipeline.ingest(event(5, EventType.JOIN_REQUEST, actor="u7"))
    decided = [(r.type, r.action.get("user")) for r in rows(app)]
    assert decided == [
        ("approve_join", "u5"),
        ("reject_join", "u6"),
        ("notify_operator", "u7"),
    ], "paid in full, paid too little, no order yet (held for an operator)"
    held = queued(app, ActionType.NOTIFY_OPERATOR)[0]
    assert (
        held.platform is None
        and "尚无购买记录" in Message.from_list(held.action["message"]).plain_text()
    )


def test_a_stored_rule_that_no_longer_builds_holds_requests_and_tells_an_operator(
    app: App,
) -> None:
    cid = app.community("读书会").community_id
    broken = {"checks": [{"kind": "question", "id": "q", "mode": "regex", "pattern": "(a+)+"}]}
    with app.engine.begin() as conn:
        for kind, config in (("admission", broken), ("welcome", {"text": "欢迎 {city}"})):
            conn.execute(
                insert(GroupRule).values(
                    community_id=cid,
                    kind=kind,
                    name="手改坏了",
                    config=config,
                    created_at=START,
                    updated_at=START,
                )
            )
    pipeline = ingestor(app)
    pipeline.ingest(event(1, EventType.JOIN_REQUEST, actor="u1", answer="aaaa"))
    pipeline.ingest(event(2, EventType.JOIN, actor="u2"))
    pipeline.ingest(event(3, EventType.JOIN, actor="u3"))
    kinds = [r.type for r in rows(app)]
    assert kinds == ["notify_operator", "notify_operator"], "one hold, one notice for the welcome"
    hold, notice = (Message.from_list(r.action["message"]).plain_text() for r in rows(app))
    assert "入群申请待审核" in hold and "无法加载" in hold
    assert "手改坏了" in notice and "{city}" in notice


# --- arrivals -----------------------------------------------------------------------------


WELCOME = {
    "text": "欢迎 {name} 加入{group}！请先看群规：{rules}",
    "rules_text": "1. 友善交流 2. 不发广告",
    "batch_window_s": 60,
    "delete_after_s": 600,
}


async def test_newcomers_arriving_together_get_one_welcome_deleted_later(app: App) -> None:
    cid = app.community("读书会").community_id
    rule(app, cid, "welcome", "欢迎", WELCOME)
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    group = world.groups["g0"]
    async with running(runtime, tick_s=3600):
        for user, name in (("n1", "小一"), ("n2", "小二"), ("n3", "小三")):
            world.join("g0", user, name)
            app.clock.advance(timedelta(seconds=10))
        await until(lambda: runtime.stats.stored == 3)
        assert await runtime.tick() == 0, "the batch's window is still open"
        app.clock.advance(timedelta(seconds=31))
        assert await runtime.tick() == 1
        await until(lambda: any(m.by_bot for m in group.messages))
        await until(lambda: settled(app))
        assert await runtime.tick() == 1, "the sent welcome's deletion is queued"
        assert await runtime.tick() == 0
        (welcome,) = [m for m in group.messages if m.by_bot]
        mentioned = [s.user for s in welcome.message.segments if isinstance(s, Mention)]
        assert mentioned == ["n1", "n2", "n3"]
        assert "不发广告" in welcome.message.plain_text()
        app.clock.advance(timedelta(seconds=599))
        runtime.dispatcher.wake()
        await asyncio.sleep(0.3)
        assert not welcome.deleted
        app.clock.advance(timedelta(seconds=2))
        runtime.dispatcher.wake()
        await until(lambda: welcome.deleted)

        world.say("g0", "n1", "/rules")
        await until(lambda: len([m for m in group.messages if m.by_bot]) == 2)
    answer = [m for m in group.messages if m.by_bot][-1].message.plain_text()
    assert answer.endswith("1. 友善交流 2. 不发广告")


async def test_the_lobby_promotes_a_member_once_after_their_days(app: App) -> None:
    cid = app.community("读书会").community_id
    lobby = {
        "lobby": {"platform": "sim", "group": "g0", "name": "新人客厅"},
        "main": {"platform": "sim", "group": "g1", "name": "读书会正式群"},
        "intro_min_chars": 10,
        "min_days": 3,
        "kick_after_s": 3600,
    }
    rule(app, cid, "lobby", "客厅", lobby)
    world = world_with_groups(app.clock, 2, members=0)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime, tick_s=3600):
        world.join("g0", "u9", "小王")
        world.say("g0", "u9", "大家好")
        world.say("g0", "u9", "大家好，我是小王，在杭州做产品经理")
        world.say("g0", "u9", "今天读完了第一章")
        await until(lambda: runtime.stats.stored == 4)
        app.clock.advance(timedelta(days=3) - timedelta(minutes=1))
        assert await runtime.tick() == 0, "a day short of three"
        app.clock.advance(timedelta(minutes=1))
        assert await runtime.tick() == 3, "invite, congratulate, and the kick for later"
        await until(lambda: "u9" in world.groups["g1"].members)
        assert await runtime.tick() == 0, "promoted once"
        congratulation = [m for m in world.groups["g0"].messages if m.by_bot]
        assert "读书会正式群" in congratulation[0].message.plain_text()
        assert "u9" in world.groups["g0"].members, "removed from the lobby only later"
        app.clock.advance(timedelta(hours=1))
        runtime.dispatcher.wake()
        await until(lambda: "u9" not in world.groups["g0"].members)
        await until(lambda: runtime.stats.stored == 6)  # the join to g1, the leave from g0
        assert await runtime.tick() == 0
    done = sorted((p.type, p.group) for p in world.journal())
    assert done == [("invite", "g1"), ("kick", "g0"), ("send_message", "g0")]
    with app.engine.connect() as conn:
        assert conn.execute(select(RuleState)).all() == [], "the stay ended with the leave"


async def test_a_card_is_set_where_the_platform_allows_it(app: App) -> None:
    cid = app.community("读书会").community_id
    rule(app, cid, "namecard", "名片", {"text": "{number}-{nickname}"})
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime, tick_s=3600):
        world.join("g0", "u9", "小王")
        await until(lambda: world.groups["g0"].members["u9"].card == "1-小王")
        await until(lambda: runtime.stats.stored == 2)  # the join, then the card change
    ((to, said),) = world.direct
    assert to == "u9" and "已帮你改为「1-小王」" in said.plain_text()
    with app.engine.connect() as conn:
        assert conn.execute(select(RuleState)).all() == [], "a fitting card ends the reminders"


def test_a_card_that_cannot_be_set_is_reminded_about_once_a_day_three_times(app: App) -> None:
    cid = app.community("读书会").community_id
    rule(app, cid, "namecard", "名片", {"text": "{number}-{city}-{nickname}"})
    pipeline = ingestor(app)
    ticker = AdmissionTicker()
    pipeline.ingest(event(0, EventType.JOIN, actor="u1", at=START))
    pipeline.ingest(event(1, EventType.MEMBER_UPDATE, actor="u1", at=START, card="小王"))
    assert [r.type for r in rows(app)] == ["direct_message"], "one reminder at the join"
    assert "建议" not in Message.from_list(rows(app)[0].action["message"]).plain_text()
    reminders = []
    for _ in range(4):
        app.clock.advance(timedelta(days=1))
        reminders.append(tick(app, ticker))
        assert tick(app, ticker) == 0, "once per period, however often the ticks come"
    assert reminders == [1, 1, 0, 0], "three reminders at most, a day apart"
    assert len(queued(app, ActionType.DIRECT_MESSAGE)) == 3
    pipeline.ingest(event(2, EventType.MEMBER_UPDATE, actor="u1", card="1-上海-小王"))
    with app.engine.connect() as conn:
        assert conn.execute(select(RuleState)).all() == []


def test_a_groups_own_rule_replaces_the_communitys_there() -> None:
    def stored(rule_id: int, group_id: int | None, enabled: bool = True) -> Loaded:
        row = StoredRule(rule_id, 1, group_id, "welcome", "w", 0, enabled, {}, START)
        return Loaded(row, logic=object())

    book = RuleBook({"welcome": (stored(1, None), stored(2, 7), stored(3, 8, enabled=False))})
    assert book.effective("welcome", 7).id == 2
    assert book.effective("welcome", 9).id == 1
    assert book.effective("welcome", 8) is None, "switched off there: none in that group"
    assert book.effective("admission", 7) is None


async def test_a_blacklisted_applicant_is_refused_even_with_the_right_answer(app: App) -> None:
    cid = app.community("读书会").community_id
    rule(app, cid, "admission", "入群问题", QUESTION)
    world = world_with_groups(app.clock, 2)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime, tick_s=3600):
        world.join("g1", "u9", "老骗子")
        await until(lambda: _member_of(app, "u9") is not None)
        member = _member_of(app, "u9")
        assert member is not None
        with write(app) as conn:  # the runtime writes too: take the lock up front
            blacklist_add(conn, cid, member, reason="诈骗", operator_id=None, now=app.clock.now())
        runtime.dispatcher.wake()
        await until(lambda: "u9" not in world.groups["g1"].members)
        world.ask_to_join("g0", "u9", "老骗子", "问题：从哪里知道本群？\n答案：读书会的朋友推荐")
        await until(lambda: not world.groups["g0"].requests)
    assert "u9" not in world.groups["g0"].members
    decided = [p.type for p in world.journal() if p.user == "u9" and p.group == "g0"]
    assert decided == ["reject_join"]
    # Refused once, by the blacklist: admission does not decide the request a second time.
    assert queued(app, ActionType.APPROVE_JOIN) == []
    assert len(queued(app, ActionType.REJECT_JOIN)) == 1


def _member_of(app: App, user: str) -> int | None:
    with app.engine.connect() as conn:
        return conn.execute(
            select(Identity.__table__.c.member_id).where(Identity.__table__.c.external_id == user)
        ).scalar()
