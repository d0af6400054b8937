"""The content checks: what one message says or shows.

Banned words, links, group invites and contact ids, phone numbers, QR code images,
operator patterns and the advertising score. Each check reads the message (through the
detectors in ``detect``), and on a match returns a ``Hit``: the matched text and why it
breaks the rule, in zh-CN and English. What happens then is the rule's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple, Self

from shequn.features.moderation.context import History, MessageContext
from shequn.features.moderation.detect import (
    AD_WORDS,
    AutomatonIndex,
    IndexFactory,
    Lexicon,
    Scanned,
    Wording,
    ad_score,
    compile_pattern,
    echo,
    find_banned,
    find_invite,
    find_link,
    find_pattern,
    find_phone,
    find_qr,
    pattern_problems,
)
from shequn.features.moderation.reader import _Reader

#: How much of the matched text a decision keeps for the log.
MAX_MATCHED = 200


class Hit(NamedTuple):
    """A check's finding: the matched text and why it breaks the rule. ``copies`` are
    earlier copies of the message elsewhere, as (platform, group, message id)."""

    matched: str
    reason: Wording
    copies: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class BannedWords:
    """A list of words, matched on normalised text (``微 信`` and ``V.X`` included).

    ``index_factory`` builds the search: by default one compiled automaton for the list.
    """

    words: tuple[str, ...]
    index_factory: IndexFactory = field(default=AutomatonIndex, compare=False, repr=False)
    lexicon: Lexicon = field(init=False, compare=False, repr=False)
    kind: ClassVar[str] = "banned_words"

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))
        object.__setattr__(self, "lexicon", Lexicon(self.words, self.index_factory))

    def problems(self) -> list[Wording]:
        if not self.words:
            return [Wording("the word list is empty", "违禁词列表为空")]
        return [
            Wording(
                f"“{echo(word)}” has no letters or digits, so it can never match",
                f"“{echo(word)}”不含文字或数字，永远不会命中",
            )
            for word in self.lexicon.empty
        ]

    def params(self) -> dict[str, Any]:
        return {"words": list(self.words)}

    @classmethod
    def read(cls, reader: _Reader) -> BannedWords:
        return cls(reader.texts("words"))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        word = find_banned(scanned, self.lexicon)
        if word is None:
            return None
        return Hit(word, Wording(f"contains the banned word “{word}”", f"包含违禁词“{word}”"))


def _domain_problems(domains: Sequence[str]) -> list[Wording]:
    bad = [d for d in domains if not d.strip(". ") or any(c in d for c in " /:@")]
    return [
        Wording(
            f"“{echo(d)}” is not a domain (write it like example.com)",
            f"“{echo(d)}”不是域名（请写成 example.com 的形式）",
        )
        for d in bad
    ]


@dataclass(frozen=True)
class Links:
    """Any link: ``https://…``, ``www.…``, a bare ``abc.cn/x``. ``allow`` lists domains (and
    their subdomains) that may be posted, such as the community's own site."""

    allow: tuple[str, ...] = ()
    kind: ClassVar[str] = "links"

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", tuple(self.allow))

    def problems(self) -> list[Wording]:
        return _domain_problems(self.allow)

    def params(self) -> dict[str, Any]:
        return {"allow": list(self.allow)}

    @classmethod
    def read(cls, reader: _Reader) -> Links:
        return cls(reader.texts("allow"))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        link = find_link(scanned, self.allow)
        if link is None:
            return None
        return Hit(link, Wording(f"contains a link ({echo(link)})", f"包含链接（{echo(link)}）"))


class _Fixed:
    """A check configured by its kind alone: nothing to set, nothing to get wrong."""

    def problems(self) -> list[Wording]:
        return []

    def params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def read(cls, reader: _Reader) -> Self:
        return cls()


@dataclass(frozen=True)
class Invites(_Fixed):
    """Group invites and contact ids: ``t.me/+…``, ``matrix.to/#/…``, QQ group numbers,
    WeChat ids (``vx: …``)."""

    kind: ClassVar[str] = "invites"

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        invite = find_invite(scanned)
        if invite is None:
            return None
        return Hit(
            invite,
            Wording(
                f"contains a group invite or contact id ({echo(invite)})",
                f"包含群邀请或联系方式（{echo(invite)}）",
            ),
        )


@dataclass(frozen=True)
class Phones(_Fixed):
    """Mainland mobile numbers, with separators and +86."""

    kind: ClassVar[str] = "phones"

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        phone = find_phone(scanned)
        if phone is None:
            return None
        return Hit(phone, Wording("contains a phone number", "包含手机号码"))


