"""Frames → Events without a socket: the rarer frames, and hostile ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.onebot.bridge import GROUP, SELF_ID, payload
from shequn.adapters.onebot.events import BadPayload, to_event
from shequn.core import EventType, Message, Text


def frame(name: str, **changes: Any) -> dict[str, Any]:
    return {**payload(name), **changes}


def test_whole_group_mute_is_a_group_update() -> None:
    off = to_event(frame("group_ban_lift", user_id=0), SELF_ID)
    assert off is not None
    assert off.type is EventType.GROUP_UPDATE
    assert off.payload == {"muted_all": False, "by": "1234567890"}
    enabled = to_event(frame("group_ban", user_id=0, duration=268435455), SELF_ID)
    assert enabled is not None
    assert (enabled.type, enabled.actor) == (EventType.GROUP_UPDATE, None)
    assert enabled.payload == {"muted_all": True, "by": "1234567890"}


def test_admin_changes_are_member_updates() -> None:
    base = {
        "time": 1718091000,
        "self_id": int(SELF_ID),
        "post_type": "notice",
        "notice_type": "group_admin",
        "group_id": int(GROUP),
        "user_id": 2345678901,
    }
    promoted = to_event({**base, "sub_type": "set"}, SELF_ID)
    demoted = to_event({**base, "sub_type": "unset"}, SELF_ID)
    assert promoted is not None and demoted is not None
    assert promoted.payload == {"role": "admin"}
    assert demoted.payload == {"role": "member"}
    assert promoted.source_id != demoted.source_id
    with pytest.raises(BadPayload, match="sub_type is neither set nor unset"):
        to_event({**base, "sub_type": "maybe"}, SELF_ID)


def test_anonymous_messages_are_marked() -> None:
    anonymous = frame(
        "group_message_array",
        sub_type="anonymous",
        user_id=80000000,
        anonymous={"id": 2718281828, "name": "匿名的河马", "flag": "河马|2718281828"},
        message=[{"type": "text", "data": {"text": "有人知道报名截止时间吗"}}],
    )
    event = to_event(anonymous, SELF_ID)
    assert event is not None
    assert event.actor_name == "匿名的河马"
    assert event.payload["anonymous"] is True
    assert event.message == Message((Text("有人知道报名截止时间吗"),))


def test_invitations_of_the_bot_are_join_requests() -> None:
    invite = frame("request_group_add", sub_type="invite", comment="", flag="99887766")
    event = to_event(invite, SELF_ID)
    assert event is not None
    assert event.payload == {"answer": "", "request_id": "99887766", "sub_type": "invite"}
    add = to_event(frame("request_group_add", invitor_id=2345678901), SELF_ID)
    assert add is not None and add.payload["inviter"] == "2345678901"


@pytest.mark.parametrize(
    "changes",
    [
        {"message_type": "private"},
        {"post_type": "message_sent"},
        {"sub_type": "notice"},
        {"post_type": "notice", "notice_type": "notify", "sub_type": "poke"},
        {"post_type": "request", "request_type": "friend"},
    ],
)
def test_frames_shequn_does_not_read_are_nothing(changes: dict[str, Any]) -> None:
    assert to_event(frame("group_message_array", **changes), SELF_ID) is None


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"time": 1718090123000}, "time 1718090123000 is not a plausible Unix time"),
        ({"time": True}, "time is missing or not a number"),
        ({"group_id": False}, "group_id is missing or not an id"),
        ({"user_id": "9" * 80}, "user_id is empty or too long"),
        ({"message_id": None}, "message_id is missing"),
        ({"message": 42}, "message is malformed: message is int"),
        ({"group_name": ["北京"]}, "group_name is not text"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(BadPayload, match=error) as caught:
        to_event(frame("group_message_array", **changes), SELF_ID)
    assert "message group normal" in str(caught.value)


def test_bad_notices_are_named() -> None:
    with pytest.raises(BadPayload, match="duration is not a whole number"):
        to_event(frame("group_ban", duration=-5), SELF_ID)
    with pytest.raises(BadPayload, match="flag is missing"):
        to_event(frame("request_group_add", flag=""), SELF_ID)
    with pytest.raises(BadPayload, match="notice_type is missing"):
        to_event(frame("group_recall", notice_type=None), SELF_ID)


def test_occurred_at_is_utc() -> None:
    event = to_event(frame("group_recall"), SELF_ID)
    assert event is not None
    assert event.occurred_at == datetime(2024, 6, 11, 7, 24, 20, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["time", "group_id", "user_id", "message_id", "operator_id", "duration", "sender", "message",
     "sub_type", "flag", "comment", "anonymous", "group_name", "invitor_id", "notice_type"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(
        [
            "group_message_array",
            "group_message_string",
            "group_increase_invite",
            "group_decrease_kick",
            "group_ban",
            "group_recall",
            "request_group_add",
        ]
    ),  # fmt: skip
    changes=st.dictionaries(FIELDS, JSON, max_size=4),
)
def test_hostile_frames_are_read_or_refused_never_crash(name: str, changes: dict[str, Any]) -> None:
    try:
        event = to_event(frame(name, **changes), SELF_ID)
    except BadPayload:
        return
    assert event is None or event.occurred_at.tzinfo is UTC
