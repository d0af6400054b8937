"""Each check of an admission policy evaluated on one join request.

Every check ends

* ``PASS``;
* ``FAIL``: the information is there and does not qualify — an answer that does not
  match, a code that is unknown, expired or used up, purchases none of which qualify;
* ``MISSING``: the information is not there — no answer given, no code given, no purchase
  on record, or the caller could not supply the purchases or the codes.

How the results combine into a decision is ``decide``'s concern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shequn.features.admission import Wording, fold, require_aware, search, visible
from shequn.features.admission.checks import (
    Check,
    InviteCodeCheck,
    MatchMode,
    PaymentCheck,
    PurchaseCheck,
    QuestionCheck,
    WhenMissing,
)
from shequn.features.admission.codes import CodesState, Redemption, normalize_code, redeem
from shequn.features.admission.join_request import (
    JoinFacts,
    JoinRequest,
    Purchase,
    screening_answer,
)


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's finding, as the moderation log shows it."""

    check_id: str
    check_name: str
    kind: str
    status: Status
    reason: Wording
    matched: str = ""
    required: bool = True
    when_missing: WhenMissing = WhenMissing.HOLD
    #: What the applicant may be told when this result refuses them.
    applicant: Wording | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "check_name": self.check_name,
            "kind": self.kind,
            "status": self.status.value,
            "matched": self.matched,
            "required": self.required,
            "reason": self.reason.to_dict(),
        }


def _result(
    check: Check,
    status: Status,
    en: str,
    zh: str,
    matched: str = "",
    applicant: Wording | None = None,
) -> CheckResult:
    return CheckResult(
        check.id,
        check.name,
        check.kind,
        status,
        Wording(en, zh),
        matched,
        check.required,
        check.when_missing,
        applicant,
    )


_WRONG_ANSWER = Wording("The answer does not meet the group's requirement.", "答案不符合本群要求。")
_NO_ANSWER = Wording("Please answer the screening question.", "请回答入群问题。")


def _question(check: QuestionCheck, request: JoinRequest) -> CheckResult:
    answer = screening_answer(request.answer)
    if not fold(answer):
        return _result(
            check, Status.MISSING, "no answer was given", "未填写答案", applicant=_NO_ANSWER
        )
    shown = visible(answer)
    if check.mode is MatchMode.REGEX:
        found = search(check._compiled, answer) if check._compiled is not None else None
        if found is None:
            return _result(
                check,
                Status.FAIL,
                f"the answer “{shown}” does not match the pattern",
                f"答案“{shown}”不符合表达式",
                shown,
                _WRONG_ANSWER,
            )
        hit = visible(found)
        return _result(
            check, Status.PASS, f"the answer matches: “{hit}”", f"答案匹配：“{hit}”", hit
        )
    folded = fold(answer)
    hits = [k for k in check._folded if k in folded]
    wanted = len(check._folded) if check.mode is MatchMode.ALL else 1
    if len(hits) < wanted:
        needs = "all of" if check.mode is MatchMode.ALL else "any of"
        needs_zh = "全部" if check.mode is MatchMode.ALL else "任一"
        return _result(
            check,
            Status.FAIL,
            f"the answer “{shown}” lacks {needs} the keywords",
            f"答案“{shown}”未包含{needs_zh}关键词",
            shown,
            _WRONG_ANSWER,
        )
    hit = visible("、".join(hits))
    return _result(check, Status.PASS, f"the answer has “{hit}”", f"答案包含“{hit}”", hit)


def _code(
    check: InviteCodeCheck, request: JoinRequest, facts: JoinFacts, now: datetime
) -> tuple[CheckResult, Redemption | None, CodesState | None]:
    if not normalize_code(request.invite_code):
        applicant = Wording("Please give an invite code.", "请提供邀请码。")
        return (
            _result(
                check, Status.MISSING, "no invite code was given", "未提供邀请码", "", applicant
            ),
            None,
            None,
        )
    if facts.codes is None:
        shown = visible(request.invite_code, 32)
        return (
            _result(
                check,
                Status.MISSING,
                "the invite codes could not be looked up",
                "无法查询邀请码",
                shown,
            ),
            None,
            None,
        )
    redemption, state = redeem(facts.codes, request.invite_code, now, request.source)
    if redemption.ok and check.channels and redemption.channel not in check.channels:
        en = f"invite code {redemption.code} is not one of this group's channels"
        zh = f"邀请码 {redemption.code} 不属于本群的渠道"
        applicant = Wording("This invite code is not valid here.", "此邀请码不适用于本群。")
        return _result(check, Status.FAIL, en, zh, redemption.code, applicant), redemption, None
    status = Status.PASS if redemption.ok else Status.FAIL
    applicant = (
        None
        if redemption.ok
        else Wording(
            redemption.reason.en[:1].upper() + redemption.reason.en[1:] + ".",
            redemption.reason.zh + "。",
        )
    )
    result = _result(
        check, status, redemption.reason.en, redemption.reason.zh, redemption.code, applicant
    )
    return result, redemption, state if redemption.ok else None