@dataclass(frozen=True)
class QrCodes(_Fixed):
    """Images the adapter flagged as carrying a QR code (see ``MessageContext.has_qr``)."""

    kind: ClassVar[str] = "qr_codes"

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        found = find_qr(message.has_qr)
        if found is None:
            return None
        return Hit(found, Wording("contains an image with a QR code", "包含二维码图片"))


@dataclass(frozen=True)
class Advertising:
    """A score: a link adds ``link_weight``, a contact (phone, invite, WeChat id) adds
    ``contact_weight``, each trade word adds its weight; at ``threshold`` it is an advert.

    With the defaults, ``日赚 + a link`` (2 + 2) is an advert; ``周末兼职有人去吗`` (1) is not.
    """

    threshold: int = 4
    words: Mapping[str, int] = field(default_factory=lambda: dict(AD_WORDS))
    link_weight: int = 2
    contact_weight: int = 2
    index_factory: IndexFactory = field(default=AutomatonIndex, compare=False, repr=False)
    lexicon: Lexicon = field(init=False, compare=False, repr=False)
    kind: ClassVar[str] = "advertising"

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", dict(self.words))
        object.__setattr__(self, "lexicon", Lexicon(self.words, self.index_factory))

    def problems(self) -> list[Wording]:
        problems: list[Wording] = []
        if self.threshold < 1:
            problems.append(Wording("the threshold must be at least 1", "阈值至少为 1"))
        if (
            self.link_weight < 0
            or self.contact_weight < 0
            or any(w < 0 for w in self.words.values())
        ):
            problems.append(Wording("weights cannot be negative", "权重不能为负数"))
        problems.extend(
            Wording(
                f"“{echo(word)}” has no letters or digits, so it can never match",
                f"“{echo(word)}”不含文字或数字，永远不会命中",
            )
            for word in self.lexicon.empty
        )
        return problems

    def params(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "words": dict(self.words),
            "link_weight": self.link_weight,
            "contact_weight": self.contact_weight,
        }

    @classmethod
    def read(cls, reader: _Reader) -> Advertising:
        return cls(
            threshold=reader.whole("threshold", 4),
            words=reader.weights("words", AD_WORDS),
            link_weight=reader.whole("link_weight", 2),
            contact_weight=reader.whole("contact_weight", 2),
        )

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        found = ad_score(
            scanned,
            self.lexicon,
            self.words,
            link_weight=self.link_weight,
            contact_weight=self.contact_weight,
        )
        if found.score < self.threshold or not found.hits:
            return None
        return Hit(
            " · ".join(found.hits),
            Wording(
                f"looks like an advert (score {found.score}, threshold {self.threshold})",
                f"疑似广告（得分 {found.score}，阈值 {self.threshold}）",
            ),
        )


@dataclass(frozen=True)
class Patterns:
    """Operator regular expressions, run on the cleaned text (half-width, lowercase,
    invisible characters removed) case-insensitively. See ``pattern_problems`` for the
    patterns refused because they could run away."""

    patterns: tuple[str, ...]
    compiled: tuple[Any, ...] = field(init=False, compare=False, repr=False)
    kind: ClassVar[str] = "patterns"

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(self.patterns))
        compiled = []
        for pattern in self.patterns:
            try:
                compiled.append(compile_pattern(pattern))
            except ValueError:
                continue  # reported by problems(); a Rule with it is never built
        object.__setattr__(self, "compiled", tuple(compiled))

    def problems(self) -> list[Wording]:
        if not self.patterns:
            return [Wording("the pattern list is empty", "正则列表为空")]
        return [problem for pattern in self.patterns for problem in pattern_problems(pattern)]

    def params(self) -> dict[str, Any]:
        return {"patterns": list(self.patterns)}

    @classmethod
    def read(cls, reader: _Reader) -> Patterns:
        return cls(reader.texts("patterns"))

    def match(
        self, message: MessageContext, scanned: Scanned, history: History, now: datetime
    ) -> Hit | None:
        found = find_pattern(scanned, self.compiled)
        if found is None:
            return None
        return Hit(found, Wording("matches a forbidden pattern", "命中禁止的正则"))


__all__ = [
    "MAX_MATCHED",
    "Advertising",
    "BannedWords",
    "Hit",
    "Invites",
    "Links",
    "Patterns",
    "Phones",
    "QrCodes",
]
