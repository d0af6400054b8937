"""Matrix message content ↔ shequn segments.

Reading: an ``m.room.message`` content becomes segments. When the sender gave an
HTML ``formatted_body`` it is the richer source (mention pills, links), so it is
read with a tolerant parser that keeps only text, links, pills and inline
images — scripts, styles and the reply fallback (``<mx-reply>``) are dropped,
never passed on. Otherwise (or when the HTML shows nothing) the plain ``body``
is read, minus its ``> `` reply fallback. Mentions come from the pills and from
``m.mentions``: a listed user the text does not show is appended, so no mention
is lost — except in replies, where clients list the replied-to sender by rule
and the ``Quote`` already says it. Bare ``http(s)`` URLs in text become links.

Writing: ``to_platform`` turns segments into one or more event contents — a
text event (``body`` plus escaped HTML with pills and links, ``m.mentions``
filled in) and one event per attachment that Matrix can carry, i.e. whose url
is already an ``mxc://`` content URI. Everything Matrix cannot show is sent as
its plain text and named in ``Rendered.lost``.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote

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

HTML_FORMAT = "org.matrix.custom.html"
MATRIX_TO = "https://matrix.to/#/"
#: Marks an m.audio event as a voice message (MSC3245, what Element sends).
VOICE = "org.matrix.msc3245.voice"
#: At most this many mentions are read from one message: a hostile ``m.mentions``
#: list must not make conversion slow.
MAX_MENTIONS = 100

_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_URL_TRAILING = ".,;:!?'\")]"
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_SKIPPED_TAGS = frozenset({"mx-reply", "script", "style", "head", "title", "template"})
_BLOCK_TAGS = frozenset(
    {"p", "div", "blockquote", "pre", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_MEDIA_MSGTYPES = {"m.audio": "audio", "m.video": "video"}
_SEND_MEDIA = {"audio": "m.audio", "voice": "m.audio", "record": "m.audio", "video": "m.video"}


class BadContent(ValueError):
    """Message content that cannot be read; the message names the field."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a message becomes on Matrix: the contents of the ``m.room.message``
    events to send, in order, and one sentence per segment Matrix cannot show."""

    contents: tuple[dict[str, Any], ...]
    lost: tuple[str, ...] = ()


# ---------------------------------------------------------------------------
# Matrix → segments


def from_matrix(content: Mapping[str, Any], *, names: Mapping[str, str] | None = None) -> Message:
    """The segments of an ``m.room.message`` content.

    ``names`` maps user ids to display names; it lets a mention listed in
    ``m.mentions`` be found in a plain body that shows only the name.
    """
    if not isinstance(content, Mapping):
        raise BadContent("content is not an object")
    msgtype = content.get("msgtype")
    body = content.get("body", "")
    if not isinstance(body, str):
        raise BadContent(f"body is {type(body).__name__}, not text")
    if msgtype is not None and not isinstance(msgtype, str):
        raise BadContent(f"msgtype is {type(msgtype).__name__}, not text")
    reply_to = reply_target(content)
    head: list[Segment] = [Quote(reply_to)] if reply_to else []

    if msgtype in ("m.image", "m.file", "m.audio", "m.video"):
        return Message((*head, *_attachment(msgtype, content, body)))
    segments = _text_segments(content, body, quoted=reply_to is not None)
    segments = _add_mentions(
        segments, content.get("m.mentions"), names or {}, append=reply_to is None
    )
    return Message((*head, *_tidy(segments)))


def reply_target(content: Mapping[str, Any]) -> str | None:
    """The event id a message replies to, if it is a well-formed reply."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping):
        return None
    in_reply_to = relates.get("m.in_reply_to")
    if not isinstance(in_reply_to, Mapping):
        return None
    event_id = in_reply_to.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


def _text_segments(content: Mapping[str, Any], body: str, *, quoted: bool) -> list[Segment]:
    formatted = content.get("formatted_body")
    if content.get("format") == HTML_FORMAT and isinstance(formatted, str) and formatted:
        segments = _read_html(formatted)
        if segments is not None and any(
            not isinstance(s, Text) or s.text.strip() for s in segments
        ):
            return segments
    if quoted:
        body = strip_reply_fallback(body)
    return linkify(body)


