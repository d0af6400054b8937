"""Recorded Telegram updates, fed through the adapter's real aiogram dispatcher,
become exactly these Events (and reach ``events()`` too)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shequn.adapters.telegram import BadUpdate
from shequn.core import (
    Event,
    EventType,
    File,
    Image,
    Link,
    Media,
    Mention,
    Message,
    Poll,
    Quote,
    Sticker,
    Text,
)

pytestmark = pytest.mark.anyio

SOURCE = "telegram:7123456789"
GROUP = "-1001987654321"
GROUP_NAME = "上海读书会 · 周末共读"


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 6, 14, hour, minute, second, tzinfo=UTC)


def event(kind: EventType, update: str, when: datetime, **fields) -> Event:
    fields.setdefault("group", GROUP)
    fields.setdefault("group_name", GROUP_NAME)
    return Event(
        type=kind,
        platform="telegram",
        source=SOURCE,
        source_id=f"update:{update}",
        occurred_at=when,
        **fields,
    )


def message(update: str, when: datetime, actor: str, name: str, mid: str, *segments, **extra):
    return event(
        EventType.MESSAGE,
        update,
        when,
        actor=actor,
        actor_name=name,
        message=Message(tuple(segments)),
        payload={"message_id": mid, **extra},
    )


CASES = {
    "group_text_entities": [
        message(
            "804511201",
            at(2, 0),
            "1122334455",
            "老周",
            "1201",
            Text("🎉欢迎 "),
            Mention(name="lin_xiaowen"),
            Text(" 和 "),
            Mention(user="6023456789", name="陈大伟"),
            Text(" 加入！本周共读《三体》，资料见 "),
            Link(url="https://example.org/santi"),
            Text(" 或 "),
            Link(url="https://example.org/notes?id=42", title="点这里"),
            Text(" #读书会"),
        )
    ],
    "reply": [
        message(
            "804511205",
            at(2, 2, 40),
            "6023456789",
            "大伟 陈",
            "1205",
            Quote("1204"),
            Text("同意！👍 "),
            Mention(name="mia_zhou"),
            Text(" 你也来吗"),
        )
    ],
    "photo_caption": [
        message(
            "804511206",
            at(2, 10),
            "5012345678",
            "晓雯 林",
            "1206",
            Image(file_id="AgACAgUAAxkBAAIEtmZr_large", size=98214),
            Text("今天的读书笔记📒 by "),
            Mention(user="6023456789", name="陈大伟"),
        )
    ],
    "sticker": [
        message(
            "804511207",
            at(2, 11, 40),
            "5234567890",
            "Mia Zhou",
            "1207",
            Sticker(sticker_id="CAACAgIAAxkBAAIEt2Zr_sticker", emoji="😂"),
        )
    ],
    "poll": [
        message(
            "804511208",
            at(2, 13, 20),
            "1122334455",
            "老周",
            "1208",
            Poll(question="下周读哪本？", options=("《活着》", "《百年孤独》", "《球状闪电》")),
        )
    ],
    "document": [
        message(
            "804511209",
            at(2, 15),
            "1122334455",
            "老周",
            "1209",
            File(name="三体-第一部-讨论提纲.pdf", file_id="BQACAgUAAxkBAAIEuWZr_doc", size=482133),
            Text("讨论提纲已上传"),
        )
    ],
    "voice": [
        message(
            "804511210",
            at(2, 16, 40),
            "6023456789",
            "大伟 陈",
            "1210",
            Media(media="voice", file_id="AwACAgUAAxkBAAIEumZr_voice", duration_s=12.0),
        )
    ],
    # A topic's message points at the topic's first message: not a reply.
    "topic_message": [
        message(
            "804511224",
            at(2, 38, 20),
            "5234567890",
            "Mia Zhou",
            "3310",
            Text("面壁者计划太精彩了"),
            thread_id="3301",
        ).with_(group="-1001555000111", group_name="科幻迷俱乐部")
    ],
    # An anonymous admin speaks as the group; a location is counted as media.
    "anonymous_location": [
        message(
            "804511226",
            at(2, 41, 40),
            "-4012345678",
            "读书会筹备组",
            "77",
            Media(media="location"),
        ).with_(group="-4012345678", group_name="读书会筹备组")
    ],
    "new_chat_members": [
        event(
            EventType.JOIN,
            "804511211:7345678901",
            at(2, 18, 20),
            actor="7345678901",
            actor_name="孙悦",
            payload={"role": "member", "via": "invite", "inviter": "1122334455"},
        ),
        event(
            EventType.JOIN,
            "804511211:5234567890",
            at(2, 18, 20),
            actor="5234567890",
            actor_name="Mia Zhou",
            payload={"role": "member", "via": "invite", "inviter": "1122334455"},
        ),
    ],
    "new_chat_member_self": [
        event(
            EventType.JOIN,
            "804511212",
            at(2, 18, 30),
            actor="7345678901",
            actor_name="孙悦",
            payload={"role": "member", "via": "observed"},
        )
    ],
    "left_chat_member": [
        event(
            EventType.LEAVE,
            "804511213",
            at(2, 20),
            actor="5234567890",
            actor_name="Mia Zhou",
            payload={"kicked_by": "1122334455"},
        )
    ],
    "chat_member_invite_link": [
        event(
            EventType.JOIN,
            "804511214",
            at(2, 21, 40),
            actor="7345678901",
            actor_name="孙悦",
            payload={"role": "member", "via": "link", "entry_source": "公众号推文"},
        )
    ],
    "chat_member_kicked": [
        event(
            EventType.LEAVE,
            "804511215",
            at(2, 23, 20),
            actor="5234567890",
            actor_name="Mia Zhou",
            payload={"kicked_by": "1122334455"},
        )
    ],
    "chat_member_left": [
        event(
            EventType.LEAVE,
            "804511218",
            at(2, 28, 20),
            actor="7345678901",
            actor_name="孙悦",
            payload={},
        )
    ],
    "chat_member_promoted": [
        event(
            EventType.MEMBER_UPDATE,
            "804511216",
            at(2, 25),
            actor="5012345678",
            actor_name="晓雯 林",
            payload={"role": "admin", "title": "领读人", "restricted": False, "by": "1122334455"},
        )
    ],
    "chat_member_tag": [
        event(
            EventType.MEMBER_UPDATE,
            "804511219",
            at(2, 30),
            actor="6023456789",
            actor_name="大伟 陈",
            payload={"role": "member", "title": "字幕侠", "restricted": False, "by": "1122334455"},
        )
    ],
    "chat_member_approved": [
        event(
            EventType.JOIN,
            "804511217",
            at(2, 26, 40),
            actor="6023456789",
            actor_name="大伟 陈",
            payload={"role": "member", "via": "request", "approved_by": "1122334455"},
        )
    ],
    "my_chat_member_added": [
        event(
            EventType.JOIN,
            "804511220",
            at(2, 31, 40),
            actor="7123456789",
            actor_name="读书会机器人",
            payload={"role": "admin", "via": "invite", "inviter": "1122334455"},
        )
    ],
    "chat_join_request": [
        event(
            EventType.JOIN_REQUEST,
            "804511221",
            at(2, 33, 20),
            actor="6023456789",
            actor_name="大伟 陈",
            payload={
                "request_id": "6023456789",
                "answer": "在读研究生，喜欢科幻 🚀",
                "invite_link": "报名表链接",
            },
        )
    ],
    # Nothing for a private chat, an edit, or a service message.
    "private_message": [],
    "edited_message": [],
    "pinned_message": [],
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_update_becomes_exact_events(adapter, payload, name: str) -> None:
    produced = await adapter.feed(payload(f"updates/{name}"))
    assert produced == CASES[name]


async def test_fed_events_come_out_of_the_stream(adapter, payload) -> None:
    await adapter.feed(payload("updates/reply"))
    await adapter.feed(payload("updates/private_message"))
    await adapter.feed(payload("updates/chat_member_kicked"))
    await adapter.disconnect()
    streamed = [e async for e in adapter.events()]
    assert [e.source_id for e in streamed] == ["update:804511205", "update:804511215"]


async def test_redelivered_update_keeps_its_source_id(adapter, payload) -> None:
    first = await adapter.feed(payload("updates/group_text_entities"))
    again = await adapter.feed(payload("updates/group_text_entities"))
    assert first == again
    assert first[0].key == (SOURCE, "update:804511201")


async def test_entity_past_the_text_end_keeps_the_words(adapter, payload) -> None:
    update = payload("updates/reply")
    update["message"]["entities"] = [
        {"offset": 6, "length": 9, "type": "mention"},  # the real @mia_zhou
        {"offset": 12, "length": 400, "type": "text_link", "url": "https://evil.example"},
    ]
    (produced,) = await adapter.feed(update)
    assert produced.message == Message(
        (Quote("1204"), Text("同意！👍 "), Mention(name="mia_zhou"), Text(" 你也来吗"))
    )


async def test_malformed_update_says_which_field(adapter, payload) -> None:
    update = payload("updates/reply")
    del update["message"]["chat"]
    with pytest.raises(BadUpdate, match=r"update 804511205: message\.chat: Field required"):
        await adapter.feed(update)


async def test_a_date_that_is_not_a_unix_time_is_refused(adapter, payload) -> None:
    update = payload("updates/reply")
    update["message"]["date"] = "2024-06-14T10:02:40"
    with pytest.raises(BadUpdate, match="update:804511205: date 2024-06-14T10:02:40 is not a"):
        await adapter.feed(update)


@pytest.mark.parametrize("update", [[], "update", None])
async def test_an_update_that_is_not_an_object_is_refused(adapter, update) -> None:
    with pytest.raises(BadUpdate, match="an update is a JSON object"):
        await adapter.feed(update)


async def test_update_of_unknown_kind_makes_no_event(adapter) -> None:
    produced = await adapter.feed({"update_id": 804511299, "some_future_update": {"x": 1}})
    assert produced == []


# --- hostile payloads ----------------------------------------------------------------

_NAMES = sorted(CASES)
_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _leaves(item, (*path, n))
    else:
        yield path


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(_NAMES), st.integers(min_value=0), _junk)
async def test_a_damaged_update_is_refused_or_converted_never_crashes(
    adapter, payload, name, leaf, junk
) -> None:
    update = payload(f"updates/{name}")
    paths = list(_leaves(update))
    *parents, last = paths[leaf % len(paths)]
    node = update
    for key in parents:
        node = node[key]
    node[last] = junk
    try:
        produced = await adapter.feed(update)
    except BadUpdate:
        return
    assert all(isinstance(e, Event) and e.occurred_at.tzinfo is UTC for e in produced)
