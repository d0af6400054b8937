"""Segments → Matrix event contents, and the reading side's robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.adapters.matrix.message import (
    HTML_FORMAT,
    MAX_MENTIONS,
    Rendered,
    from_matrix,
    to_platform,
)
from shequn.core import (
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
)

ALICE = "@alice:matrix.org"


def only(rendered: Rendered) -> dict:
    assert len(rendered.contents) == 1
    return rendered.contents[0]


def test_text_mentions_and_links_are_escaped_into_html() -> None:
    rendered = to_platform(
        Message.of(
            '<b>加粗?</b> & "引号"\n第二行 ',
            Mention(user=ALICE, name="爱丽丝"),
            " ",
            Link('https://example.org/?q=a&b="c"', title="<报名>"),
        )
    )
    assert rendered.lost == ()
    assert only(rendered) == {
        "msgtype": "m.text",
        "body": ('<b>加粗?</b> & "引号"\n第二行 爱丽丝 <报名> https://example.org/?q=a&b="c"'),
        "format": HTML_FORMAT,
        "formatted_body": (
            "&lt;b&gt;加粗?&lt;/b&gt; &amp; &quot;引号&quot;<br>第二行 "
            f'<a href="https://matrix.to/#/{ALICE}">爱丽丝</a> '
            '<a href="https://example.org/?q=a&amp;b=&quot;c&quot;">&lt;报名&gt;</a>'
        ),
        "m.mentions": {"user_ids": [ALICE]},
    }


def test_everyone_is_an_at_room_mention() -> None:
    content = only(to_platform(Message.of(Mention(everyone=True), " 周六开会")))
    assert content["body"] == "@room 周六开会"
    assert content["m.mentions"] == {"room": True}


def test_what_matrix_cannot_show_is_sent_as_text_and_named() -> None:
    rendered = to_platform(
        Message.of(
            Mention(user="12345", name="QQ号"),
            Link("javascript:alert(1)"),
            Sticker(emoji="😂"),
            Face("14", name="微笑"),
            Poll("去哪里？", ("南山", "福田")),
            Image(url="https://example.org/a.png", name="a.png"),
            Image(),
        )
    )
    content = only(rendered)
    assert content["body"] == (
        "@QQ号javascript:alert(1)😂[微笑]去哪里？\n1. 南山\n2. 福田a.png https://example.org/a.png[image]"
    )
    assert 'href="javascript' not in content["formatted_body"]
    assert '<a href="https://example.org/a.png">a.png</a>' in content["formatted_body"]
    assert rendered.lost == (
        "@QQ号 is not a Matrix user id; sent as text",
        "link 'javascript:alert(1)' has an unsafe scheme; sent as text",
        "stickers are not supported; sent as text",
        "platform emoticons have no Matrix form; sent as text",
        "polls are not supported; sent as text",
        "an image needs an mxc:// url on Matrix; sent as a link",
        "an image without a url cannot be sent; sent as text",
    )


def test_mxc_attachments_become_their_own_events() -> None:
    rendered = to_platform(
        Message.of(
            Quote("$original"),
            "资料如下",
            Image(url="mxc://matrix.org/img", name="封面.png", size=1024),
            File("笔记.pdf", url="mxc://matrix.org/pdf", size=2048),
            Media("voice", url="mxc://matrix.org/ogg", duration_s=3.5),
            Media("video", url="mxc://matrix.org/mp4"),
        )
    )
    assert rendered.lost == ()
    text, image, file, voice, video = rendered.contents
    assert text["body"] == "资料如下"
    assert text["m.relates_to"] == {"m.in_reply_to": {"event_id": "$original"}}
    assert image == {
        "msgtype": "m.image",
        "body": "封面.png",
        "url": "mxc://matrix.org/img",
        "info": {"size": 1024},
    }
    assert file == {
        "msgtype": "m.file",
        "body": "笔记.pdf",
        "filename": "笔记.pdf",
        "url": "mxc://matrix.org/pdf",
        "info": {"size": 2048},
    }
    assert voice == {
        "msgtype": "m.audio",
        "body": "voice",
        "url": "mxc://matrix.org/ogg",
        "info": {"duration": 3500},
        "org.matrix.msc3245.voice": {},
    }
    assert video == {"msgtype": "m.video", "body": "video", "url": "mxc://matrix.org/mp4"}


def test_a_reply_target_and_extra_quotes() -> None:
    rendered = to_platform(
        Message.of(Quote("$a"), Quote("$b"), Image(url="mxc://matrix.org/x")), reply_to="$a"
    )
    assert only(rendered)["m.relates_to"] == {"m.in_reply_to": {"event_id": "$a"}}
    assert rendered.lost == ("a Matrix message replies to one message; extra quotes dropped",)


def test_a_message_with_nothing_to_show_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing"):
        to_platform(Message.of(Quote("$a"), "   "))


def test_reading_back_what_was_written() -> None:
    message = Message.of(
        "你好 ", Mention(user=ALICE, name="爱丽丝"), "，看 ", Link("https://example.org/x")
    )
    assert from_matrix(only(to_platform(message))).segments == message.segments


def test_a_hostile_mentions_list_is_capped_and_filtered() -> None:
    users = [f"@u{i}:matrix.org" for i in range(1000)]
    content = {"msgtype": "m.text", "body": "hi", "m.mentions": {"user_ids": [*users, 7, None]}}
    mentions = from_matrix(content).of_kind(Mention)
    assert len(mentions) == MAX_MENTIONS
    assert from_matrix({"body": "hi", "m.mentions": "all"}).segments == (Text("hi"),)


def test_pills_with_encoded_ids_and_links_to_rooms() -> None:
    content = {
        "msgtype": "m.text",
        "body": "x",
        "format": HTML_FORMAT,
        "formatted_body": (
            '<a href="https://matrix.to/#/%40alice%3Amatrix.org?via=matrix.org">Alice</a> 在 '
            '<a href="https://matrix.to/#/#books:matrix.org">#books</a>'
        ),
    }
    assert from_matrix(content).segments == (
        Mention(user=ALICE, name="Alice"),
        Text(" 在 #books"),
    )


_PRINTABLE = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\r\x0c"
)
_TRICKY = st.sampled_from(
    ["<b>", "</p>", "<br>", "&amp;", "&lt;", "<script>x</script>", "<a href='x'>", "\n", " ", '"']
    + ["https://example.org/a?b=1&c=2", "@bot:matrix.org"]
)
_TEXTS = st.lists(st.one_of(st.text(_PRINTABLE, max_size=6), _TRICKY), max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=_TEXTS)
def test_any_text_survives_the_round_trip(text: str) -> None:
    if not text.strip():
        return
    content = only(to_platform(Message.of(text)))
    assert from_matrix(content).plain_text() == text.strip()


@settings(max_examples=200, deadline=None)
@given(
    html=st.text(
        alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from("<>&;/=\"'")),
        max_size=200,
    ),
    body=st.text(max_size=40),
)
def test_no_html_makes_reading_fail(html: str, body: str) -> None:
    content = {"msgtype": "m.text", "body": body, "format": HTML_FORMAT, "formatted_body": html}
    message = from_matrix(content)
    assert all(not isinstance(s, Text) or s.text for s in message)
