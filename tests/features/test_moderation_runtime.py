"""Moderation at work: the processor on real ingests, the operator service, the window
ticker, and the bot runtime end to end on the simulated platform, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from dispatching import rows, world_with_groups
from factories import START, event
from running import running, until
from shequn.app import App, live_processors
from shequn.core import ActionType, EventType, Mention, Message
from shequn.features.community.setup import CommunityRef
from shequn.features.moderation import DailyWindow, OneOffWindow, Target
from shequn.features.moderation.policies import broken_rules, compile_policies
from shequn.features.moderation.service import (
    AlreadyUndone,
    EntryNotFound,
    NothingToUndo,
    blacklist_add,
    blacklist_entries,
    blacklist_remove,
    log_entries,
    undo,
)
from shequn.features.moderation.store import histories
from shequn.features.moderation.ticker import STATE_KEY, WindowTicker, opened_at
from shequn.features.rules.service import StoredRule, save_rule, set_enabled
from shequn.models import Group, GroupRule, Identity, RuleState

pytestmark = pytest.mark.anyio
SIM = {"kind": "sim", "name": "sim-bot", "community": "社群"}
BANNED = {"kind": "banned_words", "params": {"words": ["加微信"]}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- helpers ------------------------------------------------------------------------------


def rule(app: App, cid: int, name: str, config: dict[str, Any], **kw: Any) -> int:
    with app.engine.begin() as conn:
        return save_rule(
            conn, cid, kw.pop("kind", "moderation"), name, config, now=app.clock.now(), **kw
        )


def feed(app: App, ref: CommunityRef, *events: Any) -> None:
    app.ingestor(ref, live_processors()).ingest_many(list(events))


def said(n: int, text: str, *, group: str = "g1", actor: str = "u1", at: datetime | None = None):
    return event(n, text=text, group=group, actor=actor, at=at, message_id=f"m{n}")


def queued(app: App, kind: ActionType | None = None) -> list[Any]:
    return [r for r in rows(app) if kind is None or r.type == kind.value]


def member_of(app: App, user: str) -> int:
    with app.engine.connect() as conn:
        return conn.execute(
            select(Identity.member_id).where(Identity.external_id == user)
        ).scalar_one()


def entries(app: App, cid: int, **kw: Any):
    with app.engine.connect() as conn:
        return log_entries(conn, cid, **kw)


# --- end to end on the bot runtime --------------------------------------------------------


async def test_a_banned_word_is_deleted_warned_and_logged_and_gets_no_auto_reply(
    app: App,
) -> None:
    cid = app.community("社群").community_id
    rule(app, cid, "禁止引流", BANNED)
    rule(
        app,
        cid,
        "微信",
        {"kind": "contains", "patterns": ["微信"], "reply": "官方微信见公告"},
        kind="autoreply",
    )
    world = world_with_groups(app.clock, 1)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):
        world.say("g0", "u1", "想要资料的加微信 abc123")
        group = world.groups["g0"]
        await until(lambda: group.messages[0].deleted and any(m.by_bot for m in group.messages))
    bot = [m.message.plain_text() for m in group.messages if m.by_bot]
    assert len(bot) == 1 and "禁止引流" in bot[0] and "第 1 次警告" in bot[0]
    assert not any(":autoreply:" in r.idempotency_key for r in rows(app)), "no auto-reply"
    (entry,) = entries(app, cid)
    assert (entry.kind, entry.rule_name, entry.matched, entry.warning) == (
        "banned_words",
        "禁止引流",
        "加微信",
        True,
    )
    assert entry.reason["zh"] == "包含违禁词“加微信”" and entry.user_ref == "u1"
    assert [a["type"] for a in entry.actions] == ["delete_message", "send_message"]
    assert all(a["key"].startswith("moderation:") for a in entry.actions)
    assert entry.undoable, "the warning can be withdrawn"


async def test_a_window_mutes_and_unmutes_a_group_once_on_the_bot_runtime(app: App) -> None:
    cid = app.community("社群").community_id  # Asia/Shanghai: START is 17:00 there
    window = {
        "kind": "daily",
        "start": "17:00",
        "end": "18:00",
        "targets": [{"platform": "sim", "group": "g0"}, {"platform": "sim", "group": "g1"}],
    }
    rid = rule(app, cid, "晚间讲座", window, kind="window")
    world = world_with_groups(app.clock, 2)
    runtime = app.bot_runtime([SIM], world=world)
    async with running(runtime):  # the runtime ticks once as it starts, then every 15 s

        async def tick_twice() -> list[tuple[str, str]]:
            await runtime.tick()
            await runtime.tick()
            return sorted((r.type, r.group_ref) for r in rows(app))

        assert await tick_twice() == [("mute_all", "g0"), ("mute_all", "g1")]
        await until(lambda: world.groups["g0"].muted_all and world.groups["g1"].muted_all)
        app.clock.advance(timedelta(minutes=30))
        with app.engine.begin() as conn:  # g1 leaves the window mid-way: it opens at once
            narrower = {**window, "targets": window["targets"][:1]}
            save_rule(conn, cid, "window", "晚间讲座", narrower, now=app.clock.now(), rule_id=rid)
        assert len(await tick_twice()) == 3
        await until(lambda: not world.groups["g1"].muted_all)
        assert world.groups["g0"].muted_all
        app.clock.advance(timedelta(minutes=31))
        assert len(await tick_twice()) == 4
        await until(lambda: not world.groups["g0"].muted_all)
    kinds = [(r.type, r.group_ref) for r in rows(app)]
    assert sorted(kinds) == [
        ("mute_all", "g0"),
        ("mute_all", "g1"),
        ("unmute_all", "g0"),
        ("unmute_all", "g1"),
    ]
    reasons = {r.group_ref: r.action["reason"] for r in queued(app, ActionType.UNMUTE_ALL)}
    assert reasons == {
        "g0": "「晚间讲座」结束（17:00–18:00（Asia/Shanghai））",
        "g1": "「晚间讲座」已不再生效",
    }


# --- the processor ------------------------------------------------------------------------


def test_three_warnings_reach_the_ladder_and_a_mute(app: App) -> None:
    ref = app.community("社群")
    rule(app, ref.community_id, "禁止引流", BANNED)
    feed(app, ref, *(said(n, f"加微信 {n}") for n in range(1, 4)))
    mutes = queued(app, ActionType.MUTE)
    assert len(mutes) == 1 and mutes[0].action["duration_s"] == 86400
    assert mutes[0].action["user"] == "u1" and mutes[0].idempotency_key.startswith("moderation:")
    assert len(queued(app, ActionType.DELETE_MESSAGE)) == 3
    notices = [r.action for r in queued(app, ActionType.SEND_MESSAGE)]
    assert "第 3 次警告" in Message.from_list(notices[-1]["message"]).plain_text()
    logged = entries(app, ref.community_id)
    assert [len(e.actions) for e in logged] == [3, 2, 2], "newest first; the last one mutes"
    with app.engine.connect() as conn:
        (history,) = histories(conn, [(ref.community_id, "sim", "u1")]).values()
    assert len(history.warnings) == 3
    # the same events again are duplicates: nothing is decided twice
    feed(app, ref, *(said(n, f"加微信 {n}") for n in range(1, 4)))
    assert len(entries(app, ref.community_id)) == 3


def test_flooding_a_group_is_caught_and_quiet_members_are_not(app: App) -> None:
    ref = app.community("社群")
    rule(
        app,
        ref.community_id,
        "刷屏",
        {"kind": "flood", "params": {"count": 3, "seconds": 10}, "actions": ["delete"]},
    )
    at = START + timedelta(hours=1)
    feed(app, ref, *(said(n, f"第{n}条", at=at + timedelta(seconds=n)) for n in range(1, 4)))
    feed(
        app,
        ref,
        *(
            said(10 + n, f"慢慢说{n}", actor="u2", at=at + timedelta(seconds=20 * n))
            for n in range(3)
        ),
    )
    (deleted,) = queued(app, ActionType.DELETE_MESSAGE)
    assert (deleted.action["user"], deleted.action["target_message"]) == ("u1", "m3")
    (entry,) = entries(app, ref.community_id)
    assert entry.kind == "flood" and entry.matched.startswith("3 messages")


def test_the_same_message_across_groups_is_deleted_everywhere(app: App) -> None:
    ref = app.community("社群")
    config = {
        "kind": "repeat",
        "params": {"groups": 2, "seconds": 600},
        "actions": ["delete", "kick"],
    }
    rule(app, ref.community_id, "多群刷广告", config)
    feed(app, ref, said(1, "低价出售会员资格，私聊", group="g1"))
    feed(app, ref, said(2, "低价出售会员资格，私聊！", group="g2"))
    deleted = {
        (r.group_ref, r.action["target_message"]) for r in queued(app, ActionType.DELETE_MESSAGE)
    }
    assert deleted == {("g1", "m1"), ("g2", "m2")}
    (kick,) = queued(app, ActionType.KICK)
    assert (kick.group_ref, kick.action["user"]) == ("g2", "u1")


def test_new_members_may_not_post_links_but_members_seen_before_may(app: App) -> None:
    ref = app.community("社群")
    rule(
        app,
        ref.community_id,
        "新人限制",
        {"kind": "new_member", "params": {"hours": 24}, "actions": ["delete"]},
    )
    feed(
        app,
        ref,
        event(1, EventType.JOIN, actor="new"),
        said(2, "看看 https://spam.example/x", actor="new"),
        said(3, "看看 https://docs.example/y", actor="old"),  # seen speaking: join unknown
    )
    (deleted,) = queued(app, ActionType.DELETE_MESSAGE)
    assert deleted.action["user"] == "new"


def test_admins_are_exempt_and_their_warnings_count_on_the_ladder(app: App) -> None:
    ref = app.community("社群")
    rule(app, ref.community_id, "禁止引流", BANNED)
    feed(
        app,
        ref,
        event(1, EventType.JOIN, actor="boss", role="admin"),
        event(2, EventType.JOIN, actor="u1"),
    )

    def warn(n: int) -> Any:
        text = Message.of("/warn ", Mention(user="u1", name="小王"), f" 刷屏{n}")
        base = event(n, group="g1", actor="boss", message_id=f"m{n}")
        return base.with_(message=text)

    feed(app, ref, said(3, "加微信找我", actor="boss"), warn(4), warn(5), warn(6))
    assert queued(app, ActionType.DELETE_MESSAGE) == [], "admins are exempt by default"
    replies = [
        r for r in queued(app, ActionType.REPLY) if r.action.get("params", {}).get("warning")
    ]
    assert len(replies) == 3, "the commands processor alone sends each warning"
    (mute,) = queued(app, ActionType.MUTE)
    assert (mute.action["user"], mute.action["duration_s"]) == ("u1", 86400)
    logged = entries(app, ref.community_id, kind="warn")
    assert [e.matched for e in logged] == ["刷屏6", "刷屏5", "刷屏4"]
    assert logged[0].member_id == member_of(app, "u1")
    assert [a["type"] for a in logged[0].actions] == ["reply", "mute", "send_message"]


def test_a_member_may_not_warn_and_is_not_counted(app: App) -> None:
    ref = app.community("社群")
    text = Message.of("/warn ", Mention(user="u2", name="小李"))
    feed(app, ref, event(1, group="g1", actor="u1", message_id="m1").with_(message=text))
    assert entries(app, ref.community_id) == []
    assert len(queued(app, ActionType.REPLY)) == 1, "the refusal, from the commands processor"


def test_a_bad_stored_rule_is_skipped_and_the_others_still_work(app: App) -> None:
    ref = app.community("社群")
    now = app.clock.now()
    with app.engine.begin() as conn:
        conn.execute(
            insert(GroupRule).values(
                community_id=ref.community_id,
                kind="moderation",
                name="旧规则",
                position=0,
                enabled=True,
                config={"kind": "telepathy"},
                created_at=now,
                updated_at=now,
            )
        )
    rule(app, ref.community_id, "禁止引流", BANNED, position=1)
    feed(app, ref, said(1, "加微信"))
    assert len(queued(app, ActionType.DELETE_MESSAGE)) == 1
    with app.engine.connect() as conn:
        (bad,) = broken_rules(conn, ref.community_id)
    assert bad.name == "旧规则" and "telepathy" in bad.text("en")


def test_a_group_override_replaces_the_community_rule_of_the_same_name(app: App) -> None:
    ref = app.community("社群")
    rule(app, ref.community_id, "禁止引流", BANNED)
    feed(app, ref, said(1, "你好", group="g2"))
    with app.engine.connect() as conn:
        g2 = conn.execute(select(Group.id).where(Group.external_id == "g2")).scalar_one()
    rule(app, ref.community_id, "禁止引流", BANNED, group_id=g2, enabled=False)
    feed(app, ref, said(2, "加微信", group="g1"), said(3, "加微信", group="g2", actor="u2"))
    (deleted,) = queued(app, ActionType.DELETE_MESSAGE)
    assert deleted.group_ref == "g1"


# --- the blacklist ------------------------------------------------------------------------


def test_the_blacklist_removes_a_member_everywhere_and_keeps_them_out(app: App) -> None:
    ref, other = app.community("社群"), app.community("兄弟社群")
    feed(
        app,
        ref,
        event(1, EventType.JOIN, group="g1", actor="bad"),
        event(2, EventType.JOIN, group="g2", actor="bad"),
    )
    feed(app, other, event(3, EventType.JOIN, group="h1", actor="bad", source="other"))
    member = member_of(app, "bad")
    with app.engine.begin() as conn:
        entry = blacklist_add(
            conn, ref.community_id, member, reason="诈骗", operator_id=None, now=app.clock.now()
        )
        assert (
            blacklist_add(
                conn, ref.community_id, member, reason="诈骗", operator_id=None, now=app.clock.now()
            )
            == entry
        )
    removals = sorted((r.community_id, r.group_ref, r.type) for r in rows(app))
    assert removals == [
        (ref.community_id, "g1", "ban"),
        (ref.community_id, "g1", "kick"),
        (ref.community_id, "g2", "ban"),
        (ref.community_id, "g2", "kick"),
        (other.community_id, "h1", "ban"),
        (other.community_id, "h1", "kick"),
    ]
    assert [e.kind for e in entries(app, other.community_id)] == ["blacklist"]
    with app.engine.connect() as conn:
        (listed,) = blacklist_entries(conn, other.community_id)
    assert (listed.member_id, listed.reason, listed.accounts) == (member, "诈骗", (("sim", "bad"),))

    before = len(rows(app))
    feed(
        app,
        ref,
        event(10, EventType.JOIN_REQUEST, group="g3", actor="bad", request_id="r1"),
        event(11, EventType.JOIN, group="g4", actor="bad"),
        said(12, "我又回来了", group="g4", actor="bad"),
    )
    new = [(r.type, r.group_ref) for r in rows(app)[before:]]
    assert ("reject_join", "g3") in new and ("ban", "g4") in new and ("delete_message", "g4") in new
    refusal = next(r for r in rows(app) if r.type == "reject_join")
    assert refusal.action["params"]["request_id"] == "r1"
    assert len(entries(app, ref.community_id, kind="blacklist")) == 4

    with app.engine.begin() as conn:
        blacklist_remove(conn, ref.community_id, member, operator_id=7, now=app.clock.now())
        assert blacklist_entries(conn, ref.community_id) == []
    unbans = sorted((r.community_id, r.group_ref) for r in queued(app, ActionType.UNBAN))
    assert unbans == [
        (ref.community_id, "g1"),
        (ref.community_id, "g2"),
        (ref.community_id, "g4"),
        (other.community_id, "h1"),
    ]
    assert all(e.undone_by == 7 for e in entries(app, ref.community_id, kind="blacklist"))


# --- undo ---------------------------------------------------------------------------------


def test_undoing_a_mute_unmutes_withdraws_the_warning_and_marks_the_entry(app: App) -> None:
    ref = app.community("社群")
    cid = ref.community_id
    rule(
        app,
        cid,
        "骂人",
        {
            "kind": "banned_words",
            "params": {"words": ["笨蛋"]},
            "actions": ["delete", "warn", "mute"],
            "mute_s": 600,
        },
    )
    rule(app, cid, "链接", {"kind": "links", "actions": ["delete"]}, position=1)
    feed(app, ref, said(1, "你这个笨蛋"), said(2, "看 https://a.example"))
    link, insult = entries(app, cid)
    now = app.clock.now()
    with app.engine.begin() as conn:
        done = undo(conn, cid, insult.id, operator_id=3, now=now)
    assert [(a.type, a.user, a.key) for a in done] == [
        (ActionType.UNMUTE, "u1", f"moderation-undo:{insult.id}:0")
    ]
    assert done.withdrew_warning and any("deleted" in n.en for n in done.notes)
    (unmute,) = queued(app, ActionType.UNMUTE)
    assert unmute.idempotency_key == f"moderation-undo:{insult.id}:0"
    after = entries(app, cid)[1]
    assert (after.undone_by, after.undone_at, after.undoable) == (3, now, False)
    with app.engine.connect() as conn:
        (history,) = histories(conn, [(cid, "sim", "u1")]).values()
    assert history.warnings == ()
    with app.engine.begin() as conn:
        with pytest.raises(AlreadyUndone):
            undo(conn, cid, insult.id, operator_id=3, now=now)
        with pytest.raises(NothingToUndo, match="deleted message"):
            undo(conn, cid, link.id, operator_id=3, now=now)
        with pytest.raises(EntryNotFound):
            undo(conn, cid + 1, insult.id, operator_id=3, now=now)


def test_the_log_pages_back_and_filters(app: App) -> None:
    ref = app.community("社群")
    rule(app, ref.community_id, "禁止引流", {**BANNED, "actions": ["delete"]})
    feed(app, ref, *(said(n, "加微信", actor=f"u{n % 2}") for n in range(1, 6)))
    first = entries(app, ref.community_id, limit=2)
    rest = entries(app, ref.community_id, before_id=first[-1].id)
    ids = [e.id for e in first + rest]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)
    assert len(entries(app, ref.community_id, member_id=member_of(app, "u1"))) == 3
    assert entries(app, ref.community_id, kind="flood") == []


# --- the window ticker, directly ----------------------------------------------------------


def test_a_one_off_window_acts_once_per_edge_and_disabling_it_opens_the_group(app: App) -> None:
    ref = app.community("社群")
    start = app.clock.now() + timedelta(minutes=5)
    window = {
        "kind": "once",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "targets": [{"platform": "sim", "group": "g0"}],
    }
    rid = rule(app, ref.community_id, "分享会", window, kind="window")

    def tick() -> list[Any]:  # a new ticker each time: what it did is remembered in the database
        with app.engine.begin() as conn:
            return [p.action for p in WindowTicker().tick(conn, app.clock.now())]

    assert tick() == []
    app.clock.advance(timedelta(minutes=6))
    (mute,) = tick()
    assert mute.type is ActionType.MUTE_ALL and mute.key.startswith(f"window:{rid}:")
    assert tick() == [], "the held group is not muted again"
    with app.engine.begin() as conn:
        set_enabled(conn, ref.community_id, rid, False, now=app.clock.now())
    (unmute,) = tick()
    assert (unmute.type, unmute.key) == (ActionType.UNMUTE_ALL, f"{mute.key}:end")
    assert tick() == []
    with app.engine.connect() as conn:
        state = conn.execute(select(RuleState.value).where(RuleState.key == STATE_KEY)).scalar_one()
    assert state == {"held": []}


# --- pure parts ---------------------------------------------------------------------------


def test_a_night_window_opened_the_evening_before() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    night = DailyWindow("1", "夜间", time(23), time(7), (Target("sim", "g"),))
    at_two = datetime(2026, 3, 3, 2, 0, tzinfo=shanghai)
    assert opened_at(night, at_two, shanghai) == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    talk = OneOffWindow("2", "讲座", START, START + timedelta(hours=1), (Target("sim", "g"),))
    assert opened_at(talk, START + timedelta(minutes=5), shanghai) == START


def _stored(
    rid: int,
    name: str,
    config: dict,
    *,
    group: int | None = None,
    kind: str = "moderation",
    position: int = 0,
    enabled: bool = True,
) -> StoredRule:
    return StoredRule(rid, 1, group, kind, name, position, enabled, config, START)


def test_policies_put_group_overrides_in_place_and_skip_what_cannot_be_built() -> None:
    def words(*w: str) -> dict[str, Any]:
        return {"kind": "banned_words", "params": {"words": list(w)}}

    policies = compile_policies(
        [
            _stored(1, "A", words("a")),
            _stored(2, "B", words("b"), position=1),
            _stored(3, "B", words("bb"), group=7, position=2),
            _stored(4, "C", {"kind": "nope"}, group=7),
            _stored(
                5,
                "ladder",
                {"expiry_s": 3600, "steps": [{"at": 2, "penalty": "kick"}]},
                group=8,
                kind="ladder",
            ),
        ]
    )
    assert [r.id for r in policies.for_group(1).rules] == ["1", "2"]
    assert [r.id for r in policies.for_group(7).rules] == ["1", "3"]
    assert policies.for_group(8).ladder.expiry == timedelta(hours=1)
    assert policies.for_group(7).ladder == policies.default.ladder
    assert [b.rule_id for b in policies.broken] == [4]


@settings(max_examples=200, deadline=None)
@given(
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    hours=st.integers(min_value=1, max_value=23),
    at=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
)
def test_a_covered_instant_lies_within_a_day_of_its_window_opening(
    start: time, hours: int, at: datetime
) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    end = (datetime.combine(START.date(), start) + timedelta(hours=hours)).time()
    window = DailyWindow("1", "w", start, end, (Target("sim", "g"),))
    if not window.covers(at, shanghai):
        return
    opened = opened_at(window, at, shanghai)
    assert opened <= at < opened + timedelta(hours=hours)
    assert opened.astimezone(shanghai).time() == start and window.covers(opened, shanghai)
