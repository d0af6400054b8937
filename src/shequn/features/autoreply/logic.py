"""Auto-reply / FAQ rules: a message that matches a rule gets the rule's answer, once.

An operator writes rules (``怎么报名`` → the sign-up link); a member asks, the bot answers in
the thread. Everything here is pure: the rules come in as values, the time and the cooldowns
come in as arguments, and the answer goes out as an ``Action`` plus the new cooldowns, so a
service can store both and the same event always decides the same.

The flow is ``compile_rules`` (once per change of a community's rules: every valid rule
compiled, every invalid one reported) → ``RuleSet.matches`` (which rules a text triggers, in
priority order) → ``reply`` (at most one answer per message, honouring the cooldowns).

Matching compares normalised text: NFKC (full-width ``ＶＩＰ`` reads as ``VIP``), case folded
unless the rule is case-sensitive, whitespace collapsed; patterns and messages go through the
same function, so what an operator types is what matches. Every keyword rule of a community
(exact, contains, prefix) sits in one automaton (``kit.keywords.KeywordIndex``), so ten
thousand keywords cost one pass over the message.

Chat text is untrusted: it is only ever searched, never compiled or formatted. Regexes,
which operators do write, run on Python's backtracking ``re``, so every one passes
``kit.regex.guard`` when saved (the shapes that could run away on a hostile message are
refused there, for every family of rules alike), and every regex reads at most the first
2,000 characters, the length the guard's limits were measured at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz, process

from shequn.core import Action, ActionType, Event, EventType, Message, Role, Text
from shequn.features.templating.logic import Template, TemplateError, fill, parse
from shequn.kit.errors import RuleError as KitRuleError
from shequn.kit.keywords import KeywordIndex
from shequn.kit.regex import MAX_TEXT as GUARDED_TEXT
from shequn.kit.regex import guard, too_long
from shequn.kit.wording import Wording, is_chinese

#: The variables a reply may use: the asker's name and member number, the group, the community.
VARIABLES = frozenset({"name", "number", "group", "community"})
#: The longest pattern: longer ones are pasted paragraphs, not questions, and a regex this
#: long is beyond review.
MAX_PATTERN = 500
#: Regex and fuzzy rules look at this much of a message: enough for any question, and it
#: bounds the work a hostile wall of text can cause (the regex guard's measured length).
MAX_TEXT = GUARDED_TEXT
#: The longest reply; Telegram's limit of 4,096 is the strictest of the platforms.
MAX_REPLY = 4000
#: The same answer twice within a minute in one group is noise.
DEFAULT_COOLDOWN_S = 60
#: A rapidfuzz score (0–100) of 85 allows about one wrong character in seven.
DEFAULT_THRESHOLD = 85.0
#: How much of a member's text a log reason repeats.
_ECHO = 40


class MatchKind(StrEnum):
    EXACT = "exact"
    CONTAINS = "contains"
    PREFIX = "prefix"
    REGEX = "regex"
    FUZZY = "fuzzy"


_KIND_ZH = {
    MatchKind.EXACT: "完全匹配",
    MatchKind.CONTAINS: "包含",
    MatchKind.PREFIX: "开头匹配",
    MatchKind.REGEX: "正则",
    MatchKind.FUZZY: "模糊匹配",
}


# --- normalisation ------------------------------------------------------------------------


def _base(text: str) -> str:
    """NFKC with whitespace collapsed: the form regexes and case-sensitive rules see."""
    if text.isascii():  # ASCII is already NFKC; skip the call on the common English path
        return " ".join(text.split())
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _fold(base: str) -> str:
    """A ``_base`` text case folded. Folding can undo NFKC (``ǰ`` folds to ``j`` and a
    combining caron), so the result is normalised again, which makes ``normalise``
    idempotent; most chat text has no case, and skips the second pass."""
    if base.isascii():
        return base.lower()
    folded = base.casefold()
    return base if folded == base else _base(folded)


def normalise(text: str, *, fold_case: bool = True) -> str:
    """The form both patterns and messages are compared in: NFKC (full-width to half-width,
    compatibility forms to plain ones), case folded unless ``fold_case`` is false,
    whitespace runs as one space, no space at either end."""
    base = _base(text)
    return _fold(base) if fold_case else base


def message_text(message: Message | None) -> str:
    """What auto-reply rules read: the text a member typed. Images, stickers, files and
    mentions are separators, not words, so the ``[image]`` placeholder of a picture never
    matches a keyword ``image`` and ``@bot 怎么报名`` still starts with ``怎么报名``."""
    if message is None:
        return ""
    parts = [s.text if isinstance(s, Text) else " " for s in message.segments]
    return "".join(parts)


# --- rules --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AutoReplyRule:
    """One FAQ entry as an operator configures it.

    ``patterns`` are alternatives: any one matching is enough. ``groups`` are shequn group
    ids, ``roles`` and ``tiers`` the askers it answers; each empty means all. The cooldown
    is per rule per group. ``case_insensitive=False`` keeps case (``VIP`` is not ``vip``)
    but still folds width; fuzzy rules always ignore case, as a near match should.
    ``threshold`` is the least rapidfuzz score (0–100) of a fuzzy rule. Higher ``priority``
    answers first; equal priorities keep the order the rules were given in. A rule is built
    from whatever was saved and checked by ``validate_rule`` / ``compile_rules``, which say
    what is wrong with it.
    """

    id: str
    name: str
    kind: MatchKind
    patterns: tuple[str, ...]
    reply: str
    groups: frozenset[int] = frozenset()
    roles: frozenset[Role] = frozenset()
    tiers: frozenset[str] = frozenset()
    cooldown_s: int = DEFAULT_COOLDOWN_S
    case_insensitive: bool = True
    threshold: float = DEFAULT_THRESHOLD
    priority: int = 0
    enabled: bool = True

    @property
    def label(self) -> str:
        """How problems and the log name the rule: its name and id."""
        return f"“{self.name}” ({self.id})" if self.name else f"({self.id})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored with the community's rules."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": str(self.kind),
            "patterns": list(self.patterns),
            "reply": self.reply,
            "groups": sorted(self.groups),
            "roles": sorted(str(r) for r in self.roles),
            "tiers": sorted(self.tiers),
            "cooldown_s": self.cooldown_s,
            "case_insensitive": self.case_insensitive,
            "threshold": self.threshold,
            "priority": self.priority,
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoReplyRule:
        """Rebuild a rule from its JSON form; a value of the wrong shape is refused with a
        RuleError naming the rule and the field (content is checked by ``validate_rule``)."""
        reader = _Reader(data)
        rule = cls(
            id=reader.rule_id,
            name=reader.text("name", ""),
            kind=reader.kind(),
            patterns=tuple(reader.texts("patterns", required=True)),
            reply=reader.text("reply", ""),
            groups=frozenset(reader.ints("groups")),
            roles=frozenset(reader.roles()),
            tiers=frozenset(reader.texts("tiers")),
            cooldown_s=reader.int("cooldown_s", DEFAULT_COOLDOWN_S),
            case_insensitive=reader.flag("case_insensitive", True),
            threshold=reader.number("threshold", DEFAULT_THRESHOLD),
            priority=reader.int("priority", 0),
            enabled=reader.flag("enabled", True),
        )
        if reader.problems:
            raise RuleError(reader.problems)
        return rule


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """Why one rule cannot be used: which rule, which field, what is wrong."""

    rule_id: str
    rule_name: str
    field: str
    reason: Wording

    @property
    def message(self) -> str:
        return self.text("en")

    def text(self, lang: str) -> str:
        if is_chinese(lang):
            name = f"“{self.rule_name}”" if self.rule_name else ""
            field = _field_zh(self.field)
            return f"自动回复规则{name}（{self.rule_id}）的{field}：{self.reason.zh}"
        name = f"“{self.rule_name}” " if self.rule_name else ""
        field = _field_en(self.field)
        return f"auto-reply rule {name}({self.rule_id}), {field}: {self.reason.en}"

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "field": self.field,
            "en": self.reason.en,
            "zh": self.reason.zh,
        }


_FIELD_ZH = {
    "id": "id",
    "name": "名称",
    "kind": "匹配方式",
    "patterns": "匹配内容",
    "reply": "回复内容",
    "groups": "适用群",
    "roles": "适用角色",
    "tiers": "适用等级",
    "cooldown_s": "冷却时间",
    "case_insensitive": "忽略大小写",
    "threshold": "相似度阈值",
    "priority": "优先级",
    "enabled": "启用",
}


def _pattern_number(field: str) -> int | None:
    """``patterns[2]`` → 3: problems count patterns from one, as operators do."""
    if field.startswith("patterns[") and field.endswith("]") and field[9:-1].isdigit():
        return int(field[9:-1]) + 1
    return None


def _field_en(field: str) -> str:
    number = _pattern_number(field)
    return f"pattern {number}" if number is not None else field


def _field_zh(field: str) -> str:
    number = _pattern_number(field)
    return f"第 {number} 条匹配内容" if number is not None else _FIELD_ZH.get(field, field)


class RuleError(KitRuleError):
    """A rule that cannot work, refused when it is saved; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems) or "invalid auto-reply rule")


