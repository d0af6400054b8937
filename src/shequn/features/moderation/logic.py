"""Moderation: what a message breaks, and what happens to it and its sender.

Everything here is pure. The caller passes in the policy, the message (with the sender's
role, tier and join time), the sender's recent history and ``now``; ``moderate`` returns a
``Decision`` carrying the actions and the sender's new warnings list, or None. Storing
history and warnings, and carrying the actions out, belong to the service around it.

Order of evaluation, for each message:

1. The blacklist (``blacklisted``) is the caller's first check: a blacklisted sender is
   removed (``blacklist_removals``) and ``moderate`` is not called.
2. ``moderate`` tries the policy's rules in the order the operator arranged them. Disabled
   rules and rules the sender is exempt from (by role or tier) are skipped; the first rule
   that matches decides, and no later rule is tried. A sensible arrangement puts the
   certain, cheap rules first (flood, repeat, new-member limits), then content rules
   (banned words, invites, links, phone numbers, QR codes, patterns) and the advertising
   score, the fuzziest, last.
3. A rule's sanctions are applied together: delete the message (and, for a repeat across
   groups, its copies), then the one member sanction, then the warning notice. When the
   rule warns, the warning ladder may add a step; the member gets the most severe of the
   rule's and the ladder's sanctions (a mute < a kick < a ban; of two mutes, the longer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from shequn.core import Action, ActionType, Mention, Message
from shequn.features.moderation.checks import MAX_MATCHED, Hit
from shequn.features.moderation.context import History, MessageContext, _aware, _instant
from shequn.features.moderation.detect import Scanned, Wording, echo, is_chinese
from shequn.features.moderation.ladder import Ladder, Penalty, Step, escalate, span
from shequn.features.moderation.rules import Policy, Rule, Sanction
from shequn.features.templating.logic import fill


@dataclass(frozen=True, slots=True)
class Decision:
    """What a rule decided about one message, as the moderation log shows it.

    ``warnings`` is the sender's warnings list after this decision: the caller stores it
    in place of the old one (it is the old one, unchanged, when the rule does not warn).
    ``step`` is the ladder step the warning reached, None when the rule does not warn.
    """

    rule_id: str
    rule_name: str
    kind: str
    matched: str
    reason: Wording
    actions: tuple[Action, ...]
    warning: bool = False
    warnings: tuple[datetime, ...] = ()
    step: Step | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "kind": self.kind,
            "matched": self.matched,
            "reason": self.reason.to_dict(),
            "actions": [action.to_dict() for action in self.actions],
            "warning": self.warning,
            "warnings": [w.isoformat() for w in self.warnings],
            "step": self.step.to_dict() if self.step is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        step = data.get("step")
        return cls(
            rule_id=str(data["rule_id"]),
            rule_name=str(data["rule_name"]),
            kind=str(data["kind"]),
            matched=str(data["matched"]),
            reason=Wording.from_dict(data["reason"]),
            actions=tuple(Action.from_dict(a) for a in data.get("actions", [])),
            warning=bool(data.get("warning", False)),
            warnings=tuple(_instant(w) for w in data.get("warnings", [])),
            step=Step.from_dict(step) if step is not None else None,
        )


_SEVERITY = {Penalty.MUTE: 1, Penalty.KICK: 2, Penalty.BAN: 3}


class _Sentence(NamedTuple):
    penalty: Penalty
    duration: timedelta | None


def _sentence(rule: Rule, step: Step | None) -> _Sentence | None:
    """The one member sanction: the most severe of the rule's own and the ladder step's."""
    options: list[_Sentence] = []
    if Sanction.BAN in rule.actions:
        options.append(_Sentence(Penalty.BAN, None))
    if Sanction.KICK in rule.actions:
        options.append(_Sentence(Penalty.KICK, None))
    if Sanction.MUTE in rule.actions and rule.mute is not None:
        options.append(_Sentence(Penalty.MUTE, rule.mute))
    if step is not None and step.penalty is not Penalty.WARN:
        options.append(_Sentence(step.penalty, step.duration))
    if not options:
        return None
    return max(options, key=lambda s: (_SEVERITY[s.penalty], s.duration or timedelta(0)))


def _reason_text(rule: Rule, reason: Wording, lang: str) -> str:
    if is_chinese(lang):
        return f"{rule.name}：{reason.zh}"
    return f"{rule.name}: {reason.en}"


def _notice_text(
    rule: Rule,
    message: MessageContext,
    warnings: int,
    sentence: _Sentence | None,
    ladder: Ladder,
    lang: str,
) -> str:
    zh = is_chinese(lang)
    days = span(ladder.expiry, lang)
    if rule.template is not None:
        head = fill(
            rule.template,
            {"name": message.name or message.actor, "rule": rule.name, "count": warnings},
        )
    elif zh:
        head = f"你的消息违反了群规「{rule.name}」，这是 {days}内的第 {warnings} 次警告。"
    else:
        head = (
            f"your message breaks the group rule “{rule.name}”: warning {warnings} within {days}."
        )
    parts = [head]
    if sentence is not None:
        done = Step(0, sentence.penalty, sentence.duration).describe()
        parts.append(f"已{done.zh}。" if zh else f"You have been {done.en}.")
    if sentence is None or sentence.penalty is Penalty.MUTE:
        upcoming = ladder.next_step(warnings)
        if upcoming is not None:
            more = upcoming.at - warnings
            then = upcoming.describe()
            if zh:
                parts.append(f"再收到 {more} 次警告将被{then.zh}。")
            else:
                plural = "warning" if more == 1 else "warnings"
                parts.append(f"{more} more {plural} and you will be {then.en}.")
    return " ".join(parts) if not zh else "".join(parts)


def _member_action(
    sentence: _Sentence, common: dict[str, Any], rule: Rule, now: datetime
) -> Action:
    params: dict[str, Any] = {"rule": rule.id}
    if sentence.penalty is Penalty.MUTE and sentence.duration is not None:
        params["until"] = (now + sentence.duration).astimezone(UTC).isoformat()
        return Action(ActionType.MUTE, duration=sentence.duration, params=params, **common)
    kind = ActionType.BAN if sentence.penalty is Penalty.BAN else ActionType.KICK
    return Action(kind, params=params, **common)


def _deletions(rule: Rule, hit: Hit, message: MessageContext, reason: str) -> list[Action]:
    """Delete the message and any copies of it the check found elsewhere; a message without
    an id cannot be deleted."""
    own = [(message.platform, message.group, message.message_id)] if message.message_id else []
    return [
        Action(
            ActionType.DELETE_MESSAGE,
            platform=platform,
            group=group,
            user=message.actor,
            target_message=message_id,
            reason=reason,
            params={"rule": rule.id},
        )
        for platform, group, message_id in dict.fromkeys([*own, *hit.copies])
    ]


def _warning_action(
    rule: Rule, message: MessageContext, text: str, where: dict[str, Any], *, replying: bool
) -> Action:
    """The warning, mentioning the sender: a reply to their message, or a new message when
    that one is being deleted (some platforms refuse a reply to a deleted message)."""
    reply = replying and message.message_id is not None
    return Action(
        ActionType.REPLY if reply else ActionType.SEND_MESSAGE,
        user=message.actor,
        message=Message.of(Mention(user=message.actor, name=message.name), " " + text),
        target_message=message.message_id if reply else None,
        params={"rule": rule.id, "warning": True},
        **where,
    )


def _decide(
    policy: Policy,
    rule: Rule,
    hit: Hit,
    message: MessageContext,
    history: History,
    now: datetime,
    lang: str,
) -> Decision:
    warning = Sanction.WARN in rule.actions
    step: Step | None = None
    warnings = history.warnings
    if warning:
        step, warnings = escalate(policy.ladder, history.warnings, now)
    reason = _reason_text(rule, hit.reason, lang)
    where = {"platform": message.platform, "group": message.group, "reason": reason}
    deletions = _deletions(rule, hit, message, reason) if Sanction.DELETE in rule.actions else []
    actions = list(deletions)
    sentence = _sentence(rule, step)
    if sentence is not None:
        actions.append(_member_action(sentence, {**where, "user": message.actor}, rule, now))
    if warning:
        text = _notice_text(rule, message, len(warnings), sentence, policy.ladder, lang)
        actions.append(_warning_action(rule, message, text, where, replying=not deletions))
    return Decision(
        rule_id=rule.id,
        rule_name=rule.name,
        kind=rule.check.kind,
        matched=echo(hit.matched, MAX_MATCHED),
        reason=hit.reason,
        actions=tuple(actions),
        warning=warning,
        warnings=tuple(warnings),
        step=step,
    )


def moderate(
    policy: Policy,
    message: MessageContext,
    history: History,
    now: datetime,
    *,
    lang: str = "zh-CN",
) -> Decision | None:
    """The decision of the first rule, in policy order, that ``message`` breaks; None when
    it breaks none. ``history`` holds the sender's earlier messages (not this one) and
    warnings; ``lang`` is the language of the notice and of the actions' reasons.

    A message without a message id cannot be deleted; the other sanctions still apply.
    """
    _aware(now, "now")
    scanned = Scanned(message.text)
    for rule in policy.rules:
        if not rule.enabled or rule.exempts(message):
            continue
        hit = rule.check.match(message, scanned, history, now)
        if hit is not None:
            return _decide(policy, rule, hit, message, history, now, lang)
    return None


__all__ = [
    "Decision",
    "moderate",
]
