"""A post as each platform will show it, known before anything is sent.

A post goes to groups on several platforms, and a platform may not show all of it: an
image Matrix cannot display unless it was uploaded there, a text longer than WeCom's 4,000
bytes. ``render`` builds the platform-neutral message a platform's adapter will convert,
with the variant for the reader's language and the variables filled, and flags what the
platform cannot show: ``warnings`` go out degraded (an image as its link), ``blockers``
refuse that platform's copies. The compose preview shows both before the operator sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from shequn.core import Image, Link, Message, Segment, Text
from shequn.features.broadcast.platforms import PlatformProfile, profile_for
from shequn.features.broadcast.post import VARIABLES, Post, PostImage, check_post
from shequn.features.broadcast.problems import Problem
from shequn.features.templating.logic import fill, parse


@dataclass(frozen=True, slots=True)
class Rendered:
    """A post as one platform will get it: the message, the variant chosen, the text's
    length in the platform's unit, and what the platform cannot show — ``warnings`` are
    sent degraded (an image as a link), ``blockers`` stop this platform's copies."""

    platform: str
    lang: str | None
    message: Message
    length: int
    warnings: tuple[Problem, ...] = ()
    blockers: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.blockers

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.blockers + self.warnings

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "lang": self.lang,
            "message": self.message.to_list(),
            "length": self.length,
            "ok": self.ok,
            "blockers": [p.to_dict() for p in self.blockers],
            "warnings": [p.to_dict() for p in self.warnings],
        }


def _image_segment(
    index: int, image: PostImage, profile: PlatformProfile
) -> tuple[Segment, Problem | None]:
    """The image as the platform takes it, or its link with the reason it is not shown."""
    where = f"images[{index}]"
    own = image.file_ids.get(profile.name) if profile.own_ids else None
    scheme = urlsplit(image.url).scheme.lower()
    if profile.images:
        if own and profile.own_id_is_url:
            return Image(url=own, name=image.alt), None
        url = image.url if profile.shows_scheme(scheme) else None
        if url or own:
            return Image(url=url, file_id=own or None, name=image.alt), None
        reason = (
            f"{profile.name} cannot show an image from a {scheme}:// address; it is sent as a link",
            f"{profile.name} 无法显示 {scheme}:// 地址的图片，将以链接发送",
        )
    else:
        reason = (
            f"{profile.name} cannot show images; it is sent as a link",
            f"{profile.name} 不能显示图片，将以链接发送",
        )
    return Link(image.url, title=image.alt), Problem(where, *reason)


def _add_text(segments: list[Segment], text: str) -> None:
    """Append text, joined to a text segment before it: one text, as a reader sees it."""
    if segments and isinstance(segments[-1], Text):
        segments[-1] = Text(segments[-1].text + text)
    else:
        segments.append(Text(text))


def _carried_text(segments: Sequence[Segment], profile: PlatformProfile) -> str:
    """The text the platform's message holds, as its length limit counts it: a titled
    link sent as a card (WeCom) is not part of it; an image is not text."""
    parts: list[str] = []
    for segment in segments:
        if isinstance(segment, Link) and profile.link_cards and segment.title:
            continue
        if isinstance(segment, Text | Link):
            parts.append(segment.plain())
    return "".join(parts)


def render(
    post: Post,
    platform: str | PlatformProfile,
    values: Mapping[str, object],
    lang: str = "zh-CN",
    *,
    profiles: Mapping[str, PlatformProfile] | None = None,
) -> Rendered:
    """``post`` as ``platform`` will show it to a reader of ``lang``, with ``values`` for
    its variables. Raises ``PostError`` for a post that fails ``check_post`` and
    ``UnknownPlatform`` for a platform with no profile; never for what the platform
    merely cannot show, which is flagged instead."""
    return render_checked(check_post(post), platform, values, lang, profiles=profiles)


def render_checked(
    post: Post,
    platform: str | PlatformProfile,
    values: Mapping[str, object],
    lang: str = "zh-CN",
    *,
    profiles: Mapping[str, PlatformProfile] | None = None,
) -> Rendered:
    """``render`` for a post that has passed ``check_post``: a fan-out checks its post
    once and renders it for hundreds of groups."""
    profile = profile_for(platform, profiles)
    chosen = post.choose_lang(lang)
    warnings: list[Problem] = []
    blockers: list[Problem] = []
    segments: list[Segment] = []
    if chosen is not None:
        template = parse(post.variants[chosen], VARIABLES)
        for name in sorted(template.variables):
            if values.get(name) is None:
                warnings.append(
                    Problem(
                        f"variants.{chosen}",
                        f"{{{name}}} has no value here; it reads as empty",
                        f"{{{name}}} 在此没有取值，将显示为空",
                    )
                )
        text = fill(template, values).strip()
        if text:
            _add_text(segments, text)
    for link in post.links:
        if segments:
            _add_text(segments, "\n")
        segments.append(Link(link.url, title=link.title))
    attachments = sum(1 for s in segments if isinstance(s, Link) and profile.link_cards and s.title)
    for index, image in enumerate(post.images):
        segment, problem = _image_segment(index, image, profile)
        if problem is not None:
            warnings.append(problem)
            if segments:
                _add_text(segments, "\n")
        else:
            attachments += 1
        segments.append(segment)
    if profile.max_attachments is not None and attachments > profile.max_attachments:
        warnings.append(
            Problem(
                profile.name,
                f"{attachments} attachments; {profile.name} takes {profile.max_attachments}, "
                "the rest are sent as text",
                f"共 {attachments} 个附件，{profile.name} 最多 {profile.max_attachments} 个，"
                "其余以文本发送",
            )
        )
    carried = _carried_text(segments, profile)
    too_long = profile.too_long(carried)
    if too_long is not None:
        blockers.append(too_long)
    if not segments:
        blockers.append(
            Problem("post", "renders to nothing to send here", "在此渲染后没有可发送的内容")
        )
    return Rendered(
        platform=profile.name,
        lang=chosen,
        message=Message(tuple(segments)),
        length=profile.unit.measure(carried),
        warnings=tuple(warnings),
        blockers=tuple(blockers),
    )


@lru_cache(maxsize=64)
def _locale(lang: str) -> Locale:
    """The babel locale of a language tag (English when unknown); cached, as parsing one
    costs a millisecond and a fan-out asks for the same few hundreds of times."""
    try:
        return Locale.parse(lang, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def variable_values(
    *,
    day: date,
    lang: str,
    group: str | None = None,
    community: str | None = None,
    member_count: int | None = None,
) -> dict[str, str]:
    """The values of a post's variables for one recipient on the local ``day`` it is sent,
    the date written as readers of ``lang`` write it (2025年3月7日, March 7, 2025). A value
    left out stays unset, so ``render`` flags a variable that has none."""
    values = {"date": format_date(day, format="long", locale=_locale(lang))}
    if group is not None:
        values["group"] = group
    if community is not None:
        values["community"] = community
    if member_count is not None:
        values["member_count"] = str(member_count)
    return values