def strip_reply_fallback(body: str) -> str:
    """A reply's ``body`` without the ``> <@user> quoted text`` lines older clients
    put in front of it."""
    if not body.startswith(">"):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def linkify(text: str) -> list[Segment]:
    """Text with its bare http(s) URLs turned into links."""
    out: list[Segment] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if len(url) <= len("https://"):
            continue
        start = match.start()
        if start > position:
            out.append(Text(text[position:start]))
        out.append(Link(url))
        position = start + len(url)
    if position < len(text):
        out.append(Text(text[position:]))
    return out


def user_of_pill(href: str) -> str | None:
    """The user id a ``https://matrix.to/#/@user:server`` link points at."""
    if not href.startswith(MATRIX_TO):
        return None
    target = unquote(href[len(MATRIX_TO) :]).split("?", 1)[0]
    if target.startswith("@") and ":" in target and "/" not in target:
        return target
    return None


class _HtmlReader(HTMLParser):
    """Collects segments from Matrix's HTML subset and ignores everything else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[Segment] = []
        self._text: list[str] = []
        self._skipping = 0
        self._anchor: tuple[str, list[str]] | None = None

    def _flush(self) -> None:
        if self._text:
            self.segments.extend(linkify("".join(self._text)))
            self._text = []

    def _newline(self) -> None:
        if self._anchor is None and (self._text or self.segments):
            self._text.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
            return
        if self._skipping:
            return
        values = {name: value or "" for name, value in attrs}
        if tag == "br":
            if self._anchor is not None:
                self._anchor[1].append("\n")
            else:
                self._text.append("\n")
        elif tag == "a" and self._anchor is None:
            self._anchor = (values.get("href", ""), [])
        elif tag == "img":
            self._image(values)
        elif tag in _BLOCK_TAGS:
            self._newline()

    def _image(self, values: Mapping[str, str]) -> None:
        src = values.get("src", "")
        if not src.startswith("mxc://"):
            return  # Matrix clients show only mxc images inline; others are not content
        alt = values.get("alt") or values.get("title") or None
        self._flush()
        if "data-mx-emoticon" in values:
            self.segments.append(Face(face_id=src, name=(alt or "").strip(":") or None))
        else:
            self.segments.append(Image(url=src, name=alt))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
            return
        if self._skipping:
            return
        if tag == "a" and self._anchor is not None:
            href, parts = self._anchor
            self._anchor = None
            self._flush()
            self.segments.extend(_anchor(href, "".join(parts)))
        elif tag in _BLOCK_TAGS:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._anchor is not None:
            self._anchor[1].append(data)
        else:
            self._text.append(data)

    def finish(self) -> list[Segment]:
        self.close()
        if self._anchor is not None:  # an unclosed <a>: keep its text
            self._text.extend(self._anchor[1])
            self._anchor = None
        self._flush()
        return self.segments


def _anchor(href: str, text: str) -> list[Segment]:
    user = user_of_pill(href)
    if user is not None:
        return [Mention(user=user, name=text.strip().removeprefix("@") or None)]
    if href.startswith(("http://", "https://")) and not href.startswith(MATRIX_TO):
        title = text.strip()
        return [Link(href, title=title if title and title != href else None)]
    return [Text(text)] if text else []


def _read_html(formatted: str) -> list[Segment] | None:
    reader = _HtmlReader()
    try:
        reader.feed(formatted)
        return reader.finish()
    except Exception as exc:  # a parser failure on hostile HTML: the plain body remains
        log.info("formatted_body could not be read (%s); using the plain body", exc)
        return None


def _mentioned(raw: Any) -> tuple[list[str], bool]:
    if not isinstance(raw, Mapping):
        return [], False
    ids = raw.get("user_ids")
    users: list[str] = []
    if isinstance(ids, list):
        for user in ids[:MAX_MENTIONS]:
            if isinstance(user, str) and user.startswith("@") and user not in users:
                users.append(user)
    return users, raw.get("room") is True


def _add_mentions(
    segments: list[Segment], raw: Any, names: Mapping[str, str], *, append: bool
) -> list[Segment]:
    """Mark the users ``m.mentions`` lists in the text, or append them when the text
    does not show them. Not in a reply: clients list the replied-to sender there by
    rule, and that implied mention is the ``Quote`` already."""
    users, room = _mentioned(raw)
    shown = {s.user for s in segments if isinstance(s, Mention)}
    missing: list[Mention] = []
    for user in users:
        if user in shown:
            continue
        name = names.get(user)
        for needle in (user, f"@{name}" if name else None, name):
            if needle and _mark(segments, needle, Mention(user=user, name=name)):
                break
        else:
            missing.append(Mention(user=user, name=name))
    everyone = any(isinstance(s, Mention) and s.everyone for s in segments)
    if room and not everyone and not _mark(segments, "@room", Mention(everyone=True)):
        missing.append(Mention(everyone=True))
    if missing and append:
        segments = [*segments, *_spaced(missing)]
    return segments


def _mark(segments: list[Segment], needle: str, mention: Mention) -> bool:
    """Replace the first occurrence of ``needle`` in a text segment by ``mention``."""
    for index, segment in enumerate(segments):
        if isinstance(segment, Text) and needle in segment.text:
            before, _, after = segment.text.partition(needle)
            parts: list[Segment] = [Text(before)] if before else []
            parts.append(mention)
            if after:
                parts.append(Text(after))
            segments[index : index + 1] = parts
            return True
    return False


def _spaced(mentions: Iterable[Mention]) -> list[Segment]:
    out: list[Segment] = []
    for mention in mentions:
        out.extend((Text(" "), mention))
    return out


def _tidy(segments: list[Segment]) -> list[Segment]:
    """Merge neighbouring text, trim the ends, drop empty text."""
    merged: list[Segment] = []
    for segment in segments:
        if isinstance(segment, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + segment.text)
        else:
            merged.append(segment)
    if merged and isinstance(merged[0], Text):
        merged[0] = Text(merged[0].text.lstrip())
    if merged and isinstance(merged[-1], Text):
        merged[-1] = Text(merged[-1].text.rstrip())
    return [s for s in merged if not (isinstance(s, Text) and not s.text)]


def _attachment(msgtype: str, content: Mapping[str, Any], body: str) -> list[Segment]:
    url = content.get("url")
    encrypted = content.get("file")
    if not isinstance(url, str) and isinstance(encrypted, Mapping):
        url = encrypted.get("url")
    url = url if isinstance(url, str) and url else None
    info = content.get("info") if isinstance(content.get("info"), Mapping) else {}
    size = info.get("size") if isinstance(info.get("size"), int) else None
    filename = content.get("filename") if isinstance(content.get("filename"), str) else None
    name = filename or body or None
    # Since Matrix 1.10 a body that differs from the filename is a caption.
    caption = body if filename and body and body != filename else None
    segment: Segment
    if msgtype == "m.image":
        segment = Image(url=url, name=name, size=size)
    elif msgtype == "m.file":
        segment = File(name=name or "file", url=url, size=size)
    else:
        duration = info.get("duration")
        seconds = duration / 1000 if isinstance(duration, int | float) and duration >= 0 else None
        media = _MEDIA_MSGTYPES[msgtype]
        if msgtype == "m.audio" and VOICE in content:
            media = "voice"
        segment = Media(media=media, url=url, duration_s=seconds)
    return [segment, *_tidy(linkify(caption))] if caption else [segment]


# ---------------------------------------------------------------------------
# segments → Matrix


def is_user_id(value: str | None) -> bool:
    return value is not None and value.startswith("@") and ":" in value


def pill(user: str, label: str) -> str:
    return f'<a href="{MATRIX_TO}{quote(user, safe="@:")}">{html.escape(label)}</a>'


class _Writer:
    def __init__(self) -> None:
        self.body: list[str] = []
        self.html: list[str] = []
        self.users: list[str] = []
        self.room = False
        self.attachments: list[dict[str, Any]] = []
        self.lost: list[str] = []
        self.reply_to: str | None = None

    def text(self, text: str) -> None:
        self.body.append(text)
        self.html.append(html.escape(text).replace("\n", "<br>"))

    def link(self, url: str, label: str) -> None:
        self.body.append(label if label == url else f"{label} {url}")
        self.html.append(f'<a href="{html.escape(url)}">{html.escape(label)}</a>')

    def fallback(self, segment: Segment, reason: str) -> None:
        self.text(segment.plain())
        self.lost.append(reason)

    def add(self, segment: Segment) -> None:
        if isinstance(segment, Text):
            self.text(segment.text)
        elif isinstance(segment, Mention):
            self.mention(segment)
        elif isinstance(segment, Link):
            if segment.url.startswith(_SAFE_SCHEMES):
                self.link(segment.url, segment.title or segment.url)
            else:
                self.fallback(segment, f"link {segment.url!r} has an unsafe scheme; sent as text")
        elif isinstance(segment, Image):
            self.media(segment, segment.url, "m.image", segment.name or "image")
        elif isinstance(segment, File):
            self.media(segment, segment.url, "m.file", segment.name)
        elif isinstance(segment, Media):
            msgtype = _SEND_MEDIA.get(segment.media, "m.file")
            self.media(segment, segment.url, msgtype, segment.media)
        elif isinstance(segment, Quote):
            if self.reply_to is None:
                self.reply_to = segment.message_id
            elif segment.message_id != self.reply_to:
                self.lost.append("a Matrix message replies to one message; extra quotes dropped")
        elif isinstance(segment, Sticker):
            self.fallback(segment, "stickers are not supported; sent as text")
        elif isinstance(segment, Face):
            self.fallback(segment, "platform emoticons have no Matrix form; sent as text")
        elif isinstance(segment, Poll):
            options = "".join(f"\n{n}. {option}" for n, option in enumerate(segment.options, 1))
            self.text(f"{segment.question}{options}")
            self.lost.append("polls are not supported; sent as text")

    def mention(self, segment: Mention) -> None:
        if segment.everyone:
            self.body.append("@room")
            self.html.append("@room")
            self.room = True
        elif is_user_id(segment.user):
            user = segment.user or ""
            label = segment.name or user
            self.body.append(label)
            self.html.append(pill(user, label))
            if user not in self.users:
                self.users.append(user)
        else:
            self.fallback(segment, f"{segment.plain()} is not a Matrix user id; sent as text")

    def media(self, segment: Segment, url: str | None, msgtype: str, name: str) -> None:
        what = getattr(segment, "media", None) or segment.kind
        kind = f"an {what}" if what[0] in "aeiou" else f"a {what}"
        if url and url.startswith("mxc://"):
            content: dict[str, Any] = {"msgtype": msgtype, "body": name, "url": url}
            size = getattr(segment, "size", None)
            duration = getattr(segment, "duration_s", None)
            info: dict[str, Any] = {}
            if size is not None:
                info["size"] = size
            if duration is not None:
                info["duration"] = int(duration * 1000)
            if info:
                content["info"] = info
            if msgtype == "m.file":
                content["filename"] = name
            if getattr(segment, "media", None) in ("voice", "record"):
                content[VOICE] = {}
            self.attachments.append(content)
        elif url and url.startswith(("http://", "https://")):
            self.link(url, name)
            self.lost.append(f"{kind} needs an mxc:// url on Matrix; sent as a link")
        else:
            self.fallback(segment, f"{kind} without a url cannot be sent; sent as text")

    def rendered(self) -> Rendered:
        contents: list[dict[str, Any]] = []
        body = "".join(self.body)
        if body.strip():
            mentions: dict[str, Any] = {"user_ids": self.users} if self.users else {}
            if self.room:
                mentions["room"] = True
            contents.append(
                {
                    "msgtype": "m.text",
                    "body": body,
                    "format": HTML_FORMAT,
                    "formatted_body": "".join(self.html),
                    "m.mentions": mentions,
                }
            )
        contents.extend(self.attachments)
        if not contents:
            raise ValueError("the message has nothing Matrix can show")
        if self.reply_to is not None:
            contents[0]["m.relates_to"] = {"m.in_reply_to": {"event_id": self.reply_to}}
        return Rendered(tuple(contents), tuple(self.lost))


def to_platform(message: Message, *, reply_to: str | None = None) -> Rendered:
    """The Matrix event contents that show ``message``; ``reply_to`` (an event id)
    makes the first of them a reply. Raises ``ValueError`` for a message with
    nothing to show."""
    writer = _Writer()
    writer.reply_to = reply_to
    for segment in message:
        writer.add(segment)
    return writer.rendered()
