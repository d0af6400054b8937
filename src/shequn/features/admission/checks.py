"""The checks a group's ``AdmissionPolicy`` holds, and the policy itself.

A screening question (the answer must hold any or all of some keywords, or match a guarded
regular expression; letter case and full/half width do not matter), an invite code (see
``codes``), paid entry (a purchase by the applicant of at least the fee, in the configured
currency) and a prior purchase of a product. Each check is validated when it is built or read
back from storage, and a policy with one broken check is refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from shequn.features.admission import (
    Problems,
    Reader,
    RuleError,
    compile_pattern,
    fold,
    pattern_problem,
    rule_label,
)

MAX_KEYWORDS = 50
MAX_KEYWORD = 50
MAX_QUESTION = 500
MAX_CURRENCY = 16
MAX_DAYS = 3650
#: What an applicant is shown when refused: QQ shows it under the request.
MAX_REJECT_MESSAGE = 100


class WhenMissing(StrEnum):
    HOLD = "hold"
    REJECT = "reject"


class MatchMode(StrEnum):
    ANY = "any"
    ALL = "all"
    REGEX = "regex"


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
