"""The one guard every operator-written regular expression passes before it is saved.

Operators write regexes (auto-reply questions, moderation patterns, screening answers, lobby
introductions); members write the text they run on, and members can be hostile. Python's
``re`` backtracks and cannot be interrupted, so a careless pattern can spend minutes on one
crafted message inside the ingest transaction. The guard decides from the pattern's parsed
structure, before it ever runs, and refuses:

- an empty (or all-space) pattern, or one longer than the family allows;
- one that does not compile (with the character the error is at, when it is known), is
  nested too deeply or counts past what ``re`` can hold;
- one that a later Python would read differently (``[[`` and friends raise a FutureWarning
  today): refused now rather than change meaning on an upgrade;
- exponential shapes: a repeat of variable length inside a repeat (``(a+)+``, ``(a?a)*``),
  repeated alternatives that can start alike (``(a|ab)+``; Python factors a shared prefix
  out, leaving an empty alternative), backreferences (``\\1``, ``(?P=x)``, ``(?(1)…)``);
- polynomial ones: more than one open-ended repeat on a path (``\\w*\\w*ab`` runs for half a
  minute on 2,000 characters), or bounded repeats whose choices multiply past
  ``MAX_REPEAT_CHOICES`` (past ``MAX_CHOICES_WITH_OPEN_REPEAT`` beside an open-ended one);
- one that matches the empty text: unanchored, it matches every message; anchored
  (``^$``), it matches only a message with nothing in it. Either way the rule is useless,
  and each family says what it would do in its own words (answer everything, flag every
  message, accept any answer).

What passes was measured at about 0.1 s at worst on a hostile message of ``MAX_TEXT``
characters; callers run patterns on at most that much text (``tests/kit/test_regex.py``
keeps it so). A linear-time engine would lift the shape limits.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from re import _constants as sre_constants
from re import _parser as sre_parser
from typing import Any

from shequn.kit.wording import Wording

#: The longest pattern by default: longer ones are pasted paragraphs, beyond review.
MAX_PATTERN = 500
#: The most text a guarded pattern may be run on: what the guard's limits were measured at.
MAX_TEXT = 2000
#: A regex may hold bounded repeats of variable length whose choices multiply to at most
#: this (``第\s?\d{1,3}\s?期`` has 2 × 3 × 2 = 12)…
MAX_REPEAT_CHOICES = 1000
#: …or one open-ended repeat (``*``, ``+``, ``{n,}``) and bounded ones multiplying to at most
#: this: the open-ended one already tries every length up to the whole message.
MAX_CHOICES_WITH_OPEN_REPEAT = 10

_REPEATS = frozenset(
    {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT}
)
_REFERENCES = frozenset({sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS})

EMPTY = Wording("is empty", "为空")
NESTED = Wording(
    "has a repeat inside a repeat (like (a+)+ or (a?a)*): a part of variable length in a "
    "repeated group can take exponential time on some messages; keep one level of repetition",
    "重复里又有重复（如 (a+)+、(a?a)*）：重复的分组里有长度可变的部分，"
    "遇到某些消息会耗时指数级增长；请只保留一层重复",
)
OVERLAP = Wording(
    "has a repeated group of alternatives that can start the same way (like (a|ab)+), which "
    "can take exponential time on some messages; make each alternative start with its own "
    "character, or use a character set like [ab]",
    "重复的分组里有开头相同的分支（如 (a|ab)+），遇到某些消息会耗时指数级增长；"
    "请让每个分支以不同的字符开头，或改用 [ab] 这样的字符集",
)
BACKREFERENCE = Wording(
    "uses backreferences (\\1, (?P=name), (?(1)…)), which are not allowed: they can make "
    "matching take exponential time",
    "使用了反向引用（\\1、(?P=name)、(?(1)…)），这是不允许的：它们会让匹配耗时指数级增长",
)
#: What the guard says of a pattern matching the empty text when the family has no words of
#: its own for it.
MATCHES_EMPTY = Wording(
    "can match empty text, so it matches every message; make it need at least one character",
    "能匹配空文本，会命中每一条消息；请让它至少需要一个字符",
)


def guard(
    pattern: str,
    *,
    flags: int = 0,
    normalise: bool = True,
    max_length: int = MAX_PATTERN,
    matches_empty: Wording = MATCHES_EMPTY,
) -> re.Pattern[str] | Wording:
    """``pattern`` compiled with ``flags``, or why it is refused (see the module).

    With ``normalise``, each character is NFKC-normalised as the family's text is before
    matching, so a full-width ``价格（元）`` matches the half-width ``价格(元)`` of a message
    (a character that normalises to regex syntax stays a literal). ``matches_empty`` is the
    family's words for a pattern that matches the empty text. The reasons are predicates
    ("is empty", "does not compile: …") for the family to put after the pattern's name.
    """
    if not pattern.strip():
        return EMPTY
    if len(pattern) > max_length:
        return too_long(pattern, max_length)
    source = _source(pattern) if normalise else pattern
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            tree = sre_parser.parse(source, flags)
            problem = _runaway(tree, False) or _too_broad(tree)
            if problem is not None:
                return problem
            compiled = re.compile(source, flags)
    except re.error as error:
        # Positions are in the normalised source; only name one when it is the pattern.
        known = error.pos is not None and source == pattern
        where = f" at character {error.pos + 1}" if known and error.pos is not None else ""
        zh_where = f"（第 {error.pos + 1} 个字符）" if known and error.pos is not None else ""
        return Wording(f"does not compile: {error.msg}{where}", f"无法编译：{error.msg}{zh_where}")
    except FutureWarning as warning:
        return Wording(
            f"is ambiguous ({warning}): a later Python will read it differently; "
            "put a backslash before the character it points at",
            f"写法有歧义（{warning}）：以后的 Python 版本会有不同解释；请在它指出的字符前加反斜杠",
        )
    except RecursionError:
        return Wording("is nested too deeply to compile", "嵌套太深，无法编译")
    except OverflowError:
        return Wording("has a repeat count too large to compile", "重复次数太大，无法编译")
    if compiled.search("") is not None:
        return matches_empty
    return compiled


def too_long(pattern: str, limit: int) -> Wording:
    """Why a pattern longer than ``limit`` characters is refused."""
    return Wording(
        f"is {len(pattern)} characters long; at most {limit} are allowed",
        f"长度为 {len(pattern)} 个字符，最多 {limit} 个",
    )


def _source(pattern: str) -> str:
    """The pattern with each character NFKC-normalised; a character that normalises to
    something else is escaped, so ``（`` becomes a literal ``(`` and never opens a group."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            plain = unicodedata.normalize("NFKC", nxt)
            out.append(re.escape(plain) if plain != nxt else "\\" + nxt)
            continue
        plain = unicodedata.normalize("NFKC", ch)
        out.append(ch if plain == ch else re.escape(plain))
    return "".join(out)


def _runaway(items: Iterable[tuple[Any, Any]], repeating: bool) -> Wording | None:
    """What lets a parsed regex backtrack exponentially: a pass of a repeat that can be cut
    in more than one way, or a reference back to a group.

    Inside a repeat allowing more than one pass (``repeating``), a part of variable length
    (``a+``, ``a?``, ``a{1,3}``) lets the same text split into passes in many ways, as do
    alternatives that can start with the same character (``(a|ab)+``). Fixed counts
    (``(ab{2}){3}``) and alternatives starting with distinct literals (``(?:vip|svip)+``)
    keep one way."""
    for op, av in items:
        found: Wording | None = None
        if op in _REPEATS:
            low, high, body = av
            if repeating and low != high:
                return NESTED
            found = _runaway(body, repeating or high > 1)
        elif op in _REFERENCES:
            return BACKREFERENCE
        elif op is sre_constants.SUBPATTERN:
            found = _runaway(av[3], repeating)
        elif op is sre_constants.BRANCH:
            if repeating and not _distinct_starts(av[1]):
                return OVERLAP
            for branch in av[1]:
                found = found or _runaway(branch, repeating)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            found = _runaway(av[1], repeating)
        elif op is sre_constants.ATOMIC_GROUP:
            found = _runaway(av, repeating)
        if found is not None:
            return found
    return None


def _breadth(items: Iterable[tuple[Any, Any]]) -> tuple[int, int]:
    """How many open-ended repeats one path through a parsed regex meets, and the product of
    the choices its bounded repeats of variable length give (``a{1,3}`` gives 3).

    Backtracking tries every way of sharing the text between the variable repeats in a row,
    so the work grows with the product of their ranges: two open-ended ones over a long
    message already take seconds, one stays well under a second. Alternatives are tried one
    after another, so a branch counts as its widest alternative."""
    open_ended, choices = 0, 1
    for op, av in items:
        inner = (0, 1)
        if op in _REPEATS:
            low, high, body = av
            if high == sre_constants.MAXREPEAT:
                open_ended += 1
            elif high != low:
                choices *= high - low + 1
            inner = _breadth(body)
        elif op is sre_constants.SUBPATTERN:
            inner = _breadth(av[3])
        elif op is sre_constants.BRANCH:
            widths = [_breadth(branch) for branch in av[1]]
            inner = (max(w[0] for w in widths), max(w[1] for w in widths))
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            inner = _breadth(av[1])
        elif op is sre_constants.ATOMIC_GROUP:
            inner = _breadth(av)
        open_ended += inner[0]
        choices *= inner[1]
    return open_ended, choices


def _too_broad(items: Iterable[tuple[Any, Any]]) -> Wording | None:
    open_ended, choices = _breadth(items)
    if open_ended > 1:
        return Wording(
            f"has {open_ended} open-ended repeats (*, +, {{n,}}); with more than one, "
            "a long message can keep it busy for seconds: keep one and bound the others, "
            "like .{0,9}",
            f"包含 {open_ended} 个不限次数的重复（*、+、{{n,}}）；超过一个时，"
            "一条长消息就可能让它运行数秒：请只保留一个，其余改为有上限的写法，如 .{0,9}",
        )
    limit = MAX_CHOICES_WITH_OPEN_REPEAT if open_ended else MAX_REPEAT_CHOICES
    if choices > limit:
        beside = " beside an open-ended repeat" if open_ended else ""
        beside_zh = "与不限次数的重复同时出现，" if open_ended else ""
        return Wording(
            f"has bounded repeats whose choices multiply to {choices:,}{beside} (at most "
            f"{limit:,}), which a long message can keep busy for seconds; narrow the ranges",
            f"有上限的重复{beside_zh}组合起来有 {choices:,} 种可能（最多 {limit:,}），"
            "一条长消息就可能让它运行数秒；请缩小范围",
        )
    return None


def _distinct_starts(branches: Sequence[Sequence[tuple[Any, Any]]]) -> bool:
    """Whether every alternative starts with a literal character, no two the same (compared
    case folded, as an inline ``(?i)`` may apply)."""
    firsts: set[str] = set()
    for branch in branches:
        if not branch or branch[0][0] is not sre_constants.LITERAL:
            return False
        first = chr(branch[0][1]).casefold()
        if first in firsts:
            return False
        firsts.add(first)
    return True
