"""Segments ↔ OneBot v11 messages: segment arrays and CQ-code strings.

OneBot v11 writes a message either as an array of segments,
``[{"type": "text", "data": {"text": "…"}}, {"type": "at", "data": {"qq": "123"}}]``,
or as one string in which segments other than text are CQ codes:
``你好[CQ:at,qq=123] 看这个[CQ:image,file=abc.jpg]``. In such a string, plain text
escapes ``&`` as ``&amp;``, ``[`` as ``&#91;`` and ``]`` as ``&#93;``; a CQ code's
parameter values additionally escape ``,`` as ``&#44;``. Unescaping is one pass
over the string, so ``&amp;#91;`` reads back as the five characters ``&#91;``, not
as ``[``.

Reading (``from_platform``) accepts both forms. Segment kinds map as follows:
``text`` → Text, ``at`` → Mention (``qq=all`` is everyone), ``face`` → Face,
``image`` → Image, ``reply`` → Quote, ``record`` → voice Media, ``video`` → video
Media, ``file`` → File, ``share`` / ``json`` / ``xml`` cards → Link when they carry
an http(s) URL and Media otherwise, ``mface`` (a market sticker) → Sticker; any
other kind becomes a Media named after it, so nothing vanishes. A segment that is
not a mapping, lacks its ``type`` or a field its kind needs is refused with
``BadMessage`` naming the segment's position and the field.

Writing (``to_platform``) always produces an array: bridges parse arrays exactly,
whereas a string would have to be escaped perfectly to mean what was meant. A
reply goes first, as QQ shows only a leading one; what QQ cannot show is sent as
its plain text and named in ``Rendered.lost``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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

#: A CQ code: its type, then ``,key=value`` pairs whose values hold no raw ``,``,
#: ``[`` or ``]``. Anything that does not match exactly is read as text.
_CQ_CODE = re.compile(
    r"\[CQ:(?P<type>[A-Za-z0-9_.\-]+)(?P<params>(?:,[A-Za-z0-9_.\-]+=[^,\[\]]*)*)\]"
)
_ENTITY = re.compile(r"&(amp|#91|#93|#44);")
_UNESCAPED = {"amp": "&", "#91": "[", "#93": "]", "#44": ","}
_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_HTTP_URL = re.compile(r"^https?://\S+$")
_XML_URL = re.compile(r"""\burl\s*=\s*"(https?://[^"]+)\"""")
_XML_TITLE = re.compile(r"<title>([^<]*)</title>")
#: Cards are searched only this far: a hostile card must not make reading slow.
_CARD_LIMIT = 64 * 1024
_MEDIA_KINDS = {"record": "voice", "video": "video"}
_SEND_MEDIA = {"voice": "record", "record": "record", "audio": "record", "video": "video"}


class BadMessage(ValueError):
    """A OneBot message that cannot be read; the text names the segment and field."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message as OneBot segments to send, and one sentence per thing QQ cannot show."""

    segments: tuple[dict[str, Any], ...]
    lost: tuple[str, ...] = ()

    def as_list(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self.segments]


# ---------------------------------------------------------------------------
# CQ codes


def escape(text: str, *, comma: bool = False) -> str:
    """``text`` as it must appear in a CQ string; ``comma`` for a parameter value."""
    out = text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return out.replace(",", "&#44;") if comma else out


def unescape(text: str) -> str:
    """The text a CQ string's escaped ``text`` stands for (one pass, see module doc)."""
    return _ENTITY.sub(lambda m: _UNESCAPED[m.group(1)], text)


def parse_cq(raw: str) -> list[dict[str, Any]]:
    """The segment array a CQ-code string stands for; text runs become text segments."""
    segments: list[dict[str, Any]] = []
    position = 0
    for match in _CQ_CODE.finditer(raw):
        if match.start() > position:
            segments.append(_text(unescape(raw[position : match.start()])))
        data: dict[str, Any] = {}
        for pair in match["params"].split(",")[1:]:
            key, _, value = pair.partition("=")
            data[key] = unescape(value)
        segments.append({"type": match["type"], "data": data})
        position = match.end()
    if position < len(raw):
        segments.append(_text(unescape(raw[position:])))
    return segments


