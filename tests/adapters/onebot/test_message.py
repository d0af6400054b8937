"""Segments ↔ OneBot arrays and CQ strings, escaping included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.adapters.onebot.message import (
    BadMessage,
    escape,
    from_platform,
    parse_cq,
    to_cq,
    to_platform,
    unescape,
)
from shequn.core import (
    Face,
    File,
    Image,
    Link,
    Media,
    Mention,
    Message,
    Quote,
    Sticker,
    Text,
)

# Text made to trip an escaper: CQ syntax, entities and their fragments, and Chinese.
FRAGMENTS = st.sampled_from(
    ["[", "]", "&", ",", "=", ";", "#", "[CQ:", "[CQ:at,qq=1]", "&amp;", "&#91;", "&#93;",
     "&#44;", "&amp;#91;", "CQ:", "群主", "你好，世界", " ", "\n"]
)  # fmt: skip
TRICKY_TEXT = st.lists(FRAGMENTS | st.text(max_size=4), max_size=12).map("".join)
KINDS = st.sampled_from(
    ["at", "face", "image", "reply", "record", "video", "file", "json", "xml", "share"]
)
KEYS = st.from_regex(r"\A[a-z_][a-z0-9_]{0,7}\Z")


@st.composite
def segment_arrays(draw: st.DrawFn) -> list[dict[str, Any]]:
    segments: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            segments.append({"type": "text", "data": {"text": draw(TRICKY_TEXT)}})
        else:
            data = draw(st.dictionaries(KEYS, TRICKY_TEXT, max_size=3))
            segments.append({"type": draw(KINDS), "data": data})
    return segments


def canonical(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent text runs are one run in a string, and an empty one is no run."""
    out: list[dict[str, Any]] = []
    for segment in segments:
        if segment["type"] != "text":
            out.append(segment)
        elif segment["data"]["text"]:
            if out and out[-1]["type"] == "text":
                text = out[-1]["data"]["text"] + segment["data"]["text"]
                out[-1] = {"type": "text", "data": {"text": text}}
            else:
                out.append(segment)
    return out


@settings(max_examples=300, deadline=None)
@given(TRICKY_TEXT)
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    expected = [{"type": "text", "data": {"text": text}}] if text else []
    assert parse_cq(escape(text)) == expected
    assert unescape(escape(text, comma=True)) == text
    assert from_platform(escape(text)).plain_text() == text


@settings(max_examples=200, deadline=None)
@given(segment_arrays())
def test_segments_to_cq_string_and_back_is_identity(segments: list[dict[str, Any]]) -> None:
    assert parse_cq(to_cq(segments)) == canonical(segments)


def test_escaping_by_example() -> None:
    assert escape("A&B [第二期]") == "A&amp;B &#91;第二期&#93;"
    assert escape("a,b", comma=True) == "a&#44;b"
    assert escape("a,b") == "a,b"
    assert unescape("&amp;#91;") == "&#91;"
    assert unescape("&#91;CQ:at,qq=1&#93;") == "[CQ:at,qq=1]"


def test_cq_strings_by_example() -> None:
    assert parse_cq("[CQ:reply,id=-5][CQ:at,qq=123] 收到&#44;谢谢[CQ:face,id=14]") == [
        {"type": "reply", "data": {"id": "-5"}},
        {"type": "at", "data": {"qq": "123"}},
        {"type": "text", "data": {"text": " 收到,谢谢"}},
        {"type": "face", "data": {"id": "14"}},
    ]
    # Broken codes stay text rather than becoming half a segment.
    assert parse_cq("[CQ:at,qq=1") == [{"type": "text", "data": {"text": "[CQ:at,qq=1"}}]
    assert parse_cq("[CQ:at,qq]") == [{"type": "text", "data": {"text": "[CQ:at,qq]"}}]
    assert parse_cq("[CQ:shake]") == [{"type": "shake", "data": {}}]
    image = {"type": "image", "data": {"file": "a,b.jpg", "url": "https://x/?a=1&b=[2]"}}
    assert to_cq([image]) == "[CQ:image,file=a&#44;b.jpg,url=https://x/?a=1&amp;b=&#91;2&#93;]"
    with pytest.raises(BadMessage, match="not a scalar"):
        to_cq([{"type": "face", "data": {"raw": {"faceIndex": 1}}}])


