"""Auto-reply rules as operators write them: the rule, its stored form, and the problems
that make one unusable.

Matching compares normalised text: NFKC (full-width ``ＶＩＰ`` reads as ``VIP``), case folded
unless the rule is case-sensitive, whitespace collapsed; patterns and messages go through the
same function, so what an operator types is what matches.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shequn.core import Message, Role, Text
from shequn.kit.errors import RuleError as KitRuleError
from shequn.kit.regex import MAX_TEXT as GUARDED_TEXT
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
ECHO = 40


class MatchKind(StrEnum):
    EXACT = "exact"
    CONTAINS = "contains"
    PREFIX = "prefix"
    REGEX = "regex"
    FUZZY = "fuzzy"


KIND_ZH = {
    MatchKind.EXACT: "完全匹配",
    MatchKind.CONTAINS: "包含",
    MatchKind.PREFIX: "开头匹配",
    MatchKind.REGEX: "正则",
    MatchKind.FUZZY: "模糊匹配",
}


# --- normalisation ------------------------------------------------------------------------


def base_form(text: str) -> str:
    """NFKC with whitespace collapsed: the form regexes and case-sensitive rules see."""
    if text.isascii():  # ASCII is already NFKC; skip the call on the common English path
        return " ".join(text.split())
    return " ".join(unicodedata.normalize("NFKC", text).split())


def fold_form(base: str) -> str:
    """A ``base_form`` text case folded. Folding can undo NFKC (``ǰ`` folds to ``j`` and a
    combining caron), so the result is normalised again, which makes ``normalise``
    idempotent; most chat text has no case, and skips the second pass."""
    if base.isascii():
        return base.lower()
    folded = base.casefold()
    return base if folded == base else base_form(folded)


def normalise(text: str, *, fold_case: bool = True) -> str:
    """The form both patterns and messages are compared in: NFKC (full-width to half-width,
    compatibility forms to plain ones), case folded unless ``fold_case`` is false,
    whitespace runs as one space, no space at either end."""
    base = base_form(text)
    return fold_form(base) if fold_case else base


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


SHAPE = {
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
        self._bad(key, SHAPE["text"])
        return default

    def texts(self, key: str, *, required: bool = False) -> list[str]:
        value = self.data.get(key)
        if value is None and not required:
            return []
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        self._bad(key, SHAPE["texts"])
        return []

    def ints(self, key: str) -> list[int]:
        value = self.data.get(key, [])
        if isinstance(value, list | tuple) and all(is_int(v) for v in value):
            return list(value)
        self._bad(key, SHAPE["ints"])
        return []

    def int(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if is_int(value):
            return value
        self._bad(key, SHAPE["int"])
        return default

    def number(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if is_number(value):
            return float(value)
        self._bad(key, SHAPE["number"])
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        self._bad(key, SHAPE["flag"])
        return default

    def kind(self) -> MatchKind:
        value = self.data.get("kind")
        try:
            return MatchKind(value)
        except ValueError:
            self._bad("kind", unknown_kind(value))
            return MatchKind.CONTAINS

    def roles(self) -> list[Role]:
        out = []
        for name in self.texts("roles"):
            try:
                out.append(Role(name))
            except ValueError:
                self._bad("roles", unknown_role(name))
        return out


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def unknown_kind(value: object) -> Wording:
    known = ", ".join(k.value for k in MatchKind)
    return Wording(f"{value!r} is not one of {known}", f"{value!r} 不是 {known} 之一")


def unknown_role(value: object) -> Wording:
    known = ", ".join(r.value for r in Role)
    return Wording(f"{value!r} is not one of {known}", f"{value!r} 不是 {known} 之一")
