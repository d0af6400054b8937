"""Actions: what features decide to do, stored in the outbox as ``to_dict()`` JSON.

The outbox row is the only record of an action between the feature deciding it
and the dispatcher doing it, so ``from_dict(to_dict())`` must give the same
action back; an action missing what its type needs must be refused when built
(naming the field), not when a platform later rejects it; and ``internal``
decides whether any platform is involved at all.

The table of required fields is written out here on purpose, as the
specification, rather than imported from the module under test.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.core import Action, ActionType, Message
from shequn.core.message import Mention, Poll, Text
from shequn.kit.errors import InvalidAction

A = ActionType
REQUIRED: dict[ActionType, tuple[str, ...]] = {
    A.SEND_MESSAGE: ("group", "message"),
    A.DIRECT_MESSAGE: ("user", "message"),
    A.REPLY: ("group", "message", "target_message"),
    A.DELETE_MESSAGE: ("group", "target_message"),
    A.PIN_MESSAGE: ("group", "target_message"),
    A.MUTE: ("group", "user", "duration"),
    A.UNMUTE: ("group", "user"),
    A.MUTE_ALL: ("group",),
    A.UNMUTE_ALL: ("group",),
    A.KICK: ("group", "user"),
    A.BAN: ("group", "user"),
    A.UNBAN: ("group", "user"),
    A.APPROVE_JOIN: ("group", "user"),
    A.REJECT_JOIN: ("group", "user"),
    A.INVITE: ("group", "user"),
    A.SET_TITLE: ("group", "user"),
    A.SET_CARD: ("group", "user"),
    A.SET_ROLE: ("group", "user"),
    A.NOTIFY_OPERATOR: ("message",),
    A.ADD_TAG: ("member_id",),
    A.REMOVE_TAG: ("member_id",),
    A.ADD_POINTS: ("member_id",),
    A.CREATE_GROUP: ("name",),
}
INTERNAL = {A.NOTIFY_OPERATOR, A.ADD_TAG, A.REMOVE_TAG, A.ADD_POINTS}

#: A valid value for every field that some type requires.
SAMPLE: dict[str, Any] = {
    "group": "g-1",
    "user": "u-1",
    "member_id": 7,
    "message": Message.of("hello"),
    "target_message": "m-1",
    "duration": timedelta(minutes=10),
    "name": "读书会 2群",
}

ids = st.text(min_size=1, max_size=20)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "group": ids,
    "user": ids,
    "member_id": st.integers(min_value=0, max_value=2**63 - 1),
    "message": st.lists(
        st.one_of(
            st.builds(Text, st.text(max_size=10)),
            st.builds(Mention, user=ids),
            st.builds(Poll, question=ids, options=st.lists(ids, max_size=3).map(tuple)),
        ),
        min_size=1,
        max_size=3,
    ).map(lambda parts: Message.of(*parts)),
    "target_message": ids,
    "name": ids,
    # Up to ten years: the outbox stores seconds as a float, exact to the
    # microsecond well beyond that.
    "duration": st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3650)),
}


@st.composite
def actions(draw: st.DrawFn) -> Action:
    atype = draw(st.sampled_from(list(ActionType)))
    values: dict[str, Any] = {}
    for name, strategy in field_values.items():
        if name in REQUIRED[atype]:
            values[name] = draw(strategy)
        else:
            values[name] = draw(st.none() | strategy)
    return Action(
        atype,
        platform=draw(st.none() | ids),
        params=draw(st.dictionaries(st.text(max_size=8), json_scalars, max_size=4)),
        reason=draw(st.none() | st.text(max_size=30)),
        key=draw(st.none() | ids),
        **values,
    )


def test_required_table_covers_every_action_type() -> None:
    assert set(REQUIRED) == set(ActionType)


@given(actions())
def test_to_dict_from_dict_round_trip(action: Action) -> None:
    assert Action.from_dict(action.to_dict()) == action


@given(actions())
def test_round_trip_survives_json_text(action: Action) -> None:
    assert Action.from_dict(json.loads(json.dumps(action.to_dict()))) == action


def test_to_dict_of_a_known_action() -> None:
    action = Action(
        A.MUTE,
        platform="qq",
        group="g",
        user="u",
        duration=timedelta(minutes=10),
        params={"notify": True},
        reason="spam",
    )
    assert action.to_dict() == {
        "type": "mute",
        "platform": "qq",
        "group": "g",
        "user": "u",
        "duration_s": 600.0,
        "params": {"notify": True},
        "reason": "spam",
    }
    assert Action(A.ADD_POINTS, member_id=0).to_dict() == {"type": "add_points", "member_id": 0}
    assert Action(A.SEND_MESSAGE, group="g", message=Message.of("hi")).to_dict() == {
        "type": "send_message",
        "group": "g",
        "message": [{"kind": "text", "text": "hi"}],
    }


def test_to_dict_params_are_a_copy() -> None:
    action = Action(A.KICK, group="g", user="u", params={"a": 1})
    action.to_dict()["params"]["a"] = 2
    assert action.params == {"a": 1}


@pytest.mark.parametrize("atype", list(ActionType))
def test_each_type_is_valid_with_exactly_its_required_fields(atype: ActionType) -> None:
    action = Action(atype, **{name: SAMPLE[name] for name in REQUIRED[atype]})
    for name in REQUIRED[atype]:
        assert getattr(action, name) == SAMPLE[name]


@pytest.mark.parametrize(
    ("atype", "missing", "blank"),
    [
        (atype, name, blank)
        for atype, names in REQUIRED.items()
        for name in names
        for blank in ([None, ""] if isinstance(SAMPLE[name], str) else [None])
    ],
)
def test_each_type_refuses_a_missing_required_field(
    atype: ActionType, missing: str, blank: Any
) -> None:
    values = {name: SAMPLE[name] for name in REQUIRED[atype]}
    values[missing] = blank
    with pytest.raises(InvalidAction) as info:
        Action(atype, **values)
    assert str(info.value) == f"{atype.value} needs {missing}"


def test_all_missing_fields_are_named_in_order() -> None:
    with pytest.raises(InvalidAction, match=r"^reply needs group, message, target_message$"):
        Action(A.REPLY)


def test_from_dict_validates_too() -> None:
    with pytest.raises(InvalidAction, match="kick needs user"):
        Action.from_dict({"type": "kick", "group": "g"})
    with pytest.raises(ValueError):
        Action.from_dict({"type": "explode", "group": "g"})


@pytest.mark.parametrize(
    "duration", [timedelta(0), timedelta(microseconds=-1), timedelta(days=-1), -timedelta(hours=3)]
)
@pytest.mark.parametrize("atype", [A.MUTE, A.BAN, A.MUTE_ALL])
def test_non_positive_durations_are_refused(atype: ActionType, duration: timedelta) -> None:
    values = {name: SAMPLE[name] for name in REQUIRED[atype]}
    values["duration"] = duration
    with pytest.raises(InvalidAction, match=f"^{atype.value}: duration must be positive$"):
        Action(atype, **values)


def test_smallest_positive_duration_is_accepted() -> None:
    action = Action(A.MUTE, group="g", user="u", duration=timedelta(microseconds=1))
    assert action.duration == timedelta(microseconds=1)
    assert Action.from_dict(action.to_dict()).duration == timedelta(microseconds=1)


@pytest.mark.parametrize("atype", list(ActionType))
def test_internal_exactly_for_shequn_own_data(atype: ActionType) -> None:
    action = Action(atype, **{name: SAMPLE[name] for name in REQUIRED[atype]})
    assert action.internal is (atype in INTERNAL)


@given(actions(), ids)
def test_with_key_sets_only_the_key(action: Action, key: str) -> None:
    keyed = action.with_key(key)
    assert keyed.key == key
    assert keyed.to_dict()["key"] == key
    assert replace(keyed, key=action.key) == action  # nothing else changed


def test_with_key_leaves_the_original_alone() -> None:
    action = Action(A.ADD_TAG, member_id=3)
    keyed = action.with_key("evt:1:tag")
    assert action.key is None
    assert keyed == Action(A.ADD_TAG, member_id=3, key="evt:1:tag")
