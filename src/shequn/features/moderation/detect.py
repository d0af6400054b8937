"""Detectors: does this message carry a banned word, a link, an invite, a phone number…?

Each detector takes the message text (or a :class:`Scanned` message, which computes the
cleaned and normalised forms once for every detector) and returns the matched text, or
None. They read chat text as data only and never fail on it: any Unicode string is a valid
input, and every built-in regular expression runs in time linear in the text.

What each one reads:

- banned words: the normalised text (see ``normalise``), through one automaton
  (:class:`AutomatonIndex`) holding every word of the list;
- links, invites, phone numbers, operator patterns: the cleaned text (half-width,
  lowercase, invisible characters removed, separators kept);
- QR codes: nothing. Finding a QR code in pixels is out of scope here; the adapter (or an
  image service in front of it) flags images that carry one and the logic gets that flag.

Texts longer than :data:`MAX_SCAN` characters are scanned up to that length; operator
patterns, which pass ``kit.regex.guard`` when saved, see the first :data:`MAX_PATTERN_INPUT`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from shequn.features.moderation.normalise import clean, normalise
from shequn.kit.errors import RuleError as KitRuleError
from shequn.kit.keywords import KeywordIndex
from shequn.kit.regex import guard
from shequn.kit.wording import Wording, echo, is_chinese

#: Longer texts are scanned up to here: beyond every platform's message limit but one
#: (Matrix), and enough that a message cannot hide its advert after a wall of filler.
MAX_SCAN = 20_000
#: The longest regular expression an operator may save.
MAX_PATTERN = 500
#: Operator patterns see this much of a message: their cost grows with the text length (the
#: regex guard's limits hold up to ``kit.regex.MAX_TEXT``, four times this).
MAX_PATTERN_INPUT = 500


# --- errors -------------------------------------------------------------------------------


class RuleError(KitRuleError):
    """A moderation rule (or window, or ladder) that cannot work, refused when it is built.

    Carries every problem found, in both languages, and the rule's id and name so the
    dashboard can point at the rule.
    """

    def __init__(self, rule_id: str, rule_name: str, problems: Sequence[Wording]) -> None:
        self.rule_id = rule_id
        self.rule_name = rule_name
        self.problems = tuple(problems)
        super().__init__(self.text("en"))

    def lines(self, lang: str) -> list[str]:
        return [self.text(lang)]

    def text(self, lang: str) -> str:
        label = f"“{self.rule_name}”" if self.rule_name else ""
        joined = ("；" if is_chinese(lang) else "; ").join(p.pick(lang) for p in self.problems)
        if is_chinese(lang):
            return f"规则 {self.rule_id!r} {label}：{joined}"
        return f"rule {self.rule_id!r} {label}: {joined}"


# --- the scanned message ------------------------------------------------------------------


class Scanned:
    """One message's text, with the forms the detectors read computed on first use."""

    def __init__(self, text: str) -> None:
        self.text = text[:MAX_SCAN]

    @cached_property
    def clean(self) -> str:
        return clean(self.text)

    @cached_property
    def normal(self) -> str:
        return normalise(self.text)


def scan(text: str | Scanned) -> Scanned:
    return text if isinstance(text, Scanned) else Scanned(text)


# --- banned words -------------------------------------------------------------------------


class WordIndex(Protocol):
    """A multi-pattern search over normalised text: which of its words occur in ``text``.

    Built once from normalised words; ``find`` returns those found, each once, in the order
    the words were given.
    """

    def find(self, text: str) -> list[str]: ...


IndexFactory = Callable[[Sequence[str]], WordIndex]


class AutomatonIndex:
    """The words compiled into one automaton (``kit.keywords.KeywordIndex``, the one
    auto-reply's keywords use): one pass over the text whatever the number of words, so a
    list of thousands of banned words costs a message what a list of ten does. The default
    index of a ``Lexicon``; it finds exactly what ``LoopIndex`` finds."""

    __slots__ = ("_words", "_index")

    def __init__(self, words: Sequence[str]) -> None:
        self._words = tuple(dict.fromkeys(w for w in words if w))
        self._index = KeywordIndex(self._words)

    def find(self, text: str) -> list[str]:
        return [self._words[i] for i in sorted(self._index.find(text))]


