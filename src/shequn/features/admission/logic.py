"""Join requests decided by a group's rules, and the lobby (客厅) that promotes members.

Deciding a join request
=======================
A group's ``AdmissionPolicy`` holds checks: a screening question (the answer must hold any
or all of some keywords, or match a guarded regular expression; letter case and full/half
width do not matter), an invite code (see ``codes``), paid entry (a purchase by the
applicant of at least the fee, in the configured currency) and a prior purchase of a
product. ``decide`` evaluates every check; each ends

* ``PASS``;
* ``FAIL``: the information is there and does not qualify — an answer that does not
  match, a code that is unknown, expired or used up, purchases none of which qualify;
* ``MISSING``: the information is not there — no answer given, no code given, no purchase
  on record, or the caller could not supply the purchases or the codes.

Combining them:

1. every required check must pass on its own; the checks marked not required form one
   group that passes when any one of them passes ("an invite code or a payment");
2. a failed check or group rejects the request, or holds it for an operator when the
   policy's ``auto_reject`` is off;
3. a missing one holds the request for an operator, who may know more (the payment may be
   on its way, the applicant may have answered elsewhere) — unless the check's
   ``when_missing`` is ``reject`` (for the optional group: unless every missing check in it
   says so), for operators who want an empty answer refused at once. With ``auto_reject``
   off it holds either way;
4. a rejection wins over a hold; when everything passes, the request is approved;
5. a blacklisted applicant is rejected before any check runs; a policy without checks
   approves every request.

An invite code's use is recorded only when the request is approved (``Verdict.codes`` is the
new state to store, None otherwise), so a code is not spent on a request that was refused.

The lobby
=========
New members wait in a lobby group and are promoted — invited to the main group, removed
from the lobby after a delay, congratulated — once they meet all of the lobby's rules:
introduced themselves (a message matching the intro pattern or at least N visible
characters long), present N days, a quiz score of at least S, paid.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from shequn.core import Action, ActionType, Event, EventType, Message
from shequn.features.admission import (
    Problems,
    Reader,
    RuleError,
    Wording,
    compile_pattern,
    fold,
    is_chinese,
    names_message,
    parse_template,
    pattern_problem,
    require_aware,
    rule_label,
    search,
    to_decimal,
    visible,
)
from shequn.features.admission.codes import (
    CodesState,
    Redemption,
    normalize_code,
    redeem,
)
from shequn.features.templating.logic import Template

MAX_KEYWORDS = 50
MAX_KEYWORD = 50
MAX_QUESTION = 500
MAX_CURRENCY = 16
MAX_DAYS = 3650
#: What an applicant is shown when refused: QQ shows it under the request.
MAX_REJECT_MESSAGE = 100
MAX_PROMOTION_MESSAGE = 1000
#: The longest a promoted member may stay in the lobby before being removed.
MAX_KICK_DELAY_S = 30 * 86400


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    MISSING = "missing"


class WhenMissing(StrEnum):
    HOLD = "hold"
    REJECT = "reject"


class MatchMode(StrEnum):
    ANY = "any"
    ALL = "all"
    REGEX = "regex"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    HOLD = "hold"


# --- inputs -------------------------------------------------------------------------------


def _text_of(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


@dataclass(frozen=True, slots=True)
class Purchase:
    """One order of the member's, as a PURCHASE event reported it."""

    order_id: str
    at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    product: str | None = None

    @classmethod
    def from_event(cls, event: Event) -> Purchase | None:
        """The purchase a PURCHASE event records; None for other events and for a purchase
        without an order id (the payload convention requires one)."""
        if event.type is not EventType.PURCHASE:
            return None
        order_id = _text_of(event.payload.get("order_id"))
        if order_id is None:
            return None
        currency = event.payload.get("currency")
        product = event.payload.get("product")
        return cls(
            order_id=order_id,
            at=event.occurred_at,
            amount=to_decimal(event.payload.get("amount")),
            currency=currency.strip().upper() if isinstance(currency, str) else None,
            product=_text_of(product),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "at": self.at.isoformat(),
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "product": self.product,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Purchase:
        read = Reader(data, "purchase")
        values = {
            "order_id": read.text("order_id"),
            "at": read.moment("at", required=True),
            "amount": read.decimal("amount", None),
            "currency": read.text("currency", None),
            "product": read.text("product", None),
        }
        read.raise_if_any()
        return cls(**values)


_QUESTION_PREFIX = re.compile(r"\s*问题\s*[:：]")
_ANSWER_MARK = re.compile(r"答案\s*[:：]")


def screening_answer(text: str) -> str:
    """The applicant's own words in a request comment. QQ writes a screening question and
    its answer as ``问题：…\\n答案：…``: the question's words must not count as the answer's."""
    if _QUESTION_PREFIX.match(text):
        mark = _ANSWER_MARK.search(text)
        if mark is not None:
            return text[mark.end() :].strip()
    return text.strip()


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A request to join ``group``: platform ids, as the event carried them."""

    platform: str
    group: str
    user: str
    request_id: str | None = None
    answer: str = ""
    invite_code: str = ""
    user_name: str | None = None
    sub_type: str | None = None

    @property
    def source(self) -> str:
        """Who redeems an invite code: the applicant, qualified by platform."""
        return f"{self.platform}:{self.user}"

    @classmethod
    def from_event(cls, event: Event) -> JoinRequest | None:
        """The request a JOIN_REQUEST event carries; None for other events, for a request
        without group or applicant, and for OneBot's ``sub_type=invite`` (the bot itself
        invited to a group: not a member asking to join).

        The invite code is the payload's ``invite_code``; failing that, Telegram's
        ``invite_link`` name when it reads as a code, so that operators who name invite links
        after codes get them checked.
        """
        if event.type is not EventType.JOIN_REQUEST or not event.group or not event.actor:
            return None
        payload = event.payload
        sub_type = _text_of(payload.get("sub_type"))
        if sub_type == "invite":
            return None
        answer = payload.get("answer")
        code = payload.get("invite_code")
        if not isinstance(code, str) or not code.strip():
            link = payload.get("invite_link")
            code = link if isinstance(link, str) and _reads_as_code(link) else ""
        return cls(
            platform=event.platform,
            group=event.group,
            user=event.actor,
            request_id=_text_of(payload.get("request_id")),
            answer=answer if isinstance(answer, str) else "",
            invite_code=code,
            user_name=event.actor_name,
            sub_type=sub_type,
        )


def _reads_as_code(text: str) -> bool:
    code = normalize_code(text)
    return 0 < len(code) <= 32 and code.isascii() and code.isalnum()


@dataclass(frozen=True, slots=True)
class JoinFacts:
    """What the caller knows about the applicant. None means "could not be looked up",
    which leaves the checks that need it MISSING; an empty tuple means "none on record"."""

    purchases: tuple[Purchase, ...] | None = None
    codes: CodesState | None = None
    blacklisted: bool = False


# --- checks -------------------------------------------------------------------------------


def _common(problems: Problems, ident: str, name: str, when_missing: object) -> None:
    problems.identity(ident, name)
    if not isinstance(when_missing, WhenMissing):
        problems.add("when_missing", "must be hold or reject", "必须是 hold 或 reject")


def _within(problems: Problems, days: int | None, field_name: str = "within_days") -> None:
    if days is not None and not 1 <= days <= MAX_DAYS:
        problems.add(
            field_name, f"must be between 1 and {MAX_DAYS}", f"必须在 1 到 {MAX_DAYS} 之间"
        )


def _base_dict(check: Check) -> dict[str, Any]:
    return {
        "kind": check.kind,
        "id": check.id,
        "name": check.name,
        "required": check.required,
        "when_missing": check.when_missing.value,
    }


def _read_base(read: Reader) -> dict[str, Any]:
    return {
        "id": read.text("id"),
        "name": read.text("name", ""),
        "required": read.flag("required", True),
        "when_missing": read.choice("when_missing", WhenMissing, WhenMissing.HOLD),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionCheck:
    """A screening question. ``any``/``all``: the answer holds any/all ``keywords``;
    ``regex``: it matches ``pattern``. Compared folded: case and width do not matter."""

    id: str
    name: str = ""
    question: str = ""
    mode: MatchMode = MatchMode.ANY
    keywords: tuple[str, ...] = ()
    pattern: str = ""
    required: bool = True
    when_missing: WhenMissing = WhenMissing.HOLD
    kind: ClassVar[str] = "question"
    _folded: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    _compiled: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", tuple(self.keywords))
        problems = Problems(rule_label("question check", self.id, self.name))
        _common(problems, self.id, self.name, self.when_missing)
        if len(self.question) > MAX_QUESTION:
            problems.add(
                "question",
                f"is longer than {MAX_QUESTION} characters",
                f"超过 {MAX_QUESTION} 个字符",
            )
        if self.mode is MatchMode.REGEX:
            why = pattern_problem(self.pattern)
            if why is not None:
                problems.add("pattern", why.en, why.zh)
            else:
                object.__setattr__(self, "_compiled", compile_pattern(self.pattern))
        elif isinstance(self.mode, MatchMode):
            object.__setattr__(self, "_folded", _keywords(self.keywords, problems))
        else:
            problems.add("mode", "must be any, all or regex", "必须是 any、all 或 regex")
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        return {
            **_base_dict(self),
            "question": self.question,
            "mode": self.mode.value,
            "keywords": list(self.keywords),
            "pattern": self.pattern,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionCheck:
        read = Reader(data, "question check")
        values = {
            **_read_base(read),
            "question": read.text("question", ""),
            "mode": read.choice("mode", MatchMode, MatchMode.ANY),
            "keywords": read.texts("keywords"),
            "pattern": read.text("pattern", ""),
        }
        read.raise_if_any()
        return cls(**values)


def _keywords(keywords: Sequence[str], problems: Problems) -> tuple[str, ...]:
    if not keywords:
        problems.add(
            "keywords", "are empty: no answer could ever match", "为空：任何答案都无法匹配"
        )
        return ()
    if len(keywords) > MAX_KEYWORDS:
        problems.add(
            "keywords", f"more than {MAX_KEYWORDS} keywords", f"关键词超过 {MAX_KEYWORDS} 个"
        )
    folded = []
    for position, keyword in enumerate(keywords, start=1):
        if not isinstance(keyword, str) or not fold(keyword):
            problems.add("keywords", f"keyword {position} is blank", f"第 {position} 个关键词为空")
        elif len(keyword) > MAX_KEYWORD:
            problems.add(
                "keywords",
                f"keyword {position} is longer than {MAX_KEYWORD} characters",
                f"第 {position} 个关键词超过 {MAX_KEYWORD} 个字符",
            )
        else:
            folded.append(fold(keyword))
    return tuple(folded)


@dataclass(frozen=True, slots=True, kw_only=True)
class InviteCodeCheck:
    """The applicant gives an invite code; ``channels``, when set, limits which codes
    count to those handed out through these channels."""

    id: str
    name: str = ""
    channels: tuple[str, ...] = ()
    required: bool = True
    when_missing: WhenMissing = WhenMissing.HOLD
    kind: ClassVar[str] = "invite_code"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        problems = Problems(rule_label("invite code check", self.id, self.name))
        _common(problems, self.id, self.name, self.when_missing)
        if any(not c.strip() for c in self.channels):
            problems.add("channels", "hold a blank channel", "包含空白渠道")
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        return {**_base_dict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InviteCodeCheck:
        read = Reader(data, "invite code check")
        values = {**_read_base(read), "channels": read.texts("channels")}
        read.raise_if_any()
        return cls(**values)


def _currency(problems: Problems, currency: str) -> str:
    code = currency.strip().upper()
    if not code:
        problems.add("currency", "is empty", "为空")
    elif len(code) > MAX_CURRENCY:
        problems.add(
            "currency", f"is longer than {MAX_CURRENCY} characters", f"超过 {MAX_CURRENCY} 个字符"
        )
    return code


def _fee(problems: Problems, fee: object, field_name: str = "fee") -> None:
    if not isinstance(fee, Decimal) or not fee.is_finite():
        problems.add(field_name, "must be an amount", "必须是金额")
    elif fee <= 0:
        problems.add(
            field_name,
            "must be above zero (for free entry, remove the check)",
            "必须大于零（免费入群请删除此项检查）",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCheck:
    """Paid entry: one purchase by the applicant of at least ``fee`` in ``currency``,
    within the last ``within_days`` days when set."""

    id: str
    name: str = ""
    fee: Decimal
    currency: str
    within_days: int | None = None
    required: bool = True
    when_missing: WhenMissing = WhenMissing.HOLD
    kind: ClassVar[str] = "payment"

    def __post_init__(self) -> None:
        problems = Problems(rule_label("payment check", self.id, self.name))
        _common(problems, self.id, self.name, self.when_missing)
        _fee(problems, self.fee)
        object.__setattr__(self, "currency", _currency(problems, self.currency))
        _within(problems, self.within_days)
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        return {
            **_base_dict(self),
            "fee": str(self.fee),
            "currency": self.currency,
            "within_days": self.within_days,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PaymentCheck:
        read = Reader(data, "payment check")
        values = {
            **_read_base(read),
            "fee": read.decimal("fee"),
            "currency": read.text("currency"),
            "within_days": read.integer("within_days", None),
        }
        read.raise_if_any()
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class PurchaseCheck:
    """A prior purchase of any of ``products`` (compared folded), within the last
    ``within_days`` days when set."""

    id: str
    name: str = ""
    products: tuple[str, ...]
    within_days: int | None = None
    required: bool = True
    when_missing: WhenMissing = WhenMissing.HOLD
    kind: ClassVar[str] = "purchase"
    _folded: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "products", tuple(self.products))
        problems = Problems(rule_label("purchase check", self.id, self.name))
        _common(problems, self.id, self.name, self.when_missing)
        if not self.products:
            problems.add("products", "are empty: name at least one", "为空：至少填写一个产品")
        elif any(not fold(p) for p in self.products):
            problems.add("products", "hold a blank product", "包含空白产品")
        _within(problems, self.within_days)
        problems.raise_if_any()
        object.__setattr__(self, "_folded", frozenset(fold(p) for p in self.products))

    def to_dict(self) -> dict[str, Any]:
        return {
            **_base_dict(self),
            "products": list(self.products),
            "within_days": self.within_days,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PurchaseCheck:
        read = Reader(data, "purchase check")
        values = {
            **_read_base(read),
            "products": read.texts("products"),
            "within_days": read.integer("within_days", None),
        }
        read.raise_if_any()
        return cls(**values)


Check = QuestionCheck | InviteCodeCheck | PaymentCheck | PurchaseCheck
CHECK_KINDS: Mapping[str, type[Check]] = {
    cls.kind: cls for cls in (QuestionCheck, InviteCodeCheck, PaymentCheck, PurchaseCheck)
}


def check_from_dict(data: Mapping[str, Any]) -> Check:
    kind = data.get("kind") if isinstance(data, Mapping) else None
    cls = CHECK_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        problems = Problems(
            rule_label("check", data.get("id") if isinstance(data, Mapping) else None)
        )
        known = ", ".join(CHECK_KINDS)
        problems.add("kind", f"must be one of: {known}", f"必须是以下之一：{known}")
        problems.raise_if_any()
    return cls.from_dict(data)  # type: ignore[union-attr]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmissionPolicy:
    """One group's admission rules. ``reject_message``, when set, is what refused applicants
    are shown instead of the failing check's own words."""

    id: str
    name: str = ""
    checks: tuple[Check, ...] = ()
    auto_reject: bool = True
    reject_message: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(self.checks))
        problems = Problems(rule_label("admission policy", self.id, self.name))
        problems.identity(self.id, self.name)
        ids = [c.id for c in self.checks]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            shown = ", ".join(repeated)
            problems.add("checks", f"share ids: {shown}", f"检查项 id 重复：{shown}")
        if sum(isinstance(c, InviteCodeCheck) for c in self.checks) > 1:
            problems.add("checks", "hold more than one invite code check", "包含多个邀请码检查")
        if len(self.reject_message) > MAX_REJECT_MESSAGE:
            problems.add(
                "reject_message",
                f"is longer than {MAX_REJECT_MESSAGE} characters",
                f"超过 {MAX_REJECT_MESSAGE} 个字符",
            )
        problems.raise_if_any()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "checks": [c.to_dict() for c in self.checks],
            "auto_reject": self.auto_reject,
            "reject_message": self.reject_message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AdmissionPolicy:
        """The policy ``data`` describes. RuleError lists the problems of every check at
        once; a policy with one broken check is refused whole, because dropping the check
        would let in the applicants it was meant to screen."""
        read = Reader(data, "admission policy")
        checks = []
        for item in read.objects("checks"):
            try:
                checks.append(check_from_dict(item))
            except RuleError as error:
                read.extend(error.problems)
        values = {
            "id": read.text("id"),
            "name": read.text("name", ""),
            "auto_reject": read.flag("auto_reject", True),
            "reject_message": read.text("reject_message", ""),
        }
        read.raise_if_any()
        return cls(**values, checks=tuple(checks))