def _recent(
    purchases: Sequence[Purchase], within_days: int | None, now: datetime
) -> list[Purchase]:
    if within_days is None:
        return list(purchases)
    since = now - timedelta(days=within_days)
    return [p for p in purchases if p.at >= since]


def _window(within_days: int | None) -> Wording:
    if within_days is None:
        return Wording("", "")
    return Wording(f" within {within_days} days", f"（{within_days} 天内）")


def _payment(check: PaymentCheck, facts: JoinFacts, now: datetime) -> CheckResult:
    applicant = Wording(
        f"No payment of {check.fee} {check.currency} was found.",
        f"未找到 {check.fee} {check.currency} 的付款记录。",
    )
    if facts.purchases is None:
        return _result(
            check, Status.MISSING, "purchases could not be looked up", "无法查询购买记录"
        )
    if not facts.purchases:
        return _result(
            check, Status.MISSING, "no purchase on record yet", "尚无购买记录", "", applicant
        )
    window = _window(check.within_days)
    for purchase in _recent(facts.purchases, check.within_days, now):
        if (
            purchase.amount is not None
            and (purchase.currency or "").upper() == check.currency
            and purchase.amount >= check.fee
        ):
            matched = f"order {purchase.order_id}: {purchase.amount} {check.currency}"
            return _result(
                check,
                Status.PASS,
                f"paid {purchase.amount} {check.currency} (order {purchase.order_id})",
                f"已付款 {purchase.amount} {check.currency}（订单 {purchase.order_id}）",
                visible(matched),
            )
    return _result(
        check,
        Status.FAIL,
        f"no payment of at least {check.fee} {check.currency}{window.en} "
        f"among {len(facts.purchases)} orders",
        f"{len(facts.purchases)} 笔订单中没有不少于 {check.fee} {check.currency} 的付款{window.zh}",
        "",
        applicant,
    )


def _prior(check: PurchaseCheck, facts: JoinFacts, now: datetime) -> CheckResult:
    products = "、".join(check.products)
    applicant = Wording(f"A purchase of {products} is required.", f"需要先购买{products}。")
    if facts.purchases is None:
        return _result(
            check, Status.MISSING, "purchases could not be looked up", "无法查询购买记录"
        )
    if not facts.purchases:
        return _result(
            check, Status.MISSING, "no purchase on record yet", "尚无购买记录", "", applicant
        )
    for purchase in _recent(facts.purchases, check.within_days, now):
        if purchase.product is not None and fold(purchase.product) in check._folded:
            product = visible(purchase.product)
            return _result(
                check,
                Status.PASS,
                f"bought {product} (order {purchase.order_id})",
                f"已购买 {product}（订单 {purchase.order_id}）",
                visible(f"order {purchase.order_id}: {purchase.product}"),
            )
    window = _window(check.within_days)
    return _result(
        check,
        Status.FAIL,
        f"no purchase of {products}{window.en}",
        f"没有购买 {products} 的记录{window.zh}",
        "",
        applicant,
    )


def _evaluate(
    check: Check, request: JoinRequest, facts: JoinFacts, now: datetime
) -> tuple[CheckResult, Redemption | None, CodesState | None]:
    if isinstance(check, QuestionCheck):
        return _question(check, request), None, None
    if isinstance(check, InviteCodeCheck):
        return _code(check, request, facts, now)
    if isinstance(check, PaymentCheck):
        return _payment(check, facts, now), None, None
    return _prior(check, facts, now), None, None


def evaluate(check: Check, request: JoinRequest, facts: JoinFacts, now: datetime) -> CheckResult:
    """One check on one request, without deciding: what the dashboard's "try it" shows."""
    require_aware(now)
    return _evaluate(check, request, facts, now)[0]
