"""Question heuristics and term extraction, on Chinese and English chat."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.core.message import Face, Link, Mention, Message, Text
from shequn.features.analytics.language import is_question, mentioned_names, terms, words


@pytest.mark.parametrize(
    "text",
    [
        "配速怎么提高？",
        "有人去广马吗",
        "这个酒多少钱",
        "为什么我的代码跑不起来",
        "能不能推荐一本书",
        "请问群里有做跨境的",
        "is this the right group",
        "How do I install it",
        "anyone tried the new shoes?",
        "what?",
    ],
)
def test_questions_are_recognised(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    ["终于跑进6分20了！", "谢谢分享", "明天见", "哈哈哈", "I think so", "This is fine.", ""],
)
def test_statements_are_not_questions(text: str) -> None:
    assert not is_question(text)


def test_words_keep_typed_text_only() -> None:
    message = Message(
        (
            Mention("u1", "跑步小王"),
            Text(" 新手学Python从哪开始 @老李 看 https://example.com/a"),
            Face("14", "微笑"),
            Link("https://example.com/b", "标题不算"),
        )
    )
    text = words(message)
    assert "跑步小王" not in text and "老李" not in text and "example" not in text
    assert "标题" not in text and "微笑" not in text
    assert terms(text) == ("新手", "python")  # 开始 is a stopword


def test_stopwords_and_short_tokens_are_dropped() -> None:
    assert terms("哈哈 谢谢分享 我们 今天 的 了 a an go 马拉松") == ("马拉松",)


def test_mentioned_names_in_plain_text() -> None:
    assert mentioned_names("@小王 欢迎！@Lee，你好") == ["小王", "Lee"]
    assert mentioned_names("no at sign") == []


@given(st.text())
def test_never_crash_on_any_text(text: str) -> None:
    assert isinstance(is_question(text), bool)
    found = terms(words(Message.of(text)))
    assert all(0 < len(t) <= 64 and t == t.strip() for t in found)
