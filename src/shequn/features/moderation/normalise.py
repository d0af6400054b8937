"""Text normalisation for moderation: make the disguises of a word look like the word.

Spammers write ``微 信``, ``微-信``, ``Ｖ.Ｘ``, ``加*我*微*信`` or hide a zero-width space
inside a word so that a plain substring search misses it. Two forms are computed:

``clean(text)``
    NFKC (full-width → half-width, ``ⓥ`` → ``v``, ``𝐯`` → ``v``), casefold, invisible and
    control characters removed, the homoglyphs below mapped. Spaces and punctuation stay,
    because links, phone numbers and ids need their dots and separators.

``normalise(text)``
    ``clean`` and then only letters and digits kept: every space, punctuation mark, symbol
    and combining mark is dropped, so separators inserted between characters vanish. Banned
    words are matched on this form, and banned words themselves are normalised the same
    way, so ``V.X`` on the list matches ``vx`` in a message and the other way round.

The cost of dropping separators is that words run together: a short Latin banned word can
match across words or inside a longer one (``ass`` in ``class``). Short Latin words are
better caught with a pattern rule; Chinese, which has no spaces anyway, is what this is for.

Homoglyphs (:data:`HOMOGLYPHS`) are kept to letters that are indistinguishable from Latin
ones in common fonts and are used to dodge filters: Cyrillic ``а е о р с у х і ј ѕ ԁ һ ԛ
ԝ ӏ``, Greek ``α ι κ ν ο ρ`` and the regional-indicator letters ``🇦``…``🇿``. Russian or
Greek text is mapped too; since banned words go through the same mapping, a Russian word on
the list still matches Russian text. Variant Chinese characters (``薇信`` for ``微信``) are
words, not glyphs: list them as banned words. Traditional/simplified conversion and numbers
written in Chinese characters are out of scope.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from types import MappingProxyType

#: Lowercase look-alikes (after casefolding) mapped to the Latin letter they imitate.
HOMOGLYPHS: Mapping[str, str] = MappingProxyType(
    {
        # Cyrillic
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "һ": "h",
        "ԛ": "q",
        "ԝ": "w",
        "ӏ": "l",
        # Greek
        "α": "a",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        # Regional indicators 🇦…🇿, which render as boxed letters when not a flag pair.
        **{chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)},
    }
)

#: Characters that render as nothing but are letters or marks by category, so the category
#: filter alone would keep them: Hangul fillers and the Khmer inherent vowels.
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5")

#: Dots written in CJK punctuation, read as ``.`` so ``abc。com`` is still a domain.
_DOTS = {"\u3002": ".", "\uff61": "."}
#: Heavy plus (➕), as in ``➕V``, read as ``+``.
_PLUS = {"\u2795": "+"}

#: Character categories ``normalise`` keeps: letters, digits and spacing marks (vowel signs
#: of Indic scripts, which carry meaning). Everything else is a separator to it.
_KEPT = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "Mc"})
#: Dropped by ``clean``: format characters (ZWSP, ZWJ, RTL overrides, BOM, soft hyphen,
#: tags), surrogates and private-use characters.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cs", "Co"})
#: Normalisation reaches a fixed point in two or three rounds; the cap is a safety net.
_MAX_ROUNDS = 6
#: How many code points a translation table remembers; hostile text full of distinct
#: characters is still translated correctly past this, only without being remembered.
_CACHE_LIMIT = 1 << 16


class _CharTable(dict[int, str | None]):
    """A ``str.translate`` table that decides each code point the first time it is seen.

    ``translate`` runs in C and only calls back into Python for a code point it has not
    met before, which makes the per-character category filter cheap on chat text (a few
    thousand distinct characters in practice).
    """

    __slots__ = ("_decide",)

    def __init__(self, decide: Callable[[str], str | None], fixed: Mapping[int, str | None]):
        super().__init__(fixed)
        self._decide = decide

    def __missing__(self, code: int) -> str | None:
        value = self._decide(chr(code))
        if len(self) < _CACHE_LIMIT:
            self[code] = value
        return value


def _clean_char(ch: str) -> str | None:
    category = unicodedata.category(ch)
    if category in _INVISIBLE_CATEGORIES:
        return None
    if category == "Cc":
        # Control characters (newlines, tabs) separate words; keep them apart.
        return " "
    return ch


def _kept_char(ch: str) -> str | None:
    return ch if unicodedata.category(ch) in _KEPT else None


_CLEAN = _CharTable(
    _clean_char,
    {ord(k): v for k, v in {**HOMOGLYPHS, **_DOTS, **_PLUS, **dict.fromkeys(INVISIBLE)}.items()},
)
_KEEP = _CharTable(_kept_char, {})


def clean(text: str) -> str:
    """The text as a detector should read it: NFKC, casefolded, invisible characters gone,
    homoglyphs mapped; spaces and punctuation kept."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_CLEAN)


def _round(text: str) -> str:
    return clean(text).translate(_KEEP)


def normalise(text: str) -> str:
    """Letters and digits only, after ``clean``: the form banned words are matched on.

    Idempotent: each round can expose a new composition (two Hangul jamo that a dropped
    mark kept apart) or a new case mapping, so rounds repeat until nothing changes.
    """
    current = text
    for _ in range(_MAX_ROUNDS):
        following = _round(current)
        if following == current:
            break
        current = following
    return current
