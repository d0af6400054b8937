"""Normalisation and detectors: the disguises of a word reduce to the word, and each
detector finds what it should in chat text and leaves the near-misses alone.

Chat text is hostile input, so every detector is also run on arbitrary Unicode and on
inputs built to make a backtracking regex slow.
"""

from __future__ import annotations

import inspect
import time
import unicodedata
from collections.abc import Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shequn.features.moderation.checks import Advertising, BannedWords
from shequn.features.moderation.detect import (
    AD_WORDS,
    MAX_PATTERN,
    MAX_PATTERN_INPUT,
    MAX_SCAN,
    QR_MATCH,
    AutomatonIndex,
    Lexicon,
    LoopIndex,
    Scanned,
    ad_score,
    compile_pattern,
    find_ad,
    find_banned,
    find_invite,
    find_link,
    find_links,
    find_pattern,
    find_phone,
    find_qr,
    host_of,
    pattern_problems,
)
from shequn.features.moderation.normalise import HOMOGLYPHS, clean, normalise
from shequn.kit.wording import Wording

# --- normalise ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("微 信", "微信"),
        ("微-信", "微信"),
        ("微_信", "微信"),
        ("微😀信", "微信"),
        ("V.X", "vx"),
        ("v·x", "vx"),
        ("加*我*微*信", "加我微信"),
        ("加 我 微 信", "加我微信"),
        ("ＶＸ", "vx"),  # full-width letters
        ("ｖ．ｘ", "vx"),  # full-width dot
        ("１３８", "138"),  # full-width digits
        ("ⓥⓧ", "vx"),  # circled letters
        ("𝐯𝐱", "vx"),  # mathematical bold
        ("VX", "vx"),
        ("微\u200b信", "微信"),  # zero-width space
        ("微\u200d信", "微信"),  # zero-width joiner
        ("微\u2060信", "微信"),  # word joiner
        ("微\ufeff信", "微信"),  # byte-order mark
        ("微\u00ad信", "微信"),  # soft hyphen
        ("\u202ex\u202cv", "xv"),  # RTL override: the characters stay in storage order
        ("微\u3164信", "微信"),  # Hangul filler, a letter by category but invisible
        ("微\uffa0信", "微信"),  # half-width Hangul filler
        ("vх", "vx"),  # Cyrillic х
        ("ѵх", "ѵx"),  # Cyrillic izhitsa is not on the list: kept, only х maps
        ("νχ", "vχ"),  # Greek nu maps; chi is not a look-alike of x in most fonts
        ("\U0001f1fb\U0001f1fd", "vx"),  # regional indicators
        ("v\u0336x\u0336", "vx"),  # strike-through combining marks (zalgo)
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("微\n信", "微信"),
        ("", ""),
        ("!!! ... ???", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ｖ.Ｘ", "v.x"),
        ("abc。com", "abc.com"),
        ("abc｡com", "abc.com"),
        ("a\u200bb", "ab"),
        ("a\nb\tc", "a b c"),
        ("➕V", "+v"),
        ("HTTPS://Example.COM", "https://example.com"),
        ("微 信", "微 信"),
    ],
)
def test_clean_keeps_separators(text: str, expected: str) -> None:
    assert clean(text) == expected


def test_homoglyphs_map_to_ascii_letters() -> None:
    for source, target in HOMOGLYPHS.items():
        assert len(source) == 1 and target.isascii() and target.isalpha()
        assert normalise(source) == target


#: Characters that make normalisation interesting: combining marks, Hangul jamo that
#: compose, compatibility forms, homoglyphs, invisible and format characters, symbols.
TRICKY = st.sampled_from(
    list("aAvVxX微信加我 .-*_·。")
    + ["\u0301", "\u0336", "\u20dd", "\u1100", "\u1161", "\u11a8", "\u3164", "\uffa0"]
    + ["\u200b", "\u200d", "\u202e", "\ufeff", "\u00ad", "İ", "ß", "ﬃ", "Ⅻ", "½", "ǅ"]
    + list(HOMOGLYPHS)[:20]
    + ["ｖ", "ⓧ", "𝐯", "\U0001f1fb", "😀", "\u0345", "ΐ", "\u1e9e"]
)
TEXTS = st.one_of(st.text(), st.lists(TRICKY, max_size=30).map("".join))


