"""Which rules a text triggers, in priority order.

Every keyword rule of a community (exact, contains, prefix) sits in one automaton
(``kit.keywords.KeywordIndex``), so ten thousand keywords cost one pass over the message.
Chat text is untrusted: it is only ever searched, never compiled or formatted, and every
regex reads at most the first 2,000 characters, the length the guard's limits were measured at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

from shequn.core import Role
from shequn.features.autoreply.checking import Prepared, prepare
from shequn.features.autoreply.rules import (
    MAX_TEXT,
    AutoReplyRule,
    MatchKind,
    RuleError,
    RuleProblem,
    base_form,
    fold_form,
)
from shequn.features.templating.logic import Template
from shequn.kit.keywords import KeywordIndex
from shequn.kit.wording import Wording


@dataclass(frozen=True, slots=True)
class Match:
    """A rule a text triggered: which pattern, what part of the (normalised) text matched,
    and for fuzzy rules the score."""

    rule: AutoReplyRule
    pattern: str
    matched: str
    score: float | None = None


def compile_rules(
    rules: Iterable[AutoReplyRule | Mapping[str, Any]],
) -> tuple[RuleSet, list[RuleProblem]]:
    """Every valid rule compiled into one RuleSet, every invalid one reported.

    Rules may be given as ``AutoReplyRule`` or in their stored dict form. A rule with a
    problem is left out and the others still work. Ids must be unique: a rule repeating an
    earlier rule's id is refused, whether or not the earlier one was valid. Disabled rules
    are checked too, so the dashboard shows their problems, but never match.
    """
    prepared: list[Prepared] = []
    problems: list[RuleProblem] = []
    seen: set[str] = set()
    for item in rules:
        if isinstance(item, Mapping):
            try:
                rule = AutoReplyRule.from_dict(item)
            except RuleError as error:
                problems.extend(error.problems)
                continue
        elif isinstance(item, AutoReplyRule):
            rule = item
        else:
            what = Wording(
                f"{type(item).__name__} is not a rule", f"{type(item).__name__} 不是规则"
            )
            problems.append(RuleProblem("?", "", "rule", what))
            continue
        ready, found = prepare(rule)
        if isinstance(rule.id, str) and rule.id in seen:
            name = rule.name if isinstance(rule.name, str) else ""
            again = Wording("an earlier rule already has this id", "与前面一条规则的 id 重复")
            found = [*found, RuleProblem(rule.id, name, "id", again)]
        if isinstance(rule.id, str):
            seen.add(rule.id)
        problems.extend(found)
        if ready is not None and not found:
            prepared.append(ready)
    return RuleSet(prepared), problems


# --- matching -----------------------------------------------------------------------------


def _in_scope(rule: AutoReplyRule, group_id: int, role: Role | None, tier: str | None) -> bool:
    if rule.groups and group_id not in rule.groups:
        return False
    if rule.roles and (role or Role.MEMBER) not in rule.roles:
        return False
    return not rule.tiers or (tier is not None and tier in rule.tiers)


#: What a rule found in one text: (pattern number, matched text, fuzzy score or None).
_Found = tuple[int, str, float | None]


#: One keyword pattern of one rule, checked when the automaton finds its key: (position of
#: the rule, pattern number, kind, folded key, the key with its case for a case-sensitive rule
#: or None, whether the rule is scoped). A tuple, not a dataclass: unpacking it is the inner
#: loop of every message.
_Owner = tuple[int, int, MatchKind, str, str | None, bool]


class RuleSet:
    """A community's enabled, valid rules compiled for matching; built by ``compile_rules``
    and replaced whole when the rules change, never modified.

    Most keywords belong to one case-insensitive contains rule for every group, role and
    tier, with that keyword as its only pattern: the automaton finding the keyword is the
    match, with nothing left to check. Those keys are "direct". Keys are numbered (slots) in
    the order of the rules, so direct slots in ascending order are their rules in priority
    order: a message's direct hits become its matches by sorting the slot numbers, in C,
    without a Python step per hit. The other keys (``_checked``) go through their owners'
    scope, kind and case checks. When every rule is a direct keyword rule (``_plain``, the
    usual FAQ), ``match`` is the automaton pass, one sort and one lookup per hit.
    """

    __slots__ = (
        "rules",
        "_prepared",
        "_by_id",
        "_index",
        "_direct",
        "_slot_rule",
        "_checked",
        "_plain",
        "_owners",
        "_regex",
        "_fuzzy",
    )

    def __init__(self, prepared: Sequence[Prepared]) -> None:
        active = [p for p in prepared if p.rule.enabled]
        order = sorted(range(len(active)), key=lambda i: (-active[i].rule.priority, i))
        ready = tuple(active[i] for i in order)
        self._prepared = ready
        #: The rules that can match, in the order they answer.
        self.rules: tuple[AutoReplyRule, ...] = tuple(p.rule for p in ready)
        self._by_id = {p.rule.id: p for p in ready}
        slots: dict[str, list[_Owner]] = {}
        regex: list[int] = []
        fuzzy: list[int] = []
        for pos, item in enumerate(ready):
            rule = item.rule
            if rule.kind is MatchKind.REGEX:
                regex.append(pos)
            elif rule.kind is MatchKind.FUZZY:
                fuzzy.append(pos)
            else:
                scoped = bool(rule.groups or rule.roles or rule.tiers)
                for number, key in enumerate(item.keys):
                    cased = None if rule.case_insensitive else item.cased[number]
                    slots.setdefault(key, []).append((pos, number, rule.kind, key, cased, scoped))
        self._index = KeywordIndex(list(slots)) if slots else None
        self._owners = tuple(tuple(owners) for owners in slots.values())
        #: The rule position of each direct slot; -1 for the slots that need checking.
        self._direct = tuple(self._direct_rule(owners) for owners in self._owners)
        self._checked = frozenset(slot for slot, pos in enumerate(self._direct) if pos < 0)
        self._regex = tuple(regex)
        self._fuzzy = tuple(fuzzy)
        self._plain = bool(slots) and not (self._checked or regex or fuzzy)
        #: The rule of each slot, when every slot is direct.
        self._slot_rule = tuple(self.rules[pos] for pos in self._direct) if self._plain else ()

    def _direct_rule(self, owners: tuple[_Owner, ...]) -> int:
        """The rule a key's hit is the match of, or -1 when the hit needs checking."""
        if len(owners) != 1:
            return -1
        pos, _, kind, _, cased, scoped = owners[0]
        simple = kind is MatchKind.CONTAINS and cased is None and not scoped
        return pos if simple and len(self._prepared[pos].keys) == 1 else -1

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> AutoReplyRule | None:
        item = self._by_id.get(rule_id)
        return item.rule if item is not None else None

    def template(self, rule_id: str) -> Template | None:
        """The checked reply text of a rule, ready for ``templating.fill``."""
        item = self._by_id.get(rule_id)
        return item.template if item is not None else None

    def match(
        self, text: str, *, group_id: int, role: Role | None = None, tier: str | None = None
    ) -> list[AutoReplyRule]:
        """The rules ``text`` triggers for an asker with ``role`` and ``tier`` in the group
        ``group_id``, in the order they answer (cooldowns are not considered here)."""
        if self._plain:
            assert self._index is not None
            base = base_form(text)
            if not base:
                return []
            hits = self._index.find(fold_form(base))
            return list(map(self._slot_rule.__getitem__, sorted(hits)))
        direct, others = self._collect(text, group_id, role, tier)
        order = sorted([*direct, *others]) if others else direct
        return list(map(self.rules.__getitem__, order))

    def matches(
        self, text: str, *, group_id: int, role: Role | None = None, tier: str | None = None
    ) -> list[Match]:
        """Like ``match``, with what matched: the pattern, the text and the fuzzy score."""
        direct, others = self._collect(text, group_id, role, tier)
        out = []
        for pos in sorted([*direct, *others]):
            rule = self.rules[pos]
            number, matched, score = others.get(pos) or (0, self._prepared[pos].keys[0], None)
            out.append(Match(rule, rule.patterns[number], matched, score))
        return out

    def _collect(
        self, text: str, group_id: int, role: Role | None, tier: str | None
    ) -> tuple[list[int], dict[int, _Found]]:
        """The positions of the direct keyword rules ``text`` matches, in priority order, and
        what every other matching rule found, by position. When several patterns of one
        keyword or regex rule match, the first one listed is reported."""
        base = base_form(text)
        if not base:
            return [], {}
        folded = fold_form(base)
        direct: list[int] = []
        others: dict[int, _Found] = {}
        if self._index is not None:
            hits = self._index.find(folded)
            if self._checked.isdisjoint(hits):
                direct = list(map(self._direct.__getitem__, sorted(hits)))
            else:
                direct = [pos for pos in map(self._direct.__getitem__, sorted(hits)) if pos >= 0]
                self._checked_hits(hits, base, folded, others, group_id, role, tier)
        for pos in self._regex:
            self._regex_match(pos, base, others, group_id, role, tier)
        if self._fuzzy:
            self._fuzzy_matches(folded, others, group_id, role, tier)
        return direct, others

    def _checked_hits(
        self,
        hits: set[int],
        base: str,
        folded: str,
        found: dict[int, _Found],
        group_id: int,
        role: Role | None,
        tier: str | None,
    ) -> None:
        """The hits that are not direct: scope, kind and case checked for each owner."""
        rules, owners = self.rules, self._owners
        for slot in self._checked.intersection(hits):
            for pos, number, kind, key, cased, scoped in owners[slot]:
                previous = found.get(pos)
                if previous is not None and previous[0] <= number:
                    continue
                if scoped and not _in_scope(rules[pos], group_id, role, tier):
                    continue
                if cased is None:
                    matched = _keyword_hit(kind, key, folded)
                else:
                    matched = _keyword_hit(kind, cased, base)
                if matched is not None:
                    found[pos] = (number, matched, None)

    def _regex_match(
        self,
        pos: int,
        base: str,
        found: dict[int, _Found],
        group_id: int,
        role: Role | None,
        tier: str | None,
    ) -> None:
        item = self._prepared[pos]
        if not _in_scope(item.rule, group_id, role, tier):
            return
        capped = base[:MAX_TEXT]
        for number, regex in enumerate(item.regexes):
            hit = regex.search(capped)
            if hit is not None:
                found[pos] = (number, hit.group(0), None)
                return

    def _fuzzy_matches(
        self,
        folded: str,
        found: dict[int, _Found],
        group_id: int,
        role: Role | None,
        tier: str | None,
    ) -> None:
        """Fuzzy rules score with ``fuzz.partial_ratio``: the best-aligned window of the
        message against the pattern. Chinese has no spaces, so ``token_set_ratio`` would see
        a whole sentence as one token and compare it entire; ``请问这个活动怎么报名啊`` would
        fail ``怎么报名``, which partial_ratio scores 100. partial_ratio also aligns a short
        message inside a long pattern (``报名`` would score 100 against ``怎么报名``), so a
        pattern longer than the message is scored with the plain ``fuzz.ratio`` instead.
        When several patterns of a rule pass, the best score is reported."""
        text = folded[:MAX_TEXT]
        fits: list[tuple[int, int]] = []
        longer: list[tuple[int, int]] = []
        for pos in self._fuzzy:
            item = self._prepared[pos]
            if not _in_scope(item.rule, group_id, role, tier):
                continue
            for number, key in enumerate(item.keys):
                (fits if len(key) <= len(text) else longer).append((pos, number))
        best: dict[int, tuple[float, int]] = {}
        for owners, scorer in ((fits, fuzz.partial_ratio), (longer, fuzz.ratio)):
            if not owners:
                continue
            keys = [self._prepared[pos].keys[number] for pos, number in owners]
            cutoff = min(self._prepared[pos].rule.threshold for pos, _ in owners)
            for _, score, i in process.extract(
                text, keys, scorer=scorer, limit=None, score_cutoff=cutoff
            ):
                pos, number = owners[i]
                if score < self._prepared[pos].rule.threshold:
                    continue
                if pos not in best or (-score, number) < (-best[pos][0], best[pos][1]):
                    best[pos] = (score, number)
        for pos, (score, number) in best.items():
            key = self._prepared[pos].keys[number]
            if len(key) <= len(text):
                aligned = fuzz.partial_ratio_alignment(key, text)
                matched = text[aligned.dest_start : aligned.dest_end]
            else:
                matched = text
            found[pos] = (number, matched, score)


def _keyword_hit(kind: MatchKind, key: str, text: str) -> str | None:
    if kind is MatchKind.CONTAINS:
        return key if key in text else None
    if kind is MatchKind.PREFIX:
        return key if text.startswith(key) else None
    return key if text == key else None
