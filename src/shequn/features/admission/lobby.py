"""The lobby (客厅) that promotes members to the main group.

New members wait in a lobby group and are promoted — invited to the main group, removed
from the lobby after a delay, congratulated — once they meet all of the lobby's rules:
introduced themselves (a message matching the intro pattern or at least N visible
characters long), present N days, a quiz score of at least S, paid.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shequn.core import Action, ActionType
from shequn.features.admission import (
    Problems,
    Reader,
    Wording,
    compile_pattern,
    names_message,
    parse_template,
    pattern_problem,
    require_aware,
    rule_label,
    search,
    visible,
)
from shequn.features.admission.checks import PaymentCheck, _currency, _fee, _within
from shequn.features.admission.decide import _join
from shequn.features.admission.evaluation import Status, _payment
from shequn.features.admission.join_request import JoinFacts, Purchase
from shequn.features.templating.logic import Template

MAX_PROMOTION_MESSAGE = 1000
#: The longest a promoted member may stay in the lobby before being removed.
MAX_KICK_DELAY_S = 30 * 86400

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
