"""The kinds of group rule, and how each family's pure logic reads and checks one.

A stored rule's JSON holds its settings only; its id, name and whether it is on live in
the row's columns, and are handed to the family's reader when the rule is built. Every
reader raises its family's ``RuleError`` (a ``kit.errors.RuleError``) naming each problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shequn.features.admission.checks import AdmissionPolicy
from shequn.features.admission.lobby import LobbyRules
from shequn.features.admission.namecard import CardFormat
from shequn.features.admission.welcome import WelcomeConfig
from shequn.features.autoreply import AutoReplyRule, validate_rule
from shequn.features.autoreply import RuleError as AutoReplyError
from shequn.features.moderation.ladder import Ladder
from shequn.features.moderation.rules import Rule as ModerationRule
from shequn.features.moderation.windows import window_from_dict
from shequn.kit.errors import ShequnError

AUTOREPLY = "autoreply"
MODERATION = "moderation"
LADDER = "ladder"
WINDOW = "window"
ADMISSION = "admission"
LOBBY = "lobby"
NAMECARD = "namecard"
WELCOME = "welcome"

#: Fields the row keeps in its own columns rather than in the JSON document.
ROW_FIELDS = ("id", "name", "enabled")


class UnknownKind(ShequnError):
    """A rule kind shequn does not have."""


def _autoreply(data: Mapping[str, Any]) -> AutoReplyRule:
    rule = AutoReplyRule.from_dict(data)
    problems = validate_rule(rule)
    if problems:
        raise AutoReplyError(problems)
    return rule


def _ladder(data: Mapping[str, Any]) -> Ladder:
    return Ladder.from_dict({k: v for k, v in data.items() if k not in ROW_FIELDS})


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of rule: its reader, and whether its logic knows ``enabled`` itself."""

    name: str
    read: Callable[[Mapping[str, Any]], Any]
    has_enabled: bool = False
    #: Whether a group may have at most one (its welcome, its admission policy…).
    one_per_group: bool = False


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(AUTOREPLY, _autoreply, has_enabled=True),
        Kind(MODERATION, ModerationRule.from_dict, has_enabled=True),
        Kind(LADDER, _ladder, one_per_group=True),
        Kind(WINDOW, window_from_dict, has_enabled=True),
        Kind(ADMISSION, AdmissionPolicy.from_dict, one_per_group=True),
        Kind(LOBBY, LobbyRules.from_dict),
        Kind(NAMECARD, CardFormat.from_dict, one_per_group=True),
        Kind(WELCOME, WelcomeConfig.from_dict, one_per_group=True),
    )
}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise UnknownKind(f"unknown rule kind {name!r}; the kinds are {known}") from None


def build(
    kind: str, rule_id: int, name: str, config: Mapping[str, Any], *, enabled: bool = True
) -> Any:
    """The logic object of a stored rule; raises the family's RuleError."""
    spec = kind_of(kind)
    values = {k: v for k, v in config.items() if k not in ROW_FIELDS}
    data: dict[str, Any] = {**values, "id": str(rule_id), "name": name}
    if spec.has_enabled:
        data["enabled"] = enabled
    return spec.read(data)


def check(kind: str, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as they will be stored, or the family's RuleError with every problem."""
    built = build(kind, 0, name, config)
    return {k: v for k, v in built.to_dict().items() if k not in ROW_FIELDS}
