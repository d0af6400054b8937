"""Segments ↔ the content of a WeCom mass message (企业群发) or welcome template.

WeCom's content is one text plus up to nine attachments, each one of ``image``
(``media_id`` from a media upload, or a ``pic_url`` WeCom hosts), ``link`` (a card
with a title), ``miniprogram``, ``video`` or ``file``::

    {"text": {"content": "…"},
     "attachments": [{"msgtype": "image", "image": {"media_id": "…"}}, …]}

There are no mentions, replies, stickers or polls in it: those segments are sent
as their plain text and named in ``Rendered.lost``. Built-in faces (``[微笑]``)
stay as text, which is how WeChat writes them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shequn.core import File, Image, Link, Media, Mention, Message, Poll, Quote, Sticker, Text
from shequn.core.message import Face, Segment

#: WeCom takes at most nine attachments per message.
MAX_ATTACHMENTS = 9


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message in WeCom's shape, and one sentence per thing WeCom could not show."""

    payload: Mapping[str, Any]
    lost: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        text = self.payload.get("text")
        return text["content"] if isinstance(text, Mapping) else ""

    @property
    def empty(self) -> bool:
        return not self.text and not self.payload.get("attachments")


def _attachment(segment: Segment) -> dict[str, Any] | None:
    """The attachment a segment becomes, or None when it can only be text."""
    if isinstance(segment, Image):
        if segment.file_id:
            return {"msgtype": "image", "image": {"media_id": segment.file_id}}
        if segment.url:
            return {"msgtype": "image", "image": {"pic_url": segment.url}}
        return None
    if isinstance(segment, Link) and segment.title:
        return {"msgtype": "link", "link": {"title": segment.title, "url": segment.url}}
    if isinstance(segment, File) and segment.file_id:
        return {"msgtype": "file", "file": {"media_id": segment.file_id}}
    if isinstance(segment, Media) and segment.media == "video" and segment.file_id:
        return {"msgtype": "video", "video": {"media_id": segment.file_id}}
    return None


def _why_text(segment: Segment) -> str | None:
    """Why a segment went out as text, or None when text is all it ever was."""
    if isinstance(segment, Text | Face) or (isinstance(segment, Link) and not segment.title):
        return None
    if isinstance(segment, Mention):
        return "mentions cannot notify anyone in a WeCom mass message; sent as text"
    if isinstance(segment, Quote):
        return "WeCom mass messages cannot reply to a message; sent without the quote"
    if isinstance(segment, Sticker):
        return "stickers are not supported; sent as text"
    if isinstance(segment, Poll):
        return "polls are not supported; sent as text"
    if isinstance(segment, Image):
        return "an image without a media id or URL cannot be attached; sent as text"
    if isinstance(segment, File):
        return f"file {segment.name!r} has no WeCom media id to attach; sent as text"
    if isinstance(segment, Media):
        if segment.media == "video":
            return "a video without a WeCom media id cannot be attached; sent as text"
        return f"{segment.media} attachments are not supported; sent as text"
    return f"{segment.kind} segments are not supported; sent as text"


def to_platform(message: Message) -> Rendered:
    """The WeCom content for ``message``; what could not be shown is in ``lost``."""
    text: list[str] = []
    attachments: list[dict[str, Any]] = []
    lost: list[str] = []
    for segment in message:
        attachment = _attachment(segment)
        if attachment is not None and len(attachments) < MAX_ATTACHMENTS:
            attachments.append(attachment)
            continue
        if attachment is not None:
            lost.append(
                f"WeCom takes at most {MAX_ATTACHMENTS} attachments; "
                f"the {segment.kind} after them was sent as text"
            )
        else:
            why = _why_text(segment)
            if why is not None:
                lost.append(why)
        text.append(segment.url if isinstance(segment, Link) else segment.plain())
    payload: dict[str, Any] = {}
    content = "".join(text)
    if content.strip():
        payload["text"] = {"content": content}
    if attachments:
        payload["attachments"] = attachments
    return Rendered(payload=payload, lost=tuple(lost))


def from_platform(payload: Mapping[str, Any]) -> Message:
    """The segments of WeCom content (a mass message or a welcome template).

    Attachment kinds WeCom may add later become ``Media`` segments named after
    their ``msgtype`` rather than vanishing.
    """
    segments: list[Segment] = []
    text = payload.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("content"), str) and text["content"]:
        segments.append(Text(text["content"]))
    attachments = payload.get("attachments") or []
    if not isinstance(attachments, list):
        raise ValueError("attachments is not a list")
    for item in attachments:
        if not isinstance(item, Mapping) or not isinstance(item.get("msgtype"), str):
            raise ValueError(f"attachment {item!r} has no msgtype")
        segments.append(_segment(item["msgtype"], item.get(item["msgtype"])))
    return Message(tuple(segments))


def _segment(msgtype: str, body: Any) -> Segment:
    body = body if isinstance(body, Mapping) else {}

    def text(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) and value else None

    if msgtype == "image" and (text("media_id") or text("pic_url")):
        return Image(file_id=text("media_id"), url=None if text("media_id") else text("pic_url"))
    if msgtype == "link" and text("url"):
        return Link(url=text("url") or "", title=text("title"))
    if msgtype == "file" and text("media_id"):
        return File(name=text("media_id") or "", file_id=text("media_id"))
    if msgtype == "video" and text("media_id"):
        return Media(media="video", file_id=text("media_id"))
    return Media(media=msgtype, file_id=text("media_id") or text("pic_media_id"))
