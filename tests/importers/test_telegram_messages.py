"""Exported Telegram messages, with the export's quirks, turned into Events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shequn.adapters.importers.telegram.messages import BadMessage, Chat, events_of
from shequn.core import EventType, Image, Link, Media, Poll, Quote, Sticker, Text

CHAT = Chat(id="1234567890", name="跑步交流群")
T = 1767225600  # 2026-01-01 00:00:00 UTC


def msg(**fields):
    return {
        "id": 7,
        "type": "message",
        "date": "2026-01-01T08:00:00",
        "date_unixtime": str(T),
    } | fields


def test_a_plain_message() -> None:
    (event,) = events_of(msg(**{"from": "小明", "from_id": "user42", "text": "早"}), CHAT)
    assert event.type is EventType.MESSAGE
    assert (event.source, event.source_id) == ("telegram-export:1234567890", "7")
    assert (event.group, event.group_name, event.actor, event.actor_name) == (
        "1234567890",
        "跑步交流群",
        "user42",
        "小明",
    )
    assert event.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert event.text == "早"


def test_time_comes_from_unixtime_never_from_the_zoneless_date() -> None:
    (event,) = events_of(msg(date="2030-12-31T23:59:59", text="x", from_id="user1"), CHAT)
    assert event.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(BadMessage, match="date_unixtime"):
        list(events_of(msg(date_unixtime=None, text="x"), CHAT))


def test_deleted_accounts_and_channels_keep_their_ids() -> None:
    (deleted,) = events_of(msg(**{"from": None, "from_id": "user9", "text": "hi"}), CHAT)
    assert deleted.actor == "user9" and deleted.actor_name is None
    (channel,) = events_of(msg(**{"from": "频道", "from_id": "channel77", "text": "公告"}), CHAT)
    assert channel.actor == "channel77"


def test_attachments_and_replies_become_segments() -> None:
    (event,) = events_of(
        msg(
            from_id="user1",
            reply_to_message_id=5,
            photo="photos/photo_1.jpg",
            text=["看", {"type": "link", "text": "https://example.com"}],
        ),
        CHAT,
    )
    assert event.message is not None
    assert event.message.segments == (
        Quote("1234567890:5"),
        Image(name="photos/photo_1.jpg"),
        Text("看"),
        Link(url="https://example.com"),
    )
    (sticker,) = events_of(
        msg(from_id="u", media_type="sticker", sticker_emoji="😀", text=""), CHAT
    )
    assert sticker.message.segments == (Sticker(emoji="😀"),)
    (voice,) = events_of(msg(from_id="u", media_type="voice_message", text=""), CHAT)
    assert voice.message.segments == (Media(media="voice_message"),)
    poll = {"question": "周末跑吗？", "answers": [{"text": "跑", "voters": 3}, {"text": "不跑"}]}
    (vote,) = events_of(msg(from_id="u", poll=poll, text=""), CHAT)
    assert vote.message.segments == (Poll("周末跑吗？", ("跑", "不跑")),)


def test_reactions_become_reaction_events() -> None:
    reactions = [
        {
            "type": "emoji",
            "count": 2,
            "emoji": "👍",
            "recent": [
                {"from": "A", "from_id": "user1", "date_unixtime": str(T + 60)},
                {"from": "B", "from_id": "user2"},
            ],
        }
    ]
    message, *reacted = events_of(msg(from_id="user3", text="好", reactions=reactions), CHAT)
    assert message.type is EventType.MESSAGE
    assert [(e.type, e.actor, e.payload["emoji"]) for e in reacted] == [
        (EventType.REACTION, "user1", "👍"),
        (EventType.REACTION, "user2", "👍"),
    ]
    assert reacted[0].payload["target"] == "1234567890:7"
    assert reacted[0].occurred_at.timestamp() == T + 60


def service(action: str, **fields):
    return msg(type="service", action=action, actor="群主", actor_id="user1", text="") | fields


def test_invited_members_join_by_name() -> None:
    joins = list(events_of(service("invite_members", members=["小红", "小刚"]), CHAT))
    assert [(e.type, e.actor, e.actor_name) for e in joins] == [
        (EventType.JOIN, "name:小红", "小红"),
        (EventType.JOIN, "name:小刚", "小刚"),
    ]
    assert joins[0].payload == {"via": "invite", "inviter": "user1"}
    assert len({e.source_id for e in joins}) == 2


def test_joining_by_link_or_request() -> None:
    (by_link,) = events_of(service("join_group_by_link", inviter="群主"), CHAT)
    assert (by_link.type, by_link.actor, by_link.payload["via"]) == (
        EventType.JOIN,
        "user1",
        "link",
    )
    (by_request,) = events_of(service("join_group_by_request"), CHAT)
    assert by_request.payload["via"] == "request"


def test_remove_members_is_a_leave_or_a_kick() -> None:
    (left,) = events_of(service("remove_members", members=["群主"]), CHAT)
    assert (left.type, left.actor, left.payload) == (EventType.LEAVE, "user1", {})
    (kicked,) = events_of(service("remove_members", members=["广告哥"]), CHAT)
    assert (kicked.actor, kicked.payload) == ("name:广告哥", {"kicked_by": "user1"})


def test_other_service_messages_are_kept_as_custom_events() -> None:
    (pin,) = events_of(service("pin_message", message_id=3), CHAT)
    assert (pin.type, pin.payload) == (EventType.CUSTOM, {"action": "pin_message", "message_id": 3})
    (migrated,) = events_of(service("migrate_to_supergroup"), CHAT)
    assert migrated.payload["action"] == "migrate_to_supergroup"


def test_unsupported_messages_are_skipped_and_unknown_types_refused() -> None:
    assert list(events_of({"id": 1, "type": "unsupported"}, CHAT)) == []
    with pytest.raises(BadMessage, match="unknown type 'weird'"):
        list(events_of(msg(type="weird"), CHAT))
    with pytest.raises(BadMessage, match="without an id"):
        list(events_of({"type": "message", "date_unixtime": str(T)}, CHAT))


def test_a_small_history_ingests_once_on_both_databases(app) -> None:
    history = [
        service("create_group", id=1, members=["群主", "小红"]),
        service("join_group_by_link", id=2, actor="小刚", actor_id="user3"),
        msg(id=3, **{"from": "小刚", "from_id": "user3", "text": "大家好"}),
        msg(id=4, **{"from": "小红", "from_id": "user2", "text": "欢迎", "reply_to_message_id": 3}),
        service("remove_members", id=5, members=["小刚"]),
        {"id": 6, "type": "unsupported"},
    ]
    events = [e for m in history for e in events_of(m, CHAT)]
    ingestor = app.ingestor(app.community("tg"))
    assert ingestor.ingest_many(events).stored == 6
    assert ingestor.ingest_many(events).stored == 0
