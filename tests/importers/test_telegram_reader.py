"""Both ways of reading an export agree: ijson's C ``items`` for a single chat, and the
token walk that full-account exports need."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.adapters.importers.telegram.reader import BadExport, _walk, read_messages

SAMPLE = Path(__file__).parent / "samples" / "telegram_single.json"


def both(data: bytes) -> tuple[list, list]:
    fast = [(m.chat, m.message) for m in read_messages(io.BytesIO(data), "x")]
    walked = [(m.chat, m.message) for m in _walk(io.BytesIO(data), "x")]
    return fast, walked


def test_the_sample_reads_the_same_both_ways() -> None:
    fast, walked = both(SAMPLE.read_bytes())
    assert fast == walked and len(fast) > 5


values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60)
@given(
    name=st.text(max_size=30),
    chat_id=st.integers(1, 2**40) | st.text(min_size=1, max_size=10),
    messages=st.lists(
        st.dictionaries(st.sampled_from(["id", "text", "x", "from"]), values), max_size=5
    ),
)
def test_any_single_chat_reads_the_same_both_ways(
    name: str, chat_id: int | str, messages: list[dict]
) -> None:
    data = json.dumps({"name": name, "type": "private_group", "id": chat_id, "messages": messages})
    fast, walked = both(data.encode())
    assert fast == walked
    assert [m for _, m in fast] == messages


@pytest.mark.parametrize(
    "data",
    [
        b'{"name": "g", "messages": [{"id": 1}], "id": 5}',  # the id after the messages
        b'{"name": "g", "id": 5, "messages": [{"id": 1}',  # cut short
    ],
)
def test_what_the_fast_path_cannot_read_is_refused_as_before(data: bytes) -> None:
    with pytest.raises(BadExport):
        list(read_messages(io.BytesIO(data), "x"))
    with pytest.raises(BadExport):
        list(_walk(io.BytesIO(data), "x"))
