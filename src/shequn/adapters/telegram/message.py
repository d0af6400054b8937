"""Segments ↔ Telegram's text with entities. Pure.

Telegram carries a message's text (or a media caption) as a plain string plus a
list of ``MessageEntity`` values, each marking a span by ``offset`` and
``length`` counted in UTF-16 code units — so an emoji before a mention moves the
mention by two units, a Chinese character by one. Both directions below count
that way.

Formatting entities (bold, code, spoilers…) carry no meaning for community
operations and stay plain text; what does carry meaning becomes its segment:
``mention`` (@username) and ``text_mention`` (a user without a username) become
``Mention``, ``url`` and ``text_link`` become ``Link``.

Going out, text and entities make one ``sendMessage``; images, files, stickers,
voice and video, and polls each need a call of their own (``Attachment`` /
``Poll`` in ``Rendered.media``). What Telegram cannot show — a mention of
everyone, a platform face, a file with no Telegram id or URL — degrades to its
plain text, and ``Rendered.lost`` says so in a sentence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiogram.types import MessageEntity, User

from shequn.core import (
    Face,
    File,
    Image,
    Link,
    Media,
    Mention,
    Message,
    Poll,
    Quote,
    Segment,
    Sticker,
    Text,
)

log = logging.getLogger(__name__)

#: The entity types that become segments; every other type stays plain text.
MEANINGFUL = frozenset({"mention", "text_mention", "url", "text_link"})

#: Media kinds Telegram sends with a method of their own (``send_<kind>``).
SENDABLE_MEDIA = frozenset({"voice", "video", "audio", "video_note", "animation"})

#: Telegram usernames: 5-32 letters, digits and underscores (bots' too).
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")

_LOW_SURROGATE = range(0xDC00, 0xE000)


def utf16_len(text: str) -> int:
    """Length of ``text`` as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- Telegram → segments -------------------------------------------------------------


def _unit(units: bytes, index: int) -> int:
    return int.from_bytes(units[2 * index : 2 * index + 2], "little")


def _on_boundary(units: bytes, index: int) -> bool:
    """Whether a span may start or end at ``index`` without cutting an emoji in half."""
    return index * 2 >= len(units) or _unit(units, index) not in _LOW_SURROGATE


def _slice(units: bytes, start: int, end: int) -> str:
    return units[2 * start : 2 * end].decode("utf-16-le", "surrogatepass")


def _entity_segment(entity: MessageEntity, text: str) -> Segment:
    kind = entity.type
    if kind == "mention" and text.startswith("@") and len(text) > 1:
        return Mention(name=text[1:])
    if kind == "text_mention" and entity.user is not None:
        name = text.removeprefix("@") or entity.user.full_name
        return Mention(user=str(entity.user.id), name=name)
    if kind == "url" and text:
        return Link(url=text)
    if kind == "text_link" and entity.url:
        return Link(url=entity.url, title=text or None)
    return Text(text)


def _append(segments: list[Segment], segment: Segment) -> None:
    """Add ``segment``, joining it to a text segment before it; empty text is dropped."""
    if isinstance(segment, Text):
        if not segment.text:
            return
        if segments and isinstance(segments[-1], Text):
            segments[-1] = Text(segments[-1].text + segment.text)
            return
    segments.append(segment)


def from_text(
    text: str | None, entities: Sequence[MessageEntity] | None, *, where: str = "a message"
) -> list[Segment]:
    """The segments of one Telegram text (or caption) and its entities.

    An entity that does not fit the text — past its end, of no length, cutting
    an emoji in half, overlapping the one before — is skipped with a logged
    reason and its span stays plain text: the words are never lost. ``where``
    names the message in that log line.
    """
    if not text:
        return []
    units = text.encode("utf-16-le", "surrogatepass")
    size = len(units) // 2
    chosen = sorted(
        (e for e in entities or () if e.type in MEANINGFUL), key=lambda e: (e.offset, -e.length)
    )
    segments: list[Segment] = []
    pos = 0
    for entity in chosen:
        start, end = entity.offset, entity.offset + entity.length
        problem = None
        if entity.length <= 0 or start < 0 or end > size:
            problem = f"span {start}+{entity.length} lies outside the {size}-unit text"
        elif start < pos:
            problem = "it overlaps the entity before it"
        elif not (_on_boundary(units, start) and _on_boundary(units, end)):
            problem = "it cuts a character in half"
        if problem is not None:
            log.warning("%s: %s entity skipped: %s", where, entity.type, problem)
            continue
        _append(segments, Text(_slice(units, pos, start)))
        _append(segments, _entity_segment(entity, _slice(units, start, end)))
        pos = end
    _append(segments, Text(_slice(units, pos, size)))
    return segments


