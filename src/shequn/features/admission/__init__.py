"""Admission — 登堂入室: who gets into a group, and how they are received. Pure logic.

The package's modules:

* ``join_request``: what a join request carries and what is known of the applicant (their
  purchases, the invite codes' state, the blacklist);
* ``checks``: the checks of a group's ``AdmissionPolicy`` (screening questions, invite
  codes, paid entry, a prior purchase) and the policy that holds them;
* ``evaluation``: each check evaluated on one request — passed, failed or missing;
* ``decide``: join requests approved, rejected or held by the policy;
* ``lobby``: the lobby (客厅) that promotes members to the main group once they meet its
  rules;
* ``codes``: invite codes — generation from a seeded RNG, redemption over time;
* ``namecard``: member name cards (``{number}-{city}-{nickname}``) suggested and reminded
  about, in the format ``namecard_format`` defines (with each platform's length limit) and
  read by ``namecard_check``;
* ``welcome``: the welcome ritual, with newcomers who arrive together welcomed together.

This module holds what they share, and imports none of them so that each can import it:
the error every refused configuration raises (naming the rule, the field and why, for every
problem at once), the reader that turns stored JSON back into configuration, the comparison
form of chat text, and admission's use of ``kit.regex.guard``, which keeps an operator's
regular expression from running away on a hostile answer. The two-language ``Wording``
decisions carry is ``kit.wording``'s, re-exported here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from shequn.core import Mention, Message, Segment
from shequn.features.templating.logic import Template, TemplateError, fill, parse
from shequn.kit.errors import RuleError as KitRuleError
from shequn.kit.errors import ShequnError
from shequn.kit.regex import guard
from shequn.kit.wording import Wording, echo, is_chinese

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

#: The longest regular expression an operator may save: screening answers and intros are
#: short, and a long pattern is where a slow one hides.
MAX_PATTERN = 200
#: How much of a chat text (an answer, an intro) a pattern looks at. QQ's request comment and
#: a Telegram bio are far shorter; the cap bounds the work a pattern can do on hostile text
#: (the regex guard's limits hold up to ``kit.regex.MAX_TEXT`` characters, well beyond this).
MAX_SCANNED = 300
#: Identifiers and names of rules: what a log line and a dashboard row can show.
MAX_ID = 64
MAX_NAME = 100


class AdmissionError(ShequnError):
    """Base of the admission feature's deliberate failures."""


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one field of one rule."""

    rule: str
    field: str
    wording: Wording

    def text(self, lang: str = "en") -> str:
        return f"{self.rule} · {self.field}: {self.wording.pick(lang)}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "field": self.field, **self.wording.to_dict()}


class RuleError(AdmissionError, KitRuleError):
    """A configuration that cannot work, refused when it is built or saved.

    ``problems`` lists every problem found, not only the first, so that an operator fixes
    them in one pass; the message names each rule, field and reason.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.text() for p in self.problems) or "invalid configuration")

    def text(self, lang: str) -> str:
        return "\n".join(p.text(lang) for p in self.problems)


def rule_label(kind: str, ident: object, name: object = None) -> str:
    """How a problem names its rule: the kind, the id and the name an operator gave it."""
    shown = ident if isinstance(ident, str) and ident else "?"
    title = f" “{name}”" if isinstance(name, str) and name and name != shown else ""
    return f"{kind} {shown}{title}"


