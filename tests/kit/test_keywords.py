"""The keyword automaton: it must find exactly what ``for kw in keywords: if kw in text``
finds, because every FAQ answer and every banned word of a community hangs on it.
Overlapping and nested keywords, repeated keywords, astral characters and lone surrogates
are where automata usually differ from the loop; each is pinned here, and random pattern
sets are checked against the loop."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.kit.keywords import KeywordIndex


def naive(patterns: list[str], text: str) -> set[int]:
    return {i for i, p in enumerate(patterns) if p in text}


@pytest.mark.parametrize(
    ("patterns", "text", "found"),
    [
        # Nested: every keyword inside a longer one is found too.
        (["报名", "报名费", "名费", "费"], "交报名费了吗", {0, 1, 2, 3}),
        # Overlapping: the end of one keyword is the start of the next.
        (["abc", "cde", "e"], "abcde", {0, 1, 2}),
        (["aa", "aaa", "aaaa"], "aaa", {0, 1}),
        # A keyword that is a suffix of another ends at the same character.
        (["bcd", "cd", "d", "abcd"], "xabcdx", {0, 1, 2, 3}),
        # Only what is there.
        (["退款", "发票"], "怎么开发票", {1}),
        (["退款", "发票"], "", set()),
        # Astral characters and combining marks count as characters, not bytes.
        (["😀x", "x😀", "é"], "a😀x😀é", {0, 1, 2}),
        (["\U0010ffff", "\uffff"], "\uffff\U0010ffff", {0, 1}),
        # Repeated keywords: each index is reported.
        (["vip", "vip", "价格"], "vip价格", {0, 1, 2}),
        # The empty pattern occurs in every text, as ``"" in text`` says.
        (["", "a"], "b", {0}),
        ([], "anything", set()),
    ],
)
def test_finds_exactly_the_patterns_in_the_text(
    patterns: list[str], text: str, found: set[int]
) -> None:
    index = KeywordIndex(patterns)
    assert index.find(text) == found == naive(patterns, text)
    assert len(index) == len(patterns)


def test_lone_surrogates_in_texts_and_patterns_are_searched_like_any_character() -> None:
    patterns = ["ab", "\ud800", "b\udc00c", "c"]
    index = KeywordIndex(patterns)
    for text in ["a\ud800b", "ab\ud800c", "b\udc00c", "\udfff", "xab"]:
        assert index.find(text) == naive(patterns, text), repr(text)


def test_every_occurrence_in_a_long_text_is_found_once() -> None:
    patterns = [f"词{i}" for i in range(300)] + ["python", "py"]
    text = " ".join(patterns[::7]) * 20 + "python"
    assert KeywordIndex(patterns).find(text) == naive(patterns, text)


# A small alphabet makes overlaps and nesting common; the wide one brings every plane,
# combining marks and surrogates.
SMALL = st.text(alphabet="ab报名费😀", max_size=6)
WIDE = st.characters(exclude_categories=())
ANY_TEXT = st.text(st.one_of(WIDE, st.characters(categories=["Cs"])), max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.lists(SMALL, max_size=25), st.text(alphabet="ab报名费😀 ", max_size=60))
def test_the_automaton_agrees_with_the_naive_loop_on_overlapping_patterns(
    patterns: list[str], text: str
) -> None:
    assert KeywordIndex(patterns).find(text) == naive(patterns, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(WIDE, max_size=4), max_size=15), ANY_TEXT)
def test_the_automaton_agrees_with_the_naive_loop_on_any_unicode(
    patterns: list[str], text: str
) -> None:
    # Patterns cut from the text make hits likely instead of rare.
    patterns = patterns + [text[i : i + 3] for i in range(0, len(text), 5)]
    assert KeywordIndex(patterns).find(text) == naive(patterns, text)