# --- evaluating checks --------------------------------------------------------------------


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


# --- deciding -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one join request, with what to do and what to log.

    ``codes`` is the invite codes' new state to store (an approved request spent a use),
    None when nothing changed.
    """

    decision: Decision
    policy_id: str
    policy_name: str
    reason: Wording
    results: tuple[CheckResult, ...] = ()
    actions: tuple[Action, ...] = ()
    codes: CodesState | None = None
    redemption: Redemption | None = None

    @property
    def matched(self) -> str:
        """The matched texts of the checks, for the log's "matched" column."""
        return "; ".join(r.matched for r in self.results if r.matched)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "rule_id": self.policy_id,
            "rule_name": self.policy_name,
            "matched": self.matched,
            "reason": self.reason.to_dict(),
            "results": [r.to_dict() for r in self.results],
            "redemption": None if self.redemption is None else self.redemption.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
        }


def _unit_status(results: Sequence[CheckResult]) -> tuple[Status, WhenMissing]:
    """How a group of alternatives ends: passes if any passes; missing (holding unless
    every missing one says reject) if any is missing; else failed."""
    statuses = {r.status for r in results}
    if Status.PASS in statuses:
        return Status.PASS, WhenMissing.HOLD
    missing = [r for r in results if r.status is Status.MISSING]
    if missing:
        rejects = all(r.when_missing is WhenMissing.REJECT for r in missing)
        return Status.MISSING, WhenMissing.REJECT if rejects else WhenMissing.HOLD
    return Status.FAIL, WhenMissing.HOLD


