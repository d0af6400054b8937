"""Rules and policies: what a check leads to, who it spares, and in which order.

A rule is a check plus its sanctions and exemptions; a policy is one group's rules in the
order they are tried and the community's warning ladder. Both are stored as dicts and
built back with every problem reported: a rule that cannot work is refused when saved,
naming the rule and why, and one bad rule never takes the others down (``load_policy``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from shequn.core import Role
from shequn.features.moderation.checks import (
    Advertising,
    BannedWords,
    Invites,
    Links,
    Patterns,
    Phones,
    QrCodes,
)
from shequn.features.moderation.conduct import Flood, NewMember, Repeat
from shequn.features.moderation.context import MessageContext
from shequn.features.moderation.detect import RuleError, Wording, echo
from shequn.features.moderation.ladder import MAX_MUTE, Ladder, mute_problems
from shequn.features.moderation.reader import _Reader
from shequn.features.templating.logic import Template, TemplateError, parse

#: Roles exempt from every rule unless the rule says otherwise.
DEFAULT_EXEMPT: frozenset[Role] = frozenset({Role.OWNER, Role.ADMIN})
#: The variables a rule's own warning notice may use.
NOTICE_VARIABLES = ("name", "rule", "count")


class Sanction(StrEnum):
    """What a rule does to a message and its sender; several combine (delete + warn)."""

    DELETE = "delete"
    WARN = "warn"
    MUTE = "mute"
    KICK = "kick"
    BAN = "ban"


Check = (
    BannedWords
    | Links
    | Invites
    | Phones
    | QrCodes
    | Advertising
    | Patterns
    | Flood
    | Repeat
    | NewMember
)

#: Every kind of check, by the name stored in a rule's ``kind``.
CHECKS: Mapping[str, Any] = {
    cls.kind: cls
    for cls in (
        BannedWords,
        Links,
        Invites,
        Phones,
        QrCodes,
        Advertising,
        Patterns,
        Flood,
        Repeat,
        NewMember,
    )
}


def _sanctions(names: Iterable[Any]) -> tuple[tuple[Sanction, ...], list[Wording]]:
    known = ", ".join(s.value for s in Sanction)
    out: list[Sanction] = []
    problems: list[Wording] = []
    for name in names:
        try:
            out.append(Sanction(name))
        except ValueError:
            problems.append(
                Wording(
                    f"unknown action {echo(repr(name))} (known: {known})",
                    f"未知的处理方式 {echo(repr(name))}（可用：{known}）",
                )
            )
    return tuple(dict.fromkeys(out)), problems


def _roles(names: Iterable[Any]) -> tuple[frozenset[Role], list[Wording]]:
    known = ", ".join(r.value for r in Role)
    out: set[Role] = set()
    problems: list[Wording] = []
    for name in names:
        try:
            out.add(Role(name))
        except ValueError:
            problems.append(
                Wording(
                    f"unknown role {echo(repr(name))} (known: {known})",
                    f"未知的角色 {echo(repr(name))}（可用：{known}）",
                )
            )
    return frozenset(out), problems


def _notice(text: str | None) -> tuple[Template | None, list[Wording]]:
    if text is None:
        return None, []
    try:
        return parse(text, NOTICE_VARIABLES), []
    except TemplateError as error:
        return None, [Wording(f"the warning notice: {error}", f"警告提醒文字：{error}")]


@dataclass(frozen=True)
class Rule:
    """One moderation rule: a check, what to do when it matches, and who is exempt.

    ``mute`` is the mute's duration when ``actions`` include mute. ``notice`` replaces the
    default warning text and may use ``{name}``, ``{rule}`` and ``{count}`` (the sender's
    live warnings). Raises RuleError, naming the rule, when it cannot work.
    """

    id: str
    name: str
    check: Check
    actions: tuple[Sanction, ...] = (Sanction.DELETE, Sanction.WARN)
    mute: timedelta | None = None
    exempt_roles: frozenset[Role] = DEFAULT_EXEMPT
    exempt_tiers: frozenset[str] = frozenset()
    notice: str | None = None
    enabled: bool = True
    template: Template | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        actions, problems = _sanctions(self.actions)
        roles, role_problems = _roles(self.exempt_roles)
        template, notice_problems = _notice(self.notice)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "exempt_roles", roles)
        object.__setattr__(self, "exempt_tiers", frozenset(self.exempt_tiers))
        object.__setattr__(self, "template", template)
        problems += role_problems + notice_problems + self._problems()
        if problems:
            raise RuleError(str(self.id), str(self.name), problems)

    def _problems(self) -> list[Wording]:
        problems: list[Wording] = []
        if not isinstance(self.id, str) or not self.id.strip():
            problems.append(Wording("the rule has no id", "规则没有 id"))
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(Wording("the rule has no name", "规则没有名称"))
        if not self.actions:
            problems.append(
                Wording(
                    "the rule does nothing: choose at least one action",
                    "规则没有处理方式，请至少选择一种",
                )
            )
        if Sanction.MUTE in self.actions:
            problems.extend(mute_problems(self.mute, Wording("the rule", "规则")))
        elif self.mute is not None:
            problems.append(
                Wording(
                    "a mute duration is set but the rule does not mute",
                    "设置了禁言时长，但规则不禁言",
                )
            )
        problems.extend(self.check.problems())
        return problems

    def exempts(self, message: MessageContext) -> bool:
        return message.role in self.exempt_roles or (
            message.tier is not None and message.tier in self.exempt_tiers
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.check.kind,
            "params": self.check.params(),
            "actions": [a.value for a in self.actions],
            "exempt_roles": sorted(r.value for r in self.exempt_roles),
            "exempt_tiers": sorted(self.exempt_tiers),
            "enabled": self.enabled,
        }
        if self.mute is not None:
            out["mute_s"] = self.mute.total_seconds()
        if self.notice is not None:
            out["notice"] = self.notice
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Rule:
        """Raises RuleError naming the rule and every problem in it."""
        reader = _Reader(data)
        rule_id = reader.text("id") or ""
        name = reader.text("name") or ""
        check = _read_check(reader)
        values, problems = _read_common(reader)
        problems += reader.problems + reader.unknown()
        if check is None:
            raise RuleError(rule_id, name, problems)
        try:
            rule = cls(rule_id, name, check, **values)
        except RuleError as error:
            raise RuleError(rule_id, name, problems + list(error.problems)) from None
        if problems:
            raise RuleError(rule_id, name, problems)
        return rule


def _read_check(reader: _Reader) -> Check | None:
    kind = reader.text("kind") or ""
    check_class = CHECKS.get(kind)
    if check_class is None:
        known = ", ".join(CHECKS)
        reader.problems.append(
            Wording(
                f"unknown kind {echo(repr(kind))} (known: {known})",
                f"未知的规则类型 {echo(repr(kind))}（可用：{known}）",
            )
        )
        return None
    params = _Reader(reader.get("params", {}), "params")
    check: Check = check_class.read(params)
    reader.problems.extend(params.problems + params.unknown())
    return check


def _read_common(reader: _Reader) -> tuple[dict[str, Any], list[Wording]]:
    """The fields every rule has, and the problems with them."""
    actions, problems = _sanctions(reader.texts("actions", ("delete", "warn")))
    roles, role_problems = _roles(
        reader.texts("exempt_roles", tuple(r.value for r in DEFAULT_EXEMPT))
    )
    mute: timedelta | None = None
    if reader.get("mute_s") is not None:
        # Clamped so a huge number reads as "too long" rather than overflowing.
        seconds = min(reader.number("mute_s", 0), MAX_MUTE.total_seconds() + 1)
        mute = timedelta(seconds=max(seconds, -1))
    values = {
        "actions": actions,
        "mute": mute,
        "exempt_roles": roles,
        "exempt_tiers": frozenset(reader.texts("exempt_tiers")),
        "notice": reader.text("notice"),
        "enabled": reader.flag("enabled", True),
    }
    return values, problems + role_problems


# --- policies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The moderation of one group: its rules, in the order they are tried, and the
    community's warning ladder. Rule ids are unique."""

    rules: tuple[Rule, ...] = ()
    ladder: Ladder = field(default_factory=Ladder)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise RuleError(
                    rule.id,
                    rule.name,
                    [Wording("another rule has the same id", "已有相同 id 的规则")],
                )
            seen.add(rule.id)

    @property
    def lookback(self) -> timedelta:
        """How far back the history ``moderate`` needs goes: the longest flood or repeat
        window (zero when there is none)."""
        windows = [
            timedelta(seconds=rule.check.seconds)
            for rule in self.rules
            if isinstance(rule.check, Flood | Repeat)
        ]
        return max(windows, default=timedelta(0))

    def to_dict(self) -> dict[str, Any]:
        return {"rules": [rule.to_dict() for rule in self.rules], "ladder": self.ladder.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> Policy:
        """The policy, or the first RuleError when any part of it cannot work."""
        loaded = load_policy(data)
        if loaded.problems:
            raise loaded.problems[0]
        return loaded.policy


class LoadedPolicy(NamedTuple):
    """A policy built from what could be built, and a RuleError for each part that could
    not: one bad rule never takes the others down."""

    policy: Policy
    problems: tuple[RuleError, ...]


def load_policy(data: Any) -> LoadedPolicy:
    """Build every rule that works from a stored policy; report each one that does not."""
    reader = _Reader(data, "policy")
    problems: list[RuleError] = []
    if reader.problems:
        problems.append(RuleError("policy", "", reader.problems))
    raw_rules = reader.data.get("rules", [])
    if not isinstance(raw_rules, list | tuple):
        problems.append(
            RuleError("policy", "", [Wording("'rules' must be a list", "rules 必须是列表")])
        )
        raw_rules = []
    rules: list[Rule] = []
    ids: set[str] = set()
    for raw in raw_rules:
        try:
            rule = Rule.from_dict(raw)
        except RuleError as error:
            problems.append(error)
            continue
        if rule.id in ids:
            problems.append(
                RuleError(
                    rule.id,
                    rule.name,
                    [Wording("another rule has the same id", "已有相同 id 的规则")],
                )
            )
            continue
        ids.add(rule.id)
        rules.append(rule)
    ladder = Ladder()
    if "ladder" in reader.data:
        raw_ladder = reader.data["ladder"]
        try:
            if not isinstance(raw_ladder, Mapping):
                raise RuleError(
                    "ladder", "", [Wording("the ladder must be an object", "警告阶梯必须是对象")]
                )
            ladder = Ladder.from_dict(raw_ladder)
        except RuleError as error:
            problems.append(error)
    return LoadedPolicy(Policy(tuple(rules), ladder), tuple(problems))


__all__ = [
    "CHECKS",
    "DEFAULT_EXEMPT",
    "NOTICE_VARIABLES",
    "Check",
    "LoadedPolicy",
    "Policy",
    "Rule",
    "Sanction",
    "load_policy",
]
