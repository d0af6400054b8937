"""The regex guard: every operator-written pattern (auto-reply, moderation, admission) passes
it before it is saved, and members' text — hostile input — is what it then runs on.

Each refused shape is pinned with the words the operator reads, each accepted shape that
sits near a limit is pinned as accepted, and random patterns built from the pieces operators
use are run against hostile messages: whatever the guard accepts must finish quickly.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.kit.regex import (
    MATCHES_EMPTY,
    MAX_CHOICES_WITH_OPEN_REPEAT,
    MAX_PATTERN,
    MAX_REPEAT_CHOICES,
    MAX_TEXT,
    guard,
    too_long,
)
from shequn.kit.wording import Wording


def refusal(pattern: str, **options: object) -> Wording:
    found = guard(pattern, **options)  # type: ignore[arg-type]
    assert isinstance(found, Wording), f"{pattern!r} was accepted"
    return found


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("", "is empty"),
        ("  \t ", "is empty"),
        ("a" * (MAX_PATTERN + 1), f"at most {MAX_PATTERN}"),
        ("第(\\d+期", "does not compile: missing ), unterminated subpattern at character 2"),
        ("[a-", "does not compile"),
        ("[z-a]", "bad character range z-a at character 2"),
        ("a{4294967296}", "too large"),
        ("[[a]", "ambiguous"),
        ("(a+)+", "repeat inside a repeat"),
        ("(a*)*b", "repeat inside a repeat"),
        ("(x+)*", "repeat inside a repeat"),
        ("(?:ab+c)+", "repeat inside a repeat"),
        ("(\\w+\\s?)*$", "repeat inside a repeat"),
        ("(a{1,10}){1,10}", "repeat inside a repeat"),
        ("((a|b)+c)+", "repeat inside a repeat"),
        ("(?=(a+)+)", "repeat inside a repeat"),
        ("(a?a)*", "variable length"),
        ("(?:ab?c)+", "variable length"),
        ("(a|aa)+", "start the same way"),
        ("(a|ab)*c", "start the same way"),
        ("(ab|a)+c", "start the same way"),
        ("(?:ab|ab)+$", "start the same way"),
        ("(a|)+b", "start the same way"),
        ("(?:\\d|ab)+", "start the same way"),  # a class cannot be told apart from a literal
        ("(a)\\1", "backreferences"),
        ("(?P<x>a)(?P=x)", "backreferences"),
        ("(a)?(?(1)b|c)", "backreferences"),
        (".*a.*b", "2 open-ended repeats"),
        ("\\w*\\w*ab", "2 open-ended repeats"),
        (".*.*.*x", "3 open-ended repeats"),
        ("x{2,}|a+b+", "2 open-ended repeats"),
        ("\\d+\\s*年", "2 open-ended repeats"),
        (".{0,99}a.{0,99}b", "multiply to 10,000"),
        ("a{0,20}b{0,20}c{0,20}e", "multiply to 9,261"),
        (".*a.{0,20}b", "beside an open-ended"),
        ("\\w+\\d{1,40}x", "multiply to 40 beside an open-ended"),
        ("[a-z]*[a-z]{1,11}1", "multiply to 11 beside an open-ended"),
        (".*", "can match empty text"),
        ("x|", "can match empty text"),
        ("a*", "can match empty text"),
        ("^$", "can match empty text"),
    ],
)
def test_a_pattern_that_cannot_work_is_refused_with_why(pattern: str, says: str) -> None:
    why = refusal(pattern, flags=re.IGNORECASE)
    assert says in why.en
    assert why.zh and why.zh != why.en


@pytest.mark.parametrize(
    "fine",
    [
        r"(ab){2}",  # a repeated group without a repeat inside
        r"(ab{2}){3}",  # fixed counts inside a repeat: one way to cut the text
        r"(?:vip|svip)+",  # alternatives starting with different characters
        r"(cat|dog)+",
        r"(cat|cow)+",  # Python factors the shared "c" out: the rest starts apart
        r"(?:vip|VIP)\s?\d{1,3}",  # alternatives outside any repeat
        r"(\d|x)+y",  # single characters make a class, not alternatives
        r"报名.*截止",
        r"第\s?\d+\s?期",  # one open-ended repeat, 2 × 2 bounded choices
        r".*a.{0,9}b",  # one open-ended repeat and 10 choices: the limit
        r"[a-z]*[a-z]{1,10}1",
        r"\w{0,9}\w{0,9}\w{0,9}x",  # 1,000 choices: the limit without an open-ended repeat
        r"a?b?c?d?e",
        r"[（(]元[)）]",
        r"\bspam\b",
    ],
)
def test_safe_patterns_are_accepted(fine: str) -> None:
    assert isinstance(guard(fine, flags=re.IGNORECASE), re.Pattern)


def test_the_limits_are_the_documented_ones() -> None:
    assert isinstance(guard("a{0,999}b{0,0}x"), re.Pattern)  # 1,000 choices
    assert "multiply to 1,010" in refusal("a{0,9}b{0,100}x").en  # 10 × 101
    assert MAX_REPEAT_CHOICES == 1000 and MAX_CHOICES_WITH_OPEN_REPEAT == 10
    assert isinstance(guard("x+a{0,9}"), re.Pattern)
    assert "at most 10)" in refusal("x+a{0,10}").en


def test_the_length_limit_is_the_familys() -> None:
    assert isinstance(guard("a" * 200, max_length=200), re.Pattern)
    why = refusal("a" * 201, max_length=200)
    assert why == too_long("a" * 201, 200)
    assert why.en == "is 201 characters long; at most 200 are allowed"
    assert why.zh == "长度为 201 个字符，最多 200 个"


def test_each_family_words_the_empty_match_itself() -> None:
    assert refusal("a*") == MATCHES_EMPTY
    own = Wording("matches an empty answer, so it would accept anything", "能匹配空内容")
    assert refusal("x?", matches_empty=own) == own
    assert refusal("^$", matches_empty=own) == own  # anchored: only an empty text, still useless


def test_normalising_reads_a_pattern_as_messages_are_read() -> None:
    compiled = guard("价格（元）ＶＩＰ")
    assert isinstance(compiled, re.Pattern)
    assert compiled.search("价格(元)VIP") is not None
    assert compiled.search("价格元VIP") is None  # the full-width brackets stay literal
    raw = guard("ＶＩＰ", normalise=False)
    assert isinstance(raw, re.Pattern) and raw.search("VIP") is None


def test_an_error_names_the_character_only_when_it_is_the_operators() -> None:
    assert refusal("（a(").en.endswith("unterminated subpattern")  # normalised: no position
    assert refusal("a(", normalise=False).en.endswith("at character 2")
    assert refusal("第(\\d+期").zh == "无法编译：missing ), unterminated subpattern（第 2 个字符）"


def test_flags_apply() -> None:
    folded = guard("vip", flags=re.IGNORECASE)
    cased = guard("vip")
    assert isinstance(folded, re.Pattern) and isinstance(cased, re.Pattern)
    assert folded.search("VIP") is not None and cased.search("VIP") is None


# Patterns built from the pieces operators use, nested and repeated at random: the guard
# must refuse every one that backtracks badly. Refused shapes take seconds to hours on these
# messages of MAX_TEXT characters ((a|a)+ never finishes, \w*\w*ab takes half a minute); the
# accepted ones measured at most about 0.1 s.
PIECES = st.sampled_from(["a", "b", ".", "[ab]", r"\w", "ab", r"\s", "[^c]"])
QUANTIFIERS = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,3}", "*?", "{0,20}", "{2,}"])
REGEXES = st.recursive(
    st.builds(lambda piece, q: piece + q, PIECES, QUANTIFIERS),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map("".join),
        st.builds(
            lambda alts, q: "(?:" + "|".join(alts) + ")" + q,
            st.lists(inner, min_size=1, max_size=3),
            QUANTIFIERS,
        ),
    ),
    max_leaves=10,
)
HOSTILE = [
    "a" * MAX_TEXT,
    "ab" * (MAX_TEXT // 2),
    "a" * (MAX_TEXT - 1) + "c",
    "a b " * (MAX_TEXT // 4),
]


@settings(max_examples=300, deadline=None)
@given(REGEXES)
def test_a_regex_the_guard_accepts_cannot_run_away(pattern: str) -> None:
    compiled = guard(pattern, flags=re.IGNORECASE)
    if isinstance(compiled, Wording):
        return
    for text in HOSTILE:
        started = time.perf_counter()
        compiled.search(text)
        assert time.perf_counter() - started < 1.0, pattern


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.booleans())
def test_the_guard_never_raises_on_any_pattern(pattern: str, normalise: bool) -> None:
    found = guard(pattern, flags=re.IGNORECASE, normalise=normalise)
    assert isinstance(found, re.Pattern | Wording)
    if isinstance(found, Wording):
        assert found.en and found.zh
