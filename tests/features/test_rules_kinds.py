"""Every kind of group rule is checked by its family's logic before it is stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from shequn.app import App
from shequn.features.rules.kinds import KINDS, UnknownKind, build, check
from shequn.features.rules.service import (
    OnePerScope,
    RuleNotFound,
    get_rule,
    rules_of,
    save_rule,
    set_enabled,
)
from shequn.kit.errors import RuleError
from shequn.models import GroupRule

#: One working configuration of every kind, as an operator (or the API) sends it.
GOOD: dict[str, dict[str, Any]] = {
    "autoreply": {"kind": "contains", "patterns": ["报名"], "reply": "{name}，链接在群公告"},
    "moderation": {"kind": "banned_words", "params": {"words": ["加我微信"]}},
    "ladder": {"expiry_s": 604800, "steps": [{"at": 3, "penalty": "mute", "duration_s": 86400}]},
    "window": {
        "kind": "daily",
        "start": "23:00",
        "end": "07:00",
        "targets": [{"platform": "sim", "group": "g0"}],
    },
    "admission": {"checks": [{"kind": "question", "id": "q", "keywords": ["朋友"]}]},
    "lobby": {
        "lobby": {"platform": "sim", "group": "lobby"},
        "main": {"platform": "sim", "group": "main"},
        "min_days": 3,
    },
    "namecard": {"text": "{number}-{city}-{nickname}"},
    "welcome": {"text": "欢迎 {name} 加入{group}！", "rules_text": "1. 友善交流"},
}

#: One configuration of every kind that cannot work, and a word its refusal must hold.
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "autoreply": ({"kind": "regex", "patterns": ["(a+)+$"], "reply": "x"}, "repeat"),
    "moderation": ({"kind": "banned_words", "params": {"words": []}}, "empty"),
    "ladder": ({"steps": [{"at": "3", "penalty": "zap"}]}, "penalty"),
    "window": ({"kind": "daily", "start": "25:00", "end": "07:00", "targets": []}, "start"),
    "admission": ({"checks": [{"kind": "question", "id": "q"}]}, "keywords"),
    "lobby": ({"lobby": {"platform": "sim", "group": "lobby"}}, "main"),
    "namecard": ({"text": "{number}-{shoe_size}"}, "shoe_size"),
    "welcome": ({"text": "欢迎 {nmae}"}, "nmae"),
}


def test_every_kind_has_a_working_and_a_refused_example() -> None:
    assert set(GOOD) == set(KINDS) == set(BAD)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_working_rule_is_stored_as_its_logic_reads_it(kind: str) -> None:
    stored = check(kind, "样例", GOOD[kind])
    assert "id" not in stored and "name" not in stored
    built = build(kind, 7, "样例", stored)
    assert str(getattr(built, "id", "7")) in {"7", "ladder"}
    assert check(kind, "样例", stored) == stored  # what is stored reads back the same


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_rule_that_cannot_work_is_refused_with_its_reason(kind: str) -> None:
    config, word = BAD[kind]
    with pytest.raises(RuleError) as refused:
        check(kind, "坏规则", config)
    lines = refused.value.lines("en")
    assert lines and any(word in line for line in lines), lines
    assert refused.value.text("zh-CN")


def test_an_unknown_kind_names_the_kinds_there_are() -> None:
    with pytest.raises(UnknownKind, match="autoreply"):
        check("telepathy", "x", {})


def test_rules_of_every_kind_are_stored_per_community_and_group(app: App) -> None:
    cid = app.community("读书会").community_id
    now = app.clock.now()
    with app.engine.begin() as conn:
        ids = {k: save_rule(conn, cid, k, f"{k} 规则", GOOD[k], now=now) for k in sorted(KINDS)}
        with pytest.raises(RuleError):
            save_rule(conn, cid, "welcome", "坏", BAD["welcome"][0], now=now)
    with app.engine.begin() as conn:
        assert {r.kind for r in rules_of(conn, cid)} == set(KINDS)
        assert [r.id for r in rules_of(conn, cid, "moderation")] == [ids["moderation"]]
        set_enabled(conn, cid, ids["moderation"], False, now=now)
        assert rules_of(conn, cid, "moderation", enabled_only=True) == []
        rule = get_rule(conn, cid, ids["moderation"])
        assert rule.enabled is False and rule.build().enabled is False
        with pytest.raises(RuleNotFound):
            save_rule(conn, cid, "lobby", "x", GOOD["lobby"], now=now, rule_id=ids["welcome"])
        assert len(conn.execute(select(GroupRule)).all()) == len(KINDS)


def test_a_misspelt_ladder_field_is_refused_not_ignored() -> None:
    typo = {"steps": [{"at": 3, "penalty": "mute", "duration_s": 60, "mute_s": 86400}]}
    with pytest.raises(RuleError, match="unknown field 'steps.mute_s'"):
        check("ladder", "阶梯", typo)
    with pytest.raises(RuleError, match="unknown field 'ladder.expiry'"):
        check("ladder", "阶梯", {"expiry": 60})


def test_a_group_has_one_welcome_and_the_community_one_default(app: App) -> None:
    cid = app.community("读书会").community_id
    now = app.clock.now()
    with app.engine.begin() as conn:
        first = save_rule(conn, cid, "welcome", "欢迎", GOOD["welcome"], now=now)
        with pytest.raises(OnePerScope) as twice:
            save_rule(conn, cid, "welcome", "又一个欢迎", GOOD["welcome"], now=now)
        assert str(first) in twice.value.text("zh-CN") and "edit it" in twice.value.text("en")
        save_rule(conn, cid, "welcome", "欢迎", GOOD["welcome"], now=now, rule_id=first)
        save_rule(conn, cid, "autoreply", "另一条", GOOD["autoreply"], now=now)
        save_rule(conn, cid, "autoreply", "再一条", GOOD["autoreply"], now=now)
        assert [r.id for r in rules_of(conn, cid, "welcome")] == [first]