def _combine(
    results: Sequence[CheckResult], auto_reject: bool
) -> tuple[Decision, list[CheckResult]]:
    """The decision and the results that made it."""
    units: list[tuple[Status, WhenMissing, list[CheckResult]]] = []
    for result in results:
        if result.required:
            units.append((result.status, result.when_missing, [result]))
    optional = [r for r in results if not r.required]
    if optional:
        status, when = _unit_status(optional)
        units.append((status, when, optional))
    rejecting = [
        r
        for status, when, members in units
        if status is Status.FAIL or (status is Status.MISSING and when is WhenMissing.REJECT)
        for r in members
        if r.status is not Status.PASS
    ]
    if rejecting:
        return (Decision.REJECT if auto_reject else Decision.HOLD), rejecting
    holding = [
        r
        for status, _, members in units
        if status is Status.MISSING
        for r in members
        if r.status is Status.MISSING
    ]
    if holding:
        return Decision.HOLD, holding
    return Decision.APPROVE, [r for r in results if r.status is Status.PASS]


def _join(reasons: Sequence[Wording]) -> Wording:
    return Wording("; ".join(r.en for r in reasons), "；".join(r.zh for r in reasons))


def _request_params(request: JoinRequest) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if request.request_id is not None:
        params["request_id"] = request.request_id
    if request.sub_type is not None:
        params["sub_type"] = request.sub_type
    return params


