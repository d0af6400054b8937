"""One simulated event as the Telegram export message that records it. Pure but for ``rng``.

Simulated ids are ``<group>:<n>`` with ``n`` unique in the group, so ``n`` is
the Telegram message id and replies point at it. Each message comes with the
number of events the importer makes of it, which is what the benchmark checks
the import against: one per chat or service message, one per named member of a
join or leave, one per distinct reactor and emoji, none for ``unsupported``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from random import Random
from typing import Any

from shequn.core import Event, EventType, File, Image, Link, Media, Mention, Poll, Quote, Sticker
from shequn.core.message import Face, Segment, Text

#: Ids of the pin notices that follow announcements: above every simulated id.
PIN_IDS = 1_000_000_000
#: Share of chat messages the export cannot show, and of those edited later.
UNSUPPORTED, EDITED = 0.002, 0.04

Exported = dict[str, Any]


@dataclass
class Converted:
    """The messages an event becomes, each with the events it will make on import;
    ``reaction_events`` counts a reaction added to a message already held."""

    messages: list[tuple[Exported, int]] = field(default_factory=list)
    reaction_events: int = 0


def _account(sim_id: str | None) -> str | None:
    """Telegram writes account ids as ``user<number>``."""
    if sim_id is None:
        return None
    return "user" + sim_id[1:] if sim_id.startswith("u") else sim_id


def _number(sim_id: str) -> int:
    return int(sim_id.rpartition(":")[2].lstrip("u") or 0)


def _stamp(ts: float, tz: tzinfo) -> tuple[str, str]:
    """``date`` (local, no zone, as Telegram writes it) and ``date_unixtime``."""
    whole = int(ts)
    return datetime.fromtimestamp(whole, tz).strftime("%Y-%m-%dT%H:%M:%S"), str(whole)


def _head(mid: int, kind: str, ts: float, tz: tzinfo) -> Exported:
    local, unix = _stamp(ts, tz)
    return {"id": mid, "type": kind, "date": local, "date_unixtime": unix}


def _piece(seg: Segment) -> str | dict[str, Any] | None:
    kind = type(seg)
    if kind is Text:
        return seg.text  # type: ignore[union-attr]
    if kind is Face:
        return f"[{seg.name or seg.face_id}]"  # type: ignore[union-attr]
    if isinstance(seg, Mention):
        if seg.everyone:
            return {"type": "mention", "text": "@all"}
        if seg.user:
            name = seg.name or seg.user
            return {"type": "mention_name", "text": name, "user_id": _number(seg.user)}
        return {"type": "mention", "text": f"@{seg.name}"}
    if isinstance(seg, Link):
        if seg.title:
            return {"type": "text_link", "text": seg.title, "href": seg.url}
        return {"type": "link", "text": seg.url}
    return None


def _text(segments: tuple[Segment, ...]) -> tuple[str | list[Any], list[dict[str, Any]]]:
    """``text`` and ``text_entities``: a string when plain, else strings and entities."""
    parts: list[str | dict[str, Any]] = []
    for seg in segments:
        piece = _piece(seg)
        if piece is None or piece == "":
            continue
        if isinstance(piece, str) and parts and isinstance(parts[-1], str):
            parts[-1] += piece
            continue
        parts.append(piece)
    if all(isinstance(p, str) for p in parts):
        text = "".join(parts)  # type: ignore[arg-type]
        return text, [{"type": "plain", "text": text}] if text else []
    entities = [{"type": "plain", "text": p} if isinstance(p, str) else p for p in parts]
    return parts, entities


def _attach(msg: Exported, seg: Segment, n: int, rng: Random) -> None:
    if isinstance(seg, Quote):
        msg["reply_to_message_id"] = _number(seg.message_id)
    elif isinstance(seg, Image):
        when = datetime.strptime(msg["date"], "%Y-%m-%dT%H:%M:%S").strftime("%d-%m-%Y_%H-%M-%S")
        msg["photo"] = f"photos/photo_{n}@{when}.jpg"
        msg["photo_file_size"] = rng.randrange(40_000, 400_000)
        msg["width"], msg["height"] = 1280, 960
    elif isinstance(seg, Sticker):
        name = seg.sticker_id or "sticker"
        msg["file"] = f"stickers/{name}.webp"
        msg["file_name"] = "sticker.webp"
        msg["file_size"] = rng.randrange(8_000, 60_000)
        msg["thumbnail"] = f"stickers/{name}.webp_thumb.jpg"
        msg["media_type"] = "sticker"
        msg["sticker_emoji"] = seg.emoji
        msg["width"], msg["height"] = 512, 512
    elif isinstance(seg, Media):
        msg["file"] = f"files/{seg.media}_{n}"
        msg["media_type"] = seg.media
    elif isinstance(seg, File):
        msg["file"], msg["file_name"] = f"files/{seg.name}", seg.name
    elif isinstance(seg, Poll):
        answers = [{"text": o, "voters": 0, "chosen": False} for o in seg.options]
        msg["poll"] = {"question": seg.question, "closed": False, "answers": answers}


def _chat_message(n: int, event: Event, ts: float, tz: tzinfo, rng: Random) -> Converted:
    if rng.random() < UNSUPPORTED:
        return Converted([(_head(n, "unsupported", ts, tz), 0)])
    msg = _head(n, "message", ts, tz)
    if rng.random() < EDITED:
        msg["edited"], msg["edited_unixtime"] = _stamp(ts + rng.uniform(5, 600), tz)
    msg["from"], msg["from_id"] = event.actor_name, _account(event.actor)
    segments = event.message.segments if event.message is not None else ()
    for seg in segments:
        _attach(msg, seg, n, rng)
    msg["text"], msg["text_entities"] = _text(segments)
    out = [(msg, 1)]
    if any(isinstance(s, Mention) and s.everyone for s in segments):
        pin = _head(PIN_IDS + n, "service", ts + 1, tz)
        pin |= {"actor": msg["from"], "actor_id": msg["from_id"], "action": "pin_message"}
        pin |= {"message_id": n, "text": "", "text_entities": []}
        out.append((pin, 1))
    return Converted(out)


def _react(event: Event, ts: float, tz: tzinfo, held: dict[int, Exported]) -> int:
    """Add a reaction to its message if it is still held; 1 if that makes a new event."""
    target = held.get(_number(str(event.payload.get("target", ""))))
    who = _account(event.actor)
    if target is None or target["type"] != "message" or who is None:
        return 0
    emoji = str(event.payload.get("emoji"))
    reactions = target.setdefault("reactions", [])
    entry = next((r for r in reactions if r["emoji"] == emoji), None)
    if entry is None:
        entry = {"type": "emoji", "count": 0, "emoji": emoji, "recent": []}
        reactions.append(entry)
    if any(r["from_id"] == who for r in entry["recent"]):
        return 0
    local, unix = _stamp(ts, tz)
    entry["count"] += 1
    entry["recent"].append(
        {"from": event.actor_name, "from_id": who, "date": local, "date_unixtime": unix}
    )
    return 1


def _membership(n: int, event: Event, ts: float, tz: tzinfo, names: dict[str, str]) -> Exported:
    msg = _head(n, "service", ts, tz)
    name, me, payload = event.actor_name, _account(event.actor), event.payload
    by = payload.get("inviter") if event.type is EventType.JOIN else payload.get("kicked_by")
    if event.type is EventType.LEAVE:
        actor = (names.get(by), _account(by)) if by else (name, me)
        msg |= {"actor": actor[0], "actor_id": actor[1], "action": "remove_members"}
        msg["members"] = [name]
    elif payload.get("via") == "create":
        msg |= {"actor": name, "actor_id": me, "action": "create_group"}
        msg |= {"title": event.group_name, "members": [name]}
    elif payload.get("via") == "invite" and by:
        msg |= {"actor": names.get(by), "actor_id": _account(by), "action": "invite_members"}
        msg["members"] = [name]
    else:
        by_request = payload.get("via") == "request"
        action = "join_group_by_request" if by_request else "join_group_by_link"
        msg |= {"actor": name, "actor_id": me, "action": action}
    msg["text"], msg["text_entities"] = "", []
    return msg


def _checkin(n: int, event: Event, ts: float, tz: tzinfo) -> Exported:
    msg = _head(n, "message", ts, tz)
    msg["from"], msg["from_id"] = event.actor_name, _account(event.actor)
    tag = {"type": "hashtag", "text": f"#{event.payload.get('streak_key') or '打卡'}"}
    msg["text"] = [tag, " 今日已打卡 ✅"]
    msg["text_entities"] = [tag, {"type": "plain", "text": " 今日已打卡 ✅"}]
    return msg


def to_telegram(
    event: Event,
    ts: float,
    names: dict[str, str],
    tz: tzinfo,
    rng: Random,
    held: dict[int, Exported],
) -> Converted:
    """The export messages for ``event`` (at POSIX time ``ts``); ``names`` maps account
    ids to nicknames, ``held`` the chat's messages still open to reactions, by id."""
    n = _number(event.source_id)
    kind = event.type
    if kind is EventType.MESSAGE:
        return _chat_message(n, event, ts, tz, rng)
    if kind is EventType.REACTION:
        return Converted(reaction_events=_react(event, ts, tz, held))
    if kind in (EventType.JOIN, EventType.LEAVE) and event.actor:
        return Converted([(_membership(n, event, ts, tz, names), 1)])
    if kind is EventType.CHECKIN:
        return Converted([(_checkin(n, event, ts, tz), 1)])
    return Converted()
