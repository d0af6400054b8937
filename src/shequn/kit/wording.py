"""One sentence in the two languages shequn's operators read: English and Chinese.

Rule problems, log reasons and replies are decided in pure logic long before anyone knows
who will read them, so a decision carries both texts and the reader's language picks one
(``pick``). A log keeps both, so that a moderation entry reads right in either dashboard.
Every feature uses this one type; a feature's own vocabulary (labels, field names) is built
from it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def is_chinese(lang: str) -> bool:
    """``zh``, ``zh-CN``, ``zh_Hans``… read Chinese; anything else reads English."""
    return lang.lower().startswith("zh")


@dataclass(frozen=True, slots=True)
class Wording:
    """One sentence in English (``en``) and Chinese (``zh``)."""

    en: str
    zh: str

    def pick(self, lang: str) -> str:
        """The sentence in ``lang``: Chinese for any ``zh…`` tag, else English."""
        return self.zh if is_chinese(lang) else self.en

    def to_dict(self) -> dict[str, str]:
        """The stored form: ``{"en": …, "zh": …}``."""
        return {"en": self.en, "zh": self.zh}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Wording:
        """Back from ``to_dict``. A missing text reads as empty, so a log written by an older
        version still shows; the ``zh-CN`` key of earlier admission logs is read too."""
        zh = data.get("zh", data.get("zh-CN", ""))
        return cls(str(data.get("en", "")), str(zh))


def echo(text: str, limit: int = 40) -> str:
    """Chat text or an operator's input, safe to repeat in a log, an error or a reply:
    without control or format characters (an RTL override would reverse the rest of the
    line), runs of spaces collapsed, and the result is clipped to ``limit`` characters."""
    kept = " ".join("".join(_shown(ch) for ch in text).split())
    return kept if len(kept) <= limit else kept[:limit] + "…"


def _shown(ch: str) -> str:
    if ch.isprintable():
        return ch
    # Format characters (zero-width spaces, direction overrides) are invisible: drop them,
    # so "朋​友" reads "朋友"; line breaks, tabs and other controls separate words.
    return "" if unicodedata.category(ch) == "Cf" else " "