def _actions(
    decision: Decision,
    policy_id: str,
    request: JoinRequest,
    reason: Wording,
    *,
    told: str = "",
    lang: str,
) -> tuple[Action, ...]:
    """The one action a decision takes: approve, reject (``told`` is what the applicant
    reads), or tell an operator, in ``lang``, about the held request."""
    target = {"platform": request.platform, "group": request.group, "user": request.user}
    why = f"admission policy {policy_id}: {reason.en}"
    params = _request_params(request)
    if decision is Decision.APPROVE:
        return (Action(ActionType.APPROVE_JOIN, **target, params=params, reason=why),)
    if decision is Decision.REJECT:
        params["reason"] = told
        return (Action(ActionType.REJECT_JOIN, **target, params=params, reason=why),)
    who = visible(request.user_name or request.user, 40)
    answer = visible(screening_answer(request.answer), 200)
    if is_chinese(lang):
        lines = [
            f"入群申请待审核：{who}（{request.user}）申请加入 {request.group}",
            f"原因：{reason.zh}",
        ]
        if answer:
            lines.append(f"答案：{answer}")
    else:
        lines = [
            f"Join request to review: {who} ({request.user}) asks to join {request.group}",
            f"Why: {reason.en}",
        ]
        if answer:
            lines.append(f"Answer: {answer}")
    params.update(policy_id=policy_id, hold="join_request")
    note = Message.of("\n".join(lines))
    return (Action(ActionType.NOTIFY_OPERATOR, **target, message=note, params=params, reason=why),)