_SHAPE = {
    "text": Wording("must be a text", "必须是文本"),
    "texts": Wording("must be a list of texts", "必须是文本列表"),
    "ints": Wording("must be a list of group ids (whole numbers)", "必须是群 id（整数）列表"),
    "int": Wording("must be a whole number", "必须是整数"),
    "number": Wording("must be a number", "必须是数字"),
    "flag": Wording("must be true or false", "必须是 true 或 false"),
}


class _Reader:
    """Reads a stored rule field by field, collecting a problem for each bad one."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[RuleProblem] = []
        raw_id = data.get("id")
        valid_id = isinstance(raw_id, str | int) and not isinstance(raw_id, bool)
        self.rule_id = str(raw_id) if valid_id else ""
        raw_name = data.get("name")
        self.rule_name = raw_name if isinstance(raw_name, str) else ""
        if not valid_id:
            self._bad("id", Wording("is missing", "缺失"))

    def _bad(self, field: str, reason: Wording) -> None:
        self.problems.append(RuleProblem(self.rule_id or "?", self.rule_name, field, reason))

    def text(self, key: str, default: str) -> str:
        value = self.data.get(key, default)
        if isinstance(value, str):
            return value
        self._bad(key, _SHAPE["text"])
        return default

    def texts(self, key: str, *, required: bool = False) -> list[str]:
        value = self.data.get(key)
        if value is None and not required:
            return []
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        self._bad(key, _SHAPE["texts"])
        return []

    def ints(self, key: str) -> list[int]:
        value = self.data.get(key, [])
        if isinstance(value, list | tuple) and all(_is_int(v) for v in value):
            return list(value)
        self._bad(key, _SHAPE["ints"])
        return []

    def int(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if _is_int(value):
            return value
        self._bad(key, _SHAPE["int"])
        return default

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if _is_number(value):
            return float(value)
        self._bad(key, _SHAPE["number"])
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        self._bad(key, _SHAPE["flag"])
        return default

    def kind(self) -> MatchKind:
        value = self.data.get("kind")
        try:
            return MatchKind(value)
        except ValueError:
            self._bad("kind", _unknown_kind(value))
            return MatchKind.CONTAINS

    def roles(self) -> list[Role]:
        out = []
        for name in self.texts("roles"):
            try:
                out.append(Role(name))
            except ValueError:
                self._bad("roles", _unknown_role(name))
        return out


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unknown_kind(value: object) -> Wording:
    known = ", ".join(k.value for k in MatchKind)
    return Wording(f"{value!r} is not one of {known}", f"{value!r} 不是 {known} 之一")


def _unknown_role(value: object) -> Wording:
    known = ", ".join(r.value for r in Role)
    return Wording(f"{value!r} is not one of {known}", f"{value!r} 不是 {known} 之一")


# --- regex guard --------------------------------------------------------------------------

#: What auto-reply says of a regex that matches the empty text.
_ANSWERS_EVERYTHING = Wording(
    "can match empty text, so it would answer every message; make it need at least one character",
    "能匹配空文本，会回复每一条消息；请让它至少需要一个字符",
)


def _compile_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str] | Wording:
    """The compiled pattern, or why ``kit.regex.guard`` refuses it. Patterns are normalised
    as messages are, and read at most ``MAX_TEXT`` characters, the length the guard's limits
    were measured at."""
    flags = re.IGNORECASE if case_insensitive else 0
    return guard(
        pattern,
        flags=flags,
        normalise=True,
        max_length=MAX_PATTERN,
        matches_empty=_ANSWERS_EVERYTHING,
    )


def _too_long(pattern: str) -> Wording:
    return too_long(pattern, MAX_PATTERN)


# --- validation and compilation -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A valid rule in the forms matching needs."""

    rule: AutoReplyRule
    template: Template
    keys: tuple[str, ...]  # patterns normalised and case folded (keyword and fuzzy kinds)
    cased: tuple[str, ...]  # patterns normalised keeping case (case-sensitive keyword rules)
    regexes: tuple[re.Pattern[str], ...]


