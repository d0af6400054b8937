"""Messages: the segment list every adapter and feature shares.

A message is stored in the event log and in the outbox as ``to_list()`` JSON and
read back with ``from_list()``, so the round trip must be exact for every
segment kind and any text (unicode, emoji, empty strings); ``plain_text()`` is
the input of keyword rules, so its exact output matters; and a stored segment
the code no longer understands must be refused loudly, not silently dropped.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.core.message import (
    Face,
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
    segment_from_dict,
    segment_to_dict,
)

# Arbitrary text plus the awkward cases hypothesis may not reach on its own.
texts = st.one_of(
    st.text(),
    st.sampled_from(["", " ", "👍🏽", "👨‍👩‍👧", "中文 消息", "\u202eevil", "a\nb\tc", "\x00"]),
)
opt_texts = st.none() | texts
opt_ints = st.none() | st.integers(min_value=0, max_value=2**53)
opt_floats = st.none() | st.floats(allow_nan=False, allow_infinity=False)

segments = st.one_of(
    st.builds(Text, texts),
    st.builds(Mention, user=opt_texts, name=opt_texts, everyone=st.booleans()),
    st.builds(Image, url=opt_texts, file_id=opt_texts, name=opt_texts, size=opt_ints),
    st.builds(File, name=texts, url=opt_texts, file_id=opt_texts, size=opt_ints),
    st.builds(Link, url=texts, title=opt_texts),
    st.builds(Sticker, sticker_id=opt_texts, emoji=opt_texts),
    st.builds(Face, face_id=texts, name=opt_texts),
    st.builds(Media, media=texts, url=opt_texts, file_id=opt_texts, duration_s=opt_floats),
    st.builds(Quote, message_id=texts),
    st.builds(Poll, question=texts, options=st.lists(texts, max_size=5).map(tuple)),
)
messages = st.lists(segments, max_size=8).map(lambda s: Message(tuple(s)))


@given(messages)
def test_to_list_from_list_round_trip_is_exact(message: Message) -> None:
    assert Message.from_list(message.to_list()) == message


@given(messages)
def test_round_trip_survives_json_text(message: Message) -> None:
    """What the store holds is JSON text: lists instead of tuples, no Python objects."""
    assert Message.from_list(json.loads(json.dumps(message.to_list()))) == message


@given(segments)
def test_segment_dict_holds_kind_and_only_set_fields(segment) -> None:
    data = segment_to_dict(segment)
    assert data["kind"] == segment.kind
    for name, value in data.items():
        assert value is not None and value is not False and value != []
        if name != "kind":
            expected = getattr(segment, name)
            assert value == (list(expected) if isinstance(expected, tuple) else expected)


def test_to_list_of_a_known_message() -> None:
    message = Message.of(
        "hi ",
        Mention(user="42"),
        Mention(everyone=True),
        Poll("lunch?", ("面", "饭")),
        Image(size=0),
    )
    assert message.to_list() == [
        {"kind": "text", "text": "hi "},
        {"kind": "mention", "user": "42"},
        {"kind": "mention", "everyone": True},
        {"kind": "poll", "question": "lunch?", "options": ["面", "饭"]},
        {"kind": "image", "size": 0},
    ]


def test_plain_text_of_every_segment_kind() -> None:
    message = Message.of(
        "你好 ",
        Mention(user="u1", name="小明"),
        Mention(user="u2"),
        Mention(everyone=True, name="ignored"),
        Image(url="https://x/1.png"),
        File(name="notes.pdf"),
        Link(url="https://example.org", title="Ex"),
        Link(url="https://b.org"),
        Sticker(emoji="😀"),
        Sticker(sticker_id="s1"),
        Face(face_id="14", name="微笑"),
        Face(face_id="15"),
        Media(media="voice"),
        Quote(message_id="m1"),
        Poll(question="Go?", options=("y", "n")),
    )
    assert message.plain_text() == (
        "你好 @小明@u2@all[image][file notes.pdf]Ex https://example.org"
        "https://b.org😀[sticker][微笑][15][voice][poll Go?]"
    )


def test_plain_text_of_empty_message_is_empty() -> None:
    assert Message().plain_text() == ""
    assert not Message()
    assert Message.of("x")


def test_of_turns_strings_into_text_and_keeps_segments() -> None:
    quote = Quote("m9")
    message = Message.of("a", quote, "", "😀")
    assert message.segments == (Text("a"), quote, Text(""), Text("😀"))
    assert message.segments[1] is quote
    assert Message.of() == Message()


@given(messages, messages)
def test_concatenation_joins_segments_and_plain_text(a: Message, b: Message) -> None:
    joined = a + b
    assert joined.segments == a.segments + b.segments
    assert joined.plain_text() == a.plain_text() + b.plain_text()


@given(messages, texts)
def test_adding_a_string_or_segment_appends_one_segment(message: Message, text: str) -> None:
    assert (message + text).segments == message.segments + (Text(text),)
    mention = Mention(user=text)
    assert (message + mention).segments == message.segments + (mention,)
    assert message.segments == tuple(message)  # the operands are not changed


def test_of_kind_selects_segments_by_class() -> None:
    m1, m2 = Mention(user="1"), Mention(user="2")
    message = Message.of("a", m1, "b", m2)
    assert message.of_kind(Mention) == [m1, m2]
    assert message.of_kind(Text) == [Text("a"), Text("b")]
    assert message.of_kind(Poll) == []


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"kind": "video", "url": "x"}, "'video'"),
        ({"kind": "Text", "text": "x"}, "'Text'"),
        ({"text": "no kind"}, "None"),
        ({"kind": 3}, "3"),
        ({"kind": ["text"]}, "['text']"),
    ],
)
def test_segment_from_dict_refuses_unknown_kind(data: dict, named: str) -> None:
    with pytest.raises(ValueError, match="unknown segment kind") as info:
        segment_from_dict(data)
    assert named in str(info.value)


def test_segment_from_dict_refuses_unknown_fields_naming_each() -> None:
    with pytest.raises(ValueError) as info:
        segment_from_dict({"kind": "text", "text": "x", "bold": True, "colour": "red"})
    message = str(info.value)
    assert "'text'" in message
    assert "bold" in message and "colour" in message


@given(segments, st.text(min_size=1).filter(lambda k: k != "kind"))
def test_any_extra_field_is_refused_not_dropped(segment, extra: str) -> None:
    data = segment_to_dict(segment)
    if extra in data or hasattr(segment, extra):
        return
    data[extra] = "surplus"
    with pytest.raises(ValueError) as info:
        segment_from_dict(data)
    assert repr(extra) in str(info.value)


def test_from_list_refuses_a_bad_item_anywhere() -> None:
    with pytest.raises(ValueError, match="unknown segment kind 'gif'"):
        Message.from_list([{"kind": "text", "text": "ok"}, {"kind": "gif"}])