# --- segments → Telegram -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attachment:
    """One media item sent by a call of its own: ``kind`` names the Bot API method
    (``photo`` → ``sendPhoto``…), ``file`` is a Telegram ``file_id`` or an http(s) URL
    Telegram fetches itself."""

    kind: str
    file: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message as Telegram takes it: one text with its entities, the media that
    follow it one call each, the message it replies to, and what could not be shown."""

    text: str = ""
    entities: tuple[MessageEntity, ...] = ()
    media: tuple[Attachment | Poll, ...] = ()
    reply_to: int | None = None
    lost: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.media


def _is_id(value: str) -> bool:
    """Whether ``value`` is a Telegram numeric id (ASCII digits only: ``int`` would
    also take other scripts' digits)."""
    return value.isascii() and value.isdigit()


def _file_ref(url: str | None, file_id: str | None) -> str | None:
    """What to hand Telegram for a file: a web URL (any platform's) before an id
    (which is only good if Telegram issued it)."""
    if url and url.startswith(("http://", "https://")):
        return url
    return file_id or None


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0  # UTF-16 units so far
        self.entities: list[MessageEntity] = []
        self.media: list[Attachment | Poll] = []
        self.reply_to: int | None = None
        self.lost: list[str] = []

    def text(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def entity(self, text: str, kind: str, **fields: object) -> None:
        units = utf16_len(text)
        self.entities.append(MessageEntity(type=kind, offset=self.length, length=units, **fields))
        self.text(text)

    def degrade(self, segment: Segment, why: str) -> None:
        self.text(segment.plain())
        self.lost.append(why)

    def mention(self, seg: Mention) -> None:
        if seg.everyone:
            self.degrade(seg, "Telegram has no mention of everyone; sent as the text @all")
        elif seg.user is not None:
            if not _is_id(seg.user):
                self.degrade(seg, f"{seg.user!r} is not a Telegram user id; mention sent as text")
                return
            shown = seg.name or seg.user
            user = User(id=int(seg.user), is_bot=False, first_name=shown)
            self.entity(f"@{shown}", "text_mention", user=user)
        elif seg.name and _USERNAME.match(seg.name):
            self.entity(f"@{seg.name}", "mention")
        else:
            self.degrade(seg, f"{seg.plain()} names no Telegram user id or username; sent as text")

    def link(self, seg: Link) -> None:
        if seg.title:
            self.entity(seg.title, "text_link", url=seg.url)
        else:
            self.entity(seg.url, "url")

    def attach(self, seg: Segment, kind: str, file: str | None, missing: str) -> None:
        if file is None:
            self.degrade(seg, missing)
        else:
            self.media.append(Attachment(kind, file))

    def quote(self, seg: Quote) -> None:
        target = seg.message_id
        if not _is_id(target):
            self.lost.append(
                f"reply target {target!r} is not a Telegram message id; sent without the reply"
            )
        elif self.reply_to is None:
            self.reply_to = int(target)
        else:
            self.lost.append("a Telegram message replies to one message; later quotes dropped")

    def add(self, seg: Segment) -> None:
        match seg:
            case Text():
                self.text(seg.text)
            case Mention():
                self.mention(seg)
            case Link():
                self.link(seg)
            case Image():
                ref = _file_ref(seg.url, seg.file_id)
                self.attach(seg, "photo", ref, "an image with no URL or file id; sent as text")
            case File():
                ref = _file_ref(seg.url, seg.file_id)
                self.attach(seg, "document", ref, f"{seg.name}: no URL or file id; sent as text")
            case Sticker():
                self.attach(
                    seg, "sticker", seg.sticker_id, "a sticker with no file id; sent as its emoji"
                )
            case Media() if seg.media in SENDABLE_MEDIA:
                ref = _file_ref(seg.url, seg.file_id)
                self.attach(
                    seg, seg.media, ref, f"{seg.media} with no URL or file id; sent as text"
                )
            case Media():
                self.degrade(seg, f"Telegram cannot send {seg.media!r} media; sent as text")
            case Poll() if len(seg.options) >= 2:
                self.media.append(seg)
            case Poll():
                self.degrade(seg, "a Telegram poll needs at least two options; sent as text")
            case Face():
                self.degrade(seg, f"Telegram has no built-in face {seg.plain()}; sent as text")
            case Quote():
                self.quote(seg)

    def build(self) -> Rendered:
        text = "".join(self.parts)
        if text.strip() and self.media:
            self.lost.append(
                "Telegram cannot send text and media as one message; the text goes first, "
                "then each attachment"
            )
        return Rendered(
            text=text,
            entities=tuple(self.entities),
            media=tuple(self.media),
            reply_to=self.reply_to,
            lost=tuple(self.lost),
        )


def to_platform(message: Message | Iterable[Segment]) -> Rendered:
    """How ``message`` goes to Telegram, and what it loses on the way.

    A mention carrying a user id becomes a ``text_mention`` (it reaches users
    without a username too) shown as ``@name``; one with only a name becomes an
    ``@username`` mention when the name is a valid username.
    """
    builder = _Builder()
    for segment in message:
        builder.add(segment)
    return builder.build()