class Problems:
    """Collects the problems of one rule, so that validation reports all of them."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.found: list[Problem] = []

    def add(self, field: str, en: str, zh: str) -> None:
        self.found.append(Problem(self.rule, field, Wording(en, zh)))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.found.extend(problems)

    def identity(self, ident: object, name: object) -> None:
        """The id and name every rule carries: an id to log and link, a name to show."""
        if not isinstance(ident, str) or not ident.strip():
            self.add("id", "is empty; every rule needs an id", "为空；每条规则都需要 id")
        elif len(ident) > MAX_ID:
            self.add("id", f"is longer than {MAX_ID} characters", f"超过 {MAX_ID} 个字符")
        if not isinstance(name, str):
            self.add("name", "must be text", "必须是文本")
        elif len(name) > MAX_NAME:
            self.add("name", f"is longer than {MAX_NAME} characters", f"超过 {MAX_NAME} 个字符")

    def aware(self, field: str, value: datetime | None) -> None:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            self.add(field, "needs a time zone", "需要带时区的时间")

    def raise_if_any(self) -> None:
        if self.found:
            raise RuleError(self.found)


_ABSENT: Any = object()


class Reader(Problems):
    """Reads one rule's stored JSON, recording a problem for each field of the wrong type.

    Each method returns the field's value, or ``default`` when the field is absent or
    wrong (after recording why), so that one read reports every bad field at once.
    """

    def __init__(self, data: object, kind: str) -> None:
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        super().__init__(rule_label(kind, self.data.get("id"), self.data.get("name")))
        if not isinstance(data, Mapping):
            self.add("(whole)", "must be an object", "必须是对象")

    def _raw(self, key: str, required: bool) -> tuple[bool, Any]:
        """Whether the field holds a value (absent and null do not), and the value; a
        required field without one is a problem."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.add(key, "is missing", "缺失")
            return False, None
        return True, value

    def _wrong(self, key: str, en: str, zh: str, fallback: Any) -> Any:
        self.add(key, en, zh)
        return fallback

    def text(self, key: str, default: Any = _ABSENT) -> Any:
        present, value = self._raw(key, default is _ABSENT)
        fallback = "" if default is _ABSENT else default
        if not present or isinstance(value, str):
            return value if present else fallback
        return self._wrong(key, "must be text", "必须是文本", fallback)

    def integer(self, key: str, default: Any = _ABSENT) -> Any:
        present, value = self._raw(key, default is _ABSENT)
        fallback = 0 if default is _ABSENT else default
        if not present:
            return fallback
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return self._wrong(key, "must be a whole number", "必须是整数", fallback)

    def number(self, key: str, default: Any = _ABSENT) -> Any:
        present, value = self._raw(key, default is _ABSENT)
        fallback = 0.0 if default is _ABSENT else default
        if not present:
            return fallback
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return self._wrong(key, "must be a number", "必须是数字", fallback)

    def decimal(self, key: str, default: Any = _ABSENT) -> Any:
        present, value = self._raw(key, default is _ABSENT)
        fallback = Decimal(0) if default is _ABSENT else default
        if not present:
            return fallback
        amount = to_decimal(value)
        if amount is None:
            return self._wrong(
                key,
                "must be an amount such as 99 or 99.50",
                "必须是金额，例如 99 或 99.50",
                fallback,
            )
        return amount

    def flag(self, key: str, default: bool) -> bool:
        present, value = self._raw(key, False)
        if not present or isinstance(value, bool):
            return value if present else default
        return bool(self._wrong(key, "must be true or false", "必须是 true 或 false", default))

    def texts(self, key: str) -> tuple[str, ...]:
        present, value = self._raw(key, False)
        if not present:
            return ()
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return tuple(self._wrong(key, "must be a list of texts", "必须是文本列表", ()))

    def moment(self, key: str, *, required: bool = False) -> datetime | None:
        present, value = self._raw(key, required)
        if not present:
            return None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed
        return self._wrong(
            key, "must be an ISO 8601 time with a time zone", "必须是带时区的 ISO 8601 时间", None
        )

    def choice(self, key: str, kind: type[E], default: E) -> E:
        present, value = self._raw(key, False)
        if not present:
            return default
        try:
            return kind(value)
        except ValueError:
            known = ", ".join(m.value for m in kind)
            return self._wrong(key, f"must be one of: {known}", f"必须是以下之一：{known}", default)

    def objects(self, key: str) -> list[Mapping[str, Any]]:
        present, value = self._raw(key, False)
        if not present:
            return []
        if isinstance(value, list | tuple) and all(isinstance(v, Mapping) for v in value):
            return list(value)
        return list(self._wrong(key, "must be a list of objects", "必须是对象列表", []))

    def mapping(self, key: str) -> Mapping[str, Any]:
        present, value = self._raw(key, False)
        if not present:
            return {}
        if isinstance(value, Mapping):
            return value
        return dict(self._wrong(key, "must be an object", "必须是对象", {}))


def load_each(
    items: Iterable[object], build: Callable[[Any], T]
) -> tuple[tuple[T, ...], tuple[Problem, ...]]:
    """Every configuration that builds, and the problems of those that do not.

    Storage keeps the configurations of many groups; one that no longer builds (saved by an
    older version, edited by hand) must not stop the others from loading.
    """
    built: list[T] = []
    problems: list[Problem] = []
    for item in items:
        try:
            built.append(build(item))
        except RuleError as error:
            problems.extend(error.problems)
    return tuple(built), tuple(problems)


