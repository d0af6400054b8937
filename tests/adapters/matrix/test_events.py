"""Recorded Matrix events (as ``/sync`` returns them) → shequn events, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.matrix.support import payload
from shequn.adapters.matrix.events import BadEvent, RoomState, convert
from shequn.core import (
    Event,
    EventType,
    File,
    Image,
    Link,
    Media,
    Mention,
    Quote,
    Role,
    Sticker,
    Text,
)

ROOM = "!OGEhHVWSdvArJzumhm:matrix.org"
BOT = "@bot:matrix.org"
SOURCE = f"matrix:{BOT}"
GREETING = "$4Rk8eMvFhJ2nQ1zWb7sT0pYcXaLdGu9iKoVmN3yHqEf"


def room() -> RoomState:
    state = RoomState(ROOM)
    for raw in payload("room_state.json"):
        state.apply(raw)
    return state


def one(name: str, state: RoomState | None = None) -> Event:
    events = convert(payload(name), state or room(), source=SOURCE, own_user=BOT)
    assert len(events) == 1, events
    return events[0]


def test_the_room_state_gives_names_roles_and_membership() -> None:
    state = room()
    assert state.display_name == "深圳读书会"
    assert state.alias == "#shenzhen-books:matrix.org"
    assert state.names["@meimei:matrix.org"] == "美美"
    assert state.role("@xiaoming:matrix.org") is Role.OWNER
    assert state.role("@laowang:matrix.org") is Role.ADMIN
    assert state.role("@meimei:matrix.org") is Role.MEMBER
    assert sorted(state.joined()) == [
        BOT,
        "@laowang:matrix.org",
        "@meimei:matrix.org",
        "@xiaoming:matrix.org",
    ]


def test_a_message_with_a_pill_and_a_link() -> None:
    event = one("message_mention_link.json")
    assert event.type is EventType.MESSAGE
    assert (event.source, event.source_id) == (
        SOURCE,
        GREETING,
    )
    assert event.platform == "matrix"
    assert (event.group, event.group_name) == (ROOM, "深圳读书会")
    assert (event.actor, event.actor_name) == ("@meimei:matrix.org", "美美")
    assert event.occurred_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)
    assert dict(event.payload) == {"message_id": event.source_id, "msgtype": "m.text"}
    assert event.message is not None
    assert event.message.segments == (
        Mention(user="@xiaoming:matrix.org", name="小明"),
        Text(": 这周六下午三点在南山书城见，报名链接 "),
        Link("https://example.org/signup?id=2024"),
        Text(" ，记得带书！"),
    )


def test_a_reply_starts_with_its_quote_and_loses_the_fallback() -> None:
    event = one("message_reply.json")
    assert event.message is not None
    assert event.message.segments == (
        Quote(GREETING),
        Text("收到，我带《三体》"),
    )
    plain = one("message_reply_plain.json")
    assert plain.message is not None
    assert plain.message.segments == (
        Quote(GREETING),
        Text("三点，别迟到"),
    )


@pytest.mark.parametrize(
    ("name", "segments"),
    [
        (
            "message_image.json",
            (
                Image(
                    url="mxc://matrix.org/HfRnbcMqUkdCQUYBjhPtFJxE",
                    name="活动海报.jpg",
                    size=284915,
                ),
            ),
        ),
        (
            "message_image_caption.json",
            (
                Image(url="mxc://matrix.org/PosterQwErTyUiOpAsDf", name="poster.jpg", size=198000),
                Text("周六的海报，大家帮忙转发 "),
                Link("https://example.org/event"),
            ),
        ),
        (
            "message_file.json",
            (
                File(
                    name="第三章读书笔记.pdf",
                    url="mxc://matrix.org/NotesAsDfGhJkLqWeRtYu",
                    size=1048576,
                ),
            ),
        ),
        (
            "message_voice.json",
            (Media("voice", url="mxc://matrix.org/VoiceZxCvBnMqWeRtYuIo", duration_s=12.345),),
        ),
        (
            "message_video.json",
            (Media("video", url="mxc://matrix.org/VideoPoIuYtReWqAsDfGh", duration_s=61.0),),
        ),
        ("sticker.json", (Sticker(sticker_id="mxc://matrix.org/StickerHappyQwErTyUi"),)),
        ("message_emote.json", (Text("给大家点了奶茶 🧋"),)),
    ],
)
def test_attachments_and_other_kinds(name: str, segments: tuple) -> None:
    event = one(name)
    assert event.type is EventType.MESSAGE
    assert event.message is not None
    assert event.message.segments == segments


def test_mentions_listed_but_not_linked_are_found_in_the_text_or_appended() -> None:
    event = one("message_plain_mentions.json")
    assert event.payload["msgtype"] == "m.notice"
    assert event.message is not None
    assert event.message.segments == (
        Mention(user="@laowang:matrix.org", name="老王"),
        Text(" 和 "),
        Mention(user="@meimei:matrix.org", name="美美"),
        Text(" 请确认场地，"),
        Mention(everyone=True),
        Text(" 周六见 "),
        Mention(user="@newbie:matrix.org"),
    )


def test_hostile_html_keeps_only_text_links_and_pills() -> None:
    event = one("message_hostile_html.json")
    assert event.message is not None
    assert event.message.segments == (
        Text("点我领奖 免费领取 "),
        Mention(user="@bot:matrix.org", name="机器人"),
        Text(" "),
        Link("https://example.org/ok", title="正常链接"),
        Text("\n\n第二段 <script>不是标签</script>\n"),
        Mention(user="@meimei:matrix.org", name="美美嵌套"),
    )
    shown = event.text
    for banned in ("alert", "display:none", "evil.example", "伪造的引用", "steal"):
        assert banned not in shown


def test_html_that_hides_everything_falls_back_to_the_plain_body() -> None:
    event = one("message_unclosed_reply_html.json")
    assert event.message is not None
    assert event.message.segments == (Text("真正的内容"),)


def test_an_edit_carries_the_new_text_and_names_the_original() -> None:
    event = one("message_edit.json")
    assert event.message is not None
    assert event.text == "这周六下午四点在南山书城见"
    assert event.payload["edit_of"] == GREETING


def test_reactions_and_redactions() -> None:
    reaction = one("reaction.json")
    assert reaction.type is EventType.REACTION
    assert dict(reaction.payload) == {
        "target": GREETING,
        "emoji": "👍",
    }
    old_style = one("redaction_v10.json")
    assert old_style.type is EventType.RECALL
    assert dict(old_style.payload) == {
        "target": "$7cPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZaBcD",
        "by": "@laowang:matrix.org",
        "reason": "广告",
    }
    new_style = one("redaction_v11.json")
    assert new_style.payload["target"] == "$1XkLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXy"
    assert new_style.actor == "@meimei:matrix.org"


def test_redacted_and_encrypted_events_are_skipped() -> None:
    for name in ("redacted_message.json", "encrypted.json"):
        assert convert(payload(name), room(), source=SOURCE, own_user=BOT) == []


def test_the_bots_own_messages_are_not_reported() -> None:
    raw = payload("message_mention_link.json") | {"sender": BOT}
    assert convert(raw, room(), source=SOURCE, own_user=BOT) == []


def test_a_rename_is_a_group_update() -> None:
    event = one("room_rename.json")
    assert event.type is EventType.GROUP_UPDATE
    assert event.group_name == "深圳读书会·第二季"
    assert dict(event.payload) == {"name": "深圳读书会·第二季"}


def test_power_changes_report_only_crossed_thresholds() -> None:
    events = convert(payload("power_levels_change.json"), room(), source=SOURCE, own_user=BOT)
    changes = {e.actor: (e.payload["role"], e.source_id.rsplit(":", 2)[0]) for e in events}
    event_id = "$GlYzAbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlM"
    # The spammer went from 0 to -1 (muted): still a member, so nothing to report.
    assert changes == {
        "@laowang:matrix.org": ("member", event_id),
        "@meimei:matrix.org": ("admin", event_id),
    }
    assert {e.source_id for e in events} == {
        f"{event_id}:@laowang:matrix.org",
        f"{event_id}:@meimei:matrix.org",
    }
    assert all(e.type is EventType.MEMBER_UPDATE for e in events)


def test_a_membership_timeline() -> None:
    state = room()
    seen: list[tuple[str, str | None, dict]] = []
    for raw in payload("membership_timeline.json"):
        for event in convert(raw, state, source=SOURCE, own_user=BOT):
            seen.append((event.type.value, event.actor, dict(event.payload)))
            assert event.source_id == raw["event_id"]
        state.apply(raw)
    laoli, zhang, spam = "@laoli:matrix.org", "@xiaozhang:matrix.org", "@spammer:evil.example"
    assert seen == [
        (
            "join_request",
            laoli,
            {"answer": "我是南山区的老书友，想加入读书会", "request_id": laoli},
        ),
        (
            "join",
            laoli,
            {"via": "request", "inviter": "@laowang:matrix.org", "role": "member"},
        ),
        ("member_update", laoli, {"name": "李老师"}),
        ("join", zhang, {"via": "invite", "inviter": "@meimei:matrix.org", "role": "member"}),
        ("leave", zhang, {}),
        ("join", spam, {"via": "link", "role": "member"}),
        ("leave", spam, {"kicked_by": "@laowang:matrix.org", "reason": "发广告"}),
        ("join", spam, {"via": "link", "role": "member"}),
        ("leave", spam, {"kicked_by": BOT, "banned": True, "reason": "屡次发广告"}),
    ]
    assert state.names[laoli] == "李老师"
    assert state.membership[spam] == "ban"
    assert state.membership["@guest:matrix.org"] == "leave"


def test_the_actor_name_of_a_knock_is_the_name_it_came_with() -> None:
    knock = payload("membership_timeline.json")[0]
    (event,) = convert(knock, room(), source=SOURCE, own_user=BOT)
    assert event.actor_name == "老李"


@pytest.mark.parametrize("case", payload("malformed.json"), ids=lambda c: c["why"])
def test_malformed_events_are_refused_with_the_field(case: dict) -> None:
    with pytest.raises(BadEvent) as refused:
        convert(case["event"], room(), source=SOURCE, own_user=BOT)
    assert case["why"] in str(refused.value)


def test_the_state_ignores_what_is_not_state() -> None:
    state = room()
    before = (state.name, dict(state.membership), state.power)
    for raw in ("not an event", {"type": "m.room.name", "content": {"name": "无 state_key"}}, {}):
        state.apply(raw)  # type: ignore[arg-type]
    assert (state.name, dict(state.membership), state.power) == before
