"""A platform-neutral message: an ordered tuple of typed segments.

Adapters convert their platform's format (Telegram entities, OneBot arrays,
CQ codes, Matrix HTML) to and from this; features only ever see segments, so
a rule written once works on every platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    kind: ClassVar[str] = "text"

    def plain(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Mention:
    """An @-mention of an account (``user`` is its platform id) or of everyone."""

    user: str | None = None
    name: str | None = None
    everyone: bool = False
    kind: ClassVar[str] = "mention"

    def plain(self) -> str:
        return "@all" if self.everyone else f"@{self.name or self.user or ''}"


@dataclass(frozen=True, slots=True)
class Image:
    url: str | None = None
    file_id: str | None = None
    name: str | None = None
    size: int | None = None
    kind: ClassVar[str] = "image"

    def plain(self) -> str:
        return "[image]"


@dataclass(frozen=True, slots=True)
class File:
    name: str
    url: str | None = None
    file_id: str | None = None
    size: int | None = None
    kind: ClassVar[str] = "file"

    def plain(self) -> str:
        return f"[file {self.name}]"


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    title: str | None = None
    kind: ClassVar[str] = "link"

    def plain(self) -> str:
        return self.url if not self.title else f"{self.title} {self.url}"


@dataclass(frozen=True, slots=True)
class Sticker:
    sticker_id: str | None = None
    emoji: str | None = None
    kind: ClassVar[str] = "sticker"

    def plain(self) -> str:
        return self.emoji or "[sticker]"


@dataclass(frozen=True, slots=True)
class Face:
    """A platform's built-in emoticon (QQ face, WeChat [微笑]), not a Unicode emoji."""

    face_id: str
    name: str | None = None
    kind: ClassVar[str] = "face"

    def plain(self) -> str:
        return f"[{self.name or self.face_id}]"


@dataclass(frozen=True, slots=True)
class Media:
    """Voice, video and other attachments a feature only needs to count."""

    media: str
    url: str | None = None
    file_id: str | None = None
    duration_s: float | None = None
    kind: ClassVar[str] = "media"

    def plain(self) -> str:
        return f"[{self.media}]"


@dataclass(frozen=True, slots=True)
class Quote:
    """A reply to another message, named by that message's platform id."""

    message_id: str
    kind: ClassVar[str] = "quote"

    def plain(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class Poll:
    question: str
    options: tuple[str, ...] = ()
    kind: ClassVar[str] = "poll"

    def plain(self) -> str:
        return f"[poll {self.question}]"


Segment = Text | Mention | Image | File | Link | Sticker | Face | Media | Quote | Poll

_KINDS: dict[str, type] = {
    cls.kind: cls for cls in (Text, Mention, Image, File, Link, Sticker, Face, Media, Quote, Poll)
}
#: Field names per segment class, computed once: ``dataclasses.fields`` and
#: ``asdict`` are too slow for the ingest path, which serialises every message.
FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in _KINDS.values()
}


def segment_to_dict(segment: Segment) -> dict[str, Any]:
    """The JSON form of a segment: its kind and every field that is set."""
    out: dict[str, Any] = {"kind": segment.kind}
    for name in FIELD_NAMES[type(segment)]:
        value = getattr(segment, name)
        if value is None or value is False or value == ():
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def segment_from_dict(data: Mapping[str, Any]) -> Segment:
    """Rebuild a segment from its dict form; unknown keys are refused, not dropped."""
    kind = data.get("kind")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown segment kind {kind!r}")
    names = {f.name for f in fields(cls)}
    extra = set(data) - names - {"kind"}
    if extra:
        raise ValueError(f"segment {kind!r} has unknown fields {sorted(extra)}")
    values = {k: v for k, v in data.items() if k != "kind"}
    if cls is Poll and "options" in values:
        values["options"] = tuple(values["options"])
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"segment {kind!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Message:
    segments: tuple[Segment, ...] = ()

    @classmethod
    def of(cls, *parts: Segment | str) -> Message:
        """Build a message; plain strings become text segments."""
        return cls(tuple(Text(p) if isinstance(p, str) else p for p in parts))

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def __add__(self, other: Message | Segment | str) -> Message:
        if isinstance(other, Message):
            return Message(self.segments + other.segments)
        return Message(self.segments + Message.of(other).segments)

    def __bool__(self) -> bool:
        return bool(self.segments)

    def plain_text(self) -> str:
        """What a reader would see as text: the input of keyword rules and analytics."""
        return "".join(s.plain() for s in self.segments)

    def of_kind(self, kind: type[Segment]) -> list[Segment]:
        return [s for s in self.segments if isinstance(s, kind)]

    def to_list(self) -> list[dict[str, Any]]:
        return [segment_to_dict(s) for s in self.segments]

    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]]) -> Message:
        return cls(tuple(segment_from_dict(i) for i in items))
