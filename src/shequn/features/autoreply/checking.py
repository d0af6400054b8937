"""Checking auto-reply rules and compiling a community's rules into one ``RuleSet``.

Regexes, which operators do write, run on Python's backtracking ``re``, so every one passes
``kit.regex.guard`` when saved (the shapes that could run away on a hostile message are
refused there, for every family of rules alike). ``compile_rules`` runs once per change of a
community's rules: every valid rule compiled, every invalid one reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from shequn.core import Role
from shequn.features.autoreply.rules import (
    MAX_PATTERN,
    MAX_REPLY,
    SHAPE,
    VARIABLES,
    AutoReplyRule,
    MatchKind,
    RuleError,
    RuleProblem,
    base_form,
    fold_form,
    is_int,
    is_number,
    unknown_kind,
    unknown_role,
)
from shequn.features.templating.logic import Template, TemplateError, parse
from shequn.kit.regex import guard, too_long
from shequn.kit.wording import Wording

# --- regex guard --------------------------------------------------------------------------

#: What auto-reply says of a regex that matches the empty text.
_ANSWERS_EVERYTHING = Wording(
    "can match empty text, so it would answer every message; make it need at least one character",
    "能匹配空文本，会回复每一条消息；请让它至少需要一个字符",
)


def _compile_regex(pattern: str, case_insensitive: bool) -> re.Pattern[str] | Wording:
    """The compiled pattern, or why ``kit.regex.guard`` refuses it. Patterns are normalised
    as messages are, and read at most ``MAX_TEXT`` characters, the length the guard's limits
    were measured at."""
    flags = re.IGNORECASE if case_insensitive else 0
    return guard(
        pattern,
        flags=flags,
        normalise=True,
        max_length=MAX_PATTERN,
        matches_empty=_ANSWERS_EVERYTHING,
    )


def _too_long(pattern: str) -> Wording:
    return too_long(pattern, MAX_PATTERN)


# --- validation and compilation -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid rule in the forms matching needs."""

    rule: AutoReplyRule
    template: Template
    keys: tuple[str, ...]  # patterns normalised and case folded (keyword and fuzzy kinds)
    cased: tuple[str, ...]  # patterns normalised keeping case (case-sensitive keyword rules)
    regexes: tuple[re.Pattern[str], ...]


#: Records one problem of the rule being checked: the field, and what is wrong with it.
_Complaint = Callable[[str, Wording], None]


def prepare(rule: AutoReplyRule) -> tuple[Prepared | None, list[RuleProblem]]:
    """Every problem of one rule, and its compiled form when there is none."""
    problems: list[RuleProblem] = []

    def bad(field: str, reason: Wording) -> None:
        name = rule.name if isinstance(rule.name, str) else ""
        problems.append(RuleProblem(str(rule.id), name, field, reason))

    if not isinstance(rule.id, str) or not rule.id.strip():
        bad("id", Wording("is empty", "为空"))
    if not isinstance(rule.name, str):
        bad("name", SHAPE["text"])
    kind_ok = isinstance(rule.kind, MatchKind)
    if not kind_ok:
        bad("kind", unknown_kind(rule.kind))
    keys, cased, regexes = _check_patterns(rule, bad) if kind_ok else ((), (), ())
    template = _check_reply(rule, bad)
    _check_scope_and_numbers(rule, bad)
    if problems or template is None:
        return None, problems
    return Prepared(rule, template, keys, cased, regexes), problems


def _check_patterns(
    rule: AutoReplyRule, bad: _Complaint
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[re.Pattern[str], ...]]:
    keys: list[str] = []
    cased: list[str] = []
    regexes: list[re.Pattern[str]] = []
    patterns = rule.patterns
    if not isinstance(patterns, tuple | list) or not all(isinstance(p, str) for p in patterns):
        bad("patterns", SHAPE["texts"])
        return (), (), ()
    if not patterns:
        bad("patterns", Wording("there is no pattern to match", "没有任何匹配内容"))
    for number, pattern in enumerate(patterns):
        field = f"patterns[{number}]"
        if len(pattern) > MAX_PATTERN:
            bad(field, _too_long(pattern))
            continue
        if rule.kind is MatchKind.REGEX:
            compiled = _compile_regex(pattern, rule.case_insensitive is not False)
            if isinstance(compiled, Wording):
                bad(field, compiled)
            else:
                regexes.append(compiled)
            continue
        base = base_form(pattern)
        if not base:
            bad(
                field,
                Wording("is empty, so it would match every message", "为空，会匹配每一条消息"),
            )
            continue
        keys.append(fold_form(base))
        cased.append(base)
    return tuple(keys), tuple(cased), tuple(regexes)


def _check_reply(rule: AutoReplyRule, bad: _Complaint) -> Template | None:
    if not isinstance(rule.reply, str):
        bad("reply", SHAPE["text"])
        return None
    if not rule.reply.strip():
        bad("reply", Wording("is empty: there is nothing to answer", "为空，没有可回复的内容"))
        return None
    if len(rule.reply) > MAX_REPLY:
        bad(
            "reply",
            Wording(
                f"is {len(rule.reply)} characters long; at most {MAX_REPLY} fit in one message",
                f"长度为 {len(rule.reply)} 个字符，一条消息最多 {MAX_REPLY} 个",
            ),
        )
        return None
    try:
        return parse(rule.reply, VARIABLES)
    except TemplateError as error:
        known = ", ".join("{" + v + "}" for v in sorted(VARIABLES))
        bad("reply", Wording(str(error), f"无法使用：{error}（可用变量：{known}）"))
        return None


def _check_scope_and_numbers(rule: AutoReplyRule, bad: _Complaint) -> None:
    if not isinstance(rule.groups, Collection) or not all(is_int(g) for g in rule.groups):
        bad("groups", SHAPE["ints"])
    if not isinstance(rule.roles, Collection):
        bad("roles", SHAPE["texts"])
    elif not all(isinstance(r, Role) for r in rule.roles):
        bad("roles", unknown_role(sorted(str(r) for r in rule.roles if not isinstance(r, Role))))
    if not isinstance(rule.tiers, Collection) or not all(
        isinstance(t, str) and t for t in rule.tiers
    ):
        bad("tiers", Wording("must be a list of tier names", "必须是等级名称列表"))
    if not is_int(rule.cooldown_s) or rule.cooldown_s < 0:
        bad("cooldown_s", Wording("must be zero or more seconds", "必须是不小于 0 的秒数"))
    if not is_number(rule.threshold) or not 0 < rule.threshold <= 100:
        bad("threshold", Wording("must be above 0 and at most 100", "必须大于 0 且不超过 100"))
    if not is_int(rule.priority):
        bad("priority", SHAPE["int"])
    if not isinstance(rule.case_insensitive, bool):
        bad("case_insensitive", SHAPE["flag"])
    if not isinstance(rule.enabled, bool):
        bad("enabled", SHAPE["flag"])


def validate_rule(rule: AutoReplyRule) -> list[RuleProblem]:
    """Every reason ``rule`` cannot work; empty when it can."""
    return prepare(rule)[1]


def check_rule(rule: AutoReplyRule) -> AutoReplyRule:
    """``rule`` when it can work; a RuleError listing every problem when it cannot. The save
    path of the dashboard and the API."""
    problems = validate_rule(rule)
    if problems:
        raise RuleError(problems)
    return rule
