"""The broadcast pages' forms, read and written without a server: a stored post filled
into the form and posted back unchanged is the same post, and the schedule part of the
compose form says where it cannot be read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shequn.features.broadcast.pacing import DEFAULT_DAILY_CAP
from shequn.features.broadcast.post import Post, PostImage, PostLink, parse_post
from shequn.web.pages.broadcast_forms import post_data, post_form, schedule_form

_words = st.text(alphabet="晨读会abc xyz{}\n", min_size=1, max_size=40).filter(
    lambda t: t.strip() and "{" not in t and "}" not in t
)
_tags = st.lists(st.sampled_from(["晨读", "weekly", "news", "活动"]), unique=True, max_size=3)
_urls = st.lists(
    st.sampled_from(["https://example.org/a.png", "https://example.org/b.jpg"]),
    unique=True,
    max_size=2,
)


@given(
    zh=st.none() | _words,
    en=st.none() | _words,
    tags=_tags,
    images=_urls,
    link_title=st.none() | st.sampled_from(["报名", "Sign up now"]),
)
def test_a_stored_post_round_trips_through_the_form(
    zh: str | None, en: str | None, tags: list[str], images: list[str], link_title: str | None
) -> None:
    variants = {lang: text for lang, text in (("zh-CN", zh), ("en", en)) if text is not None}
    post = Post(
        id="1",
        variants=variants,
        images=tuple(PostImage(u) for u in images),
        links=(PostLink("https://example.org/signup", link_title),),
        tags=tuple(tags),
        default_lang="en" if "zh-CN" not in variants and variants else "zh-CN",
    )
    data = post_data(post_form("标题", post))
    assert data["title"] == "标题"
    back = parse_post({**{k: v for k, v in data.items() if k != "title"}, "id": "1"})
    assert back == post


def test_a_blank_text_box_is_no_variant_and_the_default_follows_the_text() -> None:
    data = post_data(
        {"text_zh": "   ", "text_en": "Hello", "default_lang": "zh-CN", "tags": "a, b，c"}
    )
    assert data["variants"] == {"en": "Hello"} and data["default_lang"] == "en"
    assert data["tags"] == ["a", "b", "c"]


def test_the_schedule_form_names_what_it_cannot_read() -> None:
    form = schedule_form({"targets": " tag:晨读 ", "when_kind": "once", "daily_cap": "many"})
    assert form.when() is None and form.pacing()["daily_cap"] == DEFAULT_DAILY_CAP
    assert [p.where for p in form.problems] == ["when", "daily_cap"]
    assert form.targets == "tag:晨读"
    repeat = schedule_form({"when_kind": "repeat", "repeat": " weekdays 08:30 ", "golden": "1"})
    assert repeat.when() == "weekdays 08:30" and repeat.pacing()["golden"] is True
    assert schedule_form({"when_kind": "sometime"}).when() is None
    assert not schedule_form({}).problems
