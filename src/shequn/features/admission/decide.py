"""Join requests decided by a group's rules.

``decide`` evaluates every check of the group's ``AdmissionPolicy`` (see ``evaluation``) and
combines the results:

1. every required check must pass on its own; the checks marked not required form one
   group that passes when any one of them passes ("an invite code or a payment");
2. a failed check or group rejects the request, or holds it for an operator when the
   policy's ``auto_reject`` is off;
3. a missing one holds the request for an operator, who may know more (the payment may be
   on its way, the applicant may have answered elsewhere) — unless the check's
   ``when_missing`` is ``reject`` (for the optional group: unless every missing check in it
   says so), for operators who want an empty answer refused at once. With ``auto_reject``
   off it holds either way;
4. a rejection wins over a hold; when everything passes, the request is approved;
5. a blacklisted applicant is rejected before any check runs; a policy without checks
   approves every request.

An invite code's use is recorded only when the request is approved (``Verdict.codes`` is the
new state to store, None otherwise), so a code is not spent on a request that was refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shequn.core import Action, ActionType, Message
from shequn.features.admission import RuleError, Wording, is_chinese, require_aware, visible
from shequn.features.admission.checks import AdmissionPolicy, WhenMissing
from shequn.features.admission.codes import CodesState, Redemption
from shequn.features.admission.evaluation import CheckResult, Status, _evaluate
from shequn.features.admission.join_request import JoinFacts, JoinRequest, screening_answer


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one join request, with what to do and what to log.

    ``codes`` is the invite codes' new state to store (an approved request spent a use),
    None when nothing changed.
    """

    decision: Decision
    policy_id: str
    policy_name: str
    reason: Wording
    results: tuple[CheckResult, ...] = ()
    actions: tuple[Action, ...] = ()
    codes: CodesState | None = None
    redemption: Redemption | None = None

    @property
    def matched(self) -> str:
        """The matched texts of the checks, for the log's "matched" column."""
        return "; ".join(r.matched for r in self.results if r.matched)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "rule_id": self.policy_id,
            "rule_name": self.policy_name,
            "matched": self.matched,
            "reason": self.reason.to_dict(),
            "results": [r.to_dict() for r in self.results],
            "redemption": None if self.redemption is None else self.redemption.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
        }


def _unit_status(results: Sequence[CheckResult]) -> tuple[Status, WhenMissing]:
    """How a group of alternatives ends: passes if any passes; missing (holding unless
    every missing one says reject) if any is missing; else failed."""
    statuses = {r.status for r in results}
    if Status.PASS in statuses:
        return Status.PASS, WhenMissing.HOLD
    missing = [r for r in results if r.status is Status.MISSING]
    if missing:
        rejects = all(r.when_missing is WhenMissing.REJECT for r in missing)
        return Status.MISSING, WhenMissing.REJECT if rejects else WhenMissing.HOLD
    return Status.FAIL, WhenMissing.HOLD


def _combine(
    results: Sequence[CheckResult], auto_reject: bool
) -> tuple[Decision, list[CheckResult]]:
    """The decision and the results that made it."""
    units: list[tuple[Status, WhenMissing, list[CheckResult]]] = []
    for result in results:
        if result.required:
            units.append((result.status, result.when_missing, [result]))
    optional = [r for r in results if not r.required]
    if optional:
        status, when = _unit_status(optional)
        units.append((status, when, optional))
    rejecting = [
        r
        for status, when, members in units
        if status is Status.FAIL or (status is Status.MISSING and when is WhenMissing.REJECT)
        for r in members
        if r.status is not Status.PASS
    ]
    if rejecting:
        return (Decision.REJECT if auto_reject else Decision.HOLD), rejecting
    holding = [
        r
        for status, _, members in units
        if status is Status.MISSING
        for r in members
        if r.status is Status.MISSING
    ]
    if holding:
        return Decision.HOLD, holding
    return Decision.APPROVE, [r for r in results if r.status is Status.PASS]


def _join(reasons: Sequence[Wording]) -> Wording:
    return Wording("; ".join(r.en for r in reasons), "；".join(r.zh for r in reasons))


def _request_params(request: JoinRequest) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if request.request_id is not None:
        params["request_id"] = request.request_id
    if request.sub_type is not None:
        params["sub_type"] = request.sub_type
    return params