#: Records one problem of the rule being checked: the field, and what is wrong with it.
_Complaint = Callable[[str, Wording], None]


def _prepare(rule: AutoReplyRule) -> tuple[_Prepared | None, list[RuleProblem]]:
    """Every problem of one rule, and its compiled form when there is none."""
    problems: list[RuleProblem] = []

    def bad(field: str, reason: Wording) -> None:
        name = rule.name if isinstance(rule.name, str) else ""
        problems.append(RuleProblem(str(rule.id), name, field, reason))

    if not isinstance(rule.id, str) or not rule.id.strip():
        bad("id", Wording("is empty", "为空"))
    if not isinstance(rule.name, str):
        bad("name", _SHAPE["text"])
    kind_ok = isinstance(rule.kind, MatchKind)
    if not kind_ok:
        bad("kind", _unknown_kind(rule.kind))
    keys, cased, regexes = _check_patterns(rule, bad) if kind_ok else ((), (), ())
    template = _check_reply(rule, bad)
    _check_scope_and_numbers(rule, bad)
    if problems or template is None:
        return None, problems
    return _Prepared(rule, template, keys, cased, regexes), problems


def _check_patterns(
    rule: AutoReplyRule, bad: _Complaint
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[re.Pattern[str], ...]]:
    keys: list[str] = []
    cased: list[str] = []
    regexes: list[re.Pattern[str]] = []
    patterns = rule.patterns
    if not isinstance(patterns, tuple | list) or not all(isinstance(p, str) for p in patterns):
        bad("patterns", _SHAPE["texts"])
        return (), (), ()
    if not patterns:
        bad("patterns", Wording("there is no pattern to match", "没有任何匹配内容"))
    for number, pattern in enumerate(patterns):
        field = f"patterns[{number}]"
        if len(pattern) > MAX_PATTERN:
            bad(field, _too_long(pattern))
            continue
        if rule.kind is MatchKind.REGEX:
            compiled = _compile_regex(pattern, rule.case_insensitive is not False)
            if isinstance(compiled, Wording):
                bad(field, compiled)
            else:
                regexes.append(compiled)
            continue
        base = _base(pattern)
        if not base:
            bad(
                field,
                Wording("is empty, so it would match every message", "为空，会匹配每一条消息"),
            )
            continue
        keys.append(_fold(base))
        cased.append(base)
    return tuple(keys), tuple(cased), tuple(regexes)