class LoopIndex:
    """The plain loop: each word tested with ``in``. The reference ``AutomatonIndex`` is
    checked against; one substring search per word per message."""

    __slots__ = ("_words",)

    def __init__(self, words: Sequence[str]) -> None:
        self._words = tuple(dict.fromkeys(w for w in words if w))

    def find(self, text: str) -> list[str]:
        return [word for word in self._words if word in text]


class Lexicon:
    """Words as an operator wrote them, normalised and indexed (by an ``AutomatonIndex``
    unless another ``index_factory`` is given).

    ``find`` answers with the words as written, so a log shows ``加 V`` and not ``加v``.
    Words that normalise to nothing (``***``) cannot match anything; ``empty`` lists them
    so validation can refuse them.
    """

    __slots__ = ("words", "empty", "_written", "_index")

    def __init__(self, words: Iterable[str], index_factory: IndexFactory = AutomatonIndex) -> None:
        self.words = tuple(words)
        written: dict[str, str] = {}
        empty: list[str] = []
        for word in self.words:
            normal = normalise(word)
            if not normal:
                empty.append(word)
            else:
                written.setdefault(normal, word)
        self.empty = tuple(empty)
        self._written = written
        self._index = index_factory(tuple(written))

    def find(self, text: str | Scanned) -> list[str]:
        normal = scan(text).normal
        return [self._written[n] for n in self._index.find(normal) if n in self._written]


def find_banned(text: str | Scanned, lexicon: Lexicon) -> str | None:
    """The first banned word in the text (as the operator wrote it), or None."""
    found = lexicon.find(text)
    return found[0] if found else None


# --- links --------------------------------------------------------------------------------

_TLD_NAMES = """
    com net org edu gov int info biz name pro mobi asia cn io me co cc tv ai gg
    ly to la ws fm im top xyz vip ltd site online app dev shop club link live
    icu fun store tech space website cloud work xin kim ren red cyou buzz
    ru uk de fr jp kr hk tw mo sg th vn ph us ca au nz eu br
"""
#: Top-level domains a bare ``name.tld`` is read as a link for. A closed list keeps
#: ``1.5``, ``e.g.``, ``file.txt`` and ``readme.md`` out; links with ``http(s)://`` need
#: no list.
#: (``in``, ``my`` and ``id`` are left out: they follow a missing space too often.)
TLDS: tuple[str, ...] = tuple(sorted(set(_TLD_NAMES.split()), key=lambda t: (-len(t), t)))
_URL_CHARS = r"[a-z0-9\-._~:/?#\[\]@!$&()*+,;=%']"
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + "|".join(TLDS) + r")(?![a-z0-9-])"
_LINK = re.compile(
    r"(?:https?|ftp)://" + _URL_CHARS + r"+"
    r"|(?<![a-z0-9@._-])" + _HOST + r"(?::\d{1,5})?(?:[/?#]" + _URL_CHARS + r"*)?"
)
#: Punctuation that ends a sentence more often than a link.
_TRAILING = ".,;:!?'()[]"


def _trim(url: str) -> str:
    trimmed = url.rstrip(_TRAILING)
    # Keep a closing bracket that closes one opened inside the link (wiki-style URLs).
    if url[len(trimmed) : len(trimmed) + 1] == ")" and trimmed.count("(") > trimmed.count(")"):
        trimmed += ")"
    return trimmed


def host_of(url: str) -> str:
    """The host name of a link as the detector found it (lowercase, no port)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    return host.split(":", 1)[0].strip(".")


def _allowed(host: str, allow: Iterable[str]) -> bool:
    for domain in allow:
        domain = domain.strip().strip(".").lower()
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def find_links(text: str | Scanned, allow: Iterable[str] = ()) -> list[str]:
    """Every link in the text whose host is not in ``allow`` (or a subdomain of one)."""
    allowed = tuple(allow)
    found = []
    for match in _LINK.finditer(scan(text).clean):
        url = _trim(match.group(0))
        if url and not _allowed(host_of(url), allowed):
            found.append(url)
    return found


def find_link(text: str | Scanned, allow: Iterable[str] = ()) -> str | None:
    """The first link: ``https://…``, ``www.…`` or a bare ``name.tld/path``; or None."""
    found = find_links(text, allow)
    return found[0] if found else None


