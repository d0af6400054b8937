"""Auto-reply / FAQ rules: what matches, who is answered, how often, and what is refused.

An answer goes to a real group in the bot's name, so each kind of match is pinned row by
row (and against its near misses), scope and cooldowns are checked per group, role and
tier, and a rule that cannot work must be refused on save with the rule and the reason,
without taking the community's other rules down. Chat text is hostile input: matching and
replying must never crash on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import event
from shequn.core import ActionType, EventType, Image, Mention, Message, Role, Text
from shequn.features.autoreply import (
    AutoReplyRule,
    MatchKind,
    RuleError,
    RuleSet,
    check_rule,
    compile_rules,
    cooldowns_from_list,
    cooldowns_to_list,
    decide,
    expire_cooldowns,
    message_text,
    normalise,
    reply,
    validate_rule,
)
from shequn.features.autoreply.rules import MAX_PATTERN, MAX_TEXT

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
G1, G2 = 1, 2


def rule(
    kind: MatchKind | str = MatchKind.CONTAINS,
    *patterns: str,
    id: str = "r1",
    reply: str = "答案",
    **fields: Any,
) -> AutoReplyRule:
    return AutoReplyRule(
        id=id,
        name=fields.pop("name", f"规则 {id}"),
        kind=kind,  # type: ignore[arg-type]
        patterns=patterns or ("报名",),
        reply=reply,
        **fields,
    )


def ruleset(*rules: AutoReplyRule) -> RuleSet:
    compiled, problems = compile_rules(rules)
    assert not problems, [p.message for p in problems]
    return compiled


def ids(compiled: RuleSet, text: str, group_id: int = G1, **scope: Any) -> list[str]:
    return [r.id for r in compiled.match(text, group_id=group_id, **scope)]


# --- normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＶＩＰ　价格", "vip 价格"),  # full-width letters and ideographic space
        ("  Hello\t\n  World ", "hello world"),
        ("Straße", "strasse"),  # casefold, not lower
        ("①号群", "1号群"),  # compatibility forms
        ("ｶﾀｶﾅ", "カタカナ"),  # half-width katakana to full-width
        ("", ""),
    ],
)
def test_normalise_folds_width_case_and_whitespace(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_can_keep_case() -> None:
    assert normalise("ＶＩＰ  Price", fold_case=False) == "VIP Price"


@settings(max_examples=500)
@given(st.text(st.characters(exclude_categories=())))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert normalise(once, fold_case=False) == once


def test_message_text_is_what_was_typed() -> None:
    message = Message.of(Mention("9", "助手"), "怎么报名", Image(url="x"), "谢谢")
    assert message_text(message) == " 怎么报名 谢谢"
    assert message_text(None) == ""
    assert ids(ruleset(rule(MatchKind.PREFIX, "怎么报名")), message_text(message)) == ["r1"]
    # The [image] placeholder of a picture is not text anyone typed.
    assert ids(ruleset(rule(MatchKind.CONTAINS, "image")), message_text(message)) == []


# --- kinds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "pattern", "text", "hit"),
    [
        (MatchKind.EXACT, "群规", "群规", True),
        (MatchKind.EXACT, "群规", " 群规 ", True),
        (MatchKind.EXACT, "群规", "群规？", False),
        (MatchKind.EXACT, "群规", "看群规", False),
        (MatchKind.CONTAINS, "群规", "请问群规在哪", True),
        (MatchKind.CONTAINS, "群规", "群 规", False),
        (MatchKind.PREFIX, "群规", "群规在哪", True),
        (MatchKind.PREFIX, "群规", "  群规在哪", True),
        (MatchKind.PREFIX, "群规", "请问群规", False),
        # Case and width: both folded by default, in patterns and in messages.
        (MatchKind.CONTAINS, "VIP", "vip多少钱", True),
        (MatchKind.CONTAINS, "vip", "ＶＩＰ多少钱", True),
        (MatchKind.EXACT, "ＶＩＰ价格", "vip价格", True),
        (MatchKind.PREFIX, "Hello  World", "hello world!", True),
        # Lone surrogates (from JSON escapes) are characters like any other.
        (MatchKind.CONTAINS, "\ud800x", "a\ud800xb", True),
        (MatchKind.CONTAINS, "x", "\udc00x\ud800", True),
        # Regexes see the normalised text, with case ignored.
        (MatchKind.REGEX, r"第\s?\d+\s?期", "第 12 期什么时候开始", True),
        (MatchKind.REGEX, r"第\s?\d+\s?期", "第几期", False),
        (MatchKind.REGEX, r"^vip\d{1,3}$", "VIP12", True),
        (MatchKind.REGEX, r"价格（元）", "价格(元)", True),  # full-width in the pattern too
        (MatchKind.REGEX, r"a\（b", "a(b", True),
        # Fuzzy: the best-aligned window of the message against the pattern.
        (MatchKind.FUZZY, "怎么报名", "请问这个活动怎么报名啊", True),
        (MatchKind.FUZZY, "退款怎么申请", "请问退款怎么申请呀", True),
        (MatchKind.FUZZY, "how do i sign up", "hi, how do I sign-up?", True),
        (MatchKind.FUZZY, "退款怎么申请", "今天天气不错", False),
        # A short message does not match a long pattern just because it is part of it.
        (MatchKind.FUZZY, "怎么报名", "报名", False),
    ],
)
def test_each_kind_matches_what_it_says(
    kind: MatchKind, pattern: str, text: str, hit: bool
) -> None:
    assert ids(ruleset(rule(kind, pattern)), text) == (["r1"] if hit else [])


@pytest.mark.parametrize(
    ("kind", "pattern", "text", "hit"),
    [
        (MatchKind.CONTAINS, "VIP", "VIP价格", True),
        (MatchKind.CONTAINS, "VIP", "vip价格", False),
        (MatchKind.CONTAINS, "VIP", "ＶＩＰ价格", True),  # width still folds
        (MatchKind.EXACT, "OK", "ok", False),
        (MatchKind.PREFIX, "Hi", "hi all", False),
        (MatchKind.PREFIX, "Hi", "Hi all", True),
        (MatchKind.REGEX, "VIP", "vip", False),
    ],
)
def test_a_case_sensitive_rule_keeps_case(
    kind: MatchKind, pattern: str, text: str, hit: bool
) -> None:
    compiled = ruleset(rule(kind, pattern, case_insensitive=False))
    assert ids(compiled, text) == (["r1"] if hit else [])


def test_any_pattern_of_a_rule_matches_and_the_first_listed_is_reported() -> None:
    compiled = ruleset(rule(MatchKind.CONTAINS, "报名费", "报名", "交费"))
    [found] = compiled.matches("交报名费", group_id=G1)
    assert (found.pattern, found.matched) == ("报名费", "报名费")
    assert ids(compiled, "怎么交费") == ["r1"]


def test_matches_report_the_text_that_matched() -> None:
    compiled = ruleset(
        rule(MatchKind.REGEX, r"第\d+期", id="re"),
        rule(MatchKind.FUZZY, "退款怎么申请", id="fz"),
        rule(MatchKind.CONTAINS, "ＶＩＰ", id="kw"),
    )
    found = {m.rule.id: m for m in compiled.matches("VIP第3期请问退款怎么申请", group_id=G1)}
    assert found["re"].matched == "第3期" and found["re"].score is None
    assert found["fz"].matched == "退款怎么申请" and found["fz"].score == 100.0
    assert (found["kw"].pattern, found["kw"].matched) == ("ＶＩＰ", "vip")


def test_regex_and_fuzzy_rules_read_at_most_the_first_2000_characters() -> None:
    compiled = ruleset(
        rule(MatchKind.REGEX, "报名", id="re"), rule(MatchKind.FUZZY, "怎么报名", id="fz")
    )
    late = "哈" * MAX_TEXT + "怎么报名"
    assert ids(compiled, late) == []
    assert ids(compiled, "哈" * (MAX_TEXT - 10) + "怎么报名") == ["re", "fz"]


# --- scope, priority, enabled -------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "asker", "hit"),
    [
        ({}, {"group_id": G2, "role": Role.MEMBER, "tier": None}, True),
        ({"groups": frozenset({G1})}, {"group_id": G1}, True),
        ({"groups": frozenset({G1})}, {"group_id": G2}, False),
        ({"roles": frozenset({Role.MEMBER})}, {"group_id": G1, "role": Role.MEMBER}, True),
        ({"roles": frozenset({Role.MEMBER})}, {"group_id": G1, "role": Role.ADMIN}, False),
        ({"roles": frozenset({Role.MEMBER})}, {"group_id": G1, "role": None}, True),
        ({"roles": frozenset({Role.OWNER, Role.ADMIN})}, {"group_id": G1}, False),
        ({"tiers": frozenset({"gold"})}, {"group_id": G1, "tier": "gold"}, True),
        ({"tiers": frozenset({"gold"})}, {"group_id": G1, "tier": "silver"}, False),
        ({"tiers": frozenset({"gold"})}, {"group_id": G1, "tier": None}, False),
        (
            {"groups": frozenset({G1, G2}), "tiers": frozenset({"gold"})},
            {"group_id": G2, "tier": "gold", "role": Role.ADMIN},
            True,
        ),
    ],
)
@pytest.mark.parametrize("kind", [MatchKind.CONTAINS, MatchKind.REGEX, MatchKind.FUZZY])
def test_scope_limits_who_is_answered(
    kind: MatchKind, scope: dict[str, Any], asker: dict[str, Any], hit: bool
) -> None:
    compiled = ruleset(rule(kind, "怎么报名", **scope))
    who = dict(asker)
    group_id = who.pop("group_id")
    assert ids(compiled, "怎么报名", group_id, **who) == (["r1"] if hit else [])


def test_rules_answer_by_priority_then_in_the_order_given() -> None:
    compiled = ruleset(
        rule(MatchKind.CONTAINS, "报名", id="low", priority=-1),
        rule(MatchKind.FUZZY, "怎么报名", id="first"),
        rule(MatchKind.REGEX, "报名", id="second"),
        rule(MatchKind.EXACT, "怎么报名", id="top", priority=5),
        rule(MatchKind.PREFIX, "怎么", id="third"),
    )
    assert ids(compiled, "怎么报名") == ["top", "first", "second", "third", "low"]
    assert [r.id for r in compiled.rules] == ["top", "first", "second", "third", "low"]


def test_a_disabled_rule_is_checked_but_never_matches() -> None:
    compiled, problems = compile_rules(
        [rule(MatchKind.CONTAINS, "报名", enabled=False), rule(id="bad", enabled=False, reply="")]
    )
    assert ids(compiled, "报名") == [] and len(compiled) == 0
    assert [p.rule_id for p in problems] == ["bad"]


def test_the_same_keyword_in_several_rules_answers_for_each_in_scope() -> None:
    compiled = ruleset(
        rule(MatchKind.CONTAINS, "报名", id="a", groups=frozenset({G2})),
        rule(MatchKind.CONTAINS, "报名", id="b"),
        rule(MatchKind.PREFIX, "报名", id="c"),
        rule(MatchKind.EXACT, "报名", id="d", case_insensitive=False),
    )
    assert ids(compiled, "报名") == ["b", "c", "d"]
    assert ids(compiled, "报名", G2) == ["a", "b", "c", "d"]
    assert ids(compiled, "怎么报名", G2) == ["a", "b"]


# --- replies ------------------------------------------------------------------------------


def ask(text: str, **overrides: Any) -> Any:
    payload = overrides.pop("payload", {"message_id": "m7"})
    return event(7, text=text, **payload).with_(**overrides)


def answer(
    compiled: RuleSet,
    text: str,
    *,
    cooldowns: Mapping[tuple[str, int], datetime] | None = None,
    group_id: int = G1,
    now: datetime = NOW,
    **kwargs: Any,
) -> tuple[list[Any], dict[tuple[str, int], datetime]]:
    return reply(
        compiled,
        kwargs.pop("event", None) or ask(text, group=f"g{group_id}"),
        group_id=group_id,
        values=kwargs.pop("values", {"number": 42, "community": "跑者联盟"}),
        now=now,
        cooldowns=cooldowns or {},
        **kwargs,
    )


def test_a_match_is_answered_in_the_thread_with_the_variables_filled() -> None:
    compiled = ruleset(
        rule(reply="{name}（{number} 号）你好，{group} 的报名见公告 — {community} {{官方}}")
    )
    actions, cooldowns = answer(compiled, "怎么报名")
    [action] = actions
    assert action.type is ActionType.REPLY
    assert (action.platform, action.group, action.user, action.target_message) == (
        "sim",
        "g1",
        "u1",
        "m7",
    )
    assert action.message == Message.of("昵称u1（42 号）你好，g1群 的报名见公告 — 跑者联盟 {官方}")
    assert action.params["rule"] == "r1" and action.params["rule_name"] == "规则 r1"
    assert action.params["matched"] == "报名" and action.params["kind"] == "contains"
    assert "r1" in action.reason and "报名" in action.reason
    assert "自动回复规则" in action.params["reason_zh"]
    assert cooldowns == {("r1", G1): NOW}
    orjson.dumps(action.to_dict())  # stored in the outbox as JSON


def test_values_override_the_names_the_event_carries() -> None:
    compiled = ruleset(rule(reply="{name}@{group}"))
    [action], _ = answer(compiled, "报名", values={"name": "小王", "group": "一群"})
    assert action.message == Message.of("小王@一群")


def test_a_message_without_an_id_gets_a_group_message_instead() -> None:
    [action], _ = answer(ruleset(rule()), "报名", event=ask("报名", payload={}))
    assert action.type is ActionType.SEND_MESSAGE and action.target_message is None


@pytest.mark.parametrize(
    "changes",
    [
        {"actor": "bot-1"},  # the bot's own message
        {"group": None},  # a direct chat
        {"type": EventType.JOIN},
        {"message": None},
    ],
)
def test_what_is_never_answered(changes: dict[str, Any]) -> None:
    actions, cooldowns = answer(
        ruleset(rule()), "报名", event=ask("报名", **changes), bots={"bot-1"}
    )
    assert actions == [] and cooldowns == {}


def test_at_most_one_answer_per_message_the_first_in_priority_order() -> None:
    compiled = ruleset(
        rule(id="a", reply="A"), rule(id="b", reply="B", priority=1), rule(id="c", reply="C")
    )
    [action], cooldowns = answer(compiled, "报名")
    assert action.message == Message.of("B") and cooldowns == {("b", G1): NOW}


def test_cooldown_is_per_rule_per_group() -> None:
    compiled = ruleset(
        rule(id="a", reply="A", cooldown_s=60), rule(id="b", reply="B", priority=-1, cooldown_s=0)
    )
    start: dict[tuple[str, int], datetime] = {}
    [first], after = answer(compiled, "报名", cooldowns=start)
    assert first.message == Message.of("A") and start == {}  # the input map is untouched
    # Within the minute, in the same group: the next rule answers instead.
    [second], after = answer(compiled, "报名", cooldowns=after, now=NOW + timedelta(seconds=59))
    assert second.message == Message.of("B")
    # Another group has its own cooldown.
    [other], _ = answer(compiled, "报名", cooldowns=after, group_id=G2, now=NOW)
    assert other.message == Message.of("A")
    # Once the minute is over, the rule answers again.
    [again], after = answer(compiled, "报名", cooldowns=after, now=NOW + timedelta(seconds=60))
    assert again.message == Message.of("A")
    assert after[("a", G1)] == NOW + timedelta(seconds=60)


def test_nothing_is_said_while_every_matching_rule_cools_down() -> None:
    compiled = ruleset(rule(cooldown_s=300))
    _, after = answer(compiled, "报名")
    actions, unchanged = answer(compiled, "报名", cooldowns=after, now=NOW + timedelta(minutes=1))
    assert actions == [] and unchanged == after


def test_a_reply_that_fills_to_nothing_gives_way_to_the_next_rule() -> None:
    compiled = ruleset(rule(id="empty", reply="{number}"), rule(id="next", reply="在这里"))
    [action], _ = answer(compiled, "报名", values={})
    assert action.message == Message.of("在这里")


def test_decide_explains_the_answer_in_both_languages() -> None:
    compiled = ruleset(rule(MatchKind.FUZZY, "退款怎么申请", id="fz", name="退款", reply="看这里"))
    decision = decide(compiled, ask("请问退款怎么申请\u202e呀"), group_id=G1, now=NOW, cooldowns={})
    assert decision is not None
    assert (decision.rule_id, decision.rule_name, decision.kind) == ("fz", "退款", "fuzzy")
    assert decision.score == 100.0 and decision.matched == "退款怎么申请"
    assert "similarity 100" in decision.reason.pick("en")
    assert "模糊匹配" in decision.reason.pick("zh-CN") and "相似度 100" in decision.reason.zh
    data = decision.to_dict()
    assert data["reason"]["zh"] == decision.reason.zh
    orjson.dumps(data)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        answer(ruleset(rule()), "报名", now=datetime(2026, 3, 2, 9, 30))


def test_cooldowns_are_stored_as_json_and_expire() -> None:
    compiled = ruleset(rule(id="a", cooldown_s=60), rule(id="b", cooldown_s=3600))
    cooldowns = {("a", G1): NOW, ("b", G2): NOW, ("gone", G1): NOW}
    stored = orjson.loads(orjson.dumps(cooldowns_to_list(cooldowns)))
    assert cooldowns_from_list(stored) == cooldowns
    later = NOW + timedelta(minutes=5)
    assert expire_cooldowns(cooldowns, compiled, later) == {("b", G2): NOW}


# --- refusing what cannot work ------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field", "says"),
    [
        (rule(reply="你好 {nickname}"), "reply", "unknown variable {nickname}"),
        (rule(reply="{name.__class__}"), "reply", "is not a variable"),
        (rule(reply="  "), "reply", "nothing to answer"),
        (rule(reply="x" * 4001), "reply", "at most 4000"),
        (rule(MatchKind.CONTAINS, "报名", ""), "patterns[1]", "empty"),
        (rule(MatchKind.EXACT, " \t "), "patterns[0]", "empty"),
        (rule(MatchKind.CONTAINS, "x" * (MAX_PATTERN + 1)), "patterns[0]", "at most 500"),
        (AutoReplyRule("r1", "n", MatchKind.CONTAINS, (), "x"), "patterns", "no pattern"),
        # Regexes: kit.regex.guard decides (its table is tests/kit/test_regex.py); a refusal
        # reaches the operator with the rule, the pattern and the guard's reason.
        (rule(MatchKind.REGEX, "第(\\d+期"), "patterns[0]", "does not compile"),
        (rule(MatchKind.REGEX, "(a+)+"), "patterns[0]", "repeat inside a repeat"),
        (rule(MatchKind.REGEX, ".*a.*b"), "patterns[0]", "2 open-ended repeats"),
        (rule(MatchKind.REGEX, "(a)\\1"), "patterns[0]", "backreference"),
        (rule(MatchKind.REGEX, " "), "patterns[0]", "is empty"),
        (rule(MatchKind.REGEX, "a" * 501), "patterns[0]", "at most 500"),
        (rule(MatchKind.REGEX, ".*"), "patterns[0]", "answer every message"),
        (rule(MatchKind.REGEX, "x|"), "patterns[0]", "answer every message"),
        (rule(MatchKind.REGEX, "^$"), "patterns[0]", "can match empty text"),
        (rule(MatchKind.FUZZY, "报名", threshold=0), "threshold", "above 0"),
        (rule(MatchKind.FUZZY, "报名", threshold=101), "threshold", "at most 100"),
        (rule(cooldown_s=-1), "cooldown_s", "zero or more"),
        (rule("fuzzy-ish"), "kind", "not one of"),
        (rule(roles=frozenset({"vip"})), "roles", "not one of"),
        (rule(tiers=frozenset({""})), "tiers", "tier names"),
        (rule(id=" "), "id", "empty"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_with_the_rule_and_why(
    bad: AutoReplyRule, field: str, says: str
) -> None:
    problems = validate_rule(bad)
    assert [p.field for p in problems] == [field]
    assert says in problems[0].reason.en
    with pytest.raises(RuleError) as info:
        check_rule(bad)
    assert bad.id in str(info.value) and says in str(info.value)


def test_a_regex_the_guard_accepts_reads_at_most_2000_characters_of_hostile_text() -> None:
    compiled = ruleset(rule(MatchKind.REGEX, r".*a.{0,9}b", id="slow"))
    started = time.perf_counter()
    assert ids(compiled, "a" * (10 * MAX_TEXT)) == []
    assert time.perf_counter() - started < 1.0


def test_every_problem_of_a_rule_is_reported_at_once_in_both_languages() -> None:
    bad = rule(MatchKind.REGEX, "(a+)+", "", id="faq-9", name="报名", reply="{x}", cooldown_s=-5)
    problems = validate_rule(bad)
    assert [p.field for p in problems] == ["patterns[0]", "patterns[1]", "reply", "cooldown_s"]
    assert problems[0].text("en").startswith("auto-reply rule “报名” (faq-9), pattern 1:")
    assert problems[1].text("zh-CN").startswith("自动回复规则“报名”（faq-9）的第 2 条匹配内容：")
    assert problems[3].text("zh").endswith("必须是不小于 0 的秒数")
    assert all(p.to_dict()["rule_id"] == "faq-9" for p in problems)


def test_one_bad_rule_never_takes_the_others_down() -> None:
    rules = [
        rule(MatchKind.CONTAINS, "报名", id="ok-1"),
        rule(MatchKind.REGEX, "(a+)+", id="bad-regex"),
        rule(MatchKind.EXACT, "群规", id="ok-2", reply="见公告"),
        rule(reply="{unknown}", id="bad-reply"),
        rule(MatchKind.FUZZY, "怎么退款", id="ok-3"),
        rule(MatchKind.CONTAINS, "其他", id="ok-1"),  # a repeated id
        {"id": "bad-shape", "kind": "contains", "patterns": "报名", "reply": "x"},
        {"id": "ok-4", "kind": "prefix", "patterns": ["请问"], "reply": "x"},
    ]
    compiled, problems = compile_rules(rules)
    assert [r.id for r in compiled.rules] == ["ok-1", "ok-2", "ok-3", "ok-4"]
    assert [(p.rule_id, p.field) for p in problems] == [
        ("bad-regex", "patterns[0]"),
        ("bad-reply", "reply"),
        ("ok-1", "id"),
        ("bad-shape", "patterns"),
    ]
    assert ids(compiled, "请问怎么报名") == ["ok-1", "ok-4"]
    assert ids(compiled, "群规") == ["ok-2"]
    assert ids(compiled, "请问怎么退款呢") == ["ok-3", "ok-4"]


def test_an_id_used_twice_is_refused_even_after_an_invalid_rule() -> None:
    compiled, problems = compile_rules([rule(id="x", reply=""), rule(id="x"), rule(id="y")])
    assert [r.id for r in compiled.rules] == ["y"]
    assert [(p.rule_id, p.field) for p in problems] == [("x", "reply"), ("x", "id")]
    assert "earlier rule" in problems[1].message


def test_fuzzy_rules_ignore_case_even_when_asked_to_keep_it() -> None:
    compiled = ruleset(rule(MatchKind.FUZZY, "How To Sign Up", case_insensitive=False))
    assert ids(compiled, "how to sign up?") == ["r1"]


ODD = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.floats(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "id": st.one_of(st.text(max_size=3), ODD),
            "name": st.one_of(st.text(max_size=3), ODD),
            "kind": st.one_of(st.sampled_from(list(MatchKind)), ODD),
            "patterns": st.one_of(st.lists(st.text(max_size=6)).map(tuple), ODD),
            "reply": st.one_of(st.text(max_size=12), ODD),
            "groups": st.one_of(st.frozensets(st.integers()), ODD),
            "roles": st.one_of(st.frozensets(st.sampled_from([*Role, "vip"])), ODD),
            "tiers": st.one_of(st.frozensets(st.text(max_size=3)), ODD),
            "cooldown_s": ODD,
            "case_insensitive": ODD,
            "threshold": ODD,
            "priority": ODD,
            "enabled": ODD,
        }
    ),
    st.text(max_size=20),
)
def test_compiling_any_rule_never_raises(fields: dict[str, Any], text: str) -> None:
    candidate = AutoReplyRule(**fields)
    compiled, problems = compile_rules([candidate, "not a rule", rule(id="good")])
    assert "good" in [r.id for r in compiled.rules] and problems[-1].field == "rule"
    # The candidate either works, or is reported, or is a valid rule switched off.
    flagged = validate_rule(candidate) != []
    assert (candidate in compiled.rules) != (flagged or candidate.enabled is False)
    compiled.matches(text, group_id=G1)


def test_rules_round_trip_through_their_stored_form() -> None:
    full = rule(
        MatchKind.FUZZY,
        "怎么报名",
        "报名方式",
        id="faq-1",
        groups=frozenset({3, 1}),
        roles=frozenset({Role.MEMBER, Role.ADMIN}),
        tiers=frozenset({"gold"}),
        cooldown_s=30,
        case_insensitive=False,
        threshold=90.0,
        priority=2,
        enabled=False,
    )
    stored = orjson.loads(orjson.dumps(full.to_dict()))
    assert stored["groups"] == [1, 3] and stored["roles"] == ["admin", "member"]
    assert AutoReplyRule.from_dict(stored) == full
    minimal = AutoReplyRule.from_dict({"id": 7, "kind": "exact", "patterns": ["hi"], "reply": "x"})
    assert (minimal.id, minimal.cooldown_s, minimal.threshold) == ("7", 60, 85.0)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"kind": "contains", "patterns": ["a"], "reply": "x"}, ["id"]),
        ({"id": "r", "kind": "regexp", "patterns": ["a"], "reply": "x"}, ["kind"]),
        ({"id": "r", "kind": "exact", "reply": "x"}, ["patterns"]),
        ({"id": "r", "kind": "exact", "patterns": [1], "reply": 2}, ["patterns", "reply"]),
        (
            {"id": "r", "kind": "exact", "patterns": ["a"], "reply": "x", "groups": ["g1"]},
            ["groups"],
        ),
        (
            {"id": "r", "kind": "exact", "patterns": ["a"], "reply": "x", "roles": ["boss"]},
            ["roles"],
        ),
        (
            {"id": "r", "kind": "exact", "patterns": ["a"], "reply": "x", "enabled": "yes"},
            ["enabled"],
        ),
        (
            {"id": "r", "kind": "exact", "patterns": ["a"], "reply": "x", "cooldown_s": 1.5},
            ["cooldown_s"],
        ),
        (
            {"id": "r", "kind": "exact", "patterns": ["a"], "reply": "x", "threshold": "90"},
            ["threshold"],
        ),
    ],
)
def test_a_stored_rule_of_the_wrong_shape_is_refused_field_by_field(
    data: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(RuleError) as info:
        AutoReplyRule.from_dict(data)
    assert [p.field for p in info.value.problems] == fields


# --- hostile text -------------------------------------------------------------------------

EVERY_KIND = ruleset(
    rule(MatchKind.EXACT, "群规", id="exact"),
    rule(MatchKind.CONTAINS, "报名", "vip", "😀", "\u0301", id="contains"),
    rule(MatchKind.PREFIX, "请问", id="prefix", case_insensitive=False),
    rule(MatchKind.REGEX, r"\d{3,}|[a-z]+\s[a-z]{1,5}", id="regex", groups=frozenset({G1})),
    rule(MatchKind.FUZZY, "怎么报名", "how to sign up", id="fuzzy", tiers=frozenset({"t"})),
)
ANY_CHAR = st.one_of(st.characters(exclude_categories=()), st.characters(categories=["Cs"]))


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHAR, max_size=80), st.sampled_from([None, *Role]), st.sampled_from([None, "t"]))
def test_matching_never_crashes_on_arbitrary_unicode(
    text: str, role: Role | None, tier: str | None
) -> None:
    found = EVERY_KIND.matches(text, group_id=G1, role=role, tier=tier)
    order = [r.id for r in EVERY_KIND.rules]
    positions = [order.index(m.rule.id) for m in found]
    assert positions == sorted(set(positions))
    assert [m.rule for m in found] == EVERY_KIND.match(text, group_id=G1, role=role, tier=tier)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(ANY_CHAR, max_size=30), max_size=4))
def test_replying_never_crashes_on_arbitrary_messages(parts: list[str]) -> None:
    message = Message(tuple(Text(p) for p in parts))
    hostile = ask("").with_(message=message, actor_name="\u202e" + "".join(parts)[:10])
    actions, _ = reply(EVERY_KIND, hostile, group_id=G1, now=NOW, cooldowns={}, tier="t")
    assert len(actions) <= 1
    for action in actions:
        orjson.dumps(action.to_dict())


WORDS = st.text(alphabet="ab报名费ＡB ", min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=12), st.text(alphabet="ab报名费ＡB ", max_size=40))
def test_keyword_rules_match_what_the_naive_loop_over_normalised_text_finds(
    words: list[str], text: str
) -> None:
    rules = [rule(MatchKind.CONTAINS, w, id=f"k{i}") for i, w in enumerate(words)]
    compiled, problems = compile_rules(rules)
    valid = {p.rule_id for p in problems}
    expected = [
        r.id for r in rules if r.id not in valid and normalise(r.patterns[0]) in normalise(text)
    ]
    assert ids(compiled, text) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_validation_never_raises_on_any_regex(pattern: str) -> None:
    problems = validate_rule(rule(MatchKind.REGEX, pattern))
    assert all(p.field == "patterns[0]" for p in problems)


def test_the_bench_agrees_with_the_naive_loop_on_simulated_chat() -> None:
    from shequn.bench.rules import bench_rules

    figures = bench_rules(rules=300, messages=600)
    assert figures["agree"] is True and figures["rules"] == 300
    assert figures["messages"] == 600 and figures["group_messages"] > 0
    assert figures["msgs_per_s"] > 0 and figures["naive_msgs_per_s"] > 0
    assert figures["ratio"] == figures["msgs_per_s"] / figures["naive_msgs_per_s"]
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