_NOT_ALLOWED = Wording("You cannot join this group.", "你无法加入本群。")


def _applicant_reason(policy: AdmissionPolicy, deciding: Sequence[CheckResult], lang: str) -> str:
    if policy.reject_message:
        return policy.reject_message
    for result in deciding:
        if result.applicant is not None:
            return result.applicant.pick(lang)
    return _NOT_ALLOWED.pick(lang)


def decide(
    policy: AdmissionPolicy,
    request: JoinRequest,
    facts: JoinFacts,
    now: datetime,
    *,
    lang: str = "zh-CN",
) -> Verdict:
    """Approve, reject or hold ``request`` by ``policy`` (see the module's docstring for how
    checks combine). ``lang`` is the language of what the applicant and the operator read;
    the verdict's reasons carry both languages for the log."""
    require_aware(now)
    if facts.blacklisted:
        reason = Wording("the applicant is on the community's blacklist", "申请人在社群黑名单中")
        told = policy.reject_message or _NOT_ALLOWED.pick(lang)
        actions = _actions(Decision.REJECT, policy.id, request, reason, told=told, lang=lang)
        return Verdict(Decision.REJECT, policy.id, policy.name, reason, actions=actions)
    evaluated = [_evaluate(check, request, facts, now) for check in policy.checks]
    results = tuple(result for result, _, _ in evaluated)
    if results:
        decision, deciding = _combine(results, policy.auto_reject)
        reason = _join([r.reason for r in deciding])
    else:
        decision, deciding = Decision.APPROVE, []
        reason = Wording(
            "the policy has no checks: everyone is let in", "该规则没有检查项：全部放行"
        )
    redemption = next((r for _, r, _ in evaluated if r is not None), None)
    spent = next((s for _, _, s in evaluated if s is not None), None)
    codes = spent if decision is Decision.APPROVE and spent is not facts.codes else None
    told = _applicant_reason(policy, deciding, lang) if decision is Decision.REJECT else ""
    actions = _actions(decision, policy.id, request, reason, told=told, lang=lang)
    return Verdict(decision, policy.id, policy.name, reason, results, actions, codes, redemption)


