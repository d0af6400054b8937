"""Name card formats (群名片) such as ``{number}-{city}-{nickname}``, and how long a card may be.

A ``CardFormat`` is a template whose variables are the card's parts: ``number`` (the
member's number in the group, digits) and free-text parts (``nickname``, ``name``,
``city``, ``industry``, ``company``, ``school``), each optionally limited to a list of
allowed values. It is checked when it is built, so that every card can be read against it
in one pass (see ``namecard_check``): a text part must be followed by a separator or end the
format, and an allowed value may not hold the separator that ends its part.

Length limits (``CARD_LIMITS``), an assumption stated here because no platform documents
them precisely: QQ (OneBot) refuses cards of 60 UTF-8 bytes or more — sealdice measured 59
ASCII characters as the most that works (they also report 20 Chinese characters working, so
for Chinese the limit taken here is one character cautious); Matrix room display names are
refused by Synapse past 256 characters; Telegram has no per-group name and WeCom lets only
the group owner set one, so neither has a limit here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from shequn.features.admission import (
    Problems,
    Reader,
    Wording,
    fold,
    parse_template,
    rule_label,
)

NUMBER = "number"
TEXT_PARTS: tuple[str, ...] = ("nickname", "name", "city", "industry", "company", "school")
PARTS: tuple[str, ...] = (NUMBER, *TEXT_PARTS)
#: How each part is named to members.
LABELS: Mapping[str, Wording] = MappingProxyType(
    {
        NUMBER: Wording("number", "编号"),
        "nickname": Wording("nickname", "昵称"),
        "name": Wording("name", "姓名"),
        "city": Wording("city", "城市"),
        "industry": Wording("industry", "行业"),
        "company": Wording("company", "公司"),
        "school": Wording("school", "学校"),
    }
)
MAX_FORMAT = 100
MAX_CHOICES = 500
MAX_CHOICE = 50
MAX_NUMBER_WIDTH = 9


@dataclass(frozen=True, slots=True)
class CardLimit:
    """The most a platform stores in a card: UTF-8 bytes, characters, or neither."""

    max_bytes: int | None = None
    max_chars: int | None = None

    def size(self, card: str) -> int:
        if self.max_bytes is not None:
            return len(card.encode("utf-8", "surrogatepass"))
        return len(card)

    def fits(self, card: str) -> bool:
        if self.max_bytes is not None and self.size(card) > self.max_bytes:
            return False
        return self.max_chars is None or len(card) <= self.max_chars

    def describe(self) -> Wording:
        if self.max_bytes is not None:
            return Wording(f"{self.max_bytes} bytes", f"{self.max_bytes} 字节")
        if self.max_chars is not None:
            return Wording(f"{self.max_chars} characters", f"{self.max_chars} 个字符")
        return Wording("no limit", "不限")


NO_LIMIT = CardLimit()
CARD_LIMITS: Mapping[str, CardLimit] = MappingProxyType(
    {"onebot": CardLimit(max_bytes=59), "matrix": CardLimit(max_chars=256)}
)


def card_limit(platform: str) -> CardLimit:
    """The card length limit of ``platform`` (an adapter's platform name)."""
    return CARD_LIMITS.get(platform, NO_LIMIT)


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the format: a part (``part`` set) or literal text between parts."""

    part: str | None = None
    literal: str = ""


_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _tokens(text: str) -> tuple[Token, ...]:
    """The format as parts and literals; literals in NFKC, as cards are compared."""
    tokens: list[Token] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        if match.group(1) is None:
            literal.append(match.group(0)[0])
            continue
        if "".join(literal):
            tokens.append(Token(literal=unicodedata.normalize("NFKC", "".join(literal))))
        literal = []
        tokens.append(Token(part=match.group(1)))
    literal.append(text[position:])
    if "".join(literal):
        tokens.append(Token(literal=unicodedata.normalize("NFKC", "".join(literal))))
    return tuple(tokens)


@dataclass(frozen=True, slots=True, kw_only=True)
class CardFormat:
    """A group's card format. ``choices`` limits text parts to allowed values (compared
    folded); ``number_width`` pads suggested numbers with zeros (``0012``) — a card
    without the padding still passes, since the number is the same."""

    id: str
    name: str = ""
    text: str
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    number_width: int = 0
    _tokens: tuple[Token, ...] = field(default=(), init=False, repr=False, compare=False)
    _allowed: Mapping[str, Mapping[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # A lone text is one allowed value, not a list of its characters.
        choices = {
            k: (v,) if isinstance(v, str) else tuple(v) for k, v in dict(self.choices).items()
        }
        object.__setattr__(self, "choices", MappingProxyType(choices))
        problems = Problems(rule_label("name card format", self.id, self.name))
        problems.identity(self.id, self.name)
        if not 0 <= self.number_width <= MAX_NUMBER_WIDTH:
            problems.add(
                "number_width",
                f"must be between 0 and {MAX_NUMBER_WIDTH}",
                f"必须在 0 到 {MAX_NUMBER_WIDTH} 之间",
            )
        tokens = self._read_text(problems)
        self._read_choices(problems, tokens)
        problems.raise_if_any()
        object.__setattr__(self, "_tokens", tokens)
        allowed = {
            part: {fold(v): unicodedata.normalize("NFKC", v).strip() for v in values}
            for part, values in choices.items()
        }
        object.__setattr__(self, "_allowed", MappingProxyType(allowed))

    def _read_text(self, problems: Problems) -> tuple[Token, ...]:
        if not self.text.strip():
            problems.add("text", "is empty", "为空")
            return ()
        if len(self.text) > MAX_FORMAT:
            problems.add(
                "text", f"is longer than {MAX_FORMAT} characters", f"超过 {MAX_FORMAT} 个字符"
            )
            return ()
        if self.text != self.text.strip():
            problems.add(
                "text",
                "starts or ends with a space, which platforms trim from cards",
                "首尾有空格，平台会自动去掉",
            )
        before = len(problems.found)
        parse_template(self.text, PARTS, problems, "text")
        if len(problems.found) > before:
            return ()
        tokens = _tokens(self.text)
        parts = [t.part for t in tokens if t.part is not None]
        if not parts:
            problems.add(
                "text",
                "has no parts such as {number} or {nickname}",
                "没有任何部分，如 {number} 或 {nickname}",
            )
        for part in sorted({p for p in parts if parts.count(p) > 1}):
            problems.add("text", f"uses {{{part}}} more than once", f"{{{part}}} 出现了不止一次")
        for token, following in zip(tokens, tokens[1:], strict=False):
            if token.part in TEXT_PARTS and following.part is not None:
                problems.add(
                    "text",
                    f"{{{token.part}}} and {{{following.part}}} need a separator between them",
                    f"{{{token.part}}} 与 {{{following.part}}} 之间需要分隔符",
                )
            if token.part == NUMBER and following.part == NUMBER:
                problems.add("text", "two numbers in a row", "编号连续出现")
        for token in tokens:
            if token.literal and unicodedata.category(token.literal[0])[0] == "M":
                problems.add(
                    "text",
                    "a separator starts with a combining mark",
                    "分隔符以组合字符开头",
                )
        return tokens

    def _read_choices(self, problems: Problems, tokens: tuple[Token, ...]) -> None:
        used = {t.part for t in tokens if t.part is not None}
        for part, values in self.choices.items():
            where = f"choices.{part}"
            if part not in TEXT_PARTS:
                problems.add(where, "is not a text part of a card", "不是名片的文本部分")
                continue
            if tokens and part not in used:
                problems.add(where, f"the format has no {{{part}}}", f"格式中没有 {{{part}}}")
            if not values:
                problems.add(where, "is empty: list the allowed values", "为空：请列出可选值")
            if len(values) > MAX_CHOICES:
                problems.add(
                    where, f"more than {MAX_CHOICES} values", f"超过 {MAX_CHOICES} 个可选值"
                )
            separator = _following(tokens, part)
            for value in values:
                if not isinstance(value, str) or not fold(value) or len(value) > MAX_CHOICE:
                    problems.add(
                        where,
                        f"values must be non-blank texts of at most {MAX_CHOICE} characters",
                        f"可选值必须是不超过 {MAX_CHOICE} 个字符的非空文本",
                    )
                    break
                if _holds_separator(unicodedata.normalize("NFKC", value), separator):
                    mark = separator.strip() or " "
                    problems.add(
                        where,
                        f"“{value}” holds the separator “{mark}”, so no card could show it",
                        f"“{value}”包含分隔符“{mark}”，名片中无法使用",
                    )
                    break

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The format as parts and separators in order: what a card is read against."""
        return self._tokens

    @property
    def allowed(self) -> Mapping[str, Mapping[str, str]]:
        """For each part limited to ``choices``: its allowed values by their folded form."""
        return self._allowed

    def display(self, lang: str) -> str:
        """The format as members read it: ``编号-城市-昵称`` / ``number-city-nickname``."""
        return "".join(
            LABELS[t.part].pick(lang) if t.part is not None else t.literal for t in self._tokens
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "text": self.text,
            "choices": {k: list(v) for k, v in self.choices.items()},
            "number_width": self.number_width,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CardFormat:
        read = Reader(data, "name card format")
        choices: dict[str, tuple[str, ...]] = {}
        for part, values in read.mapping("choices").items():
            if isinstance(values, list | tuple) and all(isinstance(v, str) for v in values):
                choices[str(part)] = tuple(values)
            else:
                read.add(f"choices.{part}", "must be a list of texts", "必须是文本列表")
        values = {
            "id": read.text("id"),
            "name": read.text("name", ""),
            "text": read.text("text"),
            "number_width": read.integer("number_width", 0),
        }
        read.raise_if_any()
        return cls(**values, choices=choices)


def _holds_separator(value: str, separator: str) -> bool:
    mark = separator.strip()
    if mark:
        return mark in value
    return bool(separator) and any(ch.isspace() for ch in value.strip())


def _following(tokens: tuple[Token, ...], part: str) -> str:
    """The separator after ``part`` in the format; empty when it ends the format."""
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.part == part:
            return following.literal
    return ""
