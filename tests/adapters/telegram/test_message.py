"""Segments ↔ Telegram text with entities: UTF-16 offsets both ways, and what
cannot be shown degrades to text and is reported."""

from __future__ import annotations

from aiogram.types import MessageEntity, User
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.adapters.telegram import Attachment, from_text, to_platform
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
    Segment,
    Sticker,
    Text,
)

CHEN = User(id=6023456789, is_bot=False, first_name="陈大伟")

# Offsets by hand: 🎉 is two UTF-16 units, each Chinese character one.
TEXT = "🎉欢迎 @陈大伟 和 @lin_xiaowen！资料：https://example.org/santi 点这里"
ENTITIES = [
    {"type": "text_mention", "offset": 5, "length": 4, "user": CHEN.model_dump(exclude_none=True)},
    {"type": "mention", "offset": 12, "length": 12},
    {"type": "url", "offset": 28, "length": 25},
    {"type": "text_link", "offset": 54, "length": 3, "url": "https://example.org/notes"},
]
SEGMENTS = (
    Text("🎉欢迎 "),
    Mention(user="6023456789", name="陈大伟"),
    Text(" 和 "),
    Mention(name="lin_xiaowen"),
    Text("！资料："),
    Link(url="https://example.org/santi"),
    Text(" "),
    Link(url="https://example.org/notes", title="点这里"),
)


def dumped(entities) -> list[dict]:
    return [e.model_dump(exclude_none=True) for e in entities]


def test_segments_become_text_with_utf16_offsets() -> None:
    rendered = to_platform(Message(SEGMENTS))
    assert rendered.text == TEXT
    assert dumped(rendered.entities) == ENTITIES
    assert rendered.media == ()
    assert rendered.lost == ()


def test_text_with_utf16_offsets_becomes_segments() -> None:
    entities = [MessageEntity.model_validate(e) for e in ENTITIES]
    assert tuple(from_text(TEXT, entities)) == SEGMENTS


def test_formatting_entities_stay_text_even_around_a_mention() -> None:
    text = "📌 @lin_xiaowen 请看置顶"
    entities = [
        MessageEntity(type="bold", offset=0, length=15),
        MessageEntity(type="mention", offset=3, length=12),
        MessageEntity(type="spoiler", offset=16, length=4),
    ]
    assert from_text(text, entities) == [
        Text("📌 "),
        Mention(name="lin_xiaowen"),
        Text(" 请看置顶"),
    ]


def test_entities_that_do_not_fit_are_skipped_and_the_words_kept(caplog) -> None:
    text = "👍好 @mia_zhou"
    entities = [
        MessageEntity(type="url", offset=1, length=2),  # starts inside the emoji
        MessageEntity(type="mention", offset=4, length=9),  # the real one
        MessageEntity(type="text_link", offset=5, length=3, url="https://x.example"),  # overlaps
        MessageEntity(type="mention", offset=0, length=0),
        MessageEntity(type="mention", offset=-3, length=2),
        MessageEntity(type="mention", offset=12, length=50),
    ]
    assert from_text(text, entities, where="update 7") == [
        Text("👍好 "),
        Mention(name="mia_zhou"),
    ]
    reasons = [r.getMessage() for r in caplog.records]
    assert len(reasons) == 5
    assert all(r.startswith("update 7: ") for r in reasons)
    assert "update 7: url entity skipped: it cuts a character in half" in reasons


def test_a_lone_surrogate_does_not_break_conversion() -> None:
    text = "半个表情\ud83d后面 @mia_zhou"
    entities = [MessageEntity(type="mention", offset=8, length=9)]
    assert from_text(text, entities) == [Text("半个表情\ud83d后面 "), Mention(name="mia_zhou")]


def test_what_telegram_cannot_show_is_sent_as_text_and_reported() -> None:
    rendered = to_platform(
        Message.of(
            "各位",
            Mention(everyone=True),
            "早上好",
            Face("14", "微笑"),
            Media(media="location"),
            Mention(name="张三"),
            Mention(user="@someone:matrix.org", name="小李"),
        )
    )
    assert rendered.text == "各位@all早上好[微笑][location]@张三@小李"
    assert rendered.entities == ()
    assert rendered.lost == (
        "Telegram has no mention of everyone; sent as the text @all",
        "Telegram has no built-in face [微笑]; sent as text",
        "Telegram cannot send 'location' media; sent as text",
        "@张三 names no Telegram user id or username; sent as text",
        "'@someone:matrix.org' is not a Telegram user id; mention sent as text",
    )


