"""Replying: a message that matches a rule gets the rule's answer, once.

An operator writes rules (``怎么报名`` → the sign-up link); a member asks, the bot answers in
the thread. Everything here is pure: the rules come in as values, the time and the cooldowns
come in as arguments, and the answer goes out as an ``Action`` plus the new cooldowns, so a
service can store both and the same event always decides the same.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shequn.core import Action, ActionType, Event, EventType, Message, Role
from shequn.features.autoreply.matching import Match, RuleSet
from shequn.features.autoreply.rules import ECHO, KIND_ZH, AutoReplyRule, MatchKind, message_text
from shequn.features.templating.logic import fill
from shequn.kit.wording import Wording, echo

# --- replying -----------------------------------------------------------------------------

#: When a rule last answered in a group: ``(rule id, shequn group id) → time``.
Cooldowns = dict[tuple[str, int], datetime]


@dataclass(frozen=True, slots=True)
class Decision:
    """One answer, with what the moderation log shows: the rule, what matched, and why."""

    rule_id: str
    rule_name: str
    kind: MatchKind
    pattern: str
    matched: str
    score: float | None
    reason: Wording
    action: Action

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "kind": str(self.kind),
            "pattern": self.pattern,
            "matched": self.matched,
            "score": self.score,
            "reason": self.reason.to_dict(),
            "action": self.action.to_dict(),
        }


def _reason(found: Match) -> Wording:
    rule = found.rule
    quoted = echo(found.matched, ECHO)
    score_en = f", similarity {found.score:.0f}" if found.score is not None else ""
    score_zh = f"，相似度 {found.score:.0f}" if found.score is not None else ""
    name_zh = f"“{rule.name}”" if rule.name else ""
    return Wording(
        f"auto-reply rule {rule.label} ({rule.kind.value}) matched “{quoted}”{score_en}",
        f"自动回复规则{name_zh}（{rule.id}）{KIND_ZH[rule.kind]}命中“{quoted}”{score_zh}",
    )


def cooling(
    rule: AutoReplyRule, group_id: int, cooldowns: Mapping[tuple[str, int], datetime], now: datetime
) -> bool:
    """Whether ``rule`` answered in the group less than its cooldown before ``now``."""
    last = cooldowns.get((rule.id, group_id))
    return last is not None and now < last + timedelta(seconds=rule.cooldown_s)


def _message_id(event: Event) -> str | None:
    value = event.payload.get("message_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def decide(
    ruleset: RuleSet,
    event: Event,
    *,
    group_id: int,
    role: Role | None = None,
    tier: str | None = None,
    values: Mapping[str, object] | None = None,
    now: datetime,
    cooldowns: Mapping[tuple[str, int], datetime],
    bots: Collection[str] = (),
) -> Decision | None:
    """The answer to ``event``, if any: the first rule in priority order that matches and is
    not cooling down in the group. ``bots`` are the platform ids of shequn's own accounts,
    whose messages never trigger a rule (the bot would answer itself). ``values`` fill the
    reply's variables; ``name`` and ``group`` default to the event's names."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if event.type is not EventType.MESSAGE or event.group is None or event.actor in bots:
        return None
    found = ruleset.matches(message_text(event.message), group_id=group_id, role=role, tier=tier)
    if not found:
        return None
    filled_values = {"name": event.actor_name or "", "group": event.group_name or ""}
    filled_values.update(values or {})
    for hit in found:
        rule = hit.rule
        template = ruleset.template(rule.id)
        if template is None or cooling(rule, group_id, cooldowns, now):
            continue
        text = fill(template, filled_values)
        if not text.strip():
            continue
        return _decision(hit, event, text)
    return None


def _decision(hit: Match, event: Event, text: str) -> Decision:
    rule = hit.rule
    reason = _reason(hit)
    params: dict[str, Any] = {
        "rule": rule.id,
        "rule_name": rule.name,
        "kind": rule.kind.value,
        "pattern": hit.pattern,
        "matched": hit.matched,
        "reason_zh": reason.zh,
    }
    if hit.score is not None:
        params["score"] = hit.score
    message_id = _message_id(event)
    action = Action(
        ActionType.REPLY if message_id is not None else ActionType.SEND_MESSAGE,
        platform=event.platform,
        group=event.group,
        user=event.actor,
        message=Message.of(text),
        target_message=message_id,
        reason=reason.en,
        params=params,
    )
    return Decision(
        rule.id, rule.name, rule.kind, hit.pattern, hit.matched, hit.score, reason, action
    )


def reply(
    ruleset: RuleSet,
    event: Event,
    *,
    group_id: int,
    role: Role | None = None,
    tier: str | None = None,
    values: Mapping[str, object] | None = None,
    now: datetime,
    cooldowns: Mapping[tuple[str, int], datetime],
    bots: Collection[str] = (),
) -> tuple[list[Action], Cooldowns]:
    """At most one answer to ``event`` (see ``decide``) and the cooldowns after it: a new
    map, the given one untouched, with the answering rule's time in the group set to
    ``now``. The answer is a REPLY to the message (``payload["message_id"]``), or a plain
    group message when the event carries no message id."""
    decision = decide(
        ruleset,
        event,
        group_id=group_id,
        role=role,
        tier=tier,
        values=values,
        now=now,
        cooldowns=cooldowns,
        bots=bots,
    )
    after = dict(cooldowns)
    if decision is None:
        return [], after
    after[(decision.rule_id, group_id)] = now
    return [decision.action], after


def expire_cooldowns(
    cooldowns: Mapping[tuple[str, int], datetime], ruleset: RuleSet, now: datetime
) -> Cooldowns:
    """The cooldowns still running at ``now``: entries of rules gone from ``ruleset`` or
    whose cooldown has passed are dropped, so the stored map does not grow forever."""
    out: Cooldowns = {}
    for key, last in cooldowns.items():
        rule = ruleset.get(key[0])
        if rule is not None and now < last + timedelta(seconds=rule.cooldown_s):
            out[key] = last
    return out


def cooldowns_to_list(cooldowns: Mapping[tuple[str, int], datetime]) -> list[dict[str, Any]]:
    """The JSON form of a cooldown map (JSON objects cannot have pair keys)."""
    return [
        {"rule": rule_id, "group": group_id, "at": at.isoformat()}
        for (rule_id, group_id), at in sorted(cooldowns.items())
    ]


def cooldowns_from_list(items: Iterable[Mapping[str, Any]]) -> Cooldowns:
    """A cooldown map back from its JSON form (``cooldowns_to_list``)."""
    return {(str(i["rule"]), int(i["group"])): datetime.fromisoformat(str(i["at"])) for i in items}
