"""Posts: refused when they cannot be sent as written, every problem named by its field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.features.broadcast.post import (
    Post,
    PostImage,
    PostLink,
    check_post,
    parse_post,
)
from shequn.features.broadcast.problems import PostError

GOOD: dict[str, Any] = {
    "id": "morning-brief",
    "variants": {"zh-CN": "{group} 晨报 · {date}", "en": "{group} morning brief · {date}"},
    "images": [{"url": "https://example.org/a.png", "alt": "cover", "file_ids": {"wecom": "M1"}}],
    "links": [{"url": "https://example.org/talk", "title": "今晚分享"}],
    "tags": ["晨报", "daily"],
}


def test_a_sound_post_reads_and_writes_back() -> None:
    post = parse_post(GOOD)
    assert post.variants["en"] == "{group} morning brief · {date}"
    assert post.images == (PostImage("https://example.org/a.png", "cover", {"wecom": "M1"}),)
    assert post.links == (PostLink("https://example.org/talk", "今晚分享"),)
    assert post.default_lang == "zh-CN"
    assert parse_post(post.to_dict()) == post


def test_shorthands_one_text_and_bare_urls() -> None:
    post = parse_post(
        {"id": "p1", "text": "hello {community}", "lang": "en", "images": ["mxc://hs/abc"]}
    )
    assert post.variants == {"en": "hello {community}"}
    assert post.default_lang == "en"
    assert post.images == (PostImage("mxc://hs/abc"),)
    assert parse_post({"id": "img-only", "images": ["https://example.org/x.jpg"]}).variants == {}


def _bad(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    ("data", "where", "says"),
    [
        ({"id": "empty"}, "post", "is empty"),
        ({"id": "blank", "text": "   "}, "variants.zh-CN", "is empty"),
        (_bad(id=""), "id", "1–64 letters"),
        (_bad(id="has space"), "id", "1–64 letters"),
        (_bad(variants={"en": "hi {city}"}, default_lang="en"), "variants.en", "{city}"),
        (_bad(variants={"en": "hi {name.__class__}"}, default_lang="en"), "variants.en", "not a"),
        (_bad(variants={"en": "a lone { brace"}, default_lang="en"), "variants.en", "lone"),
        (_bad(variants={"english": "hi"}), "variants.english", "language tag"),
        (_bad(variants={"en": "x\x00y"}, default_lang="en"), "variants.en", "U+0000"),
        (_bad(variants={"en": "x\ud800y"}, default_lang="en"), "variants.en", "U+D800"),
        (_bad(variants={"en": "x" * 20_001}, default_lang="en"), "variants.en", "at most"),
        (_bad(default_lang="fr"), "default_lang", "not one of the variants"),
        (_bad(images=[{"url": "ftp://example.org/a.png"}]), "images[0].url", "not a URL"),
        (_bad(images=[{"url": "https://"}]), "images[0].url", "not a URL"),
        (_bad(images=[{"url": "https://ex ample.org/a"}]), "images[0].url", "spaces"),
        (_bad(images=[{"url": "mxc://server"}]), "images[0].url", "media id"),
        (_bad(images=[{"alt": "no url"}]), "images[0].url", "missing"),
        (_bad(images=[42]), "images[0]", "URL or an object"),
        (
            _bad(images=[{"url": "https://e.org/a", "file_ids": {"wecom": ""}}]),
            "images[0].file_ids.wecom",
            "1 to 512",
        ),
        (_bad(images="https://e.org/a"), "images", "must be a list"),
        (_bad(links=[{"url": "javascript:alert(1)"}]), "links[0].url", "not a URL"),
        (_bad(links=[{"url": "https://e.org", "title": "t" * 201}]), "links[0].title", "200"),
        (_bad(tags=["two words"]), "tags[0]", "without spaces"),
        (_bad(tags=["a", "a"]), "tags", "twice"),
        (_bad(text="also text"), "text", "either text or variants"),
        ("not an object", "post", "must be an object"),
    ],
)
def test_a_post_that_cannot_be_sent_names_the_field(data: Any, where: str, says: str) -> None:
    with pytest.raises(PostError) as info:
        parse_post(data)
    lines = info.value.lines("en")
    assert any(line.startswith(where) and says in line for line in lines), lines
    assert len(info.value.lines("zh-CN")) == len(lines)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(PostError) as info:
        parse_post(
            {
                "id": "",
                "variants": {"en": "{city}"},
                "default_lang": "en",
                "images": [{"url": "ftp://x"}],
                "tags": ["a b"],
            }
        )
    wheres = [p.where for p in info.value.problems]
    assert wheres == ["id", "variants.en", "images[0].url", "tags[0]"]
    assert "第 1 个字符处的变量 {city} 不存在" in info.value.text("zh-CN")


def test_a_post_built_in_code_is_checked_the_same_way() -> None:
    with pytest.raises(PostError, match="is empty"):
        check_post(Post("p1"))
    assert check_post(Post("p1", {"en": "hi"}, default_lang="en")).id == "p1"


@pytest.mark.parametrize(
    ("variants", "default", "asked", "chosen"),
    [
        ({"zh-CN": "你好", "en": "hi"}, "zh-CN", "en", "en"),
        ({"zh-CN": "你好", "en": "hi"}, "zh-CN", "zh-TW", "zh-CN"),
        ({"zh-CN": "你好", "en": "hi"}, "zh-CN", "en-GB", "en"),
        ({"zh-CN": "你好", "en": "hi"}, "en", "ja", "en"),
        ({"zh-CN": "你好"}, "zh-CN", "en", "zh-CN"),
    ],
)
def test_a_reader_gets_their_variant_or_the_fallback(
    variants: dict[str, str], default: str, asked: str, chosen: str
) -> None:
    assert Post("p", variants, default_lang=default).choose_lang(asked) == chosen


@given(st.text(max_size=200))
def test_any_text_is_either_a_post_or_a_named_refusal(text: str) -> None:
    try:
        post = parse_post({"id": "p", "text": text})
    except PostError as exc:
        assert exc.problems and all(p.where in ("variants.zh-CN", "post") for p in exc.problems)
    else:
        assert post.variants == {"zh-CN": text}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
post_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values
        for key in ("id", "text", "lang", "variants", "default_lang", "images", "links", "tags")
    },
)


@settings(max_examples=300, deadline=None)
@given(post_like)
def test_any_json_is_either_a_post_or_a_named_refusal(data: dict[str, Any]) -> None:
    try:
        post = parse_post(data)
    except PostError as exc:
        assert exc.problems
    else:
        assert parse_post(post.to_dict()) == post