def _check_reply(rule: AutoReplyRule, bad: _Complaint) -> Template | None:
    if not isinstance(rule.reply, str):
        bad("reply", _SHAPE["text"])
        return None
    if not rule.reply.strip():
        bad("reply", Wording("is empty: there is nothing to answer", "为空，没有可回复的内容"))
        return None
    if len(rule.reply) > MAX_REPLY:
        bad(
            "reply",
            Wording(
                f"is {len(rule.reply)} characters long; at most {MAX_REPLY} fit in one message",
                f"长度为 {len(rule.reply)} 个字符，一条消息最多 {MAX_REPLY} 个",
            ),
        )
        return None
    try:
        return parse(rule.reply, VARIABLES)
    except TemplateError as error:
        known = ", ".join("{" + v + "}" for v in sorted(VARIABLES))
        bad("reply", Wording(str(error), f"无法使用：{error}（可用变量：{known}）"))
        return None


def _check_scope_and_numbers(rule: AutoReplyRule, bad: _Complaint) -> None:
    if not isinstance(rule.groups, Collection) or not all(_is_int(g) for g in rule.groups):
        bad("groups", _SHAPE["ints"])
    if not isinstance(rule.roles, Collection):
        bad("roles", _SHAPE["texts"])
    elif not all(isinstance(r, Role) for r in rule.roles):
        bad("roles", _unknown_role(sorted(str(r) for r in rule.roles if not isinstance(r, Role))))
    if not isinstance(rule.tiers, Collection) or not all(
        isinstance(t, str) and t for t in rule.tiers
    ):
        bad("tiers", Wording("must be a list of tier names", "必须是等级名称列表"))
    if not _is_int(rule.cooldown_s) or rule.cooldown_s < 0:
        bad("cooldown_s", Wording("must be zero or more seconds", "必须是不小于 0 的秒数"))
    if not _is_number(rule.threshold) or not 0 < rule.threshold <= 100:
        bad("threshold", Wording("must be above 0 and at most 100", "必须大于 0 且不超过 100"))
    if not _is_int(rule.priority):
        bad("priority", _SHAPE["int"])
    if not isinstance(rule.case_insensitive, bool):
        bad("case_insensitive", _SHAPE["flag"])
    if not isinstance(rule.enabled, bool):
        bad("enabled", _SHAPE["flag"])


def validate_rule(rule: AutoReplyRule) -> list[RuleProblem]:
    """Every reason ``rule`` cannot work; empty when it can."""
    return _prepare(rule)[1]


def check_rule(rule: AutoReplyRule) -> AutoReplyRule:
    """``rule`` when it can work; a RuleError listing every problem when it cannot. The save
    path of the dashboard and the API."""
    problems = validate_rule(rule)
    if problems:
        raise RuleError(problems)
    return rule