def to_cq(segments: Iterable[Mapping[str, Any]]) -> str:
    """The CQ-code string of a segment array (the inverse of ``parse_cq``).

    Parameter values must be scalars; a nested value has no CQ form and is refused
    rather than flattened into something the bridge would misread.
    """
    parts: list[str] = []
    for index, segment in enumerate(segments):
        kind, data = _kind_and_data(segment, index)
        if kind == "text":
            parts.append(escape(_required(data, "text", kind, index)))
            continue
        if not _KEY.match(kind):
            raise BadMessage(f"segment {index}: type {kind!r} cannot be written as a CQ code")
        code = [f"[CQ:{kind}"]
        for key, value in data.items():
            if not isinstance(key, str) or not _KEY.match(key):
                raise BadMessage(f"segment {index}: key {key!r} cannot be written in a CQ code")
            code.append(f",{key}={escape(_scalar(value, key, kind, index), comma=True)}")
        parts.append("".join(code) + "]")
    return "".join(parts)


def _scalar(value: Any, key: str, kind: str, index: int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadMessage(f"segment {index} ({kind}): {key} is not a scalar")


# ---------------------------------------------------------------------------
# OneBot → segments


def from_platform(message: Any) -> Message:
    """The segments of a OneBot message: an array, or a CQ-code string."""
    if isinstance(message, str):
        items: list[Any] = parse_cq(message)
    elif isinstance(message, list):
        items = message
    else:
        raise BadMessage(f"message is {type(message).__name__}, not a segment array or string")
    segments: list[Segment] = []
    for index, item in enumerate(items):
        segment = _segment(item, index)
        if isinstance(segment, Text) and segments and isinstance(segments[-1], Text):
            segments[-1] = Text(segments[-1].text + segment.text)
        elif not (isinstance(segment, Text) and not segment.text):
            segments.append(segment)
    return Message(tuple(segments))


def _kind_and_data(item: Any, index: int) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(item, Mapping):
        raise BadMessage(f"segment {index} is {type(item).__name__}, not an object")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadMessage(f"segment {index} has no type")
    data = item.get("data")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise BadMessage(f"segment {index} ({kind}): data is not an object")
    return kind, data


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    """A field as text, or None when absent or empty; numbers count as text."""
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) and value else None


def _required(data: Mapping[str, Any], key: str, kind: str, index: int) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadMessage(f"segment {index} ({kind}): {key} is missing or not text")
    return value


def _size(data: Mapping[str, Any]) -> int | None:
    value = _optional(data, "file_size")
    return int(value) if value is not None and value.isdigit() else None


def _segment(item: Any, index: int) -> Segment:
    kind, data = _kind_and_data(item, index)
    if kind == "text":
        return Text(_required(data, "text", kind, index))
    if kind == "at":
        qq = _required(data, "qq", kind, index)
        if qq == "all":
            return Mention(everyone=True)
        if not qq:
            raise BadMessage(f"segment {index} (at): qq is empty")
        return Mention(user=qq, name=_optional(data, "name"))
    if kind == "reply":
        target = _required(data, "id", kind, index)
        if not target:
            raise BadMessage(f"segment {index} (reply): id is empty")
        return Quote(target)
    if kind == "face":
        face_id = _required(data, "id", kind, index)
        return Face(face_id=face_id, name=_face_name(data))
    if kind == "image":
        url, file = _optional(data, "url"), _optional(data, "file")
        if url is None and file is None:
            raise BadMessage(f"segment {index} (image): neither file nor url")
        return Image(url=url, file_id=file, size=_size(data))
    if kind in _MEDIA_KINDS:
        return Media(
            media=_MEDIA_KINDS[kind], url=_optional(data, "url"), file_id=_optional(data, "file")
        )
    if kind == "file":
        name = _optional(data, "name") or _optional(data, "file")
        if name is None:
            raise BadMessage(f"segment {index} (file): neither name nor file")
        return File(
            name=name,
            url=_optional(data, "url"),
            file_id=_optional(data, "file_id") or _optional(data, "file"),
            size=_size(data),
        )
    if kind == "share":
        url = _optional(data, "url")
        if url is not None and _HTTP_URL.match(url):
            return Link(url=url, title=_optional(data, "title"))
        return Media(media="share")
    if kind == "json":
        return _json_card(_optional(data, "data"))
    if kind == "xml":
        return _xml_card(_optional(data, "data"))
    if kind == "mface":
        return Sticker(sticker_id=_optional(data, "emoji_id"), emoji=_optional(data, "summary"))
    return Media(media=kind, url=_optional(data, "url"), file_id=_optional(data, "file"))


def _face_name(data: Mapping[str, Any]) -> str | None:
    """The face's name where the bridge sends one (NapCat: ``raw.faceText`` "/斜眼笑")."""
    raw = data.get("raw")
    if isinstance(raw, Mapping):
        text = raw.get("faceText")
        if isinstance(text, str) and text.strip("/ "):
            return text.strip("/ ")
    return None