@given(TEXTS)
@settings(max_examples=400, deadline=None)
@example("\u1100\u0301\u1161")  # jamo kept apart by a mark compose once it is gone
@example("ǅ")  # title-case digraph
@example("\u0345")  # combining ypogegrammeni casefolds to a letter
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(TEXTS)
@settings(max_examples=300, deadline=None)
def test_normalise_keeps_only_letters_and_digits(text: str) -> None:
    for ch in normalise(text):
        assert unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Mc"


SEPARATORS = st.sampled_from([" ", "-", "*", ".", "_", "·", "\u200b", "\u200d", "/", "|", "~"])
WORDS = st.text(
    alphabet=st.sampled_from(list("微信加我群代理兼职vxqabc123")), min_size=1, max_size=8
)


@given(WORDS, st.data())
@settings(max_examples=200, deadline=None)
def test_separators_between_characters_never_change_the_word(
    word: str, data: st.DataObject
) -> None:
    disguised = "".join(ch + "".join(data.draw(st.lists(SEPARATORS, max_size=2))) for ch in word)
    assert normalise(disguised) == normalise(word)


# --- banned words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加我微信领福利", "加我微信"),
        ("加 我 微 信", "加我微信"),
        ("加*我*微*信", "加我微信"),
        ("加-我-微-信", "加我微信"),
        ("私我 V.X", "VX"),
        ("私我 ｖｘ", "VX"),
        ("找我 v\u200bx", "VX"),
        ("找我 vх", "VX"),  # Cyrillic х
        ("代 理", "代理"),
        ("我们微信群聊聊", None),  # 微信 alone is not on the list
        ("加我好友", None),
        ("v and x", None),  # the letters are there but not adjacent once spaces go
    ],
)
def test_banned_words(text: str, expected: str | None) -> None:
    lexicon = Lexicon(["加我微信", "VX", "代理"])
    assert find_banned(text, lexicon) == expected


def test_banned_word_list_reports_words_that_cannot_match() -> None:
    lexicon = Lexicon(["加我", "***", " ", "ok"])
    assert lexicon.empty == ("***", " ")
    assert lexicon.find("ok 加 我") == ["加我", "ok"]


def test_banned_words_as_written_first_spelling_wins() -> None:
    lexicon = Lexicon(["V X", "vx", "Ｖ．Ｘ"])
    assert lexicon.find("vx") == ["V X"]