@dataclass(frozen=True, slots=True)
class Match:
    """A rule a text triggered: which pattern, what part of the (normalised) text matched,
    and for fuzzy rules the score."""

    rule: AutoReplyRule
    pattern: str
    matched: str
    score: float | None = None


def compile_rules(
    rules: Iterable[AutoReplyRule | Mapping[str, Any]],
) -> tuple[RuleSet, list[RuleProblem]]:
    """Every valid rule compiled into one RuleSet, every invalid one reported.

    Rules may be given as ``AutoReplyRule`` or in their stored dict form. A rule with a
    problem is left out and the others still work. Ids must be unique: a rule repeating an
    earlier rule's id is refused, whether or not the earlier one was valid. Disabled rules
    are checked too, so the dashboard shows their problems, but never match.
    """
    prepared: list[_Prepared] = []
    problems: list[RuleProblem] = []
    seen: set[str] = set()
    for item in rules:
        if isinstance(item, Mapping):
            try:
                rule = AutoReplyRule.from_dict(item)
            except RuleError as error:
                problems.extend(error.problems)
                continue
        elif isinstance(item, AutoReplyRule):
            rule = item
        else:
            what = Wording(
                f"{type(item).__name__} is not a rule", f"{type(item).__name__} 不是规则"
            )
            problems.append(RuleProblem("?", "", "rule", what))
            continue
        ready, found = _prepare(rule)
        if isinstance(rule.id, str) and rule.id in seen:
            name = rule.name if isinstance(rule.name, str) else ""
            again = Wording("an earlier rule already has this id", "与前面一条规则的 id 重复")
            found = [*found, RuleProblem(rule.id, name, "id", again)]
        if isinstance(rule.id, str):
            seen.add(rule.id)
        problems.extend(found)
        if ready is not None and not found:
            prepared.append(ready)
    return RuleSet(prepared), problems


# --- matching -----------------------------------------------------------------------------


def _in_scope(rule: AutoReplyRule, group_id: int, role: Role | None, tier: str | None) -> bool:
    if rule.groups and group_id not in rule.groups:
        return False
    if rule.roles and (role or Role.MEMBER) not in rule.roles:
        return False
    return not rule.tiers or (tier is not None and tier in rule.tiers)


#: What a rule found in one text: (pattern number, matched text, fuzzy score or None).
_Found = tuple[int, str, float | None]


#: One keyword pattern of one rule, checked when the automaton finds its key: (position of
#: the rule, pattern number, kind, folded key, the key with its case for a case-sensitive rule
#: or None, whether the rule is scoped). A tuple, not a dataclass: unpacking it is the inner
#: loop of every message.
_Owner = tuple[int, int, MatchKind, str, str | None, bool]


