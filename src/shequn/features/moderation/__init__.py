"""Moderation: banned words, links, invites, phone numbers, QR codes, adverts, floods,
repeats across groups, new-member limits, mute-all windows, the warning ladder, the
blacklist and undo; all pure (``logic`` decides about one message; see also ``context``,
``checks``, ``conduct``, ``rules``, ``windows``, ``blacklist``, ``undo``, ``detect``,
``normalise`` and ``ladder``)."""

from shequn.features.moderation.blacklist import (
    Seat,
    blacklist_refusal,
    blacklist_removals,
    blacklisted,
    user_key,
)
from shequn.features.moderation.checks import (
    Advertising,
    BannedWords,
    Invites,
    Links,
    Patterns,
    Phones,
    QrCodes,
)
from shequn.features.moderation.conduct import Flood, NewMember, Repeat
from shequn.features.moderation.context import History, MessageContext, Seen, context_of, remember
from shequn.features.moderation.detect import RuleError, Wording
from shequn.features.moderation.ladder import Escalation, Ladder, Penalty, Step, escalate
from shequn.features.moderation.logic import Decision, moderate
from shequn.features.moderation.normalise import clean, normalise
from shequn.features.moderation.rules import Policy, Rule, Sanction, load_policy
from shequn.features.moderation.undo import UndoPlan, undo_actions, undo_plan
from shequn.features.moderation.windows import (
    DailyWindow,
    OneOffWindow,
    Target,
    load_windows,
    window_actions,
)

__all__ = [
    "Advertising",
    "BannedWords",
    "DailyWindow",
    "Decision",
    "Escalation",
    "Flood",
    "History",
    "Invites",
    "Ladder",
    "Links",
    "MessageContext",
    "NewMember",
    "OneOffWindow",
    "Patterns",
    "Penalty",
    "Phones",
    "Policy",
    "QrCodes",
    "Repeat",
    "Rule",
    "RuleError",
    "Sanction",
    "Seat",
    "Seen",
    "Step",
    "Target",
    "UndoPlan",
    "Wording",
    "blacklist_refusal",
    "blacklist_removals",
    "blacklisted",
    "clean",
    "context_of",
    "escalate",
    "load_policy",
    "load_windows",
    "moderate",
    "normalise",
    "remember",
    "undo_actions",
    "undo_plan",
    "user_key",
    "window_actions",
]
