"""``normalise``: the gate every event passes before it touches the store.

It must put every instant in UTC (the same instant, never a guess for naive
times), refuse what cannot be stored or processed with an ``InvalidEvent``
naming the event and the field (a bad line in a ten-million-row import has to
be findable), and make hostile input storable without censoring it: NUL
characters go (PostgreSQL refuses them), everything else is kept verbatim.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shequn.core import Event, EventType, Message
from shequn.core.message import Mention, Poll, Text
from shequn.kit.errors import InvalidEvent
from shequn.runtime.ingest.normalise import normalise, unique
from shequn.runtime.ingest.rows import stored_payload

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SID = "line-4711"


def ev(**changes: Any) -> Event:
    values: dict[str, Any] = dict(
        type=EventType.MESSAGE,
        platform="qq",
        source="import:9",
        source_id=SID,
        occurred_at=T0,
        group="g1",
        group_name="读书会",
        actor="u1",
        actor_name="小明",
        message=Message.of("hi"),
        payload={},
    )
    values.update(changes)
    return Event(**values)


def test_a_canonical_event_is_returned_as_is_and_a_string_type_is_parsed() -> None:
    event = ev(payload={"message_id": "m1", "n": 1})
    assert normalise(event) is event
    assert normalise(ev(type="join")).type is EventType.JOIN


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
    )
)
def test_aware_times_in_any_zone_become_the_same_instant_in_utc(when: datetime) -> None:
    out = normalise(ev(occurred_at=when)).occurred_at
    assert out.tzinfo is UTC
    # Computed from the offset, not with astimezone: also right in folds and gaps.
    assert out.replace(tzinfo=None) == when.replace(tzinfo=None) - when.utcoffset()


def test_fixed_offset_time_is_converted() -> None:
    shanghai = datetime(2026, 3, 2, 17, 0, tzinfo=timezone(timedelta(hours=8)))
    assert normalise(ev(occurred_at=shanghai)).occurred_at == T0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred_at": datetime(2026, 3, 2, 9, 0)}, "occurred_at"),
        ({"occurred_at": "2026-03-02T09:00:00Z"}, "occurred_at"),
        ({"type": "poke"}, "type"),
        ({"source": None}, "source"),
        ({"source": ""}, "source"),
        ({"source": " \t"}, "source"),
        ({"platform": None}, "platform"),
        ({"platform": ""}, "platform"),
        *[
            ({"type": t, "message": None, name: None}, name)
            for t in (EventType.JOIN, EventType.LEAVE, EventType.MEMBER_UPDATE)
            for name in ("group", "actor")
        ],
        ({"type": EventType.JOIN, "message": None, "actor": "   "}, "actor"),
        ({"type": EventType.PURCHASE, "message": None}, "order_id"),
        ({"type": EventType.PURCHASE, "message": None, "payload": {"order_id": ""}}, "order_id"),
        ({"type": EventType.ATTEND, "message": None, "payload": {"title": "x"}}, "session"),
        ({"type": EventType.READ, "message": None}, "article"),
        ({"message": None}, "message"),
        ({"source": "s" * 256}, "source"),
        ({"platform": "p" * 256}, "platform"),
        ({"group": "g" * 256}, "group"),
        ({"actor": "a" * 256}, "actor"),
        ({"payload": {"tags": {"a", "b"}}}, "tags"),
        ({"payload": {"obj": object()}}, "obj"),
        ({"payload": {"when": T0}}, "when"),
        ({"payload": {"outer": {"inner": [1, {"deep": b"bytes"}]}}}, "outer.inner[1].deep"),
    ],
)
def test_refusals_name_the_event_and_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEvent) as info:
        normalise(ev(**changes))
    message = str(info.value)
    assert SID in message
    assert re.search(rf"\b{re.escape(field)}\b", message), message


@pytest.mark.parametrize("bad", [None, "", "  ", "i" * 256])
def test_a_bad_source_id_is_refused_naming_the_source(bad: str | None) -> None:
    with pytest.raises(InvalidEvent, match="source_id") as info:
        normalise(ev(source_id=bad))
    assert "import:9" in str(info.value)


def test_ids_are_stripped_kept_up_to_255_and_optional_ones_may_be_absent() -> None:
    out = normalise(ev(source_id="  7 ", group=" ", actor=None, platform=" qq\n"))
    assert (out.source_id, out.group, out.actor, out.platform) == ("7", None, None, "qq")
    out = normalise(ev(source_id="i" * 255, group="g" * 255))
    assert (out.source_id, out.group) == ("i" * 255, "g" * 255)


def test_message_may_come_in_the_payload() -> None:
    event = ev(message=None, payload={"message": [{"kind": "text", "text": "x"}]})
    assert normalise(event).payload == {"message": [{"kind": "text", "text": "x"}]}


def test_payload_becomes_plain_json() -> None:
    event = ev(payload={1: ("a", 2.5, None, True), "nested": {"k": [{"x": 1}]}})
    assert normalise(event).payload == {"1": ["a", 2.5, None, True], "nested": {"k": [{"x": 1}]}}


# --- hostile input ------------------------------------------------------------

with_nul = st.text(alphabet=st.one_of(st.just("\x00"), st.characters(codec="utf-8")), max_size=40)


@given(with_nul, with_nul, with_nul, with_nul)
@example("a\x00b", "\x00", "\x00k", "v\x00")
def test_nul_is_removed_everywhere_and_nothing_else(text, name, key, value) -> None:
    def clean(s: str) -> str:
        return s.replace("\x00", "")

    event = ev(
        message=Message.of(text, Mention(user="u2", name=name), "tail"),
        actor_name=name,
        group_name=text,
        payload={"k" + key: value, "nested": {key: [value, {"v": value}]}},
    )
    out = normalise(event)
    expected_segments = [Text(clean(text))] if clean(text) else []
    expected_segments += [Mention(user="u2", name=clean(name)), Text("tail")]
    assert out.message == Message(tuple(expected_segments))
    assert out.actor_name == (clean(name).strip()[:255] or None)
    assert out.group_name == (clean(text).strip()[:255] or None)
    assert out.payload == {
        "k" + clean(key): clean(value),
        "nested": {clean(key): [clean(value), {"v": clean(value)}]},
    }


def test_nul_is_removed_from_ids() -> None:
    out = normalise(ev(source_id="47\x0011", actor="u\x001"))
    assert (out.source_id, out.actor) == ("4711", "u1")


def test_nul_is_removed_from_poll_options() -> None:
    """Poll options are strings inside a tuple; PostgreSQL's JSONB refuses \\u0000 there too."""
    out = normalise(ev(message=Message.of(Poll("q\x00?", ("a\x00", "b")))))
    assert out.message == Message.of(Poll("q?", ("a", "b")))