class RuleSet:
    """A community's enabled, valid rules compiled for matching; built by ``compile_rules``
    and replaced whole when the rules change, never modified.

    Most keywords belong to one case-insensitive contains rule for every group, role and
    tier, with that keyword as its only pattern: the automaton finding the keyword is the
    match, with nothing left to check. Those keys are "direct". Keys are numbered (slots) in
    the order of the rules, so direct slots in ascending order are their rules in priority
    order: a message's direct hits become its matches by sorting the slot numbers, in C,
    without a Python step per hit. The other keys (``_checked``) go through their owners'
    scope, kind and case checks. When every rule is a direct keyword rule (``_plain``, the
    usual FAQ), ``match`` is the automaton pass, one sort and one lookup per hit.
    """

    __slots__ = (
        "rules",
        "_prepared",
        "_by_id",
        "_index",
        "_direct",
        "_slot_rule",
        "_checked",
        "_plain",
        "_owners",
        "_regex",
        "_fuzzy",
    )

    def __init__(self, prepared: Sequence[_Prepared]) -> None:
        active = [p for p in prepared if p.rule.enabled]
        order = sorted(range(len(active)), key=lambda i: (-active[i].rule.priority, i))
        ready = tuple(active[i] for i in order)
        self._prepared = ready
        #: The rules that can match, in the order they answer.
        self.rules: tuple[AutoReplyRule, ...] = tuple(p.rule for p in ready)
        self._by_id = {p.rule.id: p for p in ready}
        slots: dict[str, list[_Owner]] = {}
        regex: list[int] = []
        fuzzy: list[int] = []
        for pos, item in enumerate(ready):
            rule = item.rule
            if rule.kind is MatchKind.REGEX:
                regex.append(pos)
            elif rule.kind is MatchKind.FUZZY:
                fuzzy.append(pos)
            else:
                scoped = bool(rule.groups or rule.roles or rule.tiers)
                for number, key in enumerate(item.keys):
                    cased = None if rule.case_insensitive else item.cased[number]
                    slots.setdefault(key, []).append((pos, number, rule.kind, key, cased, scoped))
        self._index = KeywordIndex(list(slots)) if slots else None
        self._owners = tuple(tuple(owners) for owners in slots.values())
        #: The rule position of each direct slot; -1 for the slots that need checking.
        self._direct = tuple(self._direct_rule(owners) for owners in self._owners)
        self._checked = frozenset(slot for slot, pos in enumerate(self._direct) if pos < 0)
        self._regex = tuple(regex)
        self._fuzzy = tuple(fuzzy)
        self._plain = bool(slots) and not (self._checked or regex or fuzzy)
        #: The rule of each slot, when every slot is direct.
        self._slot_rule = tuple(self.rules[pos] for pos in self._direct) if self._plain else ()

    def _direct_rule(self, owners: tuple[_Owner, ...]) -> int:
        """The rule a key's hit is the match of, or -1 when the hit needs checking."""
        if len(owners) != 1:
            return -1
        pos, _, kind, _, cased, scoped = owners[0]
        simple = kind is MatchKind.CONTAINS and cased is None and not scoped
        return pos if simple and len(self._prepared[pos].keys) == 1 else -1

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> AutoReplyRule | None:
        item = self._by_id.get(rule_id)
        return item.rule if item is not None else None

    def template(self, rule_id: str) -> Template | None:
        """The checked reply text of a rule, ready for ``templating.fill``."""
        item = self._by_id.get(rule_id)
        return item.template if item is not None else None

    def match(
        self, text: str, *, group_id: int, role: Role | None = None, tier: str | None = None
    ) -> list[AutoReplyRule]:
        """The rules ``text`` triggers for an asker with ``role`` and ``tier`` in the group
        ``group_id``, in the order they answer (cooldowns are not considered here)."""
        if self._plain:
            assert self._index is not None
            base = _base(text)
            if not base:
                return []
            hits = self._index.find(_fold(base))
            return list(map(self._slot_rule.__getitem__, sorted(hits)))
        direct, others = self._collect(text, group_id, role, tier)
        order = sorted([*direct, *others]) if others else direct
        return list(map(self.rules.__getitem__, order))

    def matches(
        self, text: str, *, group_id: int, role: Role | None = None, tier: str | None = None
    ) -> list[Match]:
        """Like ``match``, with what matched: the pattern, the text and the fuzzy score."""
        direct, others = self._collect(text, group_id, role, tier)
        out = []
        for pos in sorted([*direct, *others]):
            rule = self.rules[pos]
            number, matched, score = others.get(pos) or (0, self._prepared[pos].keys[0], None)
            out.append(Match(rule, rule.patterns[number], matched, score))
        return out

    def _collect(
        self, text: str, group_id: int, role: Role | None, tier: str | None
    ) -> tuple[list[int], dict[int, _Found]]:
        """The positions of the direct keyword rules ``text`` matches, in priority order, and
        what every other matching rule found, by position. When several patterns of one
        keyword or regex rule match, the first one listed is reported."""
        base = _base(text)
        if not base:
            return [], {}
        folded = _fold(base)
        direct: list[int] = []
        others: dict[int, _Found] = {}
        if self._index is not None:
            hits = self._index.find(folded)
            if self._checked.isdisjoint(hits):
                direct = list(map(self._direct.__getitem__, sorted(hits)))
            else:
                direct = [pos for pos in map(self._direct.__getitem__, sorted(hits)) if pos >= 0]
                self._checked_hits(hits, base, folded, others, group_id, role, tier)
        for pos in self._regex:
            self._regex_match(pos, base, others, group_id, role, tier)
        if self._fuzzy:
            self._fuzzy_matches(folded, others, group_id, role, tier)
        return direct, others

    def _checked_hits(
        self,
        hits: set[int],
        base: str,
        folded: str,
        found: dict[int, _Found],
        group_id: int,
        role: Role | None,
        tier: str | None,
    ) -> None:
        """The hits that are not direct: scope, kind and case checked for each owner."""
        rules, owners = self.rules, self._owners
        for slot in self._checked.intersection(hits):
            for pos, number, kind, key, cased, scoped in owners[slot]:
                previous = found.get(pos)
                if previous is not None and previous[0] <= number:
                    continue
                if scoped and not _in_scope(rules[pos], group_id, role, tier):
                    continue
                if cased is None:
                    matched = _keyword_hit(kind, key, folded)
                else:
                    matched = _keyword_hit(kind, cased, base)
                if matched is not None:
                    found[pos] = (number, matched, None)

    def _regex_match(
        self,
        pos: int,
        base: str,
        found: dict[int, _Found],
        group_id: int,
        role: Role | None,
        tier: str | None,
    ) -> None:
        item = self._prepared[pos]
        if not _in_scope(item.rule, group_id, role, tier):
            return
        capped = base[:MAX_TEXT]
        for number, regex in enumerate(item.regexes):
            hit = regex.search(capped)
            if hit is not None:
                found[pos] = (number, hit.group(0), None)
                return

    def _fuzzy_matches(
        self,
        folded: str,
        found: dict[int, _Found],
        group_id: int,
        role: Role | None,
        tier: str | None,
    ) -> None:
        """Fuzzy rules score with ``fuzz.partial_ratio``: the best-aligned window of the
        message against the pattern. Chinese has no spaces, so ``token_set_ratio`` would see
        a whole sentence as one token and compare it entire; ``请问这个活动怎么报名啊`` would
        fail ``怎么报名``, which partial_ratio scores 100. partial_ratio also aligns a short
        message inside a long pattern (``报名`` would score 100 against ``怎么报名``), so a
        pattern longer than the message is scored with the plain ``fuzz.ratio`` instead.
        When several patterns of a rule pass, the best score is reported."""
        text = folded[:MAX_TEXT]
        fits: list[tuple[int, int]] = []
        longer: list[tuple[int, int]] = []
        for pos in self._fuzzy:
            item = self._prepared[pos]
            if not _in_scope(item.rule, group_id, role, tier):
                continue
            for number, key in enumerate(item.keys):
                (fits if len(key) <= len(text) else longer).append((pos, number))
        best: dict[int, tuple[float, int]] = {}
        for owners, scorer in ((fits, fuzz.partial_ratio), (longer, fuzz.ratio)):
            if not owners:
                continue
            keys = [self._prepared[pos].keys[number] for pos, number in owners]
            cutoff = min(self._prepared[pos].rule.threshold for pos, _ in owners)
            for _, score, i in process.extract(
                text, keys, scorer=scorer, limit=None, score_cutoff=cutoff
            ):
                pos, number = owners[i]
                if score < self._prepared[pos].rule.threshold:
                    continue
                if pos not in best or (-score, number) < (-best[pos][0], best[pos][1]):
                    best[pos] = (score, number)
        for pos, (score, number) in best.items():
            key = self._prepared[pos].keys[number]
            if len(key) <= len(text):
                aligned = fuzz.partial_ratio_alignment(key, text)
                matched = text[aligned.dest_start : aligned.dest_end]
            else:
                matched = text
            found[pos] = (number, matched, score)


