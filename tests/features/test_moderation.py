"""Moderation rules: which rule a message breaks, what happens to the sender, and the
configurations that are refused before they can misbehave.

These decisions delete messages and remove people, so each rule kind is pinned with its
hits and near-misses, the actions are checked field by field, the warning ladder is
walked through time, the mute-all windows are checked across midnight and across a
daylight-saving change, and ``moderate`` is run on arbitrary input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import event
from shequn.core import Action, ActionType, EventType, Mention, Message, Role
from shequn.features.moderation import (
    Advertising,
    BannedWords,
    DailyWindow,
    Decision,
    Flood,
    History,
    Invites,
    Ladder,
    Links,
    MessageContext,
    NewMember,
    OneOffWindow,
    Patterns,
    Penalty,
    Phones,
    Policy,
    QrCodes,
    Repeat,
    Rule,
    RuleError,
    Sanction,
    Seat,
    Seen,
    Step,
    Target,
    blacklist_refusal,
    blacklist_removals,
    blacklisted,
    context_of,
    escalate,
    load_policy,
    load_windows,
    moderate,
    remember,
    undo_actions,
    undo_plan,
    user_key,
    window_actions,
)
from shequn.features.moderation.ladder import live
from shequn.features.moderation.windows import window_from_dict

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY = History()
BERLIN = ZoneInfo("Europe/Berlin")


def msg(text: str = "你好", **changes: Any) -> MessageContext:
    values: dict[str, Any] = {
        "platform": "sim",
        "group": "g1",
        "actor": "u1",
        "text": text,
        "message_id": "m1",
        "name": "张三",
    }
    values.update(changes)
    return MessageContext(**values)


def rule(check: Any, rule_id: str = "r1", **changes: Any) -> Rule:
    return Rule(rule_id, changes.pop("name", f"rule {rule_id}"), check, **changes)


def seen(text: str, seconds_ago: float, group: str = "g1", message_id: str | None = None) -> Seen:
    return Seen("sim", group, text, NOW - timedelta(seconds=seconds_ago), message_id)


def decide(
    check: Any, message: MessageContext, history: History = EMPTY, **rule_changes: Any
) -> Decision | None:
    return moderate(Policy((rule(check, **rule_changes),)), message, history, NOW)


# --- each rule kind: hits and near-misses -------------------------------------------------

WORDS = BannedWords(("加我微信", "VX"))
NEW = NewMember(hours=24, forbid=("link", "invite", "qr", "phone"))
JUST_JOINED = NOW - timedelta(hours=1)
LONG_AGO = NOW - timedelta(hours=25)

CASES: list[tuple[str, Any, MessageContext, History, str | None]] = [
    ("banned word", WORDS, msg("快 加*我*微*信"), History(), "加我微信"),
    ("banned word, disguised", WORDS, msg("私我 Ｖ.Ｘ"), History(), "VX"),
    ("banned word, absent", WORDS, msg("我们微信群见"), History(), None),
    ("link", Links(), msg("see example.com"), History(), "example.com"),
    ("link, allowed domain", Links(("example.com",)), msg("docs.example.com/x"), History(), None),
    ("link, a number", Links(), msg("价格 1.5 元"), History(), None),
    ("invite", Invites(), msg("快来 t.me/+AbC"), History(), "t.me/+abc"),
    ("invite, wechat id", Invites(), msg("vx: abc123"), History(), "vx: abc123"),
    ("invite, none", Invites(), msg("我们群很好"), History(), None),
    ("phone", Phones(), msg("电话 138-1234-5678"), History(), "138-1234-5678"),
    ("phone, a price", Phones(), msg("只要 ¥199"), History(), None),
    ("qr", QrCodes(), msg("[image]", has_qr=True), History(), "[QR code image]"),
    ("qr, plain image", QrCodes(), msg("[image]"), History(), None),
    (
        "advert",
        Advertising(),
        msg("兼职日赚500 加我 vx: abc123"),
        History(),
        "vx: abc123 · 日赚 · 兼职 · 加我",
    ),
    ("advert, honest talk", Advertising(), msg("周末兼职有人去吗"), History(), None),
    ("pattern", Patterns((r"代.{0,3}理",)), msg("招 代 -理"), History(), "代 -理"),
    ("pattern, none", Patterns((r"代.{0,3}理",)), msg("代表大会管理"), History(), None),
    (
        "flood",
        Flood(3, 10),
        msg("3"),
        History((seen("1", 9), seen("2", 5))),
        "3 messages / 10 seconds",
    ),
    ("flood, one too few", Flood(3, 10), msg("3"), History((seen("2", 5),)), None),
    ("flood, too old", Flood(3, 10), msg("3"), History((seen("1", 10), seen("2", 5))), None),
    (
        "flood, other group",
        Flood(3, 10),
        msg("3"),
        History((seen("1", 9, "g2"), seen("2", 5))),
        None,
    ),
    (
        "repeat",
        Repeat(3, 600),
        msg("最新优惠活动来啦"),
        History((seen("最新优惠活动来啦", 60, "g2"), seen("最新优惠活动来啦", 30, "g3"))),
        "最新优惠活动来啦",
    ),
    (
        "repeat, same group twice",
        Repeat(3, 600),
        msg("最新优惠活动来啦"),
        History((seen("最新优惠活动来啦", 60, "g1"), seen("最新优惠活动来啦", 30, "g2"))),
        None,
    ),
    (
        "repeat, too short",
        Repeat(3, 600),
        msg("好的"),
        History((seen("好的", 60, "g2"), seen("好的", 30, "g3"))),
        None,
    ),
    (
        "repeat, too old",
        Repeat(3, 600),
        msg("最新优惠活动来啦"),
        History((seen("最新优惠活动来啦", 601, "g2"), seen("最新优惠活动来啦", 30, "g3"))),
        None,
    ),
    ("new member, link", NEW, msg("abc.cn", joined_at=JUST_JOINED), History(), "abc.cn"),
    ("new member, phone", NEW, msg("13812345678", joined_at=JUST_JOINED), History(), "13812345678"),
    (
        "new member, qr",
        NEW,
        msg("[image]", has_qr=True, joined_at=JUST_JOINED),
        History(),
        "[QR code image]",
    ),
    ("new member, after the limit", NEW, msg("abc.cn", joined_at=LONG_AGO), History(), None),
    ("new member, join time unknown", NEW, msg("abc.cn"), History(), None),
    ("new member, plain text", NEW, msg("大家好", joined_at=JUST_JOINED), History(), None),
]


@pytest.mark.parametrize(
    ("name", "check", "message", "history", "matched"), CASES, ids=[c[0] for c in CASES]
)
def test_each_rule_kind(
    name: str, check: Any, message: MessageContext, history: History, matched: str | None
) -> None:
    decision = decide(check, message, history)
    if matched is None:
        assert decision is None
    else:
        assert decision is not None
        assert decision.matched == matched
        assert decision.kind == check.kind
        assert decision.reason.en and decision.reason.zh


def test_flood_counts_the_current_message_and_ignores_future_ones() -> None:
    future = Seen("sim", "g1", "x", NOW + timedelta(seconds=1))
    assert decide(Flood(2, 10), msg(), History((future,))) is None
    assert decide(Flood(2, 10), msg(), History((seen("x", 0),))) is not None


# --- actions ------------------------------------------------------------------------------


def test_delete_and_warn_actions_carry_what_the_log_and_dispatcher_need() -> None:
    decision = decide(WORDS, msg("加我微信"))
    assert decision is not None
    delete, notice = decision.actions
    assert delete.type is ActionType.DELETE_MESSAGE
    assert (delete.platform, delete.group, delete.user, delete.target_message) == (
        "sim",
        "g1",
        "u1",
        "m1",
    )
    assert delete.params == {"rule": "r1"}
    assert delete.reason == "rule r1：包含违禁词“加我微信”"
    # The message is being deleted, so the warning is a new message, not a reply to it.
    assert notice.type is ActionType.SEND_MESSAGE
    assert notice.target_message is None
    assert notice.params == {"rule": "r1", "warning": True}
    assert notice.message is not None
    first = notice.message.segments[0]
    assert isinstance(first, Mention) and first.user == "u1" and first.name == "张三"
    assert "rule r1" in notice.message.plain_text()
    assert "加我微信" not in notice.message.plain_text()  # the notice never repeats the spam
    assert decision.warning is True
    assert decision.warnings == (NOW,)
    assert decision.step == Step(1, Penalty.WARN)


def test_a_warning_without_delete_replies_to_the_message() -> None:
    decision = decide(WORDS, msg("加我微信"), actions=("warn",))
    assert decision is not None
    (notice,) = decision.actions
    assert notice.type is ActionType.REPLY and notice.target_message == "m1"


def test_a_message_without_an_id_cannot_be_deleted_but_is_still_warned() -> None:
    decision = decide(WORDS, msg("加我微信", message_id=None))
    assert decision is not None
    assert [a.type for a in decision.actions] == [ActionType.SEND_MESSAGE]


@pytest.mark.parametrize(
    ("actions", "mute", "expected"),
    [
        (("mute",), timedelta(minutes=10), [ActionType.MUTE]),
        (("delete", "mute"), timedelta(minutes=10), [ActionType.DELETE_MESSAGE, ActionType.MUTE]),
        (("delete", "kick"), None, [ActionType.DELETE_MESSAGE, ActionType.KICK]),
        (("ban",), None, [ActionType.BAN]),
        (("kick", "ban"), None, [ActionType.BAN]),  # one member sanction: the most severe
        (("mute", "kick"), timedelta(minutes=10), [ActionType.KICK]),
        (
            ("delete", "warn", "mute"),
            timedelta(minutes=10),
            [ActionType.DELETE_MESSAGE, ActionType.MUTE, ActionType.SEND_MESSAGE],
        ),
    ],
)
def test_sanctions_combine(
    actions: tuple[str, ...], mute: timedelta | None, expected: list[ActionType]
) -> None:
    decision = decide(WORDS, msg("加我微信"), actions=actions, mute=mute)
    assert decision is not None
    assert [a.type for a in decision.actions] == expected
    assert all(a.params["rule"] == "r1" and a.reason for a in decision.actions)
    assert decision.warning is ("warn" in actions)
    if not decision.warning:
        assert decision.step is None and decision.warnings == ()


def test_a_mute_carries_its_duration_and_end() -> None:
    decision = decide(WORDS, msg("加我微信"), actions=("mute",), mute=timedelta(minutes=10))
    assert decision is not None
    (mute,) = decision.actions
    assert mute.duration == timedelta(minutes=10)
    assert mute.user == "u1" and mute.group == "g1" and mute.platform == "sim"
    assert mute.params["until"] == "2026-03-02T09:40:00+00:00"


def test_a_repeat_across_groups_deletes_every_copy() -> None:
    history = History(
        (
            seen("最新优惠活动来啦", 60, "g2", "a"),
            seen("最新优惠活动来啦", 30, "g3", "b"),
            seen("最新优惠活动来啦", 20, "g3"),  # no id: cannot be deleted
        )
    )
    decision = decide(
        Repeat(3, 600), msg("最新 优惠 活动 来啦！"), history, actions=("delete", "kick")
    )
    assert decision is not None
    deletes = [
        (a.group, a.target_message) for a in decision.actions if a.type is ActionType.DELETE_MESSAGE
    ]
    assert deletes == [("g1", "m1"), ("g2", "a"), ("g3", "b")]
    kicks = [a for a in decision.actions if a.type is ActionType.KICK]
    assert [k.group for k in kicks] == ["g1"]


def test_notice_in_english_and_custom_notice() -> None:
    policy = Policy((rule(WORDS, name="No spam"),))
    decision = moderate(policy, msg("加我微信"), History(), NOW, lang="en")
    assert decision is not None
    text = decision.actions[-1].message.plain_text()  # type: ignore[union-attr]
    assert "your message breaks the group rule “No spam”: warning 1 within 7 days." in text
    assert "2 more warnings and you will be muted for 1 day." in text
    assert decision.actions[0].reason == "No spam: contains the banned word “加我微信”"

    custom = Policy((rule(WORDS, notice="{name}，请勿发广告（{rule}，第 {count} 次）"),))
    decision = moderate(custom, msg("加我微信"), History(), NOW)
    assert decision is not None
    said = decision.actions[-1].message.plain_text()  # type: ignore[union-attr]
    assert said.startswith("@张三 张三，请勿发广告（rule r1，第 1 次）")


# --- the ladder inside moderate -----------------------------------------------------------


def test_warnings_escalate_through_the_ladder() -> None:
    policy = Policy(
        (rule(WORDS),),
        Ladder(
            timedelta(days=7), (Step(3, Penalty.MUTE, timedelta(days=1)), Step(4, Penalty.KICK))
        ),
    )
    warnings: tuple[datetime, ...] = ()
    kinds = []
    for day in range(5):
        now = NOW + timedelta(hours=day)
        decision = moderate(policy, msg("加我微信"), History(warnings=warnings), now)
        assert decision is not None
        warnings = decision.warnings
        kinds.append(
            [
                a.type
                for a in decision.actions
                if a.type not in (ActionType.DELETE_MESSAGE, ActionType.SEND_MESSAGE)
            ]
        )
    assert kinds == [[], [], [ActionType.MUTE], [ActionType.KICK], [ActionType.KICK]]
    assert len(warnings) == 5


def test_warnings_expire_so_a_quiet_member_starts_again() -> None:
    policy = Policy((rule(WORDS),))
    old = (NOW - timedelta(days=8), NOW - timedelta(days=7, seconds=1))
    decision = moderate(policy, msg("加我微信"), History(warnings=old), NOW)
    assert decision is not None
    assert decision.warnings == (NOW,)
    assert decision.step == Step(1, Penalty.WARN)


def test_the_most_severe_of_rule_and_ladder_wins() -> None:
    ladder = Ladder(timedelta(days=7), (Step(2, Penalty.MUTE, timedelta(hours=1)),))
    two = History(warnings=(NOW - timedelta(hours=1),))
    longer = Policy((rule(WORDS, actions=("warn", "mute"), mute=timedelta(hours=5)),), ladder)
    decision = moderate(longer, msg("加我微信"), two, NOW)
    assert decision is not None
    (mute,) = [a for a in decision.actions if a.type is ActionType.MUTE]
    assert mute.duration == timedelta(hours=5)
    kick = Policy((rule(WORDS, actions=("warn", "kick")),), ladder)
    decision = moderate(kick, msg("加我微信"), two, NOW)
    assert decision is not None
    assert [a.type for a in decision.actions] == [ActionType.KICK, ActionType.REPLY]


# --- exemptions and order -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "tier", "changes", "caught"),
    [
        (Role.MEMBER, None, {}, True),
        (Role.ADMIN, None, {}, False),
        (Role.OWNER, None, {}, False),
        (Role.ADMIN, None, {"exempt_roles": frozenset()}, True),
        (Role.MEMBER, "vip", {"exempt_tiers": frozenset({"vip"})}, False),
        (Role.MEMBER, "basic", {"exempt_tiers": frozenset({"vip"})}, True),
        (Role.MEMBER, None, {"exempt_tiers": frozenset({"vip"})}, True),
        (Role.MEMBER, None, {"enabled": False}, False),
    ],
)
def test_exemptions(role: Role, tier: str | None, changes: dict[str, Any], caught: bool) -> None:
    decision = decide(WORDS, msg("加我微信", role=role, tier=tier), **changes)
    assert (decision is not None) is caught


def test_first_matching_rule_in_policy_order_wins() -> None:
    words = rule(WORDS, "words")
    links = rule(Links(), "links", actions=("delete",))
    text = msg("加我微信 abc.cn")
    first = moderate(Policy((words, links)), text, History(), NOW)
    second = moderate(Policy((links, words)), text, History(), NOW)
    assert first is not None and first.rule_id == "words"
    assert second is not None and second.rule_id == "links"


def test_an_exempt_rule_lets_a_later_rule_decide() -> None:
    vip_words = rule(WORDS, "words", exempt_tiers=frozenset({"vip"}))
    links = rule(Links(), "links", actions=("delete",))
    decision = moderate(
        Policy((vip_words, links)), msg("加我微信 abc.cn", tier="vip"), History(), NOW
    )
    assert decision is not None and decision.rule_id == "links"


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "changes", "why"),
    [
        (BannedWords(()), {}, "word list is empty"),
        (BannedWords(("ok", "***")), {}, "can never match"),
        (Links(("https://x.com",)), {}, "not a domain"),
        (Patterns(()), {}, "pattern list is empty"),
        (Patterns(("(a+)+",)), {}, "repeat inside a repeat"),
        (Patterns(("(",)), {}, "does not compile"),
        (Flood(0, 10), {}, "at least 2"),
        (Flood(5, 0), {}, "longer than zero"),
        (Flood(5, -1), {}, "longer than zero"),
        (Flood(5, 3 * 86400), {}, "at most"),
        (Repeat(1, 60), {}, "at least 2"),
        (Repeat(3, 0), {}, "longer than zero"),
        (Repeat(3, 60, 0), {}, "minimum length"),
        (NewMember(0), {}, "more than zero"),
        (NewMember(91 * 24), {}, "at most 2160"),
        (NewMember(24, ()), {}, "nothing is forbidden"),
        (NewMember(24, ("link", "selfie")), {}, "unknown limit"),
        (Advertising(threshold=0), {}, "threshold"),
        (Advertising(words={"兼职": -1}), {}, "negative"),
        (Phones(), {"actions": ()}, "does nothing"),
        (Phones(), {"actions": ("delete", "shout")}, "unknown action 'shout'"),
        (Phones(), {"actions": ("mute",)}, "no duration"),
        (Phones(), {"actions": ("mute",), "mute": timedelta(0)}, "longer than zero"),
        (Phones(), {"actions": ("mute",), "mute": timedelta(days=31)}, "at most 30 days"),
        (Phones(), {"mute": timedelta(minutes=1)}, "does not mute"),
        (Phones(), {"notice": "hi {nmae}"}, "unknown variable {nmae}"),
        (Phones(), {"notice": "hi {"}, "lone"),
        (Phones(), {"exempt_roles": frozenset({"moderator"})}, "unknown role"),
    ],
)
def test_rules_that_cannot_work_are_refused(check: Any, changes: dict[str, Any], why: str) -> None:
    with pytest.raises(RuleError) as caught:
        rule(check, "bad-1", name="坏规则", **changes)
    error = caught.value
    assert error.rule_id == "bad-1" and error.rule_name == "坏规则"
    assert why in str(error)
    assert "bad-1" in str(error) and "坏规则" in str(error)
    assert "bad-1" in error.text("zh-CN")
    assert all(p.zh for p in error.problems)


def test_every_problem_of_a_rule_is_reported_at_once() -> None:
    with pytest.raises(RuleError) as caught:
        Rule("", "", Flood(0, 0), actions=("zap",))  # type: ignore[arg-type]
    # unknown action, no id, no name, no action left, count, window
    assert len(caught.value.problems) == 6


def test_rule_round_trips_through_its_dict() -> None:
    rules = [
        rule(WORDS, "a", exempt_tiers=frozenset({"vip"}), notice="{name} 请注意"),
        rule(Links(("example.com",)), "b", actions=("delete",)),
        rule(Invites(), "c", actions=("delete", "kick")),
        rule(Phones(), "d", actions=("ban",)),
        rule(QrCodes(), "e", enabled=False),
        rule(Advertising(threshold=5, words={"兼职": 2}), "f"),
        rule(Patterns((r"代.{0,3}理",)), "g"),
        rule(Flood(5, 10), "h", actions=("mute",), mute=timedelta(minutes=5)),
        rule(Repeat(3, 600, 4), "i"),
        rule(NewMember(12, ("link",), ("example.com",)), "j", exempt_roles=frozenset({Role.OWNER})),
    ]
    policy = Policy(tuple(rules), Ladder(timedelta(days=3), (Step(2, Penalty.BAN),)))
    stored = json.loads(json.dumps(policy.to_dict()))
    assert Policy.from_dict(stored) == policy


def test_rule_from_dict_reports_every_problem_and_names_the_rule() -> None:
    with pytest.raises(RuleError) as caught:
        Rule.from_dict(
            {
                "id": "r9",
                "name": "刷屏",
                "kind": "flood",
                "params": {"count": "five", "seconds": -3},
                "actions": ["delete", "explode"],
                "enabled": "yes",
            }
        )
    text = str(caught.value)
    assert "r9" in text and "刷屏" in text
    for part in (
        "'params.count' must be a whole number",
        "'enabled' must be true or false",
        "unknown action 'explode'",
        "longer than zero",
    ):
        assert part in text


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"id": "x", "name": "x", "kind": "telepathy"}, "unknown kind"),
        (
            {"id": "x", "name": "x", "kind": "banned_words", "params": {"words": "加我"}},
            "list of texts",
        ),
        ({"id": "x", "name": "x", "kind": "banned_words"}, "word list is empty"),
        (
            {"id": "x", "name": "x", "kind": "phones", "actions": ["mute"], "mute_s": 1e300},
            "at most 30 days",
        ),
        (
            {"id": "x", "name": "x", "kind": "phones", "actions": ["mute"], "mute_s": "1h"},
            "a number",
        ),
        ({"id": "x", "name": "x", "kind": "advertising", "params": {"words": ["兼职"]}}, "weight"),
        ("not a rule", "must be an object"),
        ({"id": "x", "name": "x", "kind": "phones", "wrods": ["a"]}, "unknown field 'wrods'"),
        (
            {
                "id": "x",
                "name": "x",
                "kind": "banned_words",
                "params": {"words": ["a"], "word": []},
            },
            "unknown field 'params.word'",
        ),
    ],
)
def test_rule_from_dict_refuses(data: Any, why: str) -> None:
    with pytest.raises(RuleError, match=why):
        Rule.from_dict(data)


def test_one_bad_rule_never_takes_the_others_down() -> None:
    data = {
        "rules": [
            {
                "id": "good",
                "name": "违禁词",
                "kind": "banned_words",
                "params": {"words": ["加我微信"]},
            },
            {"id": "bad", "name": "坏正则", "kind": "patterns", "params": {"patterns": ["(a+)+"]}},
            {"id": "good", "name": "重复", "kind": "phones"},
            {"id": "links", "name": "链接", "kind": "links", "actions": ["delete"]},
        ],
        "ladder": {"expiry_s": 0, "steps": [{"at": 2, "penalty": "warn"}]},
    }
    loaded = load_policy(data)
    assert [r.id for r in loaded.policy.rules] == ["good", "links"]
    assert [p.rule_id for p in loaded.problems] == ["bad", "good", "ladder"]
    assert "same id" in str(loaded.problems[1])
    assert "expire" in str(loaded.problems[2]) and "does nothing" in str(loaded.problems[2])
    assert loaded.policy.ladder == Ladder()  # the default stands in for a broken one
    with pytest.raises(RuleError, match="bad"):
        Policy.from_dict(data)
    decision = moderate(loaded.policy, msg("加我微信"), History(), NOW)
    assert decision is not None and decision.rule_id == "good"


def test_duplicate_rule_ids_are_refused_in_code_too() -> None:
    with pytest.raises(RuleError, match="same id"):
        Policy((rule(WORDS, "x"), rule(Links(), "x")))


# --- the ladder on its own ----------------------------------------------------------------

LADDER = Ladder(
    timedelta(days=7), (Step(3, Penalty.MUTE, timedelta(days=1)), Step(4, Penalty.KICK))
)


@pytest.mark.parametrize(
    ("ages_days", "step", "count"),
    [
        ((), Step(1, Penalty.WARN), 1),
        ((1,), Step(2, Penalty.WARN), 2),
        ((1, 2), Step(3, Penalty.MUTE, timedelta(days=1)), 3),
        ((1, 2, 3), Step(4, Penalty.KICK), 4),
        ((1, 2, 3, 4), Step(4, Penalty.KICK), 5),  # past the last step, it repeats
        ((1, 2, 7), Step(3, Penalty.MUTE, timedelta(days=1)), 3),  # exactly 7 days: expired
        ((1, 8, 30), Step(2, Penalty.WARN), 2),
        ((6.99, 6.99), Step(3, Penalty.MUTE, timedelta(days=1)), 3),
    ],
)
def test_escalate(ages_days: tuple[float, ...], step: Step, count: int) -> None:
    warnings = [NOW - timedelta(days=d) for d in ages_days]
    reached, kept = escalate(LADDER, warnings, NOW)
    assert reached == step
    assert len(kept) == count and kept[-1] == NOW
    assert list(kept) == sorted(kept)


def test_escalation_over_time_follows_the_expiry() -> None:
    warnings: tuple[datetime, ...] = ()
    steps = []
    # Warned on days 0, 1, 2 (mute), then quiet until day 10, then warned again.
    for day in (0, 1, 2, 10, 11):
        step, warnings = escalate(LADDER, warnings, NOW + timedelta(days=day))
        steps.append(step.penalty)
    assert steps == [Penalty.WARN, Penalty.WARN, Penalty.MUTE, Penalty.WARN, Penalty.WARN]
    assert len(warnings) == 2


def test_live_warnings_keep_future_ones_and_drop_expired() -> None:
    warnings = [NOW + timedelta(minutes=1), NOW - timedelta(days=7), NOW - timedelta(days=1)]
    assert live(warnings, timedelta(days=7), NOW) == (
        NOW - timedelta(days=1),
        NOW + timedelta(minutes=1),
    )


@pytest.mark.parametrize(
    ("ladder", "why"),
    [
        (lambda: Ladder(timedelta(0)), "expire"),
        (lambda: Ladder(steps=(Step(3, Penalty.KICK), Step(3, Penalty.BAN))), "must come after 3"),
        (lambda: Ladder(steps=(Step(0, Penalty.KICK),)), "must come after 0"),
        (lambda: Ladder(steps=(Step(2, Penalty.WARN),)), "does nothing"),
        (lambda: Ladder(steps=(Step(2, Penalty.MUTE),)), "no duration"),
        (lambda: Ladder(steps=(Step(2, Penalty.MUTE, timedelta(days=60)),)), "at most 30 days"),
        (lambda: Ladder(steps=(Step(2, Penalty.KICK, timedelta(days=1)),)), "only a mute"),
        (lambda: Ladder.from_dict({"steps": [{"at": "3", "penalty": "zap"}]}), "unknown penalty"),
        (lambda: Ladder.from_dict({"steps": "3 then kick"}), "must be a list"),
        (lambda: Ladder.from_dict({"expiry_s": "a week"}), "number of seconds"),
    ],
)
def test_ladders_that_cannot_work_are_refused(ladder: Any, why: str) -> None:
    with pytest.raises(RuleError, match=why) as caught:
        ladder()
    assert caught.value.rule_id == "ladder"


def test_a_ladder_without_steps_only_counts() -> None:
    step, warnings = escalate(Ladder(steps=()), [NOW - timedelta(days=1)] * 10, NOW)
    assert step.penalty is Penalty.WARN and len(warnings) == 11
    assert Ladder.from_dict(LADDER.to_dict()) == LADDER


# --- night mode and mute-all windows ------------------------------------------------------

G1, G2 = Target("sim", "g1"), Target("sim", "g2")
NIGHT = DailyWindow("night", "夜间模式", time(23), time(7), (G1,))


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def kinds(actions: list[Action]) -> list[tuple[ActionType, str | None]]:
    return [(a.type, a.group) for a in actions]


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        ((2026, 3, 2, 22, 59), (2026, 3, 2, 23, 0), [ActionType.MUTE_ALL]),
        ((2026, 3, 2, 22, 0), (2026, 3, 2, 23, 30), [ActionType.MUTE_ALL]),
        ((2026, 3, 2, 23, 0), (2026, 3, 2, 23, 1), []),  # already inside
        ((2026, 3, 2, 23, 59), (2026, 3, 3, 0, 1), []),  # midnight is inside the window
        ((2026, 3, 3, 6, 59), (2026, 3, 3, 7, 0), [ActionType.UNMUTE_ALL]),
        ((2026, 3, 3, 6, 0), (2026, 3, 3, 9, 0), [ActionType.UNMUTE_ALL]),
        ((2026, 3, 3, 7, 0), (2026, 3, 3, 12, 0), []),
        ((2026, 3, 2, 22, 0), (2026, 3, 3, 8, 0), []),  # a missed night leaves things as they were
        ((2026, 3, 3, 6, 0), (2026, 3, 3, 23, 30), []),  # from one night into the next
    ],
)
def test_night_mode_across_midnight_in_shanghai(
    last: tuple[int, ...], now: tuple[int, ...], expected: list[ActionType]
) -> None:
    actions = window_actions([NIGHT], "Asia/Shanghai", at(SHANGHAI, *last), at(SHANGHAI, *now))
    assert [a.type for a in actions] == expected
    for action in actions:
        assert (action.platform, action.group) == ("sim", "g1")
        assert action.params == {"window": "night"}
        assert "夜间模式" in (action.reason or "")


def test_window_edges_given_in_utc_land_on_local_time() -> None:
    # 23:00 in Shanghai is 15:00 UTC.
    before, edge = datetime(2026, 3, 2, 14, 59, tzinfo=UTC), datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert kinds(window_actions([NIGHT], SHANGHAI, before, edge)) == [(ActionType.MUTE_ALL, "g1")]


@pytest.mark.parametrize(
    ("last_utc", "now_utc", "expected"),
    [
        # Winter (CET, UTC+1): 23:00 local is 22:00 UTC.
        ((2026, 3, 27, 21, 59), (2026, 3, 27, 22, 0), [ActionType.MUTE_ALL]),
        ((2026, 3, 28, 5, 59), (2026, 3, 28, 6, 0), [ActionType.UNMUTE_ALL]),
        # The night of 28-29 March clocks go forward at 02:00: the night starts at 22:00 UTC
        # (23:00 CET) and ends at 05:00 UTC (07:00 CEST), an hour shorter.
        ((2026, 3, 28, 21, 59), (2026, 3, 28, 22, 0), [ActionType.MUTE_ALL]),
        ((2026, 3, 29, 4, 59), (2026, 3, 29, 5, 0), [ActionType.UNMUTE_ALL]),
        ((2026, 3, 29, 5, 0), (2026, 3, 29, 6, 0), []),
        # Summer (CEST, UTC+2): 23:00 local is 21:00 UTC.
        ((2026, 3, 29, 20, 59), (2026, 3, 29, 21, 0), [ActionType.MUTE_ALL]),
        # The night of 24-25 October clocks go back at 03:00: the night ends at 06:00 UTC.
        ((2026, 10, 25, 5, 59), (2026, 10, 25, 6, 0), [ActionType.UNMUTE_ALL]),
        ((2026, 10, 25, 4, 59), (2026, 10, 25, 5, 0), []),
    ],
)
def test_night_mode_across_daylight_saving_in_berlin(
    last_utc: tuple[int, ...], now_utc: tuple[int, ...], expected: list[ActionType]
) -> None:
    actions = window_actions([NIGHT], "Europe/Berlin", at(UTC, *last_utc), at(UTC, *now_utc))  # type: ignore[arg-type]
    assert [a.type for a in actions] == expected


def test_a_window_over_a_skipped_hour_does_not_happen_and_a_repeated_hour_lasts_two() -> None:
    hour = DailyWindow("h", "两点", time(2), time(3), (G1,))
    # 29 March: 00:00-00:59 UTC is 01:xx CET, then 01:00 UTC is 03:00 CEST; 02:xx never shows.
    spring = [
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=10 * i) for i in range(12)
    ]
    assert not any(hour.covers(t, BERLIN) for t in spring)
    # 25 October: 00:00-00:59 UTC is 02:xx CEST, 01:00-01:59 UTC is 02:xx CET again.
    autumn = [
        datetime(2026, 10, 25, 0, 0, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(5)
    ]
    assert [hour.covers(t, BERLIN) for t in autumn] == [True, True, True, True, False]


def test_days_name_the_night_a_window_starts_on() -> None:
    friday_night = DailyWindow("fri", "周五夜", time(23), time(7), (G1,), frozenset({4}))
    assert friday_night.covers(at(SHANGHAI, 2026, 3, 6, 23, 30), SHANGHAI)  # Friday
    assert friday_night.covers(at(SHANGHAI, 2026, 3, 7, 3, 0), SHANGHAI)  # Saturday early
    assert not friday_night.covers(at(SHANGHAI, 2026, 3, 7, 23, 30), SHANGHAI)  # Saturday
    assert not friday_night.covers(at(SHANGHAI, 2026, 3, 6, 3, 0), SHANGHAI)  # Friday early


def test_one_off_window_during_a_talk() -> None:
    talk = OneOffWindow(
        "talk",
        "分享会",
        at(SHANGHAI, 2026, 3, 2, 20, 0),
        at(SHANGHAI, 2026, 3, 2, 21, 30),
        (G1, G2),
    )
    start = window_actions(
        [talk], SHANGHAI, at(SHANGHAI, 2026, 3, 2, 19, 59), at(SHANGHAI, 2026, 3, 2, 20, 0)
    )
    assert kinds(start) == [(ActionType.MUTE_ALL, "g1"), (ActionType.MUTE_ALL, "g2")]
    end = window_actions(
        [talk], SHANGHAI, at(SHANGHAI, 2026, 3, 2, 21, 29), at(SHANGHAI, 2026, 3, 2, 21, 30)
    )
    assert kinds(end) == [(ActionType.UNMUTE_ALL, "g1"), (ActionType.UNMUTE_ALL, "g2")]


def test_overlapping_windows_unmute_only_when_the_last_one_ends() -> None:
    talk = OneOffWindow(
        "talk", "分享会", at(SHANGHAI, 2026, 3, 2, 22, 0), at(SHANGHAI, 2026, 3, 2, 23, 30), (G1,)
    )
    windows = [NIGHT, talk]
    ticks = [
        at(SHANGHAI, 2026, 3, 2, 21, 59),
        at(SHANGHAI, 2026, 3, 2, 22, 0),
        at(SHANGHAI, 2026, 3, 2, 23, 0),
        at(SHANGHAI, 2026, 3, 2, 23, 30),
        at(SHANGHAI, 2026, 3, 3, 7, 0),
    ]
    seen_actions = [
        [a.type for a in window_actions(windows, SHANGHAI, last, now)]
        for last, now in zip(ticks, ticks[1:], strict=False)
    ]
    assert seen_actions == [[ActionType.MUTE_ALL], [], [], [ActionType.UNMUTE_ALL]]


def test_first_tick_mutes_inside_a_window_and_leaves_others_alone() -> None:
    inside, outside = at(SHANGHAI, 2026, 3, 2, 23, 30), at(SHANGHAI, 2026, 3, 2, 12, 0)
    assert [a.type for a in window_actions([NIGHT], SHANGHAI, None, inside)] == [
        ActionType.MUTE_ALL
    ]
    assert window_actions([NIGHT], SHANGHAI, None, outside) == []


def test_disabled_windows_do_nothing() -> None:
    off = DailyWindow("night", "夜间模式", time(23), time(7), (G1,), enabled=False)
    assert window_actions([off], SHANGHAI, None, at(SHANGHAI, 2026, 3, 2, 23, 30)) == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (
            {
                "id": "w",
                "name": "n",
                "start": "25:00",
                "end": "07:00",
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "must be a time",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "start": "23:00",
                "end": "7am",
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "must be a time",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "start": "23:00",
                "end": "23:00",
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "same time",
        ),
        ({"id": "w", "name": "n", "start": "23:00", "end": "07:00", "targets": []}, "no group"),
        (
            {"id": "w", "name": "n", "start": "23:00", "end": "07:00", "targets": ["g1"]},
            "target must be",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "start": "23:00",
                "end": "07:00",
                "days": [7],
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "0 \\(Monday\\)",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "start": "23:00",
                "end": "07:00",
                "days": [],
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "non-empty",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "kind": "once",
                "start": "2026-03-02T20:00",
                "end": "2026-03-02T21:00+08:00",
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "with its zone",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "kind": "once",
                "start": "2026-03-02T21:00+08:00",
                "end": "2026-03-02T20:00+08:00",
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "ends before",
        ),
        (
            {
                "id": "w",
                "name": "n",
                "kind": "weekly",
                "targets": [{"platform": "sim", "group": "g"}],
            },
            "unknown window kind",
        ),
    ],
)
def test_windows_that_cannot_work_are_refused(data: dict[str, Any], why: str) -> None:
    with pytest.raises(RuleError, match=why) as caught:
        window_from_dict(data)
    assert caught.value.rule_id == "w"


def test_windows_round_trip_and_bad_ones_are_reported_alone() -> None:
    talk = OneOffWindow(
        "talk", "分享会", at(SHANGHAI, 2026, 3, 2, 20, 0), at(SHANGHAI, 2026, 3, 2, 21, 30), (G1,)
    )
    weekend = DailyWindow("wk", "周末", time(0, 30), time(8), (G1, G2), frozenset({5, 6}))
    stored = json.loads(
        json.dumps([NIGHT.to_dict(), talk.to_dict(), weekend.to_dict(), {"id": "bad"}])
    )
    windows, problems = load_windows(stored)
    assert windows == [NIGHT, talk, weekend]
    assert [p.rule_id for p in problems] == ["bad"]
    assert DailyWindow.from_dict(stored[2]) == weekend
    assert OneOffWindow.from_dict(stored[1]) == talk


def test_window_times_must_be_local() -> None:
    with pytest.raises(RuleError, match="local"):
        DailyWindow("w", "n", time(23, tzinfo=UTC), time(7), (G1,))


# --- the blacklist ------------------------------------------------------------------------


def test_blacklist_matches_any_key_of_the_person() -> None:
    blacklist = {user_key("telegram", "42"), "member:7"}
    assert blacklisted([user_key("qq", "1001"), user_key("telegram", "42")], blacklist)
    assert blacklisted(["member:7"], blacklist)
    assert not blacklisted([user_key("qq", "42"), "member:8"], blacklist)
    assert not blacklisted([], blacklist)


def test_blacklisted_member_is_removed_everywhere_and_refused_at_the_door() -> None:
    seats = [Seat("qq", "g1", "1001"), Seat("telegram", "-100", "42"), Seat("qq", "g1", "1001")]
    removals = blacklist_removals(seats)
    assert [(a.type, a.platform, a.group, a.user) for a in removals] == [
        (ActionType.BAN, "qq", "g1", "1001"),
        (ActionType.BAN, "telegram", "-100", "42"),
    ]
    assert all(a.params == {"rule": "blacklist"} and a.reason for a in removals)
    assert [a.type for a in blacklist_removals(seats[:1], ban=False, lang="en")] == [
        ActionType.KICK
    ]
    (refusal,) = blacklist_refusal("qq", "g1", "1001", lang="en")
    assert refusal.type is ActionType.REJECT_JOIN and refusal.reason == "on the community blacklist"


# --- undo ---------------------------------------------------------------------------------


def test_undo_reverses_what_platforms_allow_and_explains_the_rest() -> None:
    decision = decide(
        WORDS, msg("加我微信"), actions=("delete", "warn", "mute"), mute=timedelta(hours=1)
    )
    assert decision is not None
    plan = undo_plan(decision.actions)
    (unmute,) = plan.actions
    assert unmute.type is ActionType.UNMUTE
    assert (unmute.platform, unmute.group, unmute.user) == ("sim", "g1", "u1")
    assert unmute.params == {"rule": "r1", "undo": True}
    assert unmute.reason is not None and unmute.reason.startswith("undo: ")
    assert plan.withdraw_warning is True
    assert any("cannot be restored" in n.en for n in plan.notes)
    assert undo_actions(decision.actions) == list(plan.actions)


@pytest.mark.parametrize(
    ("action", "undone", "note"),
    [
        (Action(ActionType.BAN, platform="qq", group="g", user="u"), ActionType.UNBAN, None),
        (
            Action(ActionType.MUTE, platform="qq", group="g", user="u", duration=timedelta(1)),
            ActionType.UNMUTE,
            None,
        ),
        (Action(ActionType.MUTE_ALL, platform="qq", group="g"), ActionType.UNMUTE_ALL, None),
        (
            Action(ActionType.DELETE_MESSAGE, platform="qq", group="g", target_message="m"),
            None,
            "cannot be restored",
        ),
        (Action(ActionType.KICK, platform="qq", group="g", user="u"), None, "rejoin"),
        (Action(ActionType.REJECT_JOIN, platform="qq", group="g", user="u"), None, "apply again"),
    ],
)
def test_undo_each_action(action: Action, undone: ActionType | None, note: str | None) -> None:
    plan = undo_plan([action, action])  # twice: one undo, one note
    assert [a.type for a in plan.actions] == ([undone] if undone else [])
    if note is None:
        assert plan.notes == ()
    else:
        (only,) = plan.notes
        assert note in only.en and only.zh
    assert plan.withdraw_warning is False


# --- state in and out ---------------------------------------------------------------------


def test_context_of_a_message_event() -> None:
    source = event(1, text="加我微信", message_id=123)
    context = context_of(source, role=Role.ADMIN, tier="vip", joined_at=JUST_JOINED, has_qr=True)
    assert context == MessageContext(
        platform="sim",
        group="g1",
        actor="u1",
        text="加我微信",
        message_id="123",
        has_qr=True,
        role=Role.ADMIN,
        tier="vip",
        joined_at=JUST_JOINED,
        name="昵称u1",
    )
    assert context_of(event(2, EventType.JOIN)) is None
    assert context_of(event(3, group=None)) is None
    assert context_of(event(4, message_id=True)).message_id is None  # type: ignore[union-attr]


def test_remember_adds_the_normalised_message_and_forgets_old_ones() -> None:
    policy = Policy((rule(Flood(5, 10), "f"), rule(Repeat(3, 600), "r")))
    assert policy.lookback == timedelta(seconds=600)
    history = History((seen("old", 700), seen("recent", 60)), (NOW,))
    after = remember(history, msg("加 我 微 信"), NOW, keep=policy.lookback)
    assert [m.text for m in after.messages] == ["recent", "加我微信"]
    assert after.messages[-1] == Seen("sim", "g1", "加我微信", NOW, "m1")
    assert after.warnings == (NOW,)
    assert History.from_dict(json.loads(json.dumps(after.to_dict()))) == after


def test_decision_round_trips_through_json() -> None:
    decision = decide(
        WORDS, msg("加我微信"), actions=("delete", "warn", "mute"), mute=timedelta(hours=1)
    )
    assert decision is not None
    stored = json.loads(json.dumps(decision.to_dict()))
    assert Decision.from_dict(stored) == decision


def test_times_must_be_aware() -> None:
    naive = datetime(2026, 3, 2, 9, 30)
    with pytest.raises(ValueError):
        moderate(Policy(), msg(), History(), naive)
    with pytest.raises(ValueError):
        msg(joined_at=naive)
    with pytest.raises(ValueError):
        window_actions([NIGHT], SHANGHAI, None, naive)


# --- hostile input ------------------------------------------------------------------------

EVERY_KIND = Policy(
    (
        rule(Flood(4, 10), "flood", actions=("delete", "mute"), mute=timedelta(minutes=5)),
        rule(Repeat(2, 600, 2), "repeat", actions=("delete", "kick")),
        rule(NewMember(24, ("link", "invite", "qr", "phone")), "new"),
        rule(BannedWords(("加我微信", "vx", "代理")), "words", actions=("delete", "warn", "ban")),
        rule(Invites(), "invites"),
        rule(Links(), "links", actions=("delete",)),
        rule(Phones(), "phones"),
        rule(QrCodes(), "qr"),
        rule(Patterns((r"代.{0,3}理", r"v\s*x")), "patterns"),
        rule(Advertising(threshold=1), "ads"),
    )
)

INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
SEEN = st.builds(
    Seen,
    platform=st.sampled_from(["sim", "qq"]),
    group=st.sampled_from(["g1", "g2", "g3"]),
    text=st.text(max_size=20),
    at=INSTANTS,
    message_id=st.one_of(st.none(), st.text(min_size=1, max_size=5)),
)
CONTEXTS = st.builds(
    MessageContext,
    platform=st.sampled_from(["sim", "qq"]),
    group=st.sampled_from(["g1", "g2"]),
    actor=st.text(min_size=1, max_size=10),
    text=st.text(max_size=300),
    message_id=st.one_of(st.none(), st.text(min_size=1, max_size=10)),
    has_qr=st.booleans(),
    role=st.sampled_from(list(Role)),
    tier=st.one_of(st.none(), st.text(max_size=5)),
    joined_at=st.one_of(st.none(), INSTANTS),
    name=st.one_of(st.none(), st.text(max_size=20)),
)


@given(
    CONTEXTS,
    st.lists(SEEN, max_size=8),
    st.lists(INSTANTS, max_size=6),
    INSTANTS,
    st.sampled_from(["zh-CN", "en"]),
)
@settings(max_examples=300, deadline=None)
def test_moderate_never_crashes(
    message: MessageContext,
    seen_list: list[Seen],
    warnings: list[datetime],
    now: datetime,
    lang: str,
) -> None:
    decision = moderate(
        EVERY_KIND, message, History(tuple(seen_list), tuple(warnings)), now, lang=lang
    )
    if decision is None:
        return
    assert decision.rule_id in {r.id for r in EVERY_KIND.rules}
    for action in decision.actions:
        assert action.params["rule"] == decision.rule_id
        assert action.platform and action.group and action.reason
    json.dumps(decision.to_dict())
    undo_plan(decision.actions)


@given(
    st.lists(st.sampled_from(["delete", "warn", "mute", "kick", "ban"]), min_size=1, unique=True)
)
@settings(max_examples=50, deadline=None)
def test_every_combination_of_sanctions_is_valid(actions: list[str]) -> None:
    mute = timedelta(minutes=10) if "mute" in actions else None
    made = rule(WORDS, actions=tuple(actions), mute=mute)
    assert set(made.actions) == {Sanction(a) for a in actions}
    decision = moderate(Policy((made,)), msg("加我微信"), History(), NOW)
    assert decision is not None
    members = [
        a for a in decision.actions if a.type in (ActionType.MUTE, ActionType.KICK, ActionType.BAN)
    ]
    assert len(members) <= 1
    said = [a.message for a in decision.actions if a.message is not None]
    assert all(isinstance(m, Message) for m in said)
