"""Rendering a post for each platform, with what a platform cannot show flagged first."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.core import Image, Link, Message, Text
from shequn.features.broadcast.content import render, variable_values
from shequn.features.broadcast.platforms import PROFILES, PlatformProfile, TextUnit
from shequn.features.broadcast.post import Post, PostImage, PostLink, parse_post
from shequn.features.broadcast.problems import PostError, UnknownPlatform

VALUES = variable_values(
    group="读书会 3 群", community="读书会", member_count=412, day=date(2025, 3, 7), lang="zh-CN"
)
BRIEF = parse_post(
    {
        "id": "brief",
        "variants": {"zh-CN": "{group} 晨报 {date}，共 {member_count} 人", "en": "{group} brief"},
        "links": [{"url": "https://example.org/talk", "title": "今晚分享"}],
        "images": [{"url": "https://example.org/cover.png", "alt": "封面"}],
    }
)


def test_the_post_becomes_segments_with_its_variables_filled() -> None:
    rendered = render(BRIEF, "telegram", VALUES, "zh-CN")
    assert rendered.ok and rendered.warnings == ()
    assert rendered.lang == "zh-CN"
    assert rendered.message == Message(
        (
            Text("读书会 3 群 晨报 2025年3月7日，共 412 人\n"),
            Link("https://example.org/talk", title="今晚分享"),
            Image(url="https://example.org/cover.png", name="封面"),
        )
    )


def test_the_date_is_written_as_each_language_writes_it() -> None:
    day = date(2025, 3, 7)
    common = {"group": "g", "community": "c", "member_count": 1, "day": day}
    assert variable_values(**common, lang="zh-CN")["date"] == "2025年3月7日"
    assert variable_values(**common, lang="en")["date"] == "March 7, 2025"
    assert variable_values(**common, lang="not-a-locale")["date"] == "March 7, 2025"


def test_matrix_cannot_show_an_image_it_does_not_host_and_says_so() -> None:
    rendered = render(BRIEF, "matrix", VALUES)
    assert rendered.ok
    assert [p.where for p in rendered.warnings] == ["images[0]"]
    assert "mxc" not in rendered.warnings[0].en and "sent as a link" in rendered.warnings[0].en
    assert rendered.message.segments[-1] == Link("https://example.org/cover.png", title="封面")
    hosted = Post(
        "p",
        {"zh-CN": "图"},
        images=(PostImage("https://example.org/a.png", file_ids={"matrix": "mxc://hs/a"}),),
    )
    shown = render(hosted, "matrix", VALUES)
    assert shown.warnings == () and Image(url="mxc://hs/a") in shown.message.segments


def test_a_text_only_platform_gets_the_image_as_a_link_flagged() -> None:
    sms = PlatformProfile("sms", max_text=500, images=False)
    rendered = render(BRIEF, sms, VALUES)
    assert rendered.ok
    assert rendered.warnings[0].where == "images[0]"
    assert "cannot show images" in rendered.warnings[0].en
    assert not rendered.message.of_kind(Image)


def test_own_file_ids_are_used_where_the_platform_has_them() -> None:
    post = Post(
        "p",
        {"en": "x"},
        images=(PostImage("https://e.org/a.png", file_ids={"wecom": "MEDIA", "telegram": "AgAD"}),),
        default_lang="en",
    )
    wecom = render(post, "wecom", VALUES).message.of_kind(Image)
    assert wecom == [Image(url="https://e.org/a.png", file_id="MEDIA")]
    assert render(post, "onebot", VALUES).message.of_kind(Image) == [
        Image(url="https://e.org/a.png")
    ]


@pytest.mark.parametrize(
    ("platform", "text", "ok"),
    [
        ("telegram", "a" * 4096, True),
        ("telegram", "a" * 4097, False),
        # An emoji outside the BMP is two UTF-16 units to Telegram.
        ("telegram", "😀" * 2048, True),
        ("telegram", "😀" * 2049, False),
        # WeCom counts bytes: a Chinese character is three.
        ("wecom", "中" * 1333, True),
        ("wecom", "中" * 1334, False),
        ("onebot", "中" * 4500, True),
        ("onebot", "中" * 4501, False),
        ("matrix", "中" * 10_666, True),  # 31,998 bytes
        ("matrix", "中" * 10_667, False),
        ("sim", "a" * 20_000, True),
    ],
)
def test_a_post_too_long_for_a_platform_is_blocked_there(
    platform: str, text: str, ok: bool
) -> None:
    rendered = render(Post("long", {"en": text}, default_lang="en"), platform, {}, "en")
    assert rendered.ok is ok
    if not ok:
        (blocker,) = rendered.blockers
        assert blocker.where == platform
        assert "takes at most" in blocker.en and "最多" in blocker.zh


def test_wecom_counts_titled_links_as_cards_against_nine_attachments() -> None:
    post = Post(
        "many",
        {"en": "x"},
        images=tuple(PostImage(f"https://e.org/{i}.png") for i in range(8)),
        links=(PostLink("https://e.org/a", "A"), PostLink("https://e.org/b", "B")),
        default_lang="en",
    )
    rendered = render(post, "wecom", {}, "en")
    assert rendered.ok
    assert any("10 attachments" in w.en for w in rendered.warnings)
    assert render(post, "telegram", {}, "en").warnings == ()


def test_a_variable_without_a_value_is_flagged_and_reads_empty() -> None:
    rendered = render(Post("p", {"en": "hi {group}!"}, default_lang="en"), "sim", {}, "en")
    assert rendered.message == Message.of("hi !")
    assert "{group} has no value" in rendered.warnings[0].en


def test_a_post_that_renders_to_nothing_is_blocked() -> None:
    rendered = render(Post("p", {"en": "{group}"}, default_lang="en"), "sim", {"group": " "}, "en")
    assert not rendered.ok and rendered.blockers[0].where == "post"


def test_unknown_platforms_and_unsound_posts_are_refused_not_guessed() -> None:
    with pytest.raises(UnknownPlatform, match="known: matrix, onebot, sim, telegram, wecom"):
        render(BRIEF, "icq", VALUES)
    with pytest.raises(PostError):
        render(Post("p", {"en": "{nope}"}, default_lang="en"), "sim", {}, "en")


def test_every_built_in_platform_has_a_profile_named_after_it() -> None:
    assert {name for name, profile in PROFILES.items() if profile.name == name} == {
        "sim",
        "telegram",
        "matrix",
        "onebot",
        "wecom",
    }
    assert TextUnit.UTF16.measure("a😀") == 3 and TextUnit.UTF8.measure("a中") == 4


texts = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=200, deadline=None)
@given(
    texts.filter(lambda t: "{" not in t and "}" not in t and "\x00" not in t),
    st.dictionaries(st.sampled_from(["group", "community", "date"]), st.text(max_size=50)),
    st.sampled_from([*PROFILES, "sms"]),
    st.sampled_from(["zh-CN", "en", "ja", "zh-TW"]),
)
def test_rendering_never_crashes_on_arbitrary_unicode(
    text: str, values: dict[str, str], platform: str, lang: str
) -> None:
    post = Post(
        "u",
        {"zh-CN": text + "{group}{community}{date}", "en": text},
        images=(PostImage("https://e.org/a.png", alt=text[:200] or None),),
    )
    profile = PlatformProfile("sms", max_text=160, images=False) if platform == "sms" else platform
    rendered = render(post, profile, values, lang)
    assert rendered.lang in ("zh-CN", "en")
    assert rendered.message  # the image (or its link) is always there
    assert rendered.length >= 0
    assert all(p.text("en") and p.text("zh-CN") for p in rendered.problems)
    Message.from_list(rendered.message.to_list())  # the outbox can store and read it back