def _keyword_hit(kind: MatchKind, key: str, text: str) -> str | None:
    if kind is MatchKind.CONTAINS:
        return key if key in text else None
    if kind is MatchKind.PREFIX:
        return key if text.startswith(key) else None
    return key if text == key else None


# --- replying -----------------------------------------------------------------------------

#: When a rule last answered in a group: ``(rule id, shequn group id) → time``.
Cooldowns = dict[tuple[str, int], datetime]


@dataclass(frozen=True, slots=True)
class Decision:
    """One answer, with what the moderation log shows: the rule, what matched, and why."""

    rule_id: str
    rule_name: str
    kind: MatchKind
    pattern: str
    matched: str
    score: float | None
    reason: Wording
    action: Action

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "kind": str(self.kind),
            "pattern": self.pattern,
            "matched": self.matched,
            "score": self.score,
            "reason": self.reason.to_dict(),
            "action": self.action.to_dict(),
        }


def _echo(text: str) -> str:
    """Member text safe to quote in a log line: clipped, without control or format
    characters (an RTL override would reverse the rest of the line)."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return kept if len(kept) <= _ECHO else kept[:_ECHO] + "…"


def _reason(found: Match) -> Wording:
    rule = found.rule
    quoted = _echo(found.matched)
    score_en = f", similarity {found.score:.0f}" if found.score is not None else ""
    score_zh = f"，相似度 {found.score:.0f}" if found.score is not None else ""
    name_zh = f"“{rule.name}”" if rule.name else ""
    return Wording(
        f"auto-reply rule {rule.label} ({rule.kind.value}) matched “{quoted}”{score_en}",
        f"自动回复规则{name_zh}（{rule.id}）{_KIND_ZH[rule.kind]}命中“{quoted}”{score_zh}",
    )


def cooling(
    rule: AutoReplyRule, group_id: int, cooldowns: Mapping[tuple[str, int], datetime], now: datetime
) -> bool:
    """Whether ``rule`` answered in the group less than its cooldown before ``now``."""
    last = cooldowns.get((rule.id, group_id))
    return last is not None and now < last + timedelta(seconds=rule.cooldown_s)


def _message_id(event: Event) -> str | None:
    value = event.payload.get("message_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def decide(
    ruleset: RuleSet,
    event: Event,
    *,
    group_id: int,
    role: Role | None = None,
    tier: str | None = None,
    values: Mapping[str, object] | None = None,
    now: datetime,
    cooldowns: Mapping[tuple[str, int], datetime],
    bots: Collection[str] = (),
) -> Decision | None:
    """The answer to ``event``, if any: the first rule in priority order that matches and is
    not cooling down in the group. ``bots`` are the platform ids of shequn's own accounts,
    whose messages never trigger a rule (the bot would answer itself). ``values`` fill the
    reply's variables; ``name`` and ``group`` default to the event's names."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if event.type is not EventType.MESSAGE or event.group is None or event.actor in bots:
        return None
    found = ruleset.matches(message_text(event.message), group_id=group_id, role=role, tier=tier)
    if not found:
        return None
    filled_values = {"name": event.actor_name or "", "group": event.group_name or ""}
    filled_values.update(values or {})
    for hit in found:
        rule = hit.rule
        template = ruleset.template(rule.id)
        if template is None or cooling(rule, group_id, cooldowns, now):
            continue
        text = fill(template, filled_values)
        if not text.strip():
            continue
        return _decision(hit, event, text)
    return None