class RecordingIndex:
    """A stand-in for an automaton: records what it was built from and asked."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = list(words)
        self.asked: list[str] = []

    def find(self, text: str) -> list[str]:
        self.asked.append(text)
        return [w for w in self.words if w in text]


def test_a_word_index_can_be_dropped_in() -> None:
    built: list[RecordingIndex] = []

    def factory(words: Sequence[str]) -> RecordingIndex:
        built.append(RecordingIndex(words))
        return built[-1]

    lexicon = Lexicon(["加 我", "VX"], factory)
    assert built[0].words == ["加我", "vx"]  # the index is built from normalised words
    assert lexicon.find("快加*我") == ["加 我"]
    assert built[0].asked == ["快加我"]  # and searches normalised text


def test_banned_words_are_searched_with_the_compiled_automaton_by_default() -> None:
    assert inspect.signature(Lexicon).parameters["index_factory"].default is AutomatonIndex
    assert BannedWords(("加我",)).index_factory is AutomatonIndex
    assert Advertising().index_factory is AutomatonIndex


# Banned words and texts from a small alphabet, so that words overlap, nest and repeat
# (加我 / 加我微信 / 我微 / 信信), with CJK, Latin letters that fold, full-width forms,
# separators that normalisation drops, and emoji (astral, with a skin tone and a ZWJ).
ALPHABET = ["加", "我", "微", "信", "v", "X", "ｘ", "a", "b", " ", ".", "😀", "🏽", "\u200d", "👩"]
WORD = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=5).map("".join)
TEXT = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(WORD, max_size=20), TEXT)
def test_the_automaton_finds_what_the_loop_finds(words: list[str], text: str) -> None:
    fast, slow = Lexicon(words), Lexicon(words, LoopIndex)
    assert fast.find(text) == slow.find(text)
    assert find_banned(text, fast) == find_banned(text, slow)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=4), max_size=15), st.text(max_size=60))
def test_the_automaton_index_agrees_with_the_loop_on_any_unicode(
    words: list[str], text: str
) -> None:
    # Words cut from the text make hits likely instead of rare.
    words = words + [text[i : i + 3] for i in range(0, len(text), 4)]
    assert AutomatonIndex(words).find(text) == LoopIndex(words).find(text)


# --- links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see example.com", "example.com"),
        ("see example.com.", "example.com"),
        ("看这里abc.cn/x是好东西", "abc.cn/x"),
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("HTTP://EXAMPLE.ORG", "http://example.org"),
        ("（https://example.org/x）", "https://example.org/x"),
        ("www.example.com", "www.example.com"),
        ("t.me/somechannel", "t.me/somechannel"),
        ("abc。com", "abc.com"),  # ideographic full stop as a dot
        ("ａｂｃ．ｃｏｍ", "abc.com"),  # full-width
        ("abc\u200b.com", "abc.com"),  # zero-width space inside
        ("go to shop.xyz:8080/path", "shop.xyz:8080/path"),
        ("sub.domain.example.co.uk/x", "sub.domain.example.co.uk/x"),
        ("https://en.wikipedia.org/wiki/Foo_(bar))", "https://en.wikipedia.org/wiki/foo_(bar)"),
        # near-misses
        ("1.5", None),
        ("价格 3.50 元", None),
        ("e.g. this", None),
        ("file.txt", None),
        ("readme.md", None),
        ("me@qq.com", None),  # an e-mail address is not a link
        ("abc.commune", None),
        ("v1.2.3", None),
        ("hello world", None),
        ("好。", None),
    ],
)
def test_find_link(text: str, expected: str | None) -> None:
    assert find_link(text) == expected


def test_allowed_domains_and_their_subdomains_pass() -> None:
    text = "官网 example.com 文档 docs.example.com 外站 notexample.com 和 evil.cn"
    assert find_links(text, allow=["example.com"]) == ["notexample.com", "evil.cn"]
    assert find_link("https://example.com/x", allow=[".Example.com"]) is None


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://user@example.com:8080/x", "example.com"),
        ("example.com/x?y", "example.com"),
        ("t.me/+abc", "t.me"),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


# --- invites ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("快来 t.me/+AbCdEf123", "t.me/+abcdef123"),
        ("https://t.me/joinchat/AAAA", "t.me/joinchat/aaaa"),
        ("telegram.me/somegroup", "telegram.me/somegroup"),
        ("https://matrix.to/#/#room:example.org", "matrix.to/#/#room:example.org"),
        ("matrix.to/#/!abc:example.org", "matrix.to/#/!abc:example.org"),
        ("https://qm.qq.com/q/AbC123", "qm.qq.com/q/abc123"),
        ("discord.gg/abc-def", "discord.gg/abc-def"),
        ("chat.whatsapp.com/AbC123", "chat.whatsapp.com/abc123"),
        ("加群 123456789", "加群 123456789"),
        ("欢迎加QQ群：12345678", "加qq群:12345678"),
        ("群号 123 456 789", "群号 123 456 789"),
        ("vx: abc123", "vx: abc123"),
        ("VX：abc_123", "vx:abc_123"),
        ("V.X abc-123", "v.x abc-123"),
        ("微信号：wxid_abc", "微信号:wxid_abc"),
        ("加我微信abc12345", "微信abc12345"),
        ("薇信 abc12345", "薇信 abc12345"),
        ("加v abcdef1", "加v abcdef1"),
        ("+V: abcdef1", "+v: abcdef1"),
        ("wechat: abc_def", "wechat: abc_def"),
        ("vx 13812345678", "vx 13812345678"),
        # near-misses
        ("matrix.to/#/@someone:example.org", None),  # a user, not a room
        ("我们群有123456个人", None),  # a number near 群, not announced as the group's
        ("群号 1234", None),  # too short for a QQ group
        ("群号 123456789012", None),  # too long
        ("wxpython_rocks", None),
        ("I love xavier", None),
        ("vx", None),  # the word alone, with no id: a banned-word matter
        ("微信支付", None),
        ("vx: ab", None),  # too short to be an id
        ("new x: something", None),
    ],
)
def test_find_invite(text: str, expected: str | None) -> None:
    assert find_invite(text) == expected


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "13812345678"),
        ("138-1234-5678", "138-1234-5678"),
        ("138 1234 5678", "138 1234 5678"),
        ("138.1234.5678", "138.1234.5678"),
        ("1 3 8 1 2 3 4 5 6 7 8", "1 3 8 1 2 3 4 5 6 7 8"),
        ("+86 13812345678", "+86 13812345678"),
        ("+86-138-1234-5678", "+86-138-1234-5678"),
        ("008613812345678", "008613812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("13812345678。", "13812345678"),
        ("call 19912345678 now", "19912345678"),
        # near-misses
        ("¥199", None),
        ("￥13812345678", None),  # an amount
        ("$13812345678", None),
        ("12812345678", None),  # 12 is not a mobile prefix
        ("1381234567", None),  # ten digits
        ("138123456789", None),  # twelve digits
        ("订单 2138123456789", None),  # inside a longer number
        ("13812345678.50", None),  # a decimal
        ("1.5", None),
        ("3.1381234567", None),
        ("2026-03-02 13:30", None),
    ],
)
def test_find_phone(text: str, expected: str | None) -> None:
    assert find_phone(text) == expected


# --- QR codes -----------------------------------------------------------------------------


def test_qr_is_the_adapters_flag() -> None:
    assert find_qr(True) == QR_MATCH
    assert find_qr(False) is None


# --- advertising --------------------------------------------------------------------------

ADS = Lexicon(AD_WORDS)


@pytest.mark.parametrize(
    ("text", "score", "advert"),
    [
        ("兼职日赚500，加我 vx: abc123", 1 + 2 + 1 + 2, True),
        ("日赚千元 点击 abc.cn", 2 + 2, True),
        ("宝妈兼职 躺赚 刷单", 1 + 1 + 2 + 2, True),
        ("兼-职 日*赚 13812345678", 1 + 2 + 2, True),
        ("周末兼职有人去吗", 1, False),
        ("我们公司招代理吗", 2 + 1, False),  # 招代理 and 代理 both count
        ("看看这个 example.com", 2, False),
        ("今天天气不错", 0, False),
    ],
)
def test_ad_score(text: str, score: int, advert: bool) -> None:
    found = ad_score(text, ADS, AD_WORDS)
    assert found.score == score
    assert (find_ad(text, ADS, AD_WORDS, threshold=4) is not None) is advert


def test_ad_threshold_and_weights_are_configurable() -> None:
    text = "周末兼职有人去吗"
    assert find_ad(text, ADS, AD_WORDS, threshold=1) == "兼职"
    heavy = {"兼职": 5}
    assert find_ad(text, Lexicon(heavy), heavy, threshold=4) == "兼职"
    assert find_ad("see example.com", ADS, AD_WORDS, threshold=2, link_weight=0) is None


# --- operator patterns --------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        r"代.{0,3}理",
        r"v\s*x",
        r"\d{5,11}",
        r"(?:foo|bar)+",
        r"加[0-9]+群",
        r".*赚钱",
        r"\bspam\b",
        r"a{2,5}b",
        r"\w{0,9}\w{0,9}\w{0,9}x",  # 1,000 choices: the most bounded repeats the guard accepts
        r"\w+x?\s{0,4}",  # one open-ended repeat and 10 choices: the most beside it
    ],
)
def test_patterns_accepted(pattern: str) -> None:
    assert pattern_problems(pattern) == []
    # The slowest inputs for these shapes finish quickly at the input cap.
    compiled = compile_pattern(pattern)
    for filler in ("a", "1", " ", "代", "ab"):
        started = time.perf_counter()
        find_pattern(filler * MAX_PATTERN_INPUT, [compiled])
        assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "the pattern is empty"),
        ("a" * (MAX_PATTERN + 1), "at most"),
        ("(", "does not compile"),
        ("[a-", "does not compile"),
        ("(a+)+", "repeat inside a repeat"),
        (r"(\w*)*x", "repeat inside a repeat"),
        ("(a|ab)*c", "start the same way"),
        ("(a|a)*b", "start the same way"),
        (r"(\d|x)+y", None),  # a class, not a choice: fine
        (r"(a)\1", "backreferences"),
        (r"(a)?(?(1)b|c)", "backreferences"),
        (r".*a.*b", "open-ended"),
        (r"\w+\d{1,40}x", "open-ended"),
        (r"\w{0,16}\w{0,16}\w{0,16}x", "multiply to 4,913"),
        ("a*", "empty message"),
        ("x?", "empty message"),
        ("^$", "empty message"),
    ],
)
def test_patterns_refused(pattern: str, why: str | None) -> None:
    problems = pattern_problems(pattern)
    if why is None:
        assert problems == []
    else:
        assert any(why in p.en for p in problems), problems
        assert all(p.zh for p in problems)
        with pytest.raises(ValueError):
            compile_pattern(pattern)


def test_a_refusal_names_the_pattern() -> None:
    [problem] = pattern_problems("(a+)+")
    assert problem.en.startswith("/(a+)+/: has a repeat inside a repeat")
    assert problem.zh.startswith("/(a+)+/：重复里又有重复")
    [problem] = pattern_problems("a*")
    assert problem == Wording(
        "/a*/: matches an empty message, so it would flag every message",
        "/a*/：能匹配空消息，会命中所有消息",
    )


def test_patterns_read_clean_text_case_insensitively() -> None:
    compiled = [compile_pattern(r"加\s*v")]
    assert find_pattern("快 加 Ｖ", compiled) == "加 v"
    assert find_pattern("x" * MAX_PATTERN_INPUT + "加v", compiled) is None  # past the cap


# --- hostile input ------------------------------------------------------------------------

ALL_PATTERNS = [compile_pattern(p) for p in (r"代.{0,3}理", r"v\s*x", r".*赚钱")]


@given(st.one_of(st.text(), TEXTS, st.text(alphabet=st.characters(codec="utf-8"))))
@settings(max_examples=300, deadline=None)
@example("\ud800")  # a lone surrogate
@example("\x00\x1b[31m")
def test_detectors_never_crash(text: str) -> None:
    scanned = Scanned(text)
    for found in (
        find_link(scanned),
        find_invite(scanned),
        find_phone(scanned),
        find_banned(scanned, ADS),
        find_ad(scanned, ADS, AD_WORDS, threshold=1),
        find_pattern(scanned, ALL_PATTERNS),
    ):
        assert found is None or isinstance(found, str)


@pytest.mark.parametrize(
    "text",
    [
        "a." * (MAX_SCAN // 2),
        "a-" * (MAX_SCAN // 2),
        "a" * MAX_SCAN,
        "1 " * (MAX_SCAN // 2),
        "1" * MAX_SCAN,
        "群号" * (MAX_SCAN // 2),
        "加群 " + "1 " * (MAX_SCAN // 2),
        "v.x " * (MAX_SCAN // 4),
        "微信" * (MAX_SCAN // 2),
        "https://" + "a" * MAX_SCAN,
        "t.me/" + "+" * MAX_SCAN,
        "\u200b" * MAX_SCAN,
        "x" * (10 * MAX_SCAN),
    ],
    ids=lambda t: repr(t[:12]),
)
def test_detectors_are_fast_on_adversarial_text(text: str) -> None:
    started = time.perf_counter()
    scanned = Scanned(text)
    find_link(scanned)
    find_invite(scanned)
    find_phone(scanned)
    find_ad(scanned, ADS, AD_WORDS, threshold=4)
    assert time.perf_counter() - started < 1.0


def test_text_past_the_scan_limit_is_not_read() -> None:
    assert find_phone(" " * MAX_SCAN + "13812345678") is None
    assert find_phone(" " * (MAX_SCAN - 20) + "13812345678") == "13812345678"