def to_decimal(value: object) -> Decimal | None:
    """An amount from JSON or an event payload (``99``, ``"99.50"``, ``99.5``); None if it is
    not a finite number. Floats go through their text form so that 0.1 stays 0.1."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def require_aware(now: datetime, what: str = "now") -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


# --- chat text ----------------------------------------------------------------------------

_DROPPED = frozenset({"Cc", "Cf", "Cs"})


def fold(text: str) -> str:
    """The form chat text is compared in: full-width and half-width alike (NFKC), letter case
    ignored, invisible format characters dropped, runs of spaces made one."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED or ch in "\t\n")
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", kept).casefold())
    return " ".join(folded.split())


def visible(text: str, limit: int = 60) -> str:
    """Chat text safe to repeat in a log or a reply (``kit.wording.echo``), admission's
    length: answers and names are longer than the words other families quote."""
    return echo(text, limit)


# --- guarded regular expressions ----------------------------------------------------------

#: What admission says of a pattern that matches the empty text.
_ACCEPTS_ANYTHING = Wording(
    "matches an empty answer, so it would accept anything",
    "能匹配空内容，等于放行所有人",
)


def _guarded(pattern: str) -> re.Pattern[str] | Wording:
    return guard(
        pattern,
        flags=re.IGNORECASE,
        normalise=True,
        max_length=MAX_PATTERN,
        matches_empty=_ACCEPTS_ANYTHING,
    )


def pattern_problem(pattern: str) -> Wording | None:
    """Why ``pattern`` cannot be saved, or None when it is safe to run on any chat text.

    Python's ``re`` backtracks, and a hostile answer can make a careless pattern run for
    minutes. The decision is ``kit.regex.guard``'s, shared by every family of rules: empty
    or overlong patterns, patterns that do not compile or could run away, and patterns that
    match an empty answer (they would let every answer through) are refused. Together with
    ``MAX_SCANNED`` this bounds the time a match can take.
    """
    found = _guarded(pattern)
    return found if isinstance(found, Wording) else None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled for ``search`` on folded text (each character NFKC-normalised as
    the text is); ValueError when ``pattern_problem`` refuses it."""
    found = _guarded(pattern)
    if isinstance(found, Wording):
        raise ValueError(found.en)
    return found


def search(pattern: re.Pattern[str], text: str) -> str | None:
    """What ``pattern`` finds in the folded, clipped ``text``; None when nothing."""
    found = pattern.search(fold(text)[:MAX_SCANNED])
    return found.group(0) if found is not None else None


def parse_template(text: str, allowed: Collection[str], problems: Problems, field: str) -> Template:
    """``text`` checked as a template with ``allowed`` variables; a problem recorded if not."""
    try:
        return parse(text, allowed)
    except TemplateError as error:
        problems.add(field, str(error), f"模板有误：{error}")
        return Template("", frozenset())


# --- messages naming people ---------------------------------------------------------------

#: Stands for ``{name}`` while a template is filled; removed from every other value first.
_SLOT = "\x00"


def names_message(
    template: Template,
    values: Mapping[str, object],
    people: Sequence[tuple[str, str]],
    *,
    lang: str,
    mention: bool = True,
) -> Message:
    """``template`` filled, with ``{name}`` standing for every person in ``people``
    (``(platform user id, display name)``): @-mentions when ``mention``, so that they are
    notified, else their names. Without ``{name}`` in the text, mentions lead the message.
    """
    joiner = "、" if is_chinese(lang) else ", "
    clean = {k: str(v).replace(_SLOT, "") for k, v in values.items() if k != "name"}
    text = fill(template, {**clean, "name": _SLOT})
    if mention:
        named: list[Segment | str] = []
        for position, (user, name) in enumerate(people):
            if position:
                named.append(joiner)
            named.append(Mention(user=user, name=visible(name, 40) or None))
    else:
        named = [joiner.join(visible(name, 40) or user for user, name in people)]
    parts: list[Segment | str] = []
    pieces = text.split(_SLOT)
    if len(pieces) == 1 and mention and people:
        parts.extend([*named, " "])
    for position, piece in enumerate(pieces):
        if position:
            parts.extend(named)
        if piece:
            parts.append(piece)
    return Message.of(*parts)
