"""Membership ``transition``: how one event changes one member's seat in one group.

The roster operators see is built only from this function, so its rules are
pinned here exactly: the 入群编号 is handed out once and kept for good; joins,
leaves and signs of presence open and close the seat; imports that start
mid-life seat people as ``observed`` and a later join corrects that; stale
events do not rewind anything; and an event that changes nothing returns the
very same seat object, which is how the processor knows not to write.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shequn.core import Event, EventType, Message
from shequn.features.community.membership.logic import Seat, relevant, transition

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
J, L, M = EventType.JOIN, EventType.LEAVE, EventType.MESSAGE
PRESENCE = [EventType.MESSAGE, EventType.REACTION, EventType.CHECKIN]


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def ev(
    etype: EventType,
    minute: int,
    *,
    group: str | None = "g1",
    actor: str | None = "u1",
    **payload: Any,
) -> Event:
    return Event(
        type=etype,
        platform="qq",
        source="t",
        source_id=f"{etype}-{minute}",
        occurred_at=at(minute),
        group=group,
        actor=actor,
        message=Message.of("hi") if etype is M else None,
        payload=payload,
    )


SEATED = Seat(number=5, role="member", joined_at=at(10), entry_source="invite")
LEFT = replace(SEATED, left_at=at(20))
OBSERVED = Seat(number=5, role="member", joined_at=at(10), entry_source="observed")


@pytest.mark.parametrize("role", ["owner", "admin", "member", "moderator", "", None, 3])
def test_newcomer_join_takes_next_number_and_payload_role(role: Any) -> None:
    payload = {} if role is None else {"role": role}
    expected = role if role in ("owner", "admin", "member") else "member"
    assert transition(None, ev(J, 0, **payload), 7) == Seat(
        number=7, role=expected, joined_at=at(0)
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"entry_source": "qr", "via": "invite"}, "qr"),
        ({"via": "invite"}, "invite"),
        ({"entry_source": "", "via": "link"}, "link"),
        ({}, None),
        ({"via": "x" * 100}, "x" * 64),
        ({"via": 42}, "42"),
    ],
)
def test_join_entry_source_comes_from_entry_source_or_via(
    payload: dict, expected: str | None
) -> None:
    assert transition(None, ev(J, 0, **payload), 1).entry_source == expected


def test_leave_sets_left_at_and_keeps_the_number() -> None:
    assert transition(SEATED, ev(L, 20), 99) == LEFT
    # Without a seat (history starting mid-life) the leave seats and closes at once.
    assert transition(None, ev(L, 4), 3) == Seat(
        number=3, role="member", joined_at=at(4), left_at=at(4), entry_source="observed"
    )


def test_rejoin_clears_left_at_and_keeps_the_number() -> None:
    assert transition(LEFT, ev(J, 30, via="link"), 99) == replace(
        SEATED, joined_at=at(30), entry_source="link"
    )
    assert transition(LEFT, ev(J, 20), 99) == replace(SEATED, joined_at=at(20))


def test_a_stale_join_from_before_the_leave_changes_nothing() -> None:
    assert transition(LEFT, ev(J, 15, via="link"), 99) is LEFT


@pytest.mark.parametrize("etype", PRESENCE)
def test_presence_seats_an_unseen_member_as_observed(etype: EventType) -> None:
    assert transition(None, ev(etype, 3), 8) == Seat(
        number=8, role="member", joined_at=at(3), entry_source="observed"
    )


@pytest.mark.parametrize("etype", PRESENCE)
def test_presence_after_a_leave_reopens_and_before_it_does_not(etype: EventType) -> None:
    assert transition(LEFT, ev(etype, 25), 99) == replace(SEATED, joined_at=at(25))
    assert transition(LEFT, ev(etype, 20), 99) is LEFT
    assert transition(LEFT, ev(etype, 15), 99) is LEFT


def test_a_join_arriving_after_an_observation_corrects_the_observed_seat() -> None:
    assert transition(OBSERVED, ev(J, 2, via="invite", role="admin"), 99) == replace(
        OBSERVED, joined_at=at(2), entry_source="invite", role="admin"
    )
    # A join stamped after the first sighting keeps the earlier time.
    assert transition(OBSERVED, ev(J, 12, entry_source="qr"), 99) == replace(
        OBSERVED, entry_source="qr"
    )


def test_an_earlier_join_corrects_a_known_seat_but_a_later_one_does_not() -> None:
    assert transition(SEATED, ev(J, 5), 99) == replace(SEATED, joined_at=at(5))
    assert transition(SEATED, ev(J, 11, via="link", role="owner"), 99) is SEATED


def test_member_update_sets_title_card_and_role() -> None:
    out = transition(
        SEATED, ev(EventType.MEMBER_UPDATE, 11, title="班长", card="小明", role="admin"), 9
    )
    assert out == replace(SEATED, title="班长", card_name="小明", role="admin")
    cleared = transition(out, ev(EventType.MEMBER_UPDATE, 12, title="", card=None), 9)
    assert cleared == replace(out, title=None, card_name=None)
    assert transition(out, ev(EventType.MEMBER_UPDATE, 13, role="boss"), 9).role == "admin"


def test_member_update_of_an_unseen_member_seats_them_as_observed() -> None:
    assert transition(None, ev(EventType.MEMBER_UPDATE, 1, title="新人"), 4) == Seat(
        number=4, role="member", joined_at=at(1), title="新人", entry_source="observed"
    )


@pytest.mark.parametrize(("group", "actor"), [(None, "u1"), ("g1", None), (None, None)])
@pytest.mark.parametrize("etype", [J, L, EventType.MEMBER_UPDATE, *PRESENCE])
def test_events_without_group_or_actor_are_irrelevant(etype, group, actor) -> None:
    assert not relevant(ev(etype, 0, group=group, actor=actor))
    assert relevant(ev(etype, 0))


@pytest.mark.parametrize("etype", [EventType.PURCHASE, EventType.TICK, EventType.RECALL])
def test_other_types_are_irrelevant_and_change_nothing(etype: EventType) -> None:
    assert not relevant(ev(etype, 0))
    assert transition(SEATED, ev(etype, 30), 9) is SEATED
    assert transition(None, ev(etype, 30), 9) is None


@pytest.mark.parametrize(
    ("seat", "event"),
    [
        (SEATED, ev(M, 30)),
        (SEATED, ev(J, 30)),
        (LEFT, ev(L, 40)),
        (SEATED, ev(L, 5)),
        (SEATED, ev(EventType.MEMBER_UPDATE, 30)),
    ],
)
def test_unchanged_seat_is_the_same_object(seat: Seat, event: Event) -> None:
    assert transition(seat, event, 99) is seat


@pytest.mark.parametrize(
    ("seat", "event"),
    [
        (replace(SEATED, role="admin"), ev(EventType.MEMBER_UPDATE, 30, role="admin")),
        (replace(SEATED, title="班长"), ev(EventType.MEMBER_UPDATE, 30, title="班长")),
        (SEATED, ev(EventType.MEMBER_UPDATE, 30, card=None)),
        (OBSERVED, ev(J, 30)),  # a join that brings no new time, source or role
    ],
)
def test_an_event_repeating_what_the_seat_says_returns_the_same_object(
    seat: Seat, event: Event
) -> None:
    out = transition(seat, event, 99)
    assert out == seat
    assert out is seat  # otherwise the processor writes an unchanged row


# --- properties over whole histories -----------------------------------------------

histories = st.lists(
    st.tuples(st.sampled_from([J, L, M]), st.integers(0, 3), st.sampled_from([None, "invite"])),
    min_size=1,
    max_size=25,
)


def replay(history: list[tuple[EventType, int, str | None]]) -> tuple[Seat, list[Event]]:
    seat, minute, events = None, 0, []
    for i, (etype, gap, via) in enumerate(history):
        minute += gap
        event = ev(etype, minute, **({"via": via} if via else {}))
        events.append(event)
        seat = transition(seat, event, 100 + i)  # a fresh number offered every time
        assert seat is not None
    return seat, events


def expected_closed_at(events: list[Event]) -> datetime | None:
    """The rules as a two-state machine; None means the seat is open.

    A leave closes an open seat at its time (a leave of a closed seat is ignored,
    so the closing time is that of the *first* leave); a join reopens unless it is
    older than the closing leave; a sign of presence reopens only when strictly
    later than it.
    """
    closed_at = None
    for e in events:
        if e.type is L:
            closed_at = closed_at or e.occurred_at
        elif closed_at is not None and (
            e.occurred_at > closed_at or (e.type is J and e.occurred_at == closed_at)
        ):
            closed_at = None
    return closed_at


@given(histories)
@example([(L, 0, None), (L, 1, None), (M, 0, None)])  # reopened: later than the *first* leave
@example([(J, 0, None), (L, 1, None), (M, 0, None)])  # same instant as the leave: still gone
@example([(J, 0, None), (L, 1, None), (J, 0, None)])  # a join at that instant: back
def test_any_history_keeps_the_first_number_and_ends_present_iff_not_left(history) -> None:
    seat, events = replay(history)
    assert seat.number == 100
    closed_at = expected_closed_at(events)
    assert seat.present is (closed_at is None)
    assert seat.left_at == closed_at
    assert seat.left_at is None or seat.left_at >= seat.joined_at
    assert seat.joined_at in {e.occurred_at for e in events}
    if len({e.occurred_at for e in events}) == len(events):  # no two at the same instant
        assert seat.present is (events[-1].type is not L)


@given(histories, st.sampled_from([J, L, M, EventType.MEMBER_UPDATE]), st.integers(-5, 100))
def test_a_transition_that_changes_nothing_returns_the_same_object(history, etype, minute) -> None:
    seat, _ = replay(history)
    out = transition(seat, ev(etype, minute), 999)
    assert out.number == seat.number
    if out == seat:
        assert out is seat