def _decision(hit: Match, event: Event, text: str) -> Decision:
    rule = hit.rule
    reason = _reason(hit)
    params: dict[str, Any] = {
        "rule": rule.id,
        "rule_name": rule.name,
        "kind": rule.kind.value,
        "pattern": hit.pattern,
        "matched": hit.matched,
        "reason_zh": reason.zh,
    }
    if hit.score is not None:
        params["score"] = hit.score
    message_id = _message_id(event)
    action = Action(
        ActionType.REPLY if message_id is not None else ActionType.SEND_MESSAGE,
        platform=event.platform,
        group=event.group,
        user=event.actor,
        message=Message.of(text),
        target_message=message_id,
        reason=reason.en,
        params=params,
    )
    return Decision(
        rule.id, rule.name, rule.kind, hit.pattern, hit.matched, hit.score, reason, action
    )


def reply(
    ruleset: RuleSet,
    event: Event,
    *,
    group_id: int,
    role: Role | None = None,
    tier: str | None = None,
    values: Mapping[str, object] | None = None,
    now: datetime,
    cooldowns: Mapping[tuple[str, int], datetime],
    bots: Collection[str] = (),
) -> tuple[list[Action], Cooldowns]:
    """At most one answer to ``event`` (see ``decide``) and the cooldowns after it: a new
    map, the given one untouched, with the answering rule's time in the group set to
    ``now``. The answer is a REPLY to the message (``payload["message_id"]``), or a plain
    group message when the event carries no message id."""
    decision = decide(
        ruleset,
        event,
        group_id=group_id,
        role=role,
        tier=tier,
        values=values,
        now=now,
        cooldowns=cooldowns,
        bots=bots,
    )
    after = dict(cooldowns)
    if decision is None:
        return [], after
    after[(decision.rule_id, group_id)] = now
    return [decision.action], after


def expire_cooldowns(
    cooldowns: Mapping[tuple[str, int], datetime], ruleset: RuleSet, now: datetime
) -> Cooldowns:
    """The cooldowns still running at ``now``: entries of rules gone from ``ruleset`` or
    whose cooldown has passed are dropped, so the stored map does not grow forever."""
    out: Cooldowns = {}
    for key, last in cooldowns.items():
        rule = ruleset.get(key[0])
        if rule is not None and now < last + timedelta(seconds=rule.cooldown_s):
            out[key] = last
    return out


def cooldowns_to_list(cooldowns: Mapping[tuple[str, int], datetime]) -> list[dict[str, Any]]:
    """The JSON form of a cooldown map (JSON objects cannot have pair keys)."""
    return [
        {"rule": rule_id, "group": group_id, "at": at.isoformat()}
        for (rule_id, group_id), at in sorted(cooldowns.items())
    ]


def cooldowns_from_list(items: Iterable[Mapping[str, Any]]) -> Cooldowns:
    """A cooldown map back from its JSON form (``cooldowns_to_list``)."""
    return {(str(i["rule"]), int(i["group"])): datetime.fromisoformat(str(i["at"])) for i in items}
