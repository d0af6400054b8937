"""What each platform can show of a broadcast, known before anything is sent.

The adapters say what a platform *did* with a message (``Rendered.lost`` after
conversion), but a broadcast must be judged before it is queued — in the compose preview
and when a fan-out is planned — and features may not import adapters. So the facts a
broadcast depends on are kept here, one ``PlatformProfile`` per platform, each number
taken from the platform's documentation or its adapter:

- **telegram**: ``sendMessage`` takes 1–4096 characters, counted in UTF-16 code units as
  Telegram counts entity offsets; photos by http(s) URL or a Telegram ``file_id``; a bot
  may message users who have started it.
- **matrix**: an event is at most 65,536 bytes of JSON and the text goes in twice (``body``
  and the HTML ``formatted_body``), so a text is held to 32,000 UTF-8 bytes; clients show
  only images uploaded to Matrix (``mxc://``), others go as links (as the adapter does).
- **onebot** (QQ): a message holds at most about 4,500 characters (the limit QQ clients and
  mirai's ``sendMessage`` document); images by URL or the bridge's file name.
- **wecom**: a mass message (企业群发) has a text of at most 4,000 UTF-8 bytes and at most
  nine attachments, a titled link becoming a card attachment; one such message per customer
  group per day, days counted in China time; no direct messages to customers.
- **sim**: the simulated platform keeps every segment; it has no text limit.

A platform that is not listed has no profile: rendering for it is refused (``UnknownPlatform``)
rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shequn.features.broadcast.problems import Problem, UnknownPlatform
from shequn.kit.timeutil import DEFAULT_TIMEZONE
from shequn.kit.wording import echo


class TextUnit(StrEnum):
    """How a platform counts the length of a text."""

    CHARS = "chars"  # Unicode code points
    UTF16 = "utf16"  # UTF-16 code units (an emoji outside the BMP counts two)
    UTF8 = "utf8"  # bytes of UTF-8

    def measure(self, text: str) -> int:
        # "surrogatepass": a lone surrogate in chat-sourced text is measured, never fatal.
        if self is TextUnit.UTF16:
            return len(text.encode("utf-16-le", "surrogatepass")) // 2
        if self is TextUnit.UTF8:
            return len(text.encode("utf-8", "surrogatepass"))
        return len(text)

    def label(self, zh: bool) -> str:
        if self is TextUnit.UTF8:
            return "字节" if zh else "bytes"
        return "个字符" if zh else "characters"


@dataclass(frozen=True, slots=True)
class PlatformProfile:
    """What a broadcast needs to know of one platform.

    ``image_schemes`` are the URL schemes it can show as an image (``None``: any);
    ``own_ids`` whether it takes its own file ids for images (``file_ids[platform]`` of a
    post's image); ``own_id_is_url`` when that id is itself the URL to use (Matrix's
    ``mxc://``); ``link_cards`` when a titled link is sent as an attachment, counted against
    ``max_attachments``; ``mass_sends_per_day`` a per-group daily limit the platform itself
    enforces, counted in days of ``day_zone``.
    """

    name: str
    max_text: int | None
    unit: TextUnit = TextUnit.CHARS
    images: bool = True
    image_schemes: frozenset[str] | None = frozenset({"http", "https"})
    own_ids: bool = True
    own_id_is_url: bool = False
    max_attachments: int | None = None
    link_cards: bool = False
    direct_messages: bool = True
    mass_sends_per_day: int | None = None
    day_zone: str = DEFAULT_TIMEZONE

    def shows_scheme(self, scheme: str) -> bool:
        return self.image_schemes is None or scheme in self.image_schemes

    def too_long(self, text: str) -> Problem | None:
        """A blocking problem when ``text`` is longer than the platform takes."""
        if self.max_text is None:
            return None
        size = self.unit.measure(text)
        if size <= self.max_text:
            return None
        return Problem(
            self.name,
            f"the text is {size:,} {self.unit.label(False)}; {self.name} takes at most "
            f"{self.max_text:,}",
            f"正文 {size:,} {self.unit.label(True)}，{self.name} 最多 {self.max_text:,}",
        )


SIM = PlatformProfile("sim", max_text=None, image_schemes=None)
TELEGRAM = PlatformProfile("telegram", max_text=4096, unit=TextUnit.UTF16)
MATRIX = PlatformProfile(
    "matrix",
    max_text=32_000,
    unit=TextUnit.UTF8,
    image_schemes=frozenset({"mxc"}),
    own_id_is_url=True,
)
ONEBOT = PlatformProfile("onebot", max_text=4500)
WECOM = PlatformProfile(
    "wecom",
    max_text=4000,
    unit=TextUnit.UTF8,
    max_attachments=9,
    link_cards=True,
    direct_messages=False,
    mass_sends_per_day=1,
    day_zone="Asia/Shanghai",
)

PROFILES: Mapping[str, PlatformProfile] = {
    p.name: p for p in (SIM, TELEGRAM, MATRIX, ONEBOT, WECOM)
}


def profile_for(
    platform: str | PlatformProfile, profiles: Mapping[str, PlatformProfile] | None = None
) -> PlatformProfile:
    """The profile of ``platform``: a profile is returned as it is, a name is looked up in
    ``profiles`` (the built-in ones by default)."""
    if isinstance(platform, PlatformProfile):
        return platform
    table = PROFILES if profiles is None else profiles
    found = table.get(platform)
    if found is None:
        known = ", ".join(sorted(table)) or "none"
        shown = echo(platform)
        raise UnknownPlatform(
            [
                Problem(
                    "platform",
                    f"no broadcast profile for platform “{shown}” (known: {known})",
                    f"没有平台“{shown}”的群发说明（已知：{known}）",
                )
            ]
        )
    return found
