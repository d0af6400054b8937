"""Member name cards (群名片) in the group's format, such as ``{number}-{city}-{nickname}``.

A ``CardFormat`` is a template whose variables are the card's parts: ``number`` (the
member's number in the group, digits) and free-text parts (``nickname``, ``name``,
``city``, ``industry``, ``company``, ``school``), each optionally limited to a list of
allowed values. ``check`` reads a card against the format and says which part is wrong;
``suggest`` builds a card from what is known of the member, within the platform's length
limit; ``reminder`` turns a failed check into a reply or direct message to the member, and a
SET_CARD where the platform lets the bot set cards.

Reading a card is a single left-to-right pass with no backtracking: the number is the run
of digits, a text part runs to the first occurrence of the separator that follows it in the
format (the last part takes the rest). Cards are compared after NFKC, so full-width digits
and dashes (０１２－上海) count as their ASCII forms, and spaces around separators are
forgiven. For that pass to be unambiguous, a text part must be followed by a separator or
end the format.

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
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shequn.core import Action, ActionType, Mention, Message
from shequn.features.admission import (
    Problems,
    Reader,
    Wording,
    fold,
    is_chinese,
    parse_template,
    rule_label,
    visible,
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
#: Parts ``suggest`` shortens, in this order, when a card is too long.
_SHRINKABLE: tuple[str, ...] = ("nickname", "name", "company", "school", "industry", "city")
MAX_FORMAT = 100
MAX_CHOICES = 500
MAX_CHOICE = 50
MAX_NUMBER_WIDTH = 9
_DIGITS = re.compile(r"[0-9]+")
_ZWJ = "\u200d"


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
class _Token:
    """A piece of the format: a part (``part`` set) or literal text between parts."""

    part: str | None = None
    literal: str = ""


_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _tokens(text: str) -> tuple[_Token, ...]:
    """The format as parts and literals; literals in NFKC, as cards are compared."""
    tokens: list[_Token] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        if match.group(1) is None:
            literal.append(match.group(0)[0])
            continue
        if "".join(literal):
            tokens.append(_Token(literal=unicodedata.normalize("NFKC", "".join(literal))))
        literal = []
        tokens.append(_Token(part=match.group(1)))
    literal.append(text[position:])
    if "".join(literal):
        tokens.append(_Token(literal=unicodedata.normalize("NFKC", "".join(literal))))
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
    _tokens: tuple[_Token, ...] = field(default=(), init=False, repr=False, compare=False)
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

    def _read_text(self, problems: Problems) -> tuple[_Token, ...]:
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

    def _read_choices(self, problems: Problems, tokens: tuple[_Token, ...]) -> None:
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


def _following(tokens: tuple[_Token, ...], part: str) -> str:
    """The separator after ``part`` in the format; empty when it ends the format."""
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.part == part:
            return following.literal
    return ""


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


def _after(tokens: tuple[_Token, ...], index: int) -> Wording:
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
        for index, token in enumerate(fmt._tokens):
            if token.part is None:
                found = self.separator(fmt._tokens, index)
            elif token.part == NUMBER:
                found = self.number(facts)
            else:
                found = self.text_part(fmt, index)
            if not found:
                return False
        return True

    def rest(self) -> str:
        return visible(self.text[self.position :], 20)

    def separator(self, tokens: tuple[_Token, ...], index: int) -> bool:
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
        part = fmt._tokens[index].part or ""
        following = fmt._tokens[index + 1] if index + 1 < len(fmt._tokens) else None
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
        allowed = fmt._allowed.get(part)
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


def _clean(value: str, separator: str, after_number: bool) -> str:
    """A member's value made safe for its place in the card: NFKC like the check, no
    control or format characters (but the joiner inside emoji sequences), single spaces, no
    separator characters, and no leading combining mark (it would fuse with the separator)
    nor, right after the number, a leading digit (it would read as part of the number)."""
    text = unicodedata.normalize("NFKC", value)
    text = "".join(
        ch for ch in text if unicodedata.category(ch)[0] != "C" or ch == _ZWJ or ch == " "
    )
    marks = set(separator.strip())
    if separator and not marks:
        text = "".join(text.split())
    elif marks:
        text = "".join(" " if ch in marks else ch for ch in text)
    text = " ".join(text.split())
    while text and (
        unicodedata.category(text[0])[0] == "M"
        or text[0] == _ZWJ
        or (after_number and (text[0].isdigit() or text[0].isspace()))
    ):
        text = text[1:]
    return unicodedata.normalize("NFKC", text).strip()


def _assemble(tokens: tuple[_Token, ...], values: Mapping[str, str]) -> str:
    return "".join(values[t.part] if t.part is not None else t.literal for t in tokens)


def suggest(fmt: CardFormat, facts: CardFacts, *, limit: CardLimit = NO_LIMIT) -> str | None:
    """A card in ``fmt`` for the member, within ``limit``; None when a part cannot be
    filled (no number, no value, a value not among the choices) or the card cannot fit.
    Too long a card is shortened from the end of its free-text parts, nickname first."""
    tokens = fmt._tokens
    values: dict[str, str] = {}
    for index, token in enumerate(tokens):
        if token.part is None:
            continue
        if token.part == NUMBER:
            if facts.number is None or facts.number < 0:
                return None
            values[NUMBER] = str(facts.number).zfill(fmt.number_width)
            continue
        following = tokens[index + 1].literal if index + 1 < len(tokens) else ""
        after_number = index > 0 and tokens[index - 1].part == NUMBER
        value = _clean(facts.values.get(token.part, ""), following, after_number)
        allowed = fmt._allowed.get(token.part)
        if allowed is not None:
            value = allowed.get(fold(value), "")
        if not value:
            return None
        values[token.part] = value
    card = _assemble(tokens, values)
    if not limit.fits(card):
        card = _shrink(fmt, values, limit)
    if card is None or not check(card, fmt, facts, limit=limit).ok:
        return None
    return card


def _extends(ch: str) -> bool:
    """Characters that belong to the one before them on screen: combining marks, variation
    selectors, skin tones, emoji tag characters."""
    point = ord(ch)
    return (
        unicodedata.category(ch)[0] == "M"
        or 0xFE00 <= point <= 0xFE0F
        or 0x1F3FB <= point <= 0x1F3FF
        or 0xE0020 <= point <= 0xE007F
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _without_last(text: str) -> str:
    """``text`` without its last visible character, so that shortening a name never leaves
    half an emoji: a ZWJ sequence (👩‍👩‍👧), a flag or a letter with its marks go whole."""
    i = len(text) - 1
    while i > 0:
        if _extends(text[i]):
            i -= 1
        elif text[i - 1] == _ZWJ:
            i -= 2
        elif _regional(text[i]) and _regional(text[i - 1]):
            i -= 1
            break
        else:
            break
    return text[: max(i, 0)].rstrip(" " + _ZWJ)


def _shrink(fmt: CardFormat, values: dict[str, str], limit: CardLimit) -> str | None:
    for part in _SHRINKABLE:
        if part not in values or part in fmt._allowed:
            continue
        while True:
            card = _assemble(fmt._tokens, values)
            if limit.fits(card):
                return card
            shorter = _without_last(values[part])
            if not shorter:
                break
            values[part] = shorter
    card = _assemble(fmt._tokens, values)
    return card if limit.fits(card) else None


def reminder(
    result: CardCheck,
    fmt: CardFormat,
    facts: CardFacts,
    *,
    platform: str,
    group: str,
    user: str,
    can_set_card: bool,
    message_id: str | None = None,
    user_name: str = "",
    limit: CardLimit = NO_LIMIT,
    lang: str = "zh-CN",
) -> tuple[Action, ...]:
    """What to do about a card that failed ``check``: nothing when it passed; else a reply to
    the member's message ``message_id`` (or, without one, a direct message) saying what is
    wrong and the suggested card, and — when ``can_set_card`` (the platform lets the bot set
    cards) and a card can be suggested — a SET_CARD that sets it."""
    if result.ok:
        return ()
    suggestion = suggest(fmt, facts, limit=limit)
    setting = can_set_card and suggestion is not None
    why = result.reason()
    card = visible(result.card, 60)
    if is_chinese(lang):
        text = f"你的群名片「{card}」不符合本群格式「{fmt.display(lang)}」：{why.zh}。"
        if suggestion is not None:
            text += f"已帮你改为「{suggestion}」。" if setting else f"建议改为「{suggestion}」。"
    else:
        text = f"Your group card “{card}” does not follow “{fmt.display(lang)}”: {why.en}."
        if suggestion is not None:
            done = "It has been set to" if setting else "Suggested:"
            text += f" {done} “{suggestion}”."
    log = f"name card format {fmt.id}: {why.en}"
    actions: list[Action] = []
    if setting:
        actions.append(
            Action(
                ActionType.SET_CARD,
                platform=platform,
                group=group,
                user=user,
                params={"card": suggestion},
                reason=log,
            )
        )
    if message_id is not None:
        said = Message.of(Mention(user=user, name=visible(user_name, 40) or None), " " + text)
        actions.append(
            Action(
                ActionType.REPLY,
                platform=platform,
                group=group,
                user=user,
                message=said,
                target_message=message_id,
                reason=log,
            )
        )
    else:
        actions.append(
            Action(
                ActionType.DIRECT_MESSAGE,
                platform=platform,
                group=group,
                user=user,
                message=Message.of(text),
                reason=log,
            )
        )
    return tuple(actions)
