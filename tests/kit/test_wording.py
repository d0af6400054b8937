"""Two-language wording: every decision carries English and Chinese, the reader's language
picks one, and the stored form comes back as it went in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.kit.wording import Wording, echo, is_chinese


@pytest.mark.parametrize(
    ("lang", "chinese"),
    [("zh", True), ("zh-CN", True), ("zh_Hans", True), ("ZH-TW", True), ("en", False), ("", False)],
)
def test_any_zh_tag_reads_chinese(lang: str, chinese: bool) -> None:
    assert is_chinese(lang) is chinese
    assert Wording("rule", "规则").pick(lang) == ("规则" if chinese else "rule")


@given(st.text(), st.text())
def test_the_stored_form_comes_back_as_it_went_in(en: str, zh: str) -> None:
    wording = Wording(en, zh)
    assert wording.to_dict() == {"en": en, "zh": zh}
    assert Wording.from_dict(wording.to_dict()) == wording


def test_older_logs_still_read() -> None:
    assert Wording.from_dict({"en": "x", "zh-CN": "甲"}) == Wording("x", "甲")
    assert Wording.from_dict({"en": "x"}) == Wording("x", "")


def test_a_wording_is_a_value() -> None:
    assert Wording("a", "甲") == Wording("a", "甲")
    assert len({Wording("a", "甲"), Wording("a", "甲")}) == 1
    with pytest.raises(AttributeError):
        Wording("a", "甲").en = "b"  # type: ignore[misc]


def test_echo_drops_what_would_hide_or_reverse_text_and_clips() -> None:

    assert echo("朋\u200b友\u202e介绍") == "朋友介绍"
    assert echo("第一行\n第二行\t  尾") == "第一行 第二行 尾"
    assert echo("x" * 50, 10) == "x" * 10 + "…"


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_echo_is_printable_single_line_and_bounded(text: str, limit: int) -> None:

    shown = echo(text, limit)
    assert shown.isprintable() or shown == ""
    assert len(shown) <= limit + 1
    assert echo(shown, limit + 1) == shown