def test_media_go_as_attachments_after_the_text() -> None:
    rendered = to_platform(
        Message.of(
            "周六活动海报，请查收 📎",
            Image(url="https://example.org/poster.jpg", file_id="mxc-not-telegram"),
            File(name="报名表.xlsx", file_id="BQACAgUAAxkBAAIEuWZr_doc"),
            Sticker(sticker_id="CAACAgIAAxkBAAIEt2Zr_sticker", emoji="😂"),
            Media(media="voice", file_id="AwACAgUAAxkBAAIEumZr_voice"),
            Poll("周六能来吗？", ("能", "不能")),
        )
    )
    assert rendered.text == "周六活动海报，请查收 📎"
    assert rendered.media == (
        Attachment("photo", "https://example.org/poster.jpg"),
        Attachment("document", "BQACAgUAAxkBAAIEuWZr_doc"),
        Attachment("sticker", "CAACAgIAAxkBAAIEt2Zr_sticker"),
        Attachment("voice", "AwACAgUAAxkBAAIEumZr_voice"),
        Poll("周六能来吗？", ("能", "不能")),
    )
    assert rendered.lost == (
        "Telegram cannot send text and media as one message; the text goes first, "
        "then each attachment",
    )


def test_media_with_nothing_to_send_degrade() -> None:
    rendered = to_platform(
        Message.of(Image(name="poster.jpg"), Sticker(emoji="😂"), Poll("来吗？", ("来",)))
    )
    assert rendered.text == "[image]😂[poll 来吗？]"
    assert rendered.media == ()
    assert len(rendered.lost) == 3


def test_a_quote_becomes_the_reply_target() -> None:
    rendered = to_platform(Message.of(Quote("1204"), "收到", Quote("1205"), Quote("chat:9")))
    assert rendered.reply_to == 1204
    assert rendered.text == "收到"
    assert rendered.lost == (
        "a Telegram message replies to one message; later quotes dropped",
        "reply target 'chat:9' is not a Telegram message id; sent without the reply",
    )


def test_nothing_to_show_is_empty() -> None:
    assert to_platform(Message.of(Quote("1204"), "  ")).empty
    assert not to_platform(Message.of(Image(file_id="AgAC"))).empty


# --- the property: text, mention and link segments survive the round trip ------------

_chars = st.one_of(
    st.characters(exclude_categories=("Cs",)),
    st.sampled_from("读书会周末共读三体《》，！🎉👍📚🚀👨‍👩‍👧 @#"),
)
_texts = st.text(_chars, min_size=1, max_size=12).map(Text)
_names = st.text(_chars, min_size=1, max_size=8)
_usernames = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{3,31}", fullmatch=True)
_mentions = st.one_of(
    st.builds(Mention, user=st.integers(1, 10**12).map(str), name=_names),
    st.builds(Mention, name=_usernames),
)
_urls = st.from_regex(r"https://[a-z]{1,10}\.example/[A-Za-z0-9_?=&%-]{0,16}", fullmatch=True)
_links = st.one_of(st.builds(Link, url=_urls), st.builds(Link, url=_urls, title=_names))
_segments = st.lists(st.one_of(_texts, _mentions, _links), max_size=8)


def _joined(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if isinstance(seg, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + seg.text)
        else:
            out.append(seg)
    return out


@settings(max_examples=200, deadline=None)
@given(_segments)
def test_segments_to_text_and_entities_and_back_is_identity(segments: list[Segment]) -> None:
    rendered = to_platform(Message(tuple(segments)))
    assert rendered.lost == ()
    # Through the wire form, as Telegram would hand the entities back.
    entities = [MessageEntity.model_validate(e) for e in dumped(rendered.entities)]
    assert from_text(rendered.text, entities) == _joined(segments)