def test_segment_kinds_from_onebot() -> None:
    mini_app = {
        "app": "com.tencent.miniapp_01",
        "prompt": "[QQ小程序]周六线下活动报名",
        "meta": {
            "detail_1": {
                "title": "腾讯文档",
                "desc": "周六线下活动报名",
                "qqdocurl": "https://docs.qq.com/form/page/DWkVxRnJ?_w_tencentdocx_form=1",
            }
        },
    }
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><msg serviceID="1" brief="[分享]产品周报" '
        'url="https://example.com/weekly?id=3&amp;from=qq"><item><title>产品周报 第3期</title>'
        "</item></msg>"
    )
    message = from_platform(
        [
            {"type": "record", "data": {"file": "voice.amr", "url": "https://example.com/v.amr"}},
            {"type": "video", "data": {"file": "clip.mp4"}},
            {"type": "file", "data": {"file": "周报.pdf", "file_id": "/a1b2", "file_size": 2048}},
            {"type": "json", "data": {"data": json.dumps(mini_app, ensure_ascii=False)}},
            {"type": "json", "data": {"data": "{not json"}},
            {"type": "xml", "data": {"data": xml}},
            {"type": "share", "data": {"url": "https://example.com/a", "title": "文章"}},
            {"type": "mface", "data": {"emoji_id": "7a8b", "summary": "[开心]"}},
            {"type": "poke", "data": {"type": "1", "id": "-1"}},
            {"type": "at", "data": {"qq": 2345678901, "name": "Lily"}},
        ]
    )
    assert message.segments == (
        Media(media="voice", url="https://example.com/v.amr", file_id="voice.amr"),
        Media(media="video", file_id="clip.mp4"),
        File(name="周报.pdf", file_id="/a1b2", size=2048),
        Link(
            url="https://docs.qq.com/form/page/DWkVxRnJ?_w_tencentdocx_form=1",
            title="腾讯文档",
        ),
        Media(media="json"),
        Link(url="https://example.com/weekly?id=3&from=qq", title="产品周报 第3期"),
        Link(url="https://example.com/a", title="文章"),
        Sticker(sticker_id="7a8b", emoji="[开心]"),
        Media(media="poke"),
        Mention(user="2345678901", name="Lily"),
    )


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"type": "text"}, "not a segment array or string"),
        (["你好"], "segment 0 is str, not an object"),
        ([{"type": "text", "data": {"text": "a"}}, {"data": {}}], "segment 1 has no type"),
        ([{"type": "text", "data": "a"}], "segment 0 (text): data is not an object"),
        ([{"type": "text", "data": {"text": None}}], "text is missing or not text"),
        ([{"type": "at", "data": {}}], "segment 0 (at): qq is missing"),
        ([{"type": "at", "data": {"qq": ""}}], "qq is empty"),
        ([{"type": "reply", "data": {"id": True}}], "id is missing"),
        ([{"type": "image", "data": {"file": ""}}], "neither file nor url"),
        ([{"type": "file", "data": {}}], "neither name nor file"),
    ],
)
def test_malformed_messages_name_the_segment_and_field(message: Any, error: str) -> None:
    with pytest.raises(BadMessage, match=error.replace("(", r"\(").replace(")", r"\)")):
        from_platform(message)


def test_to_platform_sends_what_qq_shows_and_reports_the_rest() -> None:
    rendered = to_platform(
        Message.of(
            "看",
            Quote("100"),
            Mention(name="张三"),
            Face(face_id="微笑"),
            Face(face_id="14"),
            Sticker(emoji="😀"),
            Media(media="location"),
            Media(media="voice", url="https://example.com/v.silk"),
            File(name="a.pdf"),
            File(name="b.pdf", url="https://example.com/b.pdf"),
            Link(url="https://example.com", title="官网"),
            Quote("101"),
        )
    )
    assert rendered.as_list() == [
        {"type": "reply", "data": {"id": "100"}},
        {"type": "text", "data": {"text": "看@张三[微笑]"}},
        {"type": "face", "data": {"id": "14"}},
        {"type": "text", "data": {"text": "😀[location]"}},
        {"type": "record", "data": {"file": "https://example.com/v.silk"}},
        {"type": "text", "data": {"text": "[file a.pdf]"}},
        {"type": "file", "data": {"file": "https://example.com/b.pdf", "name": "b.pdf"}},
        {"type": "text", "data": {"text": "官网 https://example.com"}},
    ]
    assert rendered.lost == (
        "a mention without a QQ id cannot notify anyone; sent as text",
        "face '微笑' is not a QQ face id; sent as text",
        "stickers are not supported; sent as text",
        "location without a URL or file, or of a kind QQ cannot send; sent as text",
        "file 'a.pdf' has no URL or file to send; sent as text",
        "a QQ message replies to one message only; another quote was dropped",
    )


def test_supported_segments_survive_a_trip_through_qq() -> None:
    message = Message.of(
        Quote("-2021837465"),
        Mention(user="2345678901"),
        " 见图",
        Face(face_id="178"),
        Mention(everyone=True),
        Image(file_id="https://example.com/p.png"),
    )
    assert from_platform(to_platform(message).as_list()) == message
    assert from_platform(to_cq(to_platform(message).as_list())) == message


def test_text_segments_are_merged_and_empty_ones_dropped() -> None:
    message = from_platform(
        [
            {"type": "text", "data": {"text": "早"}},
            {"type": "text", "data": {"text": ""}},
            {"type": "text", "data": {"text": "安"}},
        ]
    )
    assert message.segments == (Text("早安"),)


WORDS = ["type", "data", "text", "qq", "id", "file", "url", "name", "all", "at", "image", "reply",
         "face", "json", "xml", "file_size", "raw", "faceText", "share"]  # fmt: skip
SEGMENT_WORDS = st.sampled_from(WORDS)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6) | SEGMENT_WORDS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(SEGMENT_WORDS, children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON | TRICKY_TEXT)
def test_hostile_messages_are_read_or_refused_never_crash(message: Any) -> None:
    try:
        read = from_platform(message)
    except BadMessage:
        return
    assert all(not isinstance(s, Text) or s.text for s in read)