def _json_card(raw: str | None) -> Segment:
    """A ``json`` card (mini-program or link share): a Link when it names an http(s) URL."""
    if raw is None or len(raw) > _CARD_LIMIT:
        return Media(media="json")
    try:
        card = json.loads(raw)
    except (ValueError, RecursionError):
        return Media(media="json")
    if not isinstance(card, Mapping):
        return Media(media="json")
    meta = card.get("meta")
    details = (
        [v for v in meta.values() if isinstance(v, Mapping)] if isinstance(meta, Mapping) else []
    )
    for detail in details:
        for key in ("jumpUrl", "qqdocurl", "url"):
            url = detail.get(key)
            if isinstance(url, str) and _HTTP_URL.match(url):
                title = detail.get("title") or detail.get("desc") or card.get("prompt")
                return Link(url=url, title=title if isinstance(title, str) and title else None)
    return Media(media="json")


def _xml_card(raw: str | None) -> Segment:
    """An ``xml`` card: a Link when its ``<msg>`` carries an http(s) ``url``."""
    if raw is None:
        return Media(media="xml")
    head = raw[:_CARD_LIMIT]
    url = _XML_URL.search(head)
    if url is None:
        return Media(media="xml")
    title = _XML_TITLE.search(head)
    name = html.unescape(title.group(1)).strip() if title else ""
    return Link(url=html.unescape(url.group(1)), title=name or None)


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "data": {"text": text}}


# ---------------------------------------------------------------------------
# segments → OneBot


def to_platform(message: Message) -> Rendered:
    """The OneBot segment array for ``message``; what could not be shown is in ``lost``."""
    reply: dict[str, Any] | None = None
    out: list[dict[str, Any]] = []
    lost: list[str] = []
    for segment in message:
        if isinstance(segment, Quote):
            if reply is None:
                reply = {"type": "reply", "data": {"id": segment.message_id}}
            else:
                lost.append("a QQ message replies to one message only; another quote was dropped")
            continue
        converted = _outgoing(segment)
        if converted is not None:
            out.append(converted)
            continue
        why = _why_text(segment)
        if why is not None:
            lost.append(why)
        text = segment.plain()
        if not text:
            continue
        if out and out[-1]["type"] == "text":
            out[-1] = _text(out[-1]["data"]["text"] + text)
        else:
            out.append(_text(text))
    if reply is not None:
        out.insert(0, reply)
    return Rendered(segments=tuple(out), lost=tuple(lost))


def _outgoing(segment: Segment) -> dict[str, Any] | None:
    """The OneBot segment for ``segment``, or None when it can only go as text."""
    if isinstance(segment, Text):
        return _text(segment.text) if segment.text else None
    if isinstance(segment, Mention):
        if segment.everyone:
            return {"type": "at", "data": {"qq": "all"}}
        return {"type": "at", "data": {"qq": segment.user}} if segment.user else None
    if isinstance(segment, Face):
        return (
            {"type": "face", "data": {"id": segment.face_id}} if segment.face_id.isdigit() else None
        )
    if isinstance(segment, Image):
        source = segment.url or segment.file_id
        return {"type": "image", "data": {"file": source}} if source else None
    if isinstance(segment, File):
        source = segment.url or segment.file_id
        return {"type": "file", "data": {"file": source, "name": segment.name}} if source else None
    if isinstance(segment, Media):
        kind = _SEND_MEDIA.get(segment.media)
        source = segment.url or segment.file_id
        return {"type": kind, "data": {"file": source}} if kind and source else None
    return None


def _why_text(segment: Segment) -> str | None:
    """Why a segment went out as text, or None when text says all it had to say."""
    if isinstance(segment, Text | Link):
        return None
    if isinstance(segment, Mention):
        return "a mention without a QQ id cannot notify anyone; sent as text"
    if isinstance(segment, Face):
        return f"face {segment.face_id!r} is not a QQ face id; sent as text"
    if isinstance(segment, Sticker):
        return "stickers are not supported; sent as text"
    if isinstance(segment, Poll):
        return "polls are not supported; sent as text"
    if isinstance(segment, Image):
        return "an image without a URL or file cannot be sent; sent as text"
    if isinstance(segment, File):
        return f"file {segment.name!r} has no URL or file to send; sent as text"
    if isinstance(segment, Media):
        return f"{segment.media} without a URL or file, or of a kind QQ cannot send; sent as text"
    return f"{segment.kind} segments are not supported; sent as text"