def _actions(
    decision: Decision,
    policy_id: str,
    request: JoinRequest,
    reason: Wording,
    *,
    told: str = "",
    lang: str,
) -> tuple[Action, ...]:
    """The one action a decision takes: approve, reject (``told`` is what the applicant
    reads), or tell an operator, in ``lang``, about the held request."""
    target = {"platform": request.platform, "group": request.group, "user": request.user}
    why = f"admission policy {policy_id}: {reason.en}"
    params = _request_params(request)
    if decision is Decision.APPROVE:
        return (Action(ActionType.APPROVE_JOIN, **target, params=params, reason=why),)
    if decision is Decision.REJECT:
        params["reason"] = told
        return (Action(ActionType.REJECT_JOIN, **target, params=params, reason=why),)
    who = visible(request.user_name or request.user, 40)
    answer = visible(screening_answer(request.answer), 200)
    if is_chinese(lang):
        lines = [
            f"入群申请待审核：{who}（{request.user}）申请加入 {request.group}",
            f"原因：{reason.zh}",
        ]
        if answer:
            lines.append(f"答案：{answer}")
    else:
        lines = [
            f"Join request to review: {who} ({request.user}) asks to join {request.group}",
            f"Why: {reason.en}",
        ]
        if answer:
            lines.append(f"Answer: {answer}")
    params.update(policy_id=policy_id, hold="join_request")
    note = Message.of("\n".join(lines))
    return (Action(ActionType.NOTIFY_OPERATOR, **target, message=note, params=params, reason=why),)


_NOT_ALLOWED = Wording("You cannot join this group.", "你无法加入本群。")


def _applicant_reason(policy: AdmissionPolicy, deciding: Sequence[CheckResult], lang: str) -> str:
    if policy.reject_message:
        return policy.reject_message
    for result in deciding:
        if result.applicant is not None:
            return result.applicant.pick(lang)
    return _NOT_ALLOWED.pick(lang)


def decide(
    policy: AdmissionPolicy,
    request: JoinRequest,
    facts: JoinFacts,
    now: datetime,
    *,
    lang: str = "zh-CN",
) -> Verdict:
    """Approve, reject or hold ``request`` by ``policy`` (see the module's docstring for how
    checks combine). ``lang`` is the language of what the applicant and the operator read;
    the verdict's reasons carry both languages for the log."""
    require_aware(now)
    if facts.blacklisted:
        reason = Wording("the applicant is on the community's blacklist", "申请人在社群黑名单中")
        told = policy.reject_message or _NOT_ALLOWED.pick(lang)
        actions = _actions(Decision.REJECT, policy.id, request, reason, told=told, lang=lang)
        return Verdict(Decision.REJECT, policy.id, policy.name, reason, actions=actions)
    evaluated = [_evaluate(check, request, facts, now) for check in policy.checks]
    results = tuple(result for result, _, _ in evaluated)
    if results:
        decision, deciding = _combine(results, policy.auto_reject)
        reason = _join([r.reason for r in deciding])
    else:
        decision, deciding = Decision.APPROVE, []
        reason = Wording(
            "the policy has no checks: everyone is let in", "该规则没有检查项：全部放行"
        )
    redemption = next((r for _, r, _ in evaluated if r is not None), None)
    spent = next((s for _, _, s in evaluated if s is not None), None)
    codes = spent if decision is Decision.APPROVE and spent is not facts.codes else None
    told = _applicant_reason(policy, deciding, lang) if decision is Decision.REJECT else ""
    actions = _actions(decision, policy.id, request, reason, told=told, lang=lang)
    return Verdict(decision, policy.id, policy.name, reason, results, actions, codes, redemption)


def hold_unloadable(
    request: JoinRequest, error: RuleError, *, policy_id: str = "", lang: str = "zh-CN"
) -> Verdict:
    """The verdict for a request whose group's stored policy no longer builds: held for an
    operator, never approved (the broken check might be the one that screens) nor rejected
    (the applicant did nothing wrong)."""
    shown = error.problems[:3]
    reason = Wording(
        "the group's admission policy cannot be loaded: " + "; ".join(p.text("en") for p in shown),
        "本群的入群规则无法加载：" + "；".join(p.text("zh") for p in shown),
    )
    actions = _actions(Decision.HOLD, policy_id, request, reason, lang=lang)
    return Verdict(Decision.HOLD, policy_id, "", reason, actions=actions)
