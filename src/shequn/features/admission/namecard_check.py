"""A member's name card read against the group's ``CardFormat``: which part is wrong.

Reading a card is a single left-to-right pass with no backtracking: the number is the run
of digits, a text part runs to the first occurrence of the separator that follows it in the
format (the last part takes the rest). Cards are compared after NFKC, so full-width digits
and dashes (０１２－上海) count as their ASCII forms, and spaces around separators are
forgiven. Reading stops at the first part it cannot find, since what follows can no longer
be placed; every problem found up to there is reported, with the part and the fault, for
the reminder and the log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shequn.features.admission import Wording, fold, visible
from shequn.features.admission.namecard_format import (
    LABELS,
    NO_LIMIT,
    NUMBER,
    CardFormat,
    CardLimit,
    Token,
)

_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What is known of the member: their number in the group and the values of text
    parts (``{"nickname": "张三", "city": "上海"}``)."""

    number: int | None = None
    values: Mapping[str, str] = field(default_factory=dict)


class Fault(StrEnum):
    EMPTY = "empty"
    MISSING = "missing"
    WRONG = "wrong"
    NOT_ALLOWED = "not_allowed"
    SEPARATOR = "separator"
    EXTRA = "extra"
    TOO_LONG = "too_long"


@dataclass(frozen=True, slots=True)
class CardProblem:
    """What is wrong, and with which part (``card`` for the whole card, ``separator`` for
    the text between parts)."""

    part: str
    fault: Fault
    wording: Wording
    found: str = ""


@dataclass(frozen=True, slots=True)
class CardCheck:
    """A card read against a format: the parts found and every problem."""

    card: str
    format_id: str
    format_name: str
    problems: tuple[CardProblem, ...] = ()
    parts: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def wrong_parts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.part for p in self.problems))

    def reason(self) -> Wording:
        return Wording(
            "; ".join(p.wording.en for p in self.problems),
            "；".join(p.wording.zh for p in self.problems),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.format_id,
            "rule_name": self.format_name,
            "matched": self.card,
            "ok": self.ok,
            "parts": dict(self.parts),
            "problems": [
                {"part": p.part, "fault": p.fault.value, "found": p.found, **p.wording.to_dict()}
                for p in self.problems
            ],
        }


def _after(tokens: tuple[Token, ...], index: int) -> Wording:
    """Where in the card a separator is expected, in words."""
    previous = next((t.part for t in reversed(tokens[:index]) if t.part is not None), None)
    if previous is None:
        return Wording("at the start", "开头")
    label = LABELS[previous]
    return Wording(f"after the {label.en}", f"{label.zh}后")