# --- invites and contact ids --------------------------------------------------------------

_INVITE_LINK = re.compile(
    r"(?<![a-z0-9.-])(?:"
    r"(?:t|telegram)\.(?:me|dog)/[a-z0-9_+][a-z0-9_+/-]*"
    r"|tg://(?:join|resolve)\?[a-z0-9_=&+-]+"
    r"|matrix\.to/#/[#!][^\s/]+"
    r"|(?:qm|jq|qun)\.qq\.com/[a-z0-9_\-./?=&#%]+"
    r"|discord(?:\.gg|(?:app)?\.com/invite)/[a-z0-9-]+"
    r"|chat\.whatsapp\.com/[a-z0-9]+"
    r")"
)
#: A QQ group number announced as one: 加群 / 进群 / QQ群 / 群号 followed by 5-11 digits.
_QQ_GROUP = re.compile(
    r"(?:(?:加|进|入)(?:qq|q|扣扣|企鹅)?群|(?:qq|q|扣扣|企鹅)群|群号码?|群聊号码)"
    r"[^\d\n]{0,4}(\d(?:[ \-]?\d){4,10})(?!\d)"
)
#: A WeChat id announced as one: ``vx: abc123``, ``V.X abc123``, ``微信号：abc123``,
#: ``加v abc123``. WeChat ids are 6-20 characters starting with a letter; phone numbers
#: serve as ids too.
_WECHAT = re.compile(
    r"(?:"
    r"(?<![a-z])[vw][^a-z0-9\n]{0,2}x号?(?![a-z])[\s:：=]+"
    r"|(?:微|薇|威|徽|维|卫|v|w)[^a-z0-9\n]{0,2}信号?[\s:：=]*"
    r"|(?<![a-z])(?:weixin|wechat)(?:\s?id)?[\s:：=]+"
    r"|(?:加|\+)\s?v(?![a-z])[\s:：=]*"
    r")"
    r"([a-z][a-z0-9_-]{5,19}|1[3-9]\d{9})(?![a-z0-9_-])"
)


def find_invite(text: str | Scanned) -> str | None:
    """A group invite or a contact id offered in the text, or None.

    Invite links (``t.me/+…``, ``t.me/joinchat/…``, ``matrix.to/#/#room:server``, QQ group
    links, Discord and WhatsApp invites), QQ group numbers announced with 加群 / 群号, and
    WeChat ids announced with vx / 微信 / 加v. A public ``t.me/name`` counts: it promotes a
    channel or group just the same.
    """
    cleaned = scan(text).clean
    for pattern in (_INVITE_LINK, _QQ_GROUP, _WECHAT):
        match = pattern.search(cleaned)
        if match is not None:
            return _trim(match.group(0).strip())
    return None


# --- phone numbers ------------------------------------------------------------------------

#: A mainland mobile number, 1[3-9] and nine more digits, with at most one separator (space,
#: dot, hyphen) between digits and an optional +86 / 0086 in front; not part of a longer
#: number, not a decimal, not an amount (¥, $, €, £ right before it).
_PHONE = re.compile(
    r"(?<![\d¥$€£])(?<!\d\.)"
    r"(?:(?:\+|00)86[\s\-]?)?"
    r"1[\s.\-]?[3-9](?:[\s.\-]?\d){9}"
    r"(?!\d)(?![.,]\d)"
)


def find_phone(text: str | Scanned) -> str | None:
    """A mainland Chinese mobile number in the text, or None."""
    match = _PHONE.search(scan(text).clean)
    return match.group(0) if match is not None else None


# --- QR codes -----------------------------------------------------------------------------

QR_MATCH = "[QR code image]"


def find_qr(images_with_qr: bool) -> str | None:
    """A placeholder for the matched text when the adapter flagged a QR-code image."""
    return QR_MATCH if images_with_qr else None


# --- advertising --------------------------------------------------------------------------

