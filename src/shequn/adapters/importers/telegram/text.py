"""Telegram's rich text, flattened into shequn segments. Pure.

An export writes a message's ``text`` either as a plain string or as a list
mixing strings and entity objects (``{"type": "link", "text": …}``);
``text_entities`` is always such a list. Formatting (bold, code, spoilers…)
carries no meaning for community operations and becomes plain text; what does
carry meaning — mentions, links, hashtags kept as text — becomes its segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shequn.core import Link, Mention, Message, Segment, Text


def _entity(item: Mapping[str, Any]) -> Segment:
    kind = item.get("type")
    text = str(item.get("text") or "")
    if kind == "mention" and text.startswith("@") and len(text) > 1:
        return Mention(name=text[1:])
    if kind == "mention_name":
        user = item.get("user_id")
        return Mention(user=f"user{user}" if user is not None else None, name=text or None)
    if kind == "link" and text:
        return Link(url=text)
    if kind == "text_link" and item.get("href"):
        return Link(url=str(item["href"]), title=text or None)
    return Text(text)


def flatten(text: str | Iterable[Any] | None) -> Message:
    """The segments of an exported ``text`` / ``text_entities`` value.

    Adjacent plain pieces are joined, empty ones dropped; anything that is
    neither a string nor an entity object is ignored rather than guessed at.
    """
    if text is None:
        return Message()
    if isinstance(text, str):  # the common case: one plain piece
        return Message((Text(text),)) if text else Message()
    items = text
    segments: list[Segment] = []
    for item in items:
        if isinstance(item, str):
            seg: Segment = Text(item)
        elif isinstance(item, Mapping):
            seg = _entity(item)
        else:
            continue
        if isinstance(seg, Text):
            if not seg.text:
                continue
            if segments and isinstance(segments[-1], Text):
                segments[-1] = Text(segments[-1].text + seg.text)
                continue
        segments.append(seg)
    return Message(tuple(segments))