def _skip_spaces(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _separator_at(text: str, literal: str, position: int) -> int | None:
    """Where the card continues after ``literal`` found at ``position`` (spaces around a
    visible separator forgiven; a separator of spaces needs at least one), else None."""
    mark = literal.strip()
    if not mark:
        end = _skip_spaces(text, position)
        return end if end > position else None
    start = _skip_spaces(text, position)
    return start + len(mark) if text.startswith(mark, start) else None


def _separator_from(text: str, literal: str, position: int) -> int:
    """Where ``literal`` first occurs from ``position``; the end of the card if nowhere."""
    mark = literal.strip()
    if mark:
        found = text.find(mark, position)
        return found if found >= 0 else len(text)
    return next((i for i in range(position, len(text)) if text[i].isspace()), len(text))


@dataclass
class _Reading:
    """One left-to-right pass over a card: where it is, the parts found, the problems."""

    text: str
    position: int = 0
    parts: dict[str, str] = field(default_factory=dict)
    problems: list[CardProblem] = field(default_factory=list)

    def run(self, fmt: CardFormat, facts: CardFacts) -> bool:
        """Read every token; False when reading had to stop at a missing piece."""
        for index, token in enumerate(fmt.tokens):
            if token.part is None:
                found = self.separator(fmt.tokens, index)
            elif token.part == NUMBER:
                found = self.number(facts)
            else:
                found = self.text_part(fmt, index)
            if not found:
                return False
        return True

    def rest(self) -> str:
        return visible(self.text[self.position :], 20)

    def separator(self, tokens: tuple[Token, ...], index: int) -> bool:
        literal = tokens[index].literal
        after = _separator_at(self.text, literal, self.position)
        if after is not None:
            self.position = after
            return True
        where = _after(tokens, index)
        mark = literal.strip() or literal
        wording = Wording(f"“{mark}” is missing {where.en}", f"{where.zh}缺少“{mark}”")
        self.problems.append(CardProblem("separator", Fault.SEPARATOR, wording, self.rest()))
        return False

    def number(self, facts: CardFacts) -> bool:
        digits = _DIGITS.match(self.text, _skip_spaces(self.text, self.position))
        if digits is None:
            wording = Wording("the number is missing", "缺少编号")
            self.problems.append(CardProblem(NUMBER, Fault.MISSING, wording, self.rest()))
            return False
        found = digits.group(0)
        self.parts[NUMBER] = found
        self.position = digits.end()
        if facts.number is not None and int(found) != facts.number:
            wording = Wording(
                f"the number is {found}, but yours is {facts.number}",
                f"编号应为 {facts.number}，而不是 {found}",
            )
            self.problems.append(CardProblem(NUMBER, Fault.WRONG, wording, found))
        return True

    def text_part(self, fmt: CardFormat, index: int) -> bool:
        part = fmt.tokens[index].part or ""
        following = fmt.tokens[index + 1] if index + 1 < len(fmt.tokens) else None
        end = len(self.text)
        if following is not None:
            end = _separator_from(self.text, following.literal, self.position)
        value = self.text[self.position : end].strip()
        self.position = end
        self.parts[part] = value
        if following is not None and end == len(self.text):
            # No separator after this part: where it ends is unknown, so its value is not
            # judged; the missing separator is reported next.
            return True
        label = LABELS[part]
        allowed = fmt.allowed.get(part)
        if not fold(value):
            wording = Wording(f"the {label.en} is missing", f"缺少{label.zh}")
            self.problems.append(CardProblem(part, Fault.MISSING, wording))
        elif allowed is not None and fold(value) not in allowed:
            sample = list(allowed.values())[:5]
            more = "…" if len(allowed) > 5 else ""
            shown = visible(value, 20)
            wording = Wording(
                f"{label.en} “{shown}” is not one of: {', '.join(sample)}{more}",
                f"{label.zh}“{shown}”不在可选范围内：{'、'.join(sample)}{more}",
            )
            self.problems.append(CardProblem(part, Fault.NOT_ALLOWED, wording, shown))
        return True

    def extra(self) -> None:
        if self.position < len(self.text):
            extra = self.rest()
            wording = Wording(f"unexpected “{extra}” at the end", f"末尾多出“{extra}”")
            self.problems.append(CardProblem("card", Fault.EXTRA, wording, extra))


def _too_long(card: str, limit: CardLimit) -> list[CardProblem]:
    if limit.fits(card):
        return []
    most, size = limit.describe(), limit.size(card)
    bytes_ = limit.max_bytes is not None
    unit = Wording("bytes", "字节") if bytes_ else Wording("characters", "个字符")
    wording = Wording(
        f"the card is {size} {unit.en}; at most {most.en} fit",
        f"群名片长 {size} {unit.zh}，最多 {most.zh}",
    )
    return [CardProblem("card", Fault.TOO_LONG, wording)]


def check(
    card: str, fmt: CardFormat, facts: CardFacts, *, limit: CardLimit = NO_LIMIT
) -> CardCheck:
    """Read ``card`` against ``fmt``: which parts are missing, wrong or not allowed, whether
    separators are in place, and whether it fits ``limit``. Reading stops at the first
    part it cannot find, since what follows can no longer be placed."""
    text = unicodedata.normalize("NFKC", card).strip()
    if not text:
        empty = CardProblem("card", Fault.EMPTY, Wording("the card is empty", "群名片为空"))
        return CardCheck(card, fmt.id, fmt.name, (empty,), MappingProxyType({}))
    reading = _Reading(text)
    if reading.run(fmt, facts):
        reading.extra()
    problems = (*reading.problems, *_too_long(card, limit))
    return CardCheck(card, fmt.id, fmt.name, problems, MappingProxyType(reading.parts))