def hold_unloadable(
    request: JoinRequest, error: RuleError, *, policy_id: str = "", lang: str = "zh-CN"
) -> Verdict:
    """The verdict for a request whose group's stored policy no longer builds: held for an
    operator, never approved (the broken check might be the one that screens) nor rejected
    (the applicant did nothing wrong)."""
    shown = error.problems[:3]
    reason = Wording(
        "the group's admission policy cannot be loaded: " + "; ".join(p.text("en") for p in shown),
        "本群的入群规则无法加载：" + "；".join(p.text("zh") for p in shown),
    )
    actions = _actions(Decision.HOLD, policy_id, request, reason, lang=lang)
    return Verdict(Decision.HOLD, policy_id, "", reason, actions=actions)


# --- the lobby ----------------------------------------------------------------------------

#: The variables a promotion message may use: the member, their number, the main group's
#: name and the lobby's.
PROMOTION_VARIABLES = frozenset({"name", "number", "group", "lobby"})
_DEFAULT_PROMOTION = Wording(
    "Congratulations {name}! You have met the lobby's rules and are invited to {group}.",
    "恭喜 {name} 完成客厅考核，已邀请你加入 {group}！",
)


class Need(StrEnum):
    INTRO = "intro"
    DAYS = "days"
    QUIZ = "quiz"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A group named by platform and platform id; ``name`` is what messages show."""

    platform: str
    group: str
    name: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"platform": self.platform, "group": self.group, "name": self.name}


def _group_ref(read: Reader, key: str) -> GroupRef:
    data = read.mapping(key)
    platform, group, name = data.get("platform"), data.get("group"), data.get("name", "")
    if not isinstance(platform, str) or not isinstance(group, str) or not isinstance(name, str):
        read.add(key, "needs platform and group as text", "需要文本形式的 platform 和 group")
        return GroupRef("", "")
    return GroupRef(platform, group, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class LobbyRules:
    """A lobby's rules; every rule set must be met. The intro is met by a message matching
    ``intro_pattern`` or at least ``intro_min_chars`` visible characters long (either, when
    both are set). ``kick_after_s`` None keeps promoted members in the lobby. ``message``
    is the congratulation (a template; empty for the default in the reader's language)."""

    id: str
    name: str = ""
    lobby: GroupRef
    main: GroupRef
    intro_pattern: str = ""
    intro_min_chars: int | None = None
    min_days: int | None = None
    quiz_min_score: float | None = None
    fee: Decimal | None = None
    currency: str = ""
    paid_within_days: int | None = None
    kick_after_s: int | None = None
    message: str = ""
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _template: Template | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = Problems(rule_label("lobby", self.id, self.name))
        problems.identity(self.id, self.name)
        for key, ref in (("lobby", self.lobby), ("main", self.main)):
            if not ref.platform or not ref.group:
                problems.add(key, "needs a platform and a group", "需要平台和群")
        if (self.lobby.platform, self.lobby.group) == (self.main.platform, self.main.group):
            problems.add("main", "is the lobby itself", "与客厅是同一个群")
        if not any(
            (
                self.intro_pattern,
                self.intro_min_chars is not None,
                self.min_days is not None,
                self.quiz_min_score is not None,
                self.fee is not None,
            )
        ):
            problems.add(
                "rules",
                "none set: a lobby without rules would promote everyone at once",
                "未设置任何条件：没有条件的客厅会立即放行所有人",
            )
        if self.intro_pattern:
            why = pattern_problem(self.intro_pattern)
            if why is not None:
                problems.add("intro_pattern", why.en, why.zh)
            else:
                object.__setattr__(self, "_pattern", compile_pattern(self.intro_pattern))
        if self.intro_min_chars is not None and not 1 <= self.intro_min_chars <= 2000:
            problems.add("intro_min_chars", "must be between 1 and 2000", "必须在 1 到 2000 之间")
        _within(problems, self.min_days, "min_days")
        if self.quiz_min_score is not None and not (
            math.isfinite(self.quiz_min_score) and self.quiz_min_score >= 0
        ):
            problems.add(
                "quiz_min_score", "must be a score of zero or more", "必须是不小于零的分数"
            )
        if self.fee is not None:
            _fee(problems, self.fee)
            object.__setattr__(self, "currency", _currency(problems, self.currency))
        elif self.currency:
            problems.add("currency", "is set without a fee", "设置了币种但没有设置费用")
        _within(problems, self.paid_within_days, "paid_within_days")
        if self.kick_after_s is not None and not 0 <= self.kick_after_s <= MAX_KICK_DELAY_S:
            problems.add(
                "kick_after_s",
                f"must be between 0 and {MAX_KICK_DELAY_S} seconds (30 days)",
                f"必须在 0 到 {MAX_KICK_DELAY_S} 秒（30 天）之间",
            )
        if len(self.message) > MAX_PROMOTION_MESSAGE:
            problems.add(
                "message",
                f"is longer than {MAX_PROMOTION_MESSAGE} characters",
                f"超过 {MAX_PROMOTION_MESSAGE} 个字符",
            )
        elif self.message:
            template = parse_template(self.message, PROMOTION_VARIABLES, problems, "message")
            object.__setattr__(self, "_template", template)
        problems.raise_if_any()

    def template(self, lang: str) -> Template:
        if self._template is not None:
            return self._template
        return Template(_DEFAULT_PROMOTION.pick(lang), frozenset({"name", "group"}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "lobby": self.lobby.to_dict(),
            "main": self.main.to_dict(),
            "intro_pattern": self.intro_pattern,
            "intro_min_chars": self.intro_min_chars,
            "min_days": self.min_days,
            "quiz_min_score": self.quiz_min_score,
            "fee": None if self.fee is None else str(self.fee),
            "currency": self.currency,
            "paid_within_days": self.paid_within_days,
            "kick_after_s": self.kick_after_s,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LobbyRules:
        read = Reader(data, "lobby")
        values = {
            "id": read.text("id"),
            "name": read.text("name", ""),
            "lobby": _group_ref(read, "lobby"),
            "main": _group_ref(read, "main"),
            "intro_pattern": read.text("intro_pattern", ""),
            "intro_min_chars": read.integer("intro_min_chars", None),
            "min_days": read.integer("min_days", None),
            "quiz_min_score": read.number("quiz_min_score", None),
            "fee": read.decimal("fee", None),
            "currency": read.text("currency", ""),
            "paid_within_days": read.integer("paid_within_days", None),
            "kick_after_s": read.integer("kick_after_s", None),
            "message": read.text("message", ""),
        }
        read.raise_if_any()
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class LobbyMember:
    """What the caller knows of one lobby member. ``messages`` are the texts they posted in
    the lobby; ``main_user`` is their id on the main group's platform when it differs;
    ``purchases`` None means "could not be looked up"."""

    user: str
    joined_at: datetime
    name: str = ""
    number: int | None = None
    messages: tuple[str, ...] = ()
    quiz_score: float | None = None
    purchases: tuple[Purchase, ...] | None = None
    main_user: str | None = None
    promoted: bool = False


@dataclass(frozen=True, slots=True)
class Requirement:
    need: Need
    met: bool
    reason: Wording
    matched: str = ""


@dataclass(frozen=True, slots=True)
class LobbyStatus:
    """Where a member stands: each rule met or not, and when the days rule will be met
    (None without one) so that the caller can check again then."""

    requirements: tuple[Requirement, ...]
    days_met_at: datetime | None = None

    @property
    def met(self) -> bool:
        return all(r.met for r in self.requirements)

    @property
    def missing(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if not r.met)


def visible_length(text: str) -> int:
    """Characters a reader sees: spaces, control and format characters do not count."""
    return sum(1 for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def _intro(rules: LobbyRules, member: LobbyMember) -> Requirement:
    for text in member.messages:
        if rules._pattern is not None:
            found = search(rules._pattern, text)
            if found is not None:
                hit = visible(found)
                return Requirement(
                    Need.INTRO, True, Wording(f"introduced: “{hit}”", f"已自我介绍：“{hit}”"), hit
                )
        if rules.intro_min_chars is not None and visible_length(text) >= rules.intro_min_chars:
            shown = visible(text)
            return Requirement(
                Need.INTRO,
                True,
                Wording(
                    f"introduced in {visible_length(text)} characters",
                    f"已自我介绍（{visible_length(text)} 字）",
                ),
                shown,
            )
    wants = []
    if rules.intro_pattern:
        wants.append(Wording("matching the intro format", "符合介绍格式"))
    if rules.intro_min_chars is not None:
        wants.append(
            Wording(
                f"at least {rules.intro_min_chars} characters long",
                f"至少 {rules.intro_min_chars} 字",
            )
        )
    return Requirement(
        Need.INTRO,
        False,
        Wording(
            "no self-introduction yet (" + " or ".join(w.en for w in wants) + ")",
            "尚未自我介绍（" + "或".join(w.zh for w in wants) + "）",
        ),
    )


def lobby_status(rules: LobbyRules, member: LobbyMember, now: datetime) -> LobbyStatus:
    """Each of the lobby's rules, met or not, for ``member`` at ``now``."""
    require_aware(now)
    needs: list[Requirement] = []
    days_met_at = None
    if rules._pattern is not None or rules.intro_min_chars is not None:
        needs.append(_intro(rules, member))
    if rules.min_days is not None:
        days_met_at = member.joined_at + timedelta(days=rules.min_days)
        days = (now - member.joined_at).days
        needs.append(
            Requirement(
                Need.DAYS,
                now >= days_met_at,
                Wording(
                    f"present {max(days, 0)} of {rules.min_days} days",
                    f"已在客厅 {max(days, 0)} 天，需 {rules.min_days} 天",
                ),
            )
        )
    if rules.quiz_min_score is not None:
        score = member.quiz_score
        shown = "none" if score is None else f"{score:g}"
        needs.append(
            Requirement(
                Need.QUIZ,
                score is not None and score >= rules.quiz_min_score,
                Wording(
                    f"quiz score {shown}, needs {rules.quiz_min_score:g}",
                    f"测验得分 {'无' if score is None else shown}，需 {rules.quiz_min_score:g}",
                ),
                "" if score is None else shown,
            )
        )
    if rules.fee is not None:
        check = PaymentCheck(
            id=rules.id or "lobby",
            fee=rules.fee,
            currency=rules.currency,
            within_days=rules.paid_within_days,
        )
        paid = _payment(check, JoinFacts(purchases=member.purchases), now)
        needs.append(Requirement(Need.PAID, paid.status is Status.PASS, paid.reason, paid.matched))
    return LobbyStatus(tuple(needs), days_met_at)


@dataclass(frozen=True, slots=True)
class Promotion:
    """A member promoted from the lobby: the rules met, and the actions — the invitation to
    the main group, the congratulation in the lobby, and the removal from the lobby after
    ``params["after_s"]`` seconds when the rules ask for it."""

    rules_id: str
    rules_name: str
    user: str
    reason: Wording
    requirements: tuple[Requirement, ...]
    actions: tuple[Action, ...]

    @property
    def matched(self) -> str:
        return "; ".join(r.matched for r in self.requirements if r.matched)


def promotion(
    rules: LobbyRules, member: LobbyMember, now: datetime, *, lang: str = "zh-CN"
) -> Promotion | None:
    """The promotion of ``member`` when they meet every rule of the lobby, else None (as
    for a member already promoted). Actions carry idempotency keys built from the lobby,
    the member and when they joined, so evaluating the same member twice does not invite
    them twice; a member who leaves and comes back is a new stay with new keys."""
    if member.promoted:
        require_aware(now)
        return None
    status = lobby_status(rules, member, now)
    if not status.met:
        return None
    reason = _join([r.reason for r in status.requirements])
    why = f"lobby {rules.id}: promoted ({reason.en})"
    stay = f"lobby:{rules.id}:{member.user}:{member.joined_at.isoformat()}"
    values = {
        "number": "" if member.number is None else member.number,
        "group": rules.main.name or rules.main.group,
        "lobby": rules.lobby.name or rules.lobby.group,
    }
    people = [(member.user, member.name or member.user)]
    said = names_message(rules.template(lang), values, people, lang=lang)
    lobby = {"platform": rules.lobby.platform, "group": rules.lobby.group}
    actions = [
        Action(
            ActionType.INVITE,
            platform=rules.main.platform,
            group=rules.main.group,
            user=member.main_user or member.user,
            reason=why,
            key=f"{stay}:invite",
        ),
        Action(ActionType.SEND_MESSAGE, **lobby, message=said, reason=why, key=f"{stay}:message"),
    ]
    if rules.kick_after_s is not None:
        actions.append(
            Action(
                ActionType.KICK,
                **lobby,
                user=member.user,
                params={"after_s": rules.kick_after_s},
                reason=why,
                key=f"{stay}:kick",
            )
        )
    return Promotion(rules.id, rules.name, member.user, reason, status.requirements, tuple(actions))