#: Words of the Chinese group-spam trade, with weights: strong words (日赚, 刷单) count 2,
#: words that also occur in honest talk (兼职, 代理, 加我) count 1.
AD_WORDS: Mapping[str, int] = {
    "日赚": 2,
    "躺赚": 2,
    "稳赚": 2,
    "刷单": 2,
    "返利": 2,
    "引流": 2,
    "招代理": 2,
    "兼职": 1,
    "日结": 1,
    "月入": 1,
    "返现": 1,
    "代理": 1,
    "加我": 1,
    "私聊": 1,
    "私信": 1,
    "免费领": 1,
    "扫码": 1,
    "推广": 1,
    "赚钱": 1,
    "佣金": 1,
    "宝妈": 1,
    "低价": 1,
    "airdrop": 1,
    "forex": 1,
}


@dataclass(frozen=True, slots=True)
class AdScore:
    """How much a text looks like an advert, and the signals that made it so."""

    score: int
    hits: tuple[str, ...]


def ad_score(
    text: str | Scanned,
    lexicon: Lexicon,
    weights: Mapping[str, int],
    *,
    link_weight: int = 2,
    contact_weight: int = 2,
) -> AdScore:
    """Add up the advert signals: a link, a way to make contact (phone, invite, WeChat id)
    and each distinct trade word in ``lexicon`` (weighted by ``weights``, default 1)."""
    scanned = scan(text)
    score = 0
    hits: list[str] = []
    link = find_link(scanned)
    if link is not None:
        score += link_weight
        hits.append(link)
    contact = find_invite(scanned) or find_phone(scanned)
    if contact is not None:
        score += contact_weight
        hits.append(contact)
    for word in lexicon.find(scanned):
        score += weights.get(word, 1)
        hits.append(word)
    return AdScore(score, tuple(hits))


def find_ad(
    text: str | Scanned,
    lexicon: Lexicon,
    weights: Mapping[str, int],
    *,
    threshold: int,
    link_weight: int = 2,
    contact_weight: int = 2,
) -> str | None:
    """The signals, joined, when the text scores at least ``threshold``; else None."""
    found = ad_score(text, lexicon, weights, link_weight=link_weight, contact_weight=contact_weight)
    return " · ".join(found.hits) if found.score >= threshold and found.hits else None


# --- operator patterns --------------------------------------------------------------------

#: What moderation says of a pattern that matches the empty text.
_FLAGS_EVERYTHING = Wording(
    "matches an empty message, so it would flag every message",
    "能匹配空消息，会命中所有消息",
)


def _checked(pattern: str) -> re.Pattern[str] | Wording:
    """``kit.regex.guard`` on an operator pattern, case-insensitive as the cleaned text is
    lowercase; the reason, when refused, names the pattern."""
    found = guard(
        pattern,
        flags=re.IGNORECASE,
        normalise=False,
        max_length=MAX_PATTERN,
        matches_empty=_FLAGS_EVERYTHING,
    )
    if isinstance(found, re.Pattern):
        return found
    if not pattern.strip():
        return Wording(f"the pattern {found.en}", f"正则{found.zh}")
    shown = echo(pattern)
    return Wording(f"/{shown}/: {found.en}", f"/{shown}/：{found.zh}")


def pattern_problems(pattern: str) -> list[Wording]:
    """Why an operator's regular expression cannot be used, or an empty list.

    The decision is ``kit.regex.guard``'s, the one every family of rules shares: an empty
    or over-long pattern, one that does not compile, one that could run away on a hostile
    message, and one that matches the empty text (it would flag every message) are
    refused. Python's ``re`` backtracks and cannot be interrupted, so the guard is
    structural.
    """
    found = _checked(pattern)
    return [] if isinstance(found, re.Pattern) else [found]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A checked operator pattern, compiled case-insensitively; ValueError when refused."""
    found = _checked(pattern)
    if isinstance(found, Wording):
        raise ValueError(found.en)
    return found


def find_pattern(text: str | Scanned, patterns: Sequence[re.Pattern[str]]) -> str | None:
    """The first match of any pattern in the cleaned text (its first MAX_PATTERN_INPUT
    characters), or None."""
    cleaned = scan(text).clean[:MAX_PATTERN_INPUT]
    for pattern in patterns:
        match = pattern.search(cleaned)
        if match is not None and match.group(0):
            return match.group(0)
    return None