HOSTILE = [
    "<script>alert('x')</script>",
    "'; DROP TABLE events; --",
    "1 OR 1=1 /* */",
    "\u202egnp.exe",
    "{{7*7}} ${jndi:ldap://x}",
    "x" * 10_000,
    "🏳️‍🌈" * 2_000,
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_kept_verbatim(hostile: str) -> None:
    event = ev(
        message=Message.of(hostile),
        payload={"note": hostile, "nested": [hostile]},
        actor_name=hostile,
        group_name=hostile,
    )
    out = normalise(event)
    assert out.message == Message.of(hostile)
    assert out.payload == {"note": hostile, "nested": [hostile]}
    assert out.actor_name == out.group_name == hostile[:255]  # only cut to length


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("名" * 300, "名" * 255),
        ("a" * 255, "a" * 255),
        ("  spaced  ", "spaced"),
        ("   ", None),
        ("", None),
        ("\x00" + "b" * 300, "b" * 255),
    ],
)
def test_names_are_stripped_and_truncated_to_255(name: str, expected: str | None) -> None:
    out = normalise(ev(actor_name=name, group_name=name))
    assert (out.actor_name, out.group_name) == (expected, expected)


def test_empty_text_segments_are_dropped_and_the_rest_kept_in_order() -> None:
    message = Message((Text(""), Text("a"), Text(""), Mention(user="u"), Text(" "), Text("")))
    out = normalise(ev(message=message))
    assert out.message == Message((Text("a"), Mention(user="u"), Text(" ")))


@given(
    st.text(alphabet=st.characters(categories=["Cs", "Ll", "So"]), max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70),
)
@example("\ud83d", 1)  # half an emoji, as cut by a truncating exporter
@example("ok", 2**64)
def test_whatever_normalise_accepts_can_be_stored(text: str, number: int) -> None:
    """The event row is built with orjson: anything that passes must serialise."""
    event = ev(message=Message.of(text), actor_name=text, payload={"n": number, "t": text})
    try:
        out = normalise(event)
    except InvalidEvent as exc:
        assert SID in str(exc)
        return
    orjson.dumps(stored_payload(out))
    for value in (out.actor_name, out.group_name, out.text):
        (value or "").encode("utf-8")


# --- unique ---------------------------------------------------------------------


@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["1", "2", "3"])), max_size=20)
)
def test_unique_keeps_the_first_of_each_key_in_order(keys: list[tuple[str, str]]) -> None:
    events = [ev(source=s, source_id=i, payload={"n": n}) for n, (s, i) in enumerate(keys)]
    first: dict[tuple[str, str], int] = {}
    for n, key in enumerate(keys):
        first.setdefault(key, n)
    assert [id(e) for e in unique(events)] == [id(events[n]) for n in sorted(first.values())]


def test_unique_of_a_known_list() -> None:
    a1, b1, a2 = ev(source_id="a", payload={"n": 1}), ev(source_id="b"), ev(source_id="a")
    assert [id(e) for e in unique([a1, b1, a2, b1])] == [id(a1), id(b1)]
    assert unique([]) == []
