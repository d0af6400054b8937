"""Events and roles: the identity, text and copy semantics everything else relies on.

``Event.key`` is what deduplication uses, so it must be exactly
``(source, source_id)`` and nothing else; ``text`` feeds keyword rules;
``with_`` must copy, never mutate (events are shared between processors);
and ``Role.rank`` orders who may act on whom.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.core import Event, EventType, Message, Role, StoredEvent
from shequn.core.message import Mention

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make(**changes) -> Event:
    values = dict(
        type=EventType.MESSAGE,
        platform="qq",
        source="sim:1",
        source_id="42",
        occurred_at=T0,
        group="g1",
        actor="u1",
        message=Message.of("hello ", Mention(user="u2", name="小红")),
        payload={"message_id": "m-42"},
    )
    values.update(changes)
    return Event(**values)


@given(st.text(), st.text(), st.text(), st.text())
def test_key_is_source_and_source_id_only(source, source_id, group, actor) -> None:
    event = make(source=source, source_id=source_id, group=group, actor=actor)
    assert event.key == (source, source_id)
    other = make(
        source=source, source_id=source_id, type=EventType.JOIN, occurred_at=T0.replace(year=2020)
    )
    assert other.key == event.key


def test_key_distinguishes_sources_and_ids() -> None:
    keys = {make(source=s, source_id=i).key for s in ("a", "b") for i in ("1", "2")}
    assert keys == {("a", "1"), ("a", "2"), ("b", "1"), ("b", "2")}
    # No joining of the parts that could make two different pairs equal.
    assert make(source="a:b", source_id="c").key != make(source="a", source_id="b:c").key


def test_text_is_the_message_plain_text() -> None:
    assert make().text == "hello @小红"


def test_text_is_empty_without_a_message() -> None:
    assert make(type=EventType.JOIN, message=None).text == ""
    assert make(message=Message()).text == ""


def test_with_returns_a_changed_copy_and_leaves_the_original() -> None:
    event = make()
    later = event.with_(source_id="43", actor="u9")
    assert (later.source_id, later.actor) == ("43", "u9")
    assert (event.source_id, event.actor) == ("42", "u1")
    assert later == dataclasses.replace(event, source_id="43", actor="u9")
    assert later.message is event.message and later.payload is event.payload


def test_with_without_changes_is_an_equal_event() -> None:
    event = make()
    assert event.with_() == event


def test_with_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError):
        make().with_(sender="u1")


def test_events_are_frozen() -> None:
    event = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.actor = "u2"  # type: ignore[misc]


def test_default_payload_is_not_shared() -> None:
    a = Event(EventType.TICK, "sched", "sched", "1", T0)
    b = Event(EventType.TICK, "sched", "sched", "2", T0)
    assert a.payload == {} and a.payload is not b.payload


def test_event_types_are_their_wire_names() -> None:
    assert EventType("member_update") is EventType.MEMBER_UPDATE
    assert EventType.JOIN_REQUEST == "join_request"
    assert len({t.value for t in EventType}) == len(EventType)


def test_role_rank_orders_owner_over_admin_over_member() -> None:
    assert (Role.OWNER.rank, Role.ADMIN.rank, Role.MEMBER.rank) == (2, 1, 0)
    assert sorted(Role, key=lambda r: r.rank) == [Role.MEMBER, Role.ADMIN, Role.OWNER]
    assert Role("admin") is Role.ADMIN


def test_role_refuses_unknown_names() -> None:
    with pytest.raises(ValueError):
        Role("moderator")


def test_stored_event_carries_the_event_and_ids() -> None:
    event = make()
    stored = StoredEvent(id=1, event=event, community_id=2, group_id=3, identity_id=4, member_id=5)
    assert stored.event is event
    assert (stored.id, stored.community_id, stored.group_id, stored.member_id) == (1, 2, 3, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.member_id = 6  # type: ignore[misc]
