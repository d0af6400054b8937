"""Each group's moderation policy, read from the stored rules of kinds ``moderation`` and
``ladder``.

A community-wide rule (no group) applies in every group; a rule stored for one group
replaces, in that group, the community rule of the same name (a disabled override switches
that rule off there). The group's ladder replaces the community's; without either, the
default ladder applies.

Rules are checked when saved, but a stored rule can still fail to build (it was saved by an
older version, or written by hand): such a rule is skipped, logged once per change of the
rules, and kept in ``Policies.broken`` for the dashboard, so one bad rule never takes the
others down. Compiling is pure (``compile_policies``); ``PolicyCache`` rebuilds a
community's policies only when its rules change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from shequn.features.moderation import Ladder, Policy, Rule
from shequn.features.rules.kinds import LADDER, MODERATION
from shequn.features.rules.service import StoredRule, rules_of, version
from shequn.kit.errors import RuleError, ShequnError
from shequn.kit.wording import is_chinese

log = logging.getLogger("shequn.features.moderation")

KINDS = (MODERATION, LADDER)


@dataclass(frozen=True, slots=True)
class BrokenRule:
    """A stored rule that could not be built, and why, in both languages."""

    rule_id: int
    kind: str
    name: str
    group_id: int | None
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if is_chinese(lang) else self.en


@dataclass(frozen=True)
class Policies:
    """A community's compiled moderation: the policy of groups without overrides, the
    policies of groups with some, and the rules that could not be built.

    ``lookback`` is how much message history any of its groups needs (history is kept per
    sender across the community, so the longest window of any group counts).
    """

    default: Policy = field(default_factory=Policy)
    groups: Mapping[int, Policy] = field(default_factory=dict)
    broken: tuple[BrokenRule, ...] = ()

    def for_group(self, group_id: int | None) -> Policy:
        if group_id is None:
            return self.default
        return self.groups.get(group_id, self.default)

    @property
    def lookback(self) -> timedelta:
        return max(
            (p.lookback for p in (self.default, *self.groups.values())), default=timedelta(0)
        )

    @property
    def has_rules(self) -> bool:
        return bool(self.default.rules) or any(p.rules for p in self.groups.values())


def _broken(stored: StoredRule, error: Exception) -> BrokenRule:
    if isinstance(error, RuleError):
        en, zh = error.text("en"), error.text("zh-CN")
    else:
        en = zh = f"{type(error).__name__}: {error}"
    return BrokenRule(stored.id, stored.kind, stored.name, stored.group_id, en, zh)


def _build(stored: StoredRule, broken: list[BrokenRule]) -> Any | None:
    """The rule's logic object, or None (recorded in ``broken``) when it cannot be built.
    Only errors a malformed document can cause are caught; anything else is a bug."""
    try:
        return stored.build()
    except (ShequnError, ValueError, TypeError, KeyError) as error:
        broken.append(_broken(stored, error))
        return None


def _policy(
    rules: Iterable[tuple[StoredRule, Rule]],
    ladder: Ladder,
) -> Policy:
    ordered = sorted(rules, key=lambda pair: (pair[0].position, pair[0].id))
    return Policy(tuple(rule for _, rule in ordered), ladder)


def compile_policies(stored: Sequence[StoredRule]) -> Policies:
    """Every group's policy from a community's stored moderation and ladder rules."""
    broken: list[BrokenRule] = []
    shared: list[tuple[StoredRule, Rule]] = []
    own: dict[int, list[tuple[StoredRule, Rule]]] = {}
    shared_ladder: Ladder | None = None
    own_ladder: dict[int, Ladder] = {}
    for row in stored:
        if row.kind not in KINDS:
            continue
        if row.kind == LADDER and not row.enabled:
            continue
        built = _build(row, broken)
        if built is None:
            continue
        if row.kind == LADDER:
            if row.group_id is None:
                if shared_ladder is None:
                    shared_ladder = built
            else:
                own_ladder.setdefault(row.group_id, built)
        elif row.group_id is None:
            shared.append((row, built))
        else:
            own.setdefault(row.group_id, []).append((row, built))
    base_ladder = shared_ladder or Ladder()
    default = _policy(shared, base_ladder)
    groups: dict[int, Policy] = {}
    for group_id in sorted(set(own) | set(own_ladder)):
        overrides = own.get(group_id, [])
        replaced = {row.name for row, _ in overrides}
        kept = [(row, rule) for row, rule in shared if row.name not in replaced]
        groups[group_id] = _policy([*kept, *overrides], own_ladder.get(group_id, base_ladder))
    return Policies(default, groups, tuple(broken))


class PolicyCache:
    """Compiled policies per community, reused while its rules are unchanged.

    The stamp is ``rules.service.version`` of both kinds: one small query each per batch
    instead of rebuilding every rule (and its word lists) for every message.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[tuple[Any, ...], Policies]] = {}

    def get(self, conn: Connection, community_id: int) -> Policies:
        stamp = tuple(version(conn, community_id, kind) for kind in KINDS)
        kept = self._kept.get(community_id)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        policies = load_policies(conn, community_id)
        for bad in policies.broken:
            log.warning(
                "community %s: moderation rule %s (%s) skipped: %s",
                community_id,
                bad.rule_id,
                bad.kind,
                bad.en,
            )
        self._kept[community_id] = (stamp, policies)
        return policies


def load_policies(conn: Connection, community_id: int) -> Policies:
    """The community's policies as stored now (uncached)."""
    return compile_policies(rules_of(conn, community_id, KINDS))


def broken_rules(conn: Connection, community_id: int) -> list[BrokenRule]:
    """The community's stored moderation rules that cannot be built, for the dashboard."""
    return list(load_policies(conn, community_id).broken)


__all__ = [
    "BrokenRule",
    "Policies",
    "PolicyCache",
    "broken_rules",
    "compile_policies",
    "load_policies",
]
