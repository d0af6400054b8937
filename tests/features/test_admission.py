"""Admission — 登堂入室: who gets in, who waits for an operator, how newcomers are received.

These rules let strangers into private groups and spend paid-for invite codes, so each
check is pinned case by case, every way checks combine is spelled out, codes are redeemed
over time (expiry, use limits, the same member retrying), the lobby promotes on the right
day, cards are read part by part with Chinese and emoji names within QQ's byte limit, and
joins arriving together get one welcome. Chat text is hostile: answers and cards of any
Unicode never crash a check, and a pattern an operator saves cannot run away on them.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from factories import event
from shequn.core import ActionType, EventType, Mention, Text
from shequn.features.admission import (
    MAX_SCANNED,
    RuleError,
    compile_pattern,
    fold,
    load_each,
    pattern_problem,
    search,
)
from shequn.features.admission import codes as C
from shequn.features.admission.checks import (
    AdmissionPolicy,
    InviteCodeCheck,
    MatchMode,
    PaymentCheck,
    PurchaseCheck,
    QuestionCheck,
    WhenMissing,
    check_from_dict,
)
from shequn.features.admission.decide import Decision, decide, hold_unloadable
from shequn.features.admission.evaluation import Status, evaluate
from shequn.features.admission.join_request import (
    JoinFacts,
    JoinRequest,
    Purchase,
    screening_answer,
)
from shequn.features.admission.lobby import (
    GroupRef,
    LobbyMember,
    LobbyRules,
    Need,
    lobby_status,
    promotion,
)
from shequn.features.admission.namecard import (
    NO_LIMIT,
    CardFacts,
    CardFormat,
    CardLimit,
    Fault,
    card_limit,
    check,
    reminder,
    suggest,
)
from shequn.features.admission.welcome import (
    Newcomer,
    WelcomeConfig,
    WelcomeQueue,
    deletion,
    drop,
    enqueue,
    flush,
    welcome_actions,
    welcome_message,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QQ = card_limit("onebot")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Any Unicode, lone surrogates included: what a JSON payload can carry.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=400)


def request(answer: str = "", code: str = "", **changes: Any) -> JoinRequest:
    base = JoinRequest(
        platform="onebot",
        group="g1",
        user="u1",
        request_id="flag-1",
        answer=answer,
        invite_code=code,
        user_name="小王",
    )
    return replace(base, **changes)


def paid(amount: str, currency: str = "CNY", days_ago: int = 1, **kw: Any) -> Purchase:
    return Purchase(
        order_id=kw.pop("order_id", f"o{amount}"),
        at=NOW - timedelta(days=days_ago),
        amount=Decimal(amount),
        currency=currency,
        **kw,
    )


def codes_with(*texts: str, **terms: Any) -> C.CodesState:
    return C.issue(C.CodesState(), texts, now=NOW - timedelta(days=1), **terms)


# --- the regular-expression guard ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a" * 201, "at most 200"),
        ("(", "does not compile"),
        ("[z-a]", "does not compile"),
        (r"(a+)+", "repeat inside a repeat"),
        (r"(\w+\s?)+$", "repeat inside a repeat"),
        (r"(?:x*y)*z", "repeat inside a repeat"),
        (r"(a|ab)*c", "repeated group of alternatives"),
        (r"(ab|a)+c", "repeated group of alternatives"),
        (r"(a)\1", "backreferences"),
        (r".*.*.*x", "3 open-ended repeats"),
        (r".*.*x", "2 open-ended repeats"),
        (r"a{0,20}b{0,20}c{0,20}e", "multiply to 9,261"),
        (r"a*", "matches an empty answer"),
        (r"x?", "matches an empty answer"),
        (r"^$", "matches an empty answer"),
    ],
)
def test_patterns_that_cannot_work_or_could_run_away_are_refused(pattern: str, says: str) -> None:
    why = pattern_problem(pattern)
    assert why is not None and says in why.en
    assert why.zh


@pytest.mark.parametrize(
    "pattern",
    [
        "python",
        r"\d+\s?年",  # answers are folded, so one space stands for any run of them
        r"(python|java).*(3|三)年",
        r"(cat|dog)+",  # alternatives that start apart cut a text one way only
        r"a?b?c?d?e",  # 16 ways in all: bounded
        r"^[a-z]{2,5}$",
        r"(?:ab){3}",
        "ＰＹＴＨＯＮ",
        r"朋友(推荐|介绍)",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    "pattern",
    [r"\w+x?\s{0,4}", r"[a-z]*[a-z]{1,10}1", r"(ab){1,9}.*z", r"\w{0,9}\w{0,9}\w{0,9}x"],
)
@pytest.mark.parametrize("hostile", ["a" * 5000, "ab" * 2500, " " * 5000, "a" * 299 + "!"])
def test_the_worst_accepted_patterns_stay_fast_on_hostile_text(pattern: str, hostile: str) -> None:
    assert pattern_problem(pattern) is None
    compiled = compile_pattern(pattern)
    started = time.perf_counter()
    search(compiled, hostile)
    assert time.perf_counter() - started < 0.25


def test_only_the_start_of_a_long_text_is_scanned() -> None:
    compiled = compile_pattern("needle")
    assert search(compiled, "x" * (MAX_SCANNED - 6) + "needle") == "needle"
    assert search(compiled, "x" * MAX_SCANNED + "needle") is None


@given(ANY_TEXT)
@FAST
def test_folding_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


# --- screening questions ------------------------------------------------------------------

ANY_OF = QuestionCheck(id="q", name="来源", keywords=("朋友", "公众号", "Podcast"))
ALL_OF = QuestionCheck(id="q", name="来源", mode=MatchMode.ALL, keywords=("python", "3年"))
REGEX = QuestionCheck(id="q", name="工号", mode=MatchMode.REGEX, pattern=r"^[a-z]{2}\d{4}$")


@pytest.mark.parametrize(
    ("check_", "answer", "status", "matched"),
    [
        (ANY_OF, "朋友推荐的", Status.PASS, "朋友"),
        (ANY_OF, "在ＰＯＤＣＡＳＴ里听到", Status.PASS, "podcast"),
        (ANY_OF, "问题：从哪里知道本群？\n答案：公众号文章", Status.PASS, "公众号"),
        (ANY_OF, "路过", Status.FAIL, "路过"),
        # The question's own words do not answer it.
        (ANY_OF, "问题：是朋友还是公众号？\n答案：不知道", Status.FAIL, "不知道"),
        (ANY_OF, "", Status.MISSING, ""),
        (ANY_OF, " \u200b\n ", Status.MISSING, ""),
        (ANY_OF, "问题：从哪里知道本群？\n答案：", Status.MISSING, ""),
        (ALL_OF, "Python 写了 3年", Status.PASS, "python、3年"),
        (ALL_OF, "python 新手", Status.FAIL, "python 新手"),
        (REGEX, "AB1234", Status.PASS, "ab1234"),
        (REGEX, "ＡＢ１２３４", Status.PASS, "ab1234"),
        (REGEX, "AB12345", Status.FAIL, "AB12345"),
    ],
)
def test_screening_answers(
    check_: QuestionCheck, answer: str, status: Status, matched: str
) -> None:
    result = evaluate(check_, request(answer), JoinFacts(), NOW)
    assert (result.status, result.matched) == (status, matched)
    assert (result.check_id, result.check_name) == ("q", check_.name)
    assert result.reason.en and result.reason.zh


def test_screening_answer_is_taken_after_qqs_answer_mark() -> None:
    assert screening_answer("问题：你是谁？\n答案：小王") == "小王"
    assert screening_answer("问题: who?\n答案: me") == "me"
    assert screening_answer("我的答案：小王") == "我的答案：小王"


# --- invite codes -------------------------------------------------------------------------


def test_generated_codes_are_reproducible_readable_and_new() -> None:
    first = C.generate(random.Random(7), 200, taken=["AAAA2222"])
    assert first == C.generate(random.Random(7), 200, taken=["AAAA2222"])
    assert len(set(first)) == 200 and "AAAA2222" not in first
    assert all(len(c) == 8 and set(c) <= set(C.ALPHABET) for c in first)
    assert not set("0O1I") & set(C.ALPHABET)
    assert C.generate(random.Random(8), 5) != C.generate(random.Random(7), 5)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"count": 0}, "count"),
        ({"count": 1, "length": 3}, "length"),
        ({"count": 600_000, "length": 4}, "count"),
    ],
)
def test_generating_refuses_impossible_requests(args: dict[str, int], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        C.generate(random.Random(1), **args)


def test_generation_refuses_a_nearly_full_code_space() -> None:
    with pytest.raises(ValueError, match="too few free codes"):
        C.generate(random.Random(1), 10, length=4, taken=[f"{i}" for i in range(524_288)])


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("abcd-efgh", "ABCDEFGH"), ("ＡＢＣＤ ２３４５", "ABCD2345"), (" x_y ", "XY")],
)
def test_codes_are_compared_as_stored(typed: str, stored: str) -> None:
    assert C.normalize_code(typed) == stored


def _run(state: C.CodesState, attempts: list[tuple[str, str, timedelta]]) -> list[C.Outcome]:
    outcomes = []
    for code, source, after in attempts:
        result, state = C.redeem(state, code, NOW + after, source)
        outcomes.append(result.outcome)
    return outcomes


S = timedelta(seconds=1)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("terms", "attempts", "expected"),
    [
        pytest.param(
            {"max_uses": 1},
            [("K2K2K2K2", "a", 0 * S), ("k2k2-k2k2", "a", H), ("K2K2K2K2", "b", H)],
            ["redeemed", "already_redeemed", "used_up"],
            id="single-use",
        ),
        pytest.param(
            {"max_uses": 3},
            [("K2K2K2K2", s, H) for s in "abcd"],
            ["redeemed", "redeemed", "redeemed", "used_up"],
            id="multi-use",
        ),
        pytest.param(
            {"max_uses": None},
            [("K2K2K2K2", s, H) for s in "abcdef"],
            ["redeemed"] * 6,
            id="unlimited",
        ),
        pytest.param(
            {"max_uses": 5, "expires_at": NOW + 2 * H},
            [("K2K2K2K2", "a", 2 * H - S), ("K2K2K2K2", "b", 2 * H), ("K2K2K2K2", "a", 3 * H)],
            ["redeemed", "expired", "already_redeemed"],
            id="expiry-then-retry",
        ),
        pytest.param(
            {},
            [("NOPE2345", "a", H), ("", "a", H), ("  -  ", "a", H)],
            ["unknown", "no_code", "no_code"],
            id="unknown-and-empty",
        ),
    ],
)
def test_redemption_over_time(
    terms: dict[str, Any], attempts: list[tuple[str, str, timedelta]], expected: list[str]
) -> None:
    assert _run(codes_with("K2K2K2K2", **terms), attempts) == expected


def test_redeeming_returns_new_state_and_leaves_the_old_one_alone() -> None:
    before = codes_with("K2K2K2K2", max_uses=2, channel="poster")
    result, after = C.redeem(before, "k2k2k2k2", NOW, "onebot:1")
    assert result.ok and result.channel == "poster" and result.uses_left == 1
    assert before.find("K2K2K2K2").used == 0
    assert after.find("K2K2K2K2").uses == (C.Use("onebot:1", NOW),)
    again, same = C.redeem(after, "K2K2K2K2", NOW + H, "onebot:1")
    assert again.outcome is C.Outcome.ALREADY_REDEEMED and same is after


def test_a_revoked_code_refuses_even_its_earlier_users() -> None:
    _, state = C.redeem(codes_with("K2K2K2K2"), "K2K2K2K2", NOW, "a")
    outcome = _run(C.revoke(state, "k2k2k2k2"), [("K2K2K2K2", "a", H)])
    assert outcome == ["revoked"]
    assert C.revoke(state, "missing") is state


def test_usage_is_counted_per_channel() -> None:
    state = C.issue(codes_with("AAAA2222", channel="poster"), ["BBBB3333"], now=NOW, max_uses=None)
    for code, source in [("AAAA2222", "x"), ("BBBB3333", "y"), ("BBBB3333", "z")]:
        _, state = C.redeem(state, code, NOW, source)
    assert C.usage_by_channel(state) == {"poster": 1, "": 2}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"expires_at": NOW - H}, "expires_at"),
        ({"expires_at": NOW}, "expires_at"),
        ({"max_uses": 0}, "max_uses"),
        ({"channel": "x" * 65}, "channel"),
    ],
)
def test_issuing_codes_on_bad_terms_is_refused_naming_the_field(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(RuleError) as info:
        C.issue(C.CodesState(), ["GOOD2345"], now=NOW, **kwargs)
    assert [p.field for p in info.value.problems] == [field]
    assert "GOOD2345" in str(info.value)


def test_issuing_reports_every_bad_code_at_once() -> None:
    with pytest.raises(RuleError) as info:
        C.issue(codes_with("TAKEN234"), ["taken234", "bad code!", "", "FINE2345"], now=NOW)
    assert len(info.value.problems) == 3
    assert {p.field for p in info.value.problems} == {"codes", "code"}


def test_naive_times_are_refused() -> None:
    with pytest.raises(RuleError, match="time zone"):
        C.InviteCode("ABCD2345", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        C.redeem(C.CodesState(), "X", datetime(2026, 1, 1), "a")


def test_codes_round_trip_through_json() -> None:
    state = codes_with("AAAA2222", max_uses=None, channel="poster", expires_at=NOW + H)
    _, state = C.redeem(C.revoke(state, "nope"), "AAAA2222", NOW, "onebot:9")
    assert C.CodesState.from_dict(state.to_dict()) == state
    with pytest.raises(RuleError) as info:
        C.CodesState.from_dict({"codes": [{"code": 5, "created_at": "yesterday"}, {"code": "OK"}]})
    fields = {p.field for p in info.value.problems}
    assert {"code", "created_at"} <= fields


# --- payment and prior purchase -----------------------------------------------------------

FEE = PaymentCheck(id="fee", name="入群费", fee=Decimal("99"), currency="cny", within_days=30)
COURSE = PurchaseCheck(id="buy", name="买过课", products=("Python 入门", "SQL"))


@pytest.mark.parametrize(
    ("check_", "purchases", "status"),
    [
        (FEE, (paid("99"),), Status.PASS),
        (FEE, (paid("98.99"), paid("120", order_id="o2")), Status.PASS),
        (FEE, (paid("98.99"),), Status.FAIL),
        (FEE, (paid("99", "USD"),), Status.FAIL),
        (FEE, (paid("99", "cny"),), Status.PASS),
        (FEE, (paid("199", days_ago=31),), Status.FAIL),
        (FEE, (Purchase(order_id="o", at=NOW),), Status.FAIL),
        (FEE, (), Status.MISSING),
        (FEE, None, Status.MISSING),
        (COURSE, (paid("10", product="python 入门"),), Status.PASS),
        (COURSE, (paid("10", product="ＳＱＬ"),), Status.PASS),
        (COURSE, (paid("10", product="Go"),), Status.FAIL),
        (COURSE, (paid("10"),), Status.FAIL),
        (COURSE, (), Status.MISSING),
        (COURSE, None, Status.MISSING),
    ],
)
def test_payment_and_purchase_checks(
    check_: PaymentCheck | PurchaseCheck, purchases: tuple[Purchase, ...] | None, status: Status
) -> None:
    result = evaluate(check_, request(), JoinFacts(purchases=purchases), NOW)
    assert result.status is status
    if status is Status.PASS:
        assert result.matched.startswith("order ")


def test_a_purchase_is_read_from_its_event() -> None:
    ev = event(1, EventType.PURCHASE, order_id=77, amount="99.50", currency=" cny ", product="SQL")
    assert Purchase.from_event(ev) == Purchase("77", ev.occurred_at, Decimal("99.50"), "CNY", "SQL")
    assert Purchase.from_event(event(2, EventType.PURCHASE, amount=5)) is None
    assert Purchase.from_event(event(3)) is None
    odd = Purchase.from_event(event(4, EventType.PURCHASE, order_id="x", amount=[1], currency=3))
    assert odd is not None and odd.amount is None and odd.currency is None


# --- deciding a request -------------------------------------------------------------------

Q = QuestionCheck(id="q", name="来源", keywords=("朋友",))
Q_REJECT_EMPTY = replace(Q, when_missing=WhenMissing.REJECT)
CODE = InviteCodeCheck(id="code", name="邀请码")
CODE_OR = replace(CODE, required=False)
FEE_OR = replace(FEE, required=False)
FEE_OR_REJECT = replace(FEE, required=False, when_missing=WhenMissing.REJECT)
CODE_OR_REJECT = replace(CODE, required=False, when_missing=WhenMissing.REJECT)
GOOD = "K2K2K2K2"


def policy(*checks: Any, **kw: Any) -> AdmissionPolicy:
    return AdmissionPolicy(id="p1", name="读书会入群", checks=checks, **kw)


@pytest.mark.parametrize(
    ("checks", "answer", "code", "purchases", "decision", "why"),
    [
        pytest.param((Q,), "朋友", "", None, "approve", "the answer has", id="q-pass"),
        pytest.param((Q,), "路人", "", None, "reject", "lacks", id="q-fail"),
        pytest.param((Q,), "", "", None, "hold", "no answer", id="q-missing-holds"),
        pytest.param(
            (Q_REJECT_EMPTY,), "", "", None, "reject", "no answer", id="q-missing-rejects"
        ),
        pytest.param((Q, CODE), "朋友", GOOD, None, "approve", "accepted", id="both-pass"),
        pytest.param(
            (Q, CODE), "朋友", "NOPE2345", None, "reject", "does not exist", id="bad-code"
        ),
        pytest.param((Q, CODE), "路人", GOOD, None, "reject", "lacks", id="code-ok-answer-bad"),
        pytest.param(
            (Q, CODE), "", "NOPE2345", None, "reject", "does not exist", id="fail-beats-hold"
        ),
        pytest.param((Q, CODE), "朋友", "", None, "hold", "no invite code", id="no-code-holds"),
        pytest.param((CODE_OR, FEE_OR), "", GOOD, None, "approve", "accepted", id="either-code"),
        pytest.param((CODE_OR, FEE_OR), "", "", (paid("99"),), "approve", "paid", id="either-pay"),
        pytest.param(
            (CODE_OR, FEE_OR),
            "",
            "NOPE2345",
            (paid("1"),),
            "reject",
            "does not exist",
            id="neither",
        ),
        pytest.param(
            (CODE_OR, FEE_OR), "", "NOPE2345", (), "hold", "no purchase", id="one-missing"
        ),
        pytest.param(
            (CODE_OR_REJECT, FEE_OR_REJECT),
            "",
            "",
            (),
            "reject",
            "no invite code",
            id="all-say-reject",
        ),
        pytest.param(
            (CODE_OR_REJECT, FEE_OR), "", "", (), "hold", "no invite code", id="one-says-hold"
        ),
        pytest.param(
            (Q, CODE_OR, FEE_OR), "路人", GOOD, None, "reject", "lacks", id="required-first"
        ),
        pytest.param((), "", "", None, "approve", "no checks", id="no-checks"),
    ],
)
def test_how_checks_combine(
    checks: tuple[Any, ...],
    answer: str,
    code: str,
    purchases: tuple[Purchase, ...] | None,
    decision: str,
    why: str,
) -> None:
    facts = JoinFacts(purchases=purchases, codes=codes_with(GOOD))
    verdict = decide(policy(*checks), request(answer, code), facts, NOW)
    assert verdict.decision == decision
    assert why in verdict.reason.en
    assert verdict.reason.zh
    assert (verdict.policy_id, verdict.policy_name) == ("p1", "读书会入群")
    assert len(verdict.results) == len(checks)


def test_approval_spends_the_code_and_carries_the_request_id() -> None:
    facts = JoinFacts(codes=codes_with(GOOD, channel="海报"))
    verdict = decide(policy(Q, CODE), request("朋友", "k2k2-k2k2", sub_type="add"), facts, NOW)
    (action,) = verdict.actions
    assert action.type is ActionType.APPROVE_JOIN
    assert (action.platform, action.group, action.user) == ("onebot", "g1", "u1")
    assert action.params == {"request_id": "flag-1", "sub_type": "add"}
    assert "p1" in (action.reason or "")
    assert verdict.codes is not None and verdict.codes.find(GOOD).uses[0].source == "onebot:u1"
    assert verdict.redemption is not None and verdict.redemption.channel == "海报"
    assert verdict.matched == "朋友; K2K2K2K2"
    log = verdict.to_dict()
    assert (log["rule_id"], log["rule_name"], log["decision"]) == ("p1", "读书会入群", "approve")
    assert set(log["reason"]) == {"en", "zh"}


def test_a_refused_request_does_not_spend_the_code() -> None:
    facts = JoinFacts(codes=codes_with(GOOD))
    verdict = decide(policy(Q, CODE), request("路人", GOOD), facts, NOW)
    assert verdict.decision is Decision.REJECT and verdict.codes is None
    retry = decide(policy(Q, CODE), request("路人", GOOD), facts, NOW)
    assert retry.redemption is not None and retry.redemption.outcome is C.Outcome.REDEEMED


def test_a_member_retrying_with_their_code_is_let_in_without_a_second_use() -> None:
    _, state = C.redeem(codes_with(GOOD), GOOD, NOW, "onebot:u1")
    verdict = decide(policy(CODE), request(code=GOOD), JoinFacts(codes=state), NOW + H)
    assert verdict.decision is Decision.APPROVE and verdict.codes is None


def test_a_rejection_tells_the_applicant_without_revealing_the_answer() -> None:
    verdict = decide(policy(Q), request("路人"), JoinFacts(), NOW)
    (action,) = verdict.actions
    assert action.type is ActionType.REJECT_JOIN
    assert action.params["request_id"] == "flag-1"
    assert action.params["reason"] == "答案不符合本群要求。"
    assert "朋友" not in action.params["reason"]
    english = decide(policy(Q), request("路人"), JoinFacts(), NOW, lang="en")
    assert (
        english.actions[0].params["reason"] == "The answer does not meet the group's requirement."
    )
    custom = decide(policy(Q, reject_message="请联系管理员"), request("路人"), JoinFacts(), NOW)
    assert custom.actions[0].params["reason"] == "请联系管理员"


def test_a_held_request_notifies_an_operator_with_the_answer() -> None:
    verdict = decide(
        policy(Q, CODE), request("朋友\u202e介绍"), JoinFacts(codes=C.CodesState()), NOW
    )
    assert verdict.decision is Decision.HOLD
    (action,) = verdict.actions
    assert action.type is ActionType.NOTIFY_OPERATOR
    text = action.message.plain_text() if action.message else ""
    assert "入群申请待审核" in text and "朋友介绍" in text and "\u202e" not in text
    assert action.params["policy_id"] == "p1" and action.params["request_id"] == "flag-1"


def test_without_auto_reject_failures_wait_for_an_operator() -> None:
    verdict = decide(policy(Q, auto_reject=False), request("路人"), JoinFacts(), NOW)
    assert verdict.decision is Decision.HOLD
    strict = decide(policy(Q_REJECT_EMPTY, auto_reject=False), request(""), JoinFacts(), NOW)
    assert strict.decision is Decision.HOLD


def test_a_blacklisted_applicant_is_refused_before_any_check() -> None:
    facts = JoinFacts(codes=codes_with(GOOD), blacklisted=True)
    verdict = decide(policy(Q, CODE), request("朋友", GOOD), facts, NOW)
    assert verdict.decision is Decision.REJECT and verdict.results == () and verdict.codes is None
    assert "blacklist" in verdict.reason.en
    assert verdict.actions[0].params["reason"] == "你无法加入本群。"


def test_a_code_from_another_channel_does_not_count() -> None:
    state = codes_with(GOOD, channel="partner")
    only = replace(CODE, channels=("poster",))
    verdict = decide(policy(only), request(code=GOOD), JoinFacts(codes=state), NOW)
    assert verdict.decision is Decision.REJECT and verdict.codes is None
    assert "channels" in verdict.reason.en


def test_an_unloadable_policy_holds_requests() -> None:
    with pytest.raises(RuleError) as info:
        AdmissionPolicy.from_dict({"id": "p9", "checks": [{"kind": "question", "id": "q"}]})
    verdict = hold_unloadable(request("hi"), info.value, policy_id="p9")
    assert verdict.decision is Decision.HOLD
    assert verdict.actions[0].type is ActionType.NOTIFY_OPERATOR
    assert "cannot be loaded" in verdict.reason.en and "keywords" in verdict.reason.en


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"answer": "朋友", "request_id": "f", "sub_type": "add", "invite_code": "k2k2"},
            {"answer": "朋友", "request_id": "f", "sub_type": "add", "invite_code": "k2k2"},
        ),
        (
            {"request_id": 42, "invite_link": "K2K2K2K2"},
            {"request_id": "42", "invite_code": "K2K2K2K2"},
        ),
        ({"invite_link": "https://t.me/+AbC"}, {"invite_code": ""}),
        ({"answer": ["not", "text"]}, {"answer": "", "request_id": None}),
    ],
)
def test_requests_are_read_from_events(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    found = JoinRequest.from_event(event(1, EventType.JOIN_REQUEST, **payload))
    assert found is not None and (found.platform, found.group, found.user) == ("sim", "g1", "u1")
    assert {k: getattr(found, k) for k in expected} == expected


def test_events_that_are_not_member_requests_are_none() -> None:
    assert JoinRequest.from_event(event(1, EventType.JOIN_REQUEST, sub_type="invite")) is None
    assert JoinRequest.from_event(event(2, EventType.JOIN_REQUEST, group=None)) is None
    assert JoinRequest.from_event(event(3)) is None


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field", "says"),
    [
        (lambda: QuestionCheck(id="q", keywords=()), "keywords", "empty"),
        (lambda: QuestionCheck(id="q", keywords=("ok", " ")), "keywords", "keyword 2 is blank"),
        (
            lambda: QuestionCheck(id="q", mode=MatchMode.REGEX, pattern="(a+)+"),
            "pattern",
            "repeat inside a repeat",
        ),
        (lambda: QuestionCheck(id="q", mode=MatchMode.REGEX, pattern="[x"), "pattern", "compile"),
        (lambda: QuestionCheck(id="q", mode=MatchMode.REGEX), "pattern", "empty"),
        (lambda: QuestionCheck(id="", keywords=("a",)), "id", "empty"),
        (lambda: PaymentCheck(id="f", fee=Decimal("-1"), currency="CNY"), "fee", "above zero"),
        (lambda: PaymentCheck(id="f", fee=Decimal("0"), currency="CNY"), "fee", "above zero"),
        (lambda: PaymentCheck(id="f", fee=Decimal("9"), currency=" "), "currency", "empty"),
        (
            lambda: PaymentCheck(id="f", fee=Decimal("9"), currency="CNY", within_days=0),
            "within_days",
            "between",
        ),
        (lambda: PurchaseCheck(id="b", products=()), "products", "empty"),
        (lambda: InviteCodeCheck(id="c", channels=("",)), "channels", "blank"),
        (lambda: policy(Q, Q), "checks", "share ids: q"),
        (lambda: policy(CODE, replace(CODE, id="c2")), "checks", "more than one invite code"),
        (lambda: policy(reject_message="x" * 101), "reject_message", "longer"),
    ],
)
def test_configurations_that_cannot_work_are_refused(build: Any, field: str, says: str) -> None:
    with pytest.raises(RuleError) as info:
        build()
    assert any(p.field == field and says in p.wording.en for p in info.value.problems), info.value
    assert all(p.wording.zh for p in info.value.problems)


def test_a_policy_reports_every_broken_check_at_once() -> None:
    data = {
        "id": "p1",
        "name": "读书会",
        "checks": [
            {"kind": "question", "id": "q1", "name": "来源", "mode": "regex", "pattern": "(x+)*"},
            {"kind": "question", "id": "q2", "keywords": []},
            {"kind": "payment", "id": "f", "fee": "-5", "currency": "CNY"},
            {"kind": "purchase", "id": "b", "products": ["SQL"]},
            {"kind": "lottery", "id": "z"},
        ],
    }
    with pytest.raises(RuleError) as info:
        AdmissionPolicy.from_dict(data)
    rules = [p.rule for p in info.value.problems]
    assert rules == ["question check q1 “来源”", "question check q2", "payment check f", "check z"]
    message = str(info.value)
    assert "q1" in message and "pattern" in message and "fee" in message and "kind" in message


def test_wrong_types_in_stored_json_are_problems_not_crashes() -> None:
    with pytest.raises(RuleError) as info:
        check_from_dict(
            {"kind": "payment", "id": 5, "fee": "a lot", "currency": 3, "required": "yes"}
        )
    assert {p.field for p in info.value.problems} == {"id", "fee", "currency", "required"}
    with pytest.raises(RuleError):
        AdmissionPolicy.from_dict([])  # type: ignore[arg-type]


def test_a_missing_field_is_one_problem_and_a_purchase_round_trips() -> None:
    with pytest.raises(RuleError) as info:
        C.InviteCode.from_dict({})
    assert [(p.field, p.wording.en) for p in info.value.problems] == [
        ("code", "is missing"),
        ("created_at", "is missing"),
    ]
    bought = paid("9.90", product="SQL")
    assert Purchase.from_dict(bought.to_dict()) == bought
    with pytest.raises(RuleError, match="at"):
        Purchase.from_dict({"order_id": "o", "at": "2026-01-01T00:00:00"})


def test_policies_round_trip_through_json() -> None:
    full = policy(
        Q, replace(REGEX, id="r"), CODE_OR, FEE_OR, COURSE, auto_reject=False, reject_message="不行"
    )
    assert AdmissionPolicy.from_dict(full.to_dict()) == full


def test_one_bad_policy_does_not_stop_the_others_loading() -> None:
    good = policy(Q).to_dict()
    bad = {**good, "id": "p2", "checks": [{"kind": "question", "id": "q", "keywords": []}]}
    loaded, problems = load_each([good, bad, {**good, "id": "p3"}], AdmissionPolicy.from_dict)
    assert [p.id for p in loaded] == ["p1", "p3"]
    assert [p.rule for p in problems] == ["question check q"]


# --- hostile input ------------------------------------------------------------------------

EVERYTHING = policy(
    Q,
    replace(REGEX, id="r", pattern=r"(python|java).*(3|三)年"),
    replace(ALL_OF, id="a"),
    CODE_OR,
    FEE_OR,
    replace(COURSE, required=False),
)


@given(answer=ANY_TEXT, code=ANY_TEXT, user=ANY_TEXT.filter(bool))
@example(answer="问题：\n答案：", code="\ud800", user="\x00")
@FAST
def test_decide_never_crashes_on_any_answer_or_code(answer: str, code: str, user: str) -> None:
    facts = JoinFacts(purchases=(paid("1", product=answer[:20] or None),), codes=codes_with(GOOD))
    for lang in ("zh-CN", "en"):
        verdict = decide(EVERYTHING, request(answer, code, user=user), facts, NOW, lang=lang)
        assert verdict.decision in Decision
        for action in verdict.actions:
            assert action.to_dict()["user"] == user


# --- the lobby ----------------------------------------------------------------------------

LOBBY = GroupRef("onebot", "lobby1", "新人客厅")
MAIN = GroupRef("onebot", "main1", "读书会")


def lobby(**kw: Any) -> LobbyRules:
    base: dict[str, Any] = {"id": "l1", "name": "客厅", "lobby": LOBBY, "main": MAIN}
    return LobbyRules(**{**base, **kw})


def member(**kw: Any) -> LobbyMember:
    base: dict[str, Any] = {"user": "u1", "name": "小王", "joined_at": NOW, "number": 12}
    return LobbyMember(**{**base, **kw})


@pytest.mark.parametrize(
    ("rules", "who", "after", "promoted"),
    [
        pytest.param(lobby(min_days=3), member(), timedelta(days=3) - S, False, id="days-early"),
        pytest.param(lobby(min_days=3), member(), timedelta(days=3), True, id="days-on-time"),
        pytest.param(
            lobby(intro_pattern="我是|i am"),
            member(messages=("hi", "I AM 小王")),
            H,
            True,
            id="intro-pattern",
        ),
        pytest.param(
            lobby(intro_pattern="我是"), member(messages=("hi",)), H, False, id="no-intro"
        ),
        pytest.param(
            lobby(intro_min_chars=10),
            member(messages=("大家好 我在上海做设计",)),
            H,
            True,
            id="intro-long",
        ),
        pytest.param(
            lobby(intro_min_chars=10),
            member(messages=("  大 家 好 \u200b\u200b\u200b  ",)),
            H,
            False,
            id="spaces-do-not-count",
        ),
        pytest.param(
            lobby(intro_pattern="我是", intro_min_chars=5),
            member(messages=("今天天气很好",)),
            H,
            True,
            id="either-intro",
        ),
        pytest.param(lobby(quiz_min_score=80), member(quiz_score=80.0), H, True, id="quiz-pass"),
        pytest.param(lobby(quiz_min_score=80), member(quiz_score=79.5), H, False, id="quiz-low"),
        pytest.param(lobby(quiz_min_score=80), member(), H, False, id="quiz-not-taken"),
        pytest.param(
            lobby(fee=Decimal(50), currency="CNY"),
            member(purchases=(paid("50"),)),
            H,
            True,
            id="paid",
        ),
        pytest.param(
            lobby(fee=Decimal(50), currency="CNY"), member(purchases=None), H, False, id="unpaid"
        ),
        pytest.param(
            lobby(min_days=1, quiz_min_score=60),
            member(quiz_score=90.0),
            timedelta(hours=23),
            False,
            id="all-rules-needed",
        ),
        pytest.param(
            lobby(min_days=1), member(promoted=True), timedelta(days=9), False, id="already"
        ),
    ],
)
def test_lobby_promotion(
    rules: LobbyRules, who: LobbyMember, after: timedelta, promoted: bool
) -> None:
    assert (promotion(rules, who, NOW + after) is not None) is promoted


def test_lobby_status_says_what_is_missing_and_when_days_are_met() -> None:
    rules = lobby(min_days=3, intro_pattern="我是", quiz_min_score=60)
    status = lobby_status(rules, member(messages=("我是小王",)), NOW + timedelta(days=1))
    assert not status.met
    assert [r.need for r in status.missing] == [Need.DAYS, Need.QUIZ]
    assert status.days_met_at == NOW + timedelta(days=3)
    assert "1 of 3 days" in status.missing[0].reason.en
    assert status.requirements[0].matched == "我是"


def test_a_promotion_invites_congratulates_and_later_removes() -> None:
    rules = lobby(
        min_days=1, kick_after_s=600, message="欢迎 {name}（{number} 号）升入 {group}，告别 {lobby}"
    )
    done = promotion(rules, member(main_user="u1-main"), NOW + timedelta(days=1))
    assert done is not None and (done.rules_id, done.rules_name, done.user) == ("l1", "客厅", "u1")
    invite, said, kick = done.actions
    assert (invite.type, invite.platform, invite.group, invite.user) == (
        ActionType.INVITE,
        "onebot",
        "main1",
        "u1-main",
    )
    assert said.type is ActionType.SEND_MESSAGE and said.group == "lobby1"
    assert said.message is not None and said.message.segments[1] == Mention(user="u1", name="小王")
    assert said.message.plain_text() == "欢迎 @小王（12 号）升入 读书会，告别 新人客厅"
    assert (kick.type, kick.group, kick.user, kick.params) == (
        ActionType.KICK,
        "lobby1",
        "u1",
        {"after_s": 600},
    )
    again = promotion(rules, member(main_user="u1-main"), NOW + timedelta(days=2))
    assert again is not None and [a.key for a in again.actions] == [a.key for a in done.actions]
    later_stay = promotion(rules, member(joined_at=NOW + H), NOW + timedelta(days=2))
    assert later_stay is not None and later_stay.actions[0].key != done.actions[0].key


def test_a_lobby_without_a_kick_delay_keeps_promoted_members() -> None:
    done = promotion(lobby(min_days=1), member(), NOW + timedelta(days=1), lang="en")
    assert done is not None and [a.type for a in done.actions] == [
        ActionType.INVITE,
        ActionType.SEND_MESSAGE,
    ]
    assert "invited to 读书会" in (
        done.actions[1].message.plain_text() if done.actions[1].message else ""
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({}, "rules"),
        ({"min_days": 1, "main": LOBBY}, "main"),
        ({"intro_pattern": "(a*)*"}, "intro_pattern"),
        ({"min_days": 0}, "min_days"),
        ({"quiz_min_score": float("nan")}, "quiz_min_score"),
        ({"fee": Decimal(-1), "currency": "CNY"}, "fee"),
        ({"min_days": 1, "currency": "CNY"}, "currency"),
        ({"min_days": 1, "kick_after_s": -1}, "kick_after_s"),
        ({"min_days": 1, "message": "欢迎 {nickname}"}, "message"),
    ],
)
def test_lobby_rules_that_cannot_work_are_refused(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleError) as info:
        lobby(**kw)
    assert field in [p.field for p in info.value.problems]


def test_lobby_rules_round_trip_through_json() -> None:
    rules = lobby(
        intro_pattern="我是",
        intro_min_chars=30,
        min_days=3,
        quiz_min_score=60.0,
        fee=Decimal("9.9"),
        currency="CNY",
        paid_within_days=7,
        kick_after_s=0,
        message="{name} 好",
    )
    assert LobbyRules.from_dict(rules.to_dict()) == rules


# --- name cards ---------------------------------------------------------------------------

CARD = CardFormat(
    id="card",
    name="名片",
    text="{number}-{city}-{nickname}",
    choices={"city": ("上海", "北京", "Hong Kong")},
    number_width=4,
)
FACTS = CardFacts(number=12, values={"city": "上海", "nickname": "小王"})


@pytest.mark.parametrize(
    ("card", "faults"),
    [
        ("0012-上海-小王", []),
        ("12-上海-小王", []),
        ("０１２－上海－小王", []),
        ("0012 - 上海 - 小王🐱", []),
        ("0012-hong kong-Ｗａｎｇ-Jr", []),
        ("0012-上海-👩‍👩‍👧 一家", []),
        ("0013-上海-小王", [("number", Fault.WRONG)]),
        ("上海-小王", [("number", Fault.MISSING)]),
        ("0012上海-小王", [("separator", Fault.SEPARATOR)]),
        ("0012-上海小王", [("separator", Fault.SEPARATOR)]),
        ("0012-火星", [("separator", Fault.SEPARATOR)]),
        ("0012-广州-小王", [("city", Fault.NOT_ALLOWED)]),
        ("0012--小王", [("city", Fault.MISSING)]),
        ("0012-上海-", [("nickname", Fault.MISSING)]),
        ("0013-火星-小王", [("number", Fault.WRONG), ("city", Fault.NOT_ALLOWED)]),
        ("   ", [("card", Fault.EMPTY)]),
        ("0012-上海-" + "王" * 16, [("card", Fault.TOO_LONG)]),
    ],
)
def test_cards_are_read_part_by_part(card: str, faults: list[tuple[str, Fault]]) -> None:
    result = check(card, CARD, FACTS, limit=QQ)
    assert [(p.part, p.fault) for p in result.problems] == faults
    assert result.ok is (not faults)
    assert all(p.wording.en and p.wording.zh for p in result.problems)


def test_the_qq_limit_is_counted_in_utf8_bytes() -> None:
    fits = "0012-上海-" + "王" * 15  # 5 + 6 + 1 + 45 = 57 bytes
    assert check(fits, CARD, FACTS, limit=QQ).ok
    emoji = "0012-上海-小王" + "🎉" * 11  # 18 + 44 = 62 bytes, 22 characters
    too_long = check(emoji, CARD, FACTS, limit=QQ)
    assert [p.fault for p in too_long.problems] == [Fault.TOO_LONG]
    assert "62 bytes" in too_long.problems[0].wording.en
    assert check(emoji, CARD, FACTS, limit=card_limit("telegram")).ok
    assert not check("0012-上海-" + "x" * 300, CARD, FACTS, limit=card_limit("matrix")).ok


def test_a_check_says_what_it_found_for_the_log() -> None:
    result = check("0013-上海-小王", CARD, FACTS)
    assert dict(result.parts) == {"number": "0013", "city": "上海", "nickname": "小王"}
    log = result.to_dict()
    assert (log["rule_id"], log["rule_name"], log["matched"]) == ("card", "名片", "0013-上海-小王")
    assert log["problems"][0]["zh"] == "编号应为 12，而不是 0013"


@pytest.mark.parametrize(
    ("text", "choices", "field", "says"),
    [
        ("{number}-{hometown}", {}, "text", "unknown variable {hometown}"),
        ("{city}{nickname}", {}, "text", "need a separator"),
        ("{nickname}-{nickname}", {}, "text", "more than once"),
        ("-", {}, "text", "no parts"),
        ("", {}, "text", "empty"),
        (" {nickname}", {}, "text", "space"),
        ("{number}-{nickname", {}, "text", "lone"),
        ("{number}-{nickname}", {"city": ["上海"]}, "choices.city", "no {city}"),
        ("{number}-{nickname}", {"number": ["1"]}, "choices.number", "not a text part"),
        ("{city}-{nickname}", {"city": []}, "choices.city", "empty"),
        ("{city}-{nickname}", {"city": ["Saint-Denis"]}, "choices.city", "separator"),
    ],
)
def test_card_formats_that_cannot_work_are_refused(
    text: str, choices: dict[str, list[str]], field: str, says: str
) -> None:
    with pytest.raises(RuleError) as info:
        CardFormat(id="f", text=text, choices=choices)
    assert any(p.field == field and says in p.wording.en for p in info.value.problems), info.value


def test_card_format_round_trips_and_reads_in_both_languages() -> None:
    assert CardFormat.from_dict(CARD.to_dict()) == CARD
    assert CARD.display("zh-CN") == "编号-城市-昵称"
    assert CARD.display("en") == "number-city-nickname"
    assert CardFormat(id="s", text="{city}-{nickname}", choices={"city": "上海"}).choices == {
        "city": ("上海",)
    }
    escaped = CardFormat(id="e", text="{{{number}}}{nickname}")
    assert check("{7}小王", escaped, CardFacts(number=7)).ok


@pytest.mark.parametrize(
    ("facts", "limit", "card"),
    [
        (FACTS, NO_LIMIT, "0012-上海-小王"),
        (
            CardFacts(12, {"city": "ＨＯＮＧ ＫＯＮＧ", "nickname": "Wang"}),
            NO_LIMIT,
            "0012-Hong Kong-Wang",
        ),
        (CardFacts(12, {"city": "上海", "nickname": "王" * 30}), QQ, "0012-上海-" + "王" * 15),
        (
            CardFacts(12, {"city": "上海", "nickname": "👩‍👩‍👧" * 5}),
            QQ,
            "0012-上海-" + "👩‍👩‍👧" * 2,
        ),
        (
            CardFacts(12, {"city": "上海", "nickname": "小" * 14 + "🇨🇳"}),
            QQ,
            "0012-上海-" + "小" * 14,
        ),
        (
            CardFacts(12, {"city": "上海", "nickname": "小" * 13 + "é👍🏽"}),
            QQ,
            "0012-上海-" + "小" * 13 + "é",
        ),
        (CardFacts(None, {"city": "上海", "nickname": "小王"}), NO_LIMIT, None),
        (CardFacts(12, {"city": "广州", "nickname": "小王"}), NO_LIMIT, None),
        (CardFacts(12, {"city": "上海", "nickname": " \u200b "}), NO_LIMIT, None),
        (CardFacts(12, {"city": "上海"}), NO_LIMIT, None),
    ],
)
def test_suggested_cards(facts: CardFacts, limit: CardLimit, card: str | None) -> None:
    assert suggest(CARD, facts, limit=limit) == card


def test_suggestions_clean_values_that_would_break_the_format() -> None:
    fmt = CardFormat(id="f", text="{nickname}-{number}{city}", choices={})
    card = suggest(fmt, CardFacts(3, {"nickname": "Jean-Luc\u202e", "city": "42nd Street"}))
    assert card == "Jean Luc-3nd Street"
    assert check(card, fmt, CardFacts(3)).ok


def test_a_reminder_replies_suggests_and_sets_where_allowed() -> None:
    result = check("小王", CARD, FACTS, limit=QQ)
    set_card, reply = reminder(
        result,
        CARD,
        FACTS,
        platform="onebot",
        group="g1",
        user="u1",
        can_set_card=True,
        message_id="m9",
        user_name="小王",
        limit=QQ,
    )
    assert (set_card.type, set_card.params) == (ActionType.SET_CARD, {"card": "0012-上海-小王"})
    assert reply.type is ActionType.REPLY and reply.target_message == "m9"
    assert reply.message is not None and reply.message.segments[0] == Mention(
        user="u1", name="小王"
    )
    assert "已帮你改为「0012-上海-小王」" in reply.message.plain_text()
    assert "card" in (reply.reason or "")


def test_a_reminder_without_a_message_is_a_direct_message_and_only_suggests() -> None:
    (dm,) = reminder(
        check("0012-火星-小王", CARD, FACTS),
        CARD,
        FACTS,
        platform="telegram",
        group="g1",
        user="u1",
        can_set_card=False,
        lang="en",
    )
    assert dm.type is ActionType.DIRECT_MESSAGE and (dm.user, dm.group) == ("u1", "g1")
    text = dm.message.plain_text() if dm.message else ""
    assert "not one of" in text and "Suggested: “0012-上海-小王”" in text
    assert (
        reminder(
            check("0012-上海-小王", CARD, FACTS),
            CARD,
            FACTS,
            platform="onebot",
            group="g1",
            user="u1",
            can_set_card=True,
        )
        == ()
    )


@given(card=ANY_TEXT, number=st.none() | st.integers(-5, 10**6))
@example(card="\ud800-\udfff", number=1)
@FAST
def test_checking_any_card_never_crashes(card: str, number: int | None) -> None:
    for fmt in (CARD, CardFormat(id="s", text="【{city}】{nickname} {number}")):
        result = check(card, fmt, CardFacts(number=number), limit=QQ)
        assert result.ok is (not result.problems)


NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
FORMATS = st.sampled_from(
    [
        CARD,
        CardFormat(id="a", text="{nickname}"),
        CardFormat(id="b", text="{number}{nickname}"),
        CardFormat(id="c", text="【{city}】{nickname}|{number}"),
        CardFormat(id="d", text="{nickname} {company}-{number}", number_width=3),
        CardFormat(id="e", text="{name}·{industry}", choices={"industry": ("IT", "教育")}),
    ]
)


@given(
    fmt=FORMATS,
    number=st.integers(0, 99_999),
    nickname=NAMES,
    other=NAMES | st.sampled_from(["上海", "IT", "教育", "hong kong"]),
    limit=st.sampled_from([NO_LIMIT, QQ, CardLimit(max_chars=12)]),
)
@example(fmt=CARD, number=1, nickname="\u0338x", other="上海", limit=QQ)
@example(fmt=CARD, number=1, nickname="-\u0301", other="上海", limit=QQ)
@FAST
def test_a_suggested_card_always_passes_its_own_check(
    fmt: CardFormat, number: int, nickname: str, other: str, limit: CardLimit
) -> None:
    values = {p: other for p in ("city", "name", "industry", "company", "school")}
    facts = CardFacts(number=number, values={**values, "nickname": nickname})
    card = suggest(fmt, facts, limit=limit)
    if card is not None:
        assert check(card, fmt, facts, limit=limit).ok, card
        assert limit.fits(card)


VISIBLE = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=40)


@given(nickname=VISIBLE, city=st.sampled_from(["上海", "北京"]), number=st.integers(0, 9999))
@FAST
def test_anyone_with_a_visible_name_gets_a_suggestion(
    nickname: str, city: str, number: int
) -> None:
    assume(any(ch.isalnum() for ch in nickname))
    facts = CardFacts(number=number, values={"city": city, "nickname": nickname})
    assert suggest(CARD, facts, limit=QQ) is not None


# --- welcome ------------------------------------------------------------------------------

WELCOME = WelcomeConfig(
    id="w1",
    name="读书会欢迎语",
    text="欢迎 {name} 加入{group}！你是第 {number} 位成员。\n群规：{rules}",
    rules_text="1. 友善交流",
    batch_window_s=60,
    max_batch=3,
)
QUEUE = WelcomeQueue("onebot", "g1", "读书会")


def newcomer(user: str, number: int | None = None) -> Newcomer:
    return Newcomer(user, f"新人{user}", NOW, number)


def test_a_welcome_mentions_newcomers_and_fills_every_variable() -> None:
    message = welcome_message(
        WELCOME, [newcomer("a", 7), newcomer("b", 8)], group_name="读书会", lang="zh-CN"
    )
    assert message.segments[1] == Mention(user="a", name="新人a")
    assert message.segments[2] == Text("、")
    assert (
        message.plain_text()
        == "欢迎 @新人a、@新人b 加入读书会！你是第 7、8 位成员。\n群规：1. 友善交流"
    )


def test_names_instead_of_mentions_and_mentions_first_without_a_name_slot() -> None:
    plain = replace(WELCOME, mention=False)
    text = welcome_message(plain, [newcomer("a"), newcomer("b")], group_name="G", lang="en")
    assert text.plain_text().startswith("欢迎 新人a, 新人b 加入G")
    assert not text.of_kind(Mention)
    short = WelcomeConfig(id="w", text="欢迎！")
    first = welcome_message(short, [newcomer("a")], group_name="G", lang="zh-CN")
    assert (
        first.segments[0] == Mention(user="a", name="新人a")
        and first.plain_text() == "@新人a 欢迎！"
    )


def test_a_delay_and_a_later_deletion_are_scheduled() -> None:
    timed = replace(WELCOME, delay_s=30, delete_after_s=600)
    (send,) = welcome_actions(timed, [newcomer("a")], platform="onebot", group="g1", group_name="G")
    assert send.type is ActionType.SEND_MESSAGE
    assert send.params == {"welcome_id": "w1", "after_s": 30, "delete_after_s": 600}
    removal = deletion(timed, platform="onebot", group="g1", message_id="m77")
    assert removal is not None and removal.type is ActionType.DELETE_MESSAGE
    assert (removal.target_message, removal.params["after_s"]) == ("m77", 600)
    assert deletion(WELCOME, platform="onebot", group="g1", message_id="m77") is None
    assert welcome_actions(WELCOME, [], platform="onebot", group="g1", group_name="G") == ()


def _users(actions: tuple[Any, ...]) -> list[list[str]]:
    return [[m.user for m in a.message.of_kind(Mention)] for a in actions]


def test_joins_within_the_window_get_one_welcome() -> None:
    first = enqueue(QUEUE, newcomer("a"), NOW, WELCOME)
    assert first.actions == () and first.due_at == NOW + timedelta(seconds=60)
    second = enqueue(first.queue, newcomer("b"), NOW + 20 * S, WELCOME)
    repeat = enqueue(second.queue, newcomer("b"), NOW + 30 * S, WELCOME)
    assert repeat.due_at == NOW + timedelta(seconds=60)
    early = flush(repeat.queue, NOW + 59 * S, WELCOME)
    assert early.actions == () and early.due_at == NOW + 60 * S
    sent = flush(repeat.queue, NOW + 60 * S, WELCOME)
    assert _users(sent.actions) == [["a", "b"]]
    assert sent.queue.newcomers == () and sent.due_at is None
    assert flush(sent.queue, NOW + H, WELCOME).actions == ()


@pytest.mark.parametrize(
    ("config", "joins", "expected"),
    [
        pytest.param(
            replace(WELCOME, batch_window_s=0), [("a", 0), ("b", 1)], [["a"], ["b"]], id="no-window"
        ),
        pytest.param(
            WELCOME, [("a", 0), ("b", 1), ("c", 2), ("d", 3)], [["a", "b", "c"]], id="full-batch"
        ),
        pytest.param(WELCOME, [("a", 0), ("b", 61)], [["a", "b"]], id="missed-tick"),
    ],
)
def test_when_a_batch_goes_without_waiting(
    config: WelcomeConfig, joins: list[tuple[str, int]], expected: list[list[str]]
) -> None:
    queue, sent = QUEUE, []
    for user, second in joins:
        result = enqueue(queue, newcomer(user), NOW + second * S, config)
        queue = result.queue
        sent.extend(_users(result.actions))
    assert sent == expected


def test_a_newcomer_who_left_is_not_welcomed() -> None:
    queued = enqueue(enqueue(QUEUE, newcomer("a"), NOW, WELCOME).queue, newcomer("b"), NOW, WELCOME)
    kept = drop(queued.queue, "a")
    assert _users(flush(kept, NOW + H, WELCOME).actions) == [["b"]]
    assert drop(kept, "b") == QUEUE


def test_the_queue_round_trips_through_json() -> None:
    queued = enqueue(QUEUE, newcomer("a", 5), NOW, WELCOME).queue
    assert WelcomeQueue.from_dict(queued.to_dict()) == queued
    assert WelcomeConfig.from_dict(WELCOME.to_dict()) == WELCOME


@pytest.mark.parametrize(
    ("kw", "field", "says"),
    [
        ({"text": "欢迎 {nickname}"}, "text", "unknown variable {nickname}"),
        ({"text": "欢迎 {name"}, "text", "lone"),
        ({"text": "  "}, "text", "empty"),
        ({"text": "{rules}", "rules_text": ""}, "rules_text", "shows {rules}"),
        ({"delay_s": -1}, "delay_s", "between 0"),
        ({"delete_after_s": 0}, "delete_after_s", "between 1"),
        ({"delete_after_s": 3 * 86400}, "delete_after_s", "between 1"),
        ({"batch_window_s": 3600}, "batch_window_s", "between 0"),
        ({"max_batch": 0}, "max_batch", "between 1"),
    ],
)
def test_welcomes_that_cannot_work_are_refused(kw: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(RuleError) as info:
        replace(WELCOME, **kw)
    assert any(p.field == field and says in p.wording.en for p in info.value.problems), info.value
    assert "w1" in str(info.value)


@given(names=st.lists(ANY_TEXT, min_size=1, max_size=5), group=ANY_TEXT)
@example(names=["\x00", "{name}"], group="\x00{rules}")
@FAST
def test_any_names_make_a_welcome_that_mentions_everyone(names: list[str], group: str) -> None:
    people = [Newcomer(f"u{i}", name, NOW) for i, name in enumerate(names)]
    message = welcome_message(WELCOME, people, group_name=group, lang="zh-CN")
    assert [m.user for m in message.of_kind(Mention)] == [p.user for p in people]
    assert "\x00" not in message.plain_text()
