"""The rule form's pure half: friendly fields and JSON in, settings and problems out; and a
stored rule shown so that saving the form unchanged stores the same settings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shequn.features.rules.kinds import KINDS, check
from shequn.kit.errors import RuleError
from shequn.web.pages import rule_form
from shequn.web.pages.rule_form import GroupSpot, RuleForm

GROUPS = {3: "读书会一群", 4: "读书会二群"}
SPOTS = [GroupSpot("sim", "g01"), GroupSpot("sim", "g02")]


def _identity(text: str) -> str:
    return text


def test_every_kind_match_check_and_action_has_a_label() -> None:
    assert set(rule_form.KIND_LABELS) == set(KINDS) == set(rule_form.KIND_HINTS)
    assert set(rule_form.MATCH_LABELS) == set(rule_form.MATCHES)
    assert set(rule_form.CHECK_LABELS) == set(rule_form.CHECK_KINDS)
    assert set(rule_form.SANCTION_LABELS) == set(rule_form.SANCTIONS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_starts_from_a_rule_that_works(kind: str) -> None:
    stored = check(kind, "样例", rule_form.starter(kind, SPOTS, _identity))
    assert stored
    assert check(kind, "样例", rule_form.starter(kind, [], _identity))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_rule_shown_and_saved_unchanged_keeps_its_settings(kind: str) -> None:
    stored = check(kind, "样例", rule_form.starter(kind, SPOTS, _identity))
    settings, fields = rule_form.show(kind, stored)
    form = RuleForm(name="样例", settings=settings, fields=fields)
    read = rule_form.read(kind, form, GROUPS)
    assert read.problems == []
    assert check(kind, "样例", read.config or {}) == stored


def test_friendly_fields_win_over_the_json_and_blank_ones_leave_it() -> None:
    rest = {"kind": "exact", "patterns": ["旧"], "reply": "旧回复", "priority": 3}
    fields = {"match": "", "patterns": "新一\r\n\r\n  新二  ", "reply": "", "cooldown_s": "30"}
    merged = rule_form.merge("autoreply", fields, rest)
    assert merged == {
        "kind": "exact",
        "patterns": ["新一", "新二"],
        "reply": "旧回复",
        "priority": 3,
        "cooldown_s": 30,
    }
    moderation = rule_form.merge(
        "moderation",
        {"check": "banned_words", "words": "加微信\n代购", "actions": [], "mute_s": ""},
        {"params": {"words": ["旧"]}, "actions": ["ban"]},
    )
    assert moderation["params"] == {"words": ["加微信", "代购"]}
    assert moderation["actions"] == ["ban"], "no box ticked keeps the JSON's actions"
    assert rule_form.merge("moderation", {"actions": ["kick"]}, {"actions": ["ban"]})[
        "actions"
    ] == ["kick"]


def test_a_number_that_is_not_one_is_handed_to_the_family_to_refuse() -> None:
    merged = rule_form.merge("autoreply", {"cooldown_s": "一分钟"}, {})
    assert merged["cooldown_s"] == "一分钟"
    with pytest.raises(RuleError) as refused:
        check("autoreply", "x", {**merged, "kind": "contains", "patterns": ["a"], "reply": "b"})
    assert any("cooldown" in line for line in refused.value.lines("en"))


def test_settings_the_fields_cannot_show_faithfully_stay_in_the_json() -> None:
    stored = {"kind": "contains", "patterns": ["多\n行"], "reply": "a\r\nb", "cooldown_s": True}
    fields, rest = rule_form.split("autoreply", stored)
    assert fields == {"match": "contains"}
    assert rest == {"patterns": ["多\n行"], "reply": "a\r\nb", "cooldown_s": True}
    words = {"kind": "banned_words", "params": {"words": ["a"], "extra": 1}, "actions": ["zap"]}
    fields, rest = rule_form.split("moderation", words)
    assert fields == {"check": "banned_words"} and rest["params"] == words["params"]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (RuleForm(name="", settings="{}"), ["name"]),
        (RuleForm(name="a\nb", settings="{}"), ["name"]),
        (RuleForm(name="x", group_id="99", settings="{}"), ["group"]),
        (RuleForm(name="x", group_id="abc", settings="{}"), ["group"]),
        (RuleForm(name="x", position="-1", settings="{}"), ["position"]),
        (RuleForm(name="x", position="10000001", settings="{}"), ["position"]),
        (RuleForm(name="x", settings="[1]"), ["object"]),
        (RuleForm(name="x", settings='{"a": '), ["JSON"]),
        (RuleForm(name="x", settings='{"a": "\\u0000"}'), ["stored"]),
        (RuleForm(name="x", settings="[" * 100_000 + "]" * 100_000), ["JSON|deep|nest"]),
        (RuleForm(name="", position="x", settings="1"), ["name", "position", "object"]),
    ],
)
def test_the_forms_own_problems_are_all_named(form: RuleForm, expected: list[str]) -> None:
    read = rule_form.read("welcome", form, GROUPS)
    assert len(read.problems) == len(expected)
    for problem, word in zip(read.problems, expected, strict=True):
        said = problem.message % dict(problem.values) if problem.values else problem.message
        assert re.search(word, said), said


def test_a_good_form_reads_into_a_draft() -> None:
    form = RuleForm(
        name="  欢迎  ", group_id="4", enabled=False, position="20", settings='{"text": "hi"}'
    )
    read = rule_form.read("welcome", form, GROUPS)
    assert (read.name, read.group_id, read.enabled, read.position, read.config) == (
        "欢迎",
        4,
        False,
        20,
        {"text": "hi"},
    )


_line = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)


@given(
    patterns=st.lists(_line, min_size=1, max_size=5),
    reply=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    cooldown=st.integers(0, 10**6) | st.floats(0, 10**6, allow_nan=False),
    words=st.lists(_line, min_size=1, max_size=5),
    actions=st.lists(st.sampled_from(rule_form.SANCTIONS), unique=True, max_size=5),
    mute=st.none() | st.integers(1, 10**6),
)
def test_split_then_merge_gives_back_the_settings(
    patterns: list[str],
    reply: str,
    cooldown: float,
    words: list[str],
    actions: list[str],
    mute: int | None,
) -> None:
    autoreply: dict[str, Any] = {
        "kind": "fuzzy",
        "patterns": patterns,
        "reply": reply,
        "cooldown_s": cooldown,
        "priority": 1,
    }
    fields, rest = rule_form.split("autoreply", autoreply)
    again = rule_form.merge("autoreply", fields, json.loads(json.dumps(rest)))
    assert again == autoreply
    moderation: dict[str, Any] = {
        "kind": "banned_words",
        "params": {"words": words},
        "actions": actions,
        "exempt_roles": ["owner"],
    }
    if mute is not None:
        moderation["mute_s"] = mute
    fields, rest = rule_form.split("moderation", moderation)
    again = rule_form.merge("moderation", fields, json.loads(json.dumps(rest)))
    assert again == moderation
