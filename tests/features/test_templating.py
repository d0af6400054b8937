"""Operator texts with variables: refused when wrong, filled literally when right."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.features.templating.logic import TemplateError, fill, parse

ALLOWED = {"name", "number", "group"}


def test_variables_are_filled_and_double_braces_are_braces() -> None:
    t = parse("欢迎 {name}，你是 {group} 第 {number} 位 {{群友}}", ALLOWED)
    assert t.variables == {"name", "number", "group"}
    assert fill(t, {"name": "小王", "number": 7, "group": "读书会"}) == (
        "欢迎 小王，你是 读书会 第 7 位 {群友}"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{city}", "unknown variable {city} (known: {group}, {name}, {number})"),
        ("{name.__class__}", "{name.__class__} at character 1 is not a variable"),
        ("{0}", "{0} at character 1 is not a variable"),
        ("hi {", "a lone '{' at character 4"),
        ("} hi", "a lone '}' at character 1"),
    ],
)
def test_a_text_that_cannot_be_filled_is_refused_with_where(text: str, says: str) -> None:
    with pytest.raises(TemplateError, match=None) as info:
        parse(text, ALLOWED)
    assert says in str(info.value)


@given(st.dictionaries(st.sampled_from(sorted(ALLOWED)), st.text()))
def test_values_are_inserted_as_they_are(values: dict[str, str]) -> None:
    t = parse("[{name}|{number}|{group}]", ALLOWED)
    expected = "[" + "|".join(values.get(k, "") for k in ("name", "number", "group")) + "]"
    assert fill(t, values) == expected


@given(st.text())
def test_parse_only_ever_refuses_with_a_template_error(text: str) -> None:
    try:
        t = parse(text, ALLOWED)
    except TemplateError:
        return
    assert isinstance(fill(t, dict.fromkeys(ALLOWED, "x")), str)
