"""Flattening Telegram's exported rich text into segments."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shequn.adapters.importers.telegram.text import flatten
from shequn.core import Link, Mention, Message, Text

FORMATTING = [
    "plain",
    "bold",
    "italic",
    "code",
    "pre",
    "spoiler",
    "hashtag",
    "bot_command",
    "email",
]


def test_a_plain_string_is_one_text_segment() -> None:
    assert flatten("早上好") == Message((Text("早上好"),))
    assert flatten("") == Message()
    assert flatten(None) == Message()


def test_entities_become_mentions_and_links() -> None:
    message = flatten(
        [
            "看 ",
            {"type": "mention", "text": "@xiaoming"},
            " 的 ",
            {"type": "text_link", "text": "这篇", "href": "https://example.com/a"},
            {"type": "link", "text": "https://example.com/b"},
            {"type": "mention_name", "text": "老王", "user_id": 42},
            {"type": "bold", "text": "重点"},
        ]
    )
    assert message.segments == (
        Text("看 "),
        Mention(name="xiaoming"),
        Text(" 的 "),
        Link(url="https://example.com/a", title="这篇"),
        Link(url="https://example.com/b"),
        Mention(user="user42", name="老王"),
        Text("重点"),
    )


def test_odd_items_are_skipped_not_guessed() -> None:
    assert flatten(["a", 3, None, {"type": "mention", "text": "@"}, "b"]).segments == (Text("a@b"),)


_plain_entity = st.builds(
    lambda kind, text: {"type": kind, "text": text}, st.sampled_from(FORMATTING), st.text()
)


@given(st.lists(st.one_of(st.text(), _plain_entity), max_size=20))
def test_formatting_only_text_keeps_every_character_in_one_segment(items) -> None:
    """Formatting carries no meaning: the text survives whole, in at most one segment."""
    message = flatten(items)
    expected = "".join(i if isinstance(i, str) else i["text"] for i in items)
    assert message.plain_text() == expected
    assert len(message.segments) == (1 if expected else 0)


@given(
    st.lists(
        st.one_of(
            st.text(),
            _plain_entity,
            st.builds(lambda t: {"type": "link", "text": t}, st.text(min_size=1)),
        ),
        max_size=20,
    )
)
def test_no_two_text_segments_are_adjacent_and_none_is_empty(items) -> None:
    segments = flatten(items).segments
    for left, right in zip(segments, segments[1:], strict=False):
        assert not (isinstance(left, Text) and isinstance(right, Text))
    assert all(s.text for s in segments if isinstance(s, Text))
