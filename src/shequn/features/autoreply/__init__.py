"""Auto-reply / FAQ rules: exact, contains, prefix, regex and fuzzy matching, scoped to groups,
roles and tiers, with a cooldown per rule per group. All pure: ``rules`` (a rule and its
stored form), ``checking`` (what makes one unusable), ``matching`` (every keyword of a
community in one automaton, see ``kit.keywords``) and ``replying`` (one answer per cooldown)."""

from shequn.features.autoreply.checking import check_rule, validate_rule
from shequn.features.autoreply.matching import Match, RuleSet, compile_rules
from shequn.features.autoreply.replying import (
    Cooldowns,
    Decision,
    cooldowns_from_list,
    cooldowns_to_list,
    decide,
    expire_cooldowns,
    reply,
)
from shequn.features.autoreply.rules import (
    VARIABLES,
    AutoReplyRule,
    MatchKind,
    RuleError,
    RuleProblem,
    Wording,
    message_text,
    normalise,
)
from shequn.kit.keywords import KeywordIndex

__all__ = [
    "VARIABLES",
    "AutoReplyRule",
    "Cooldowns",
    "Decision",
    "KeywordIndex",
    "Match",
    "MatchKind",
    "RuleError",
    "RuleProblem",
    "RuleSet",
    "Wording",
    "check_rule",
    "compile_rules",
    "cooldowns_from_list",
    "cooldowns_to_list",
    "decide",
    "expire_cooldowns",
    "message_text",
    "normalise",
    "reply",
    "validate_rule",
]
