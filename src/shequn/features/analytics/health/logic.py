"""Is a group declining, and why. Pure: weekly figures in, a diagnosis out.

The reasons are the three causes of decline seed 003 names — the leader fades
(主心骨力量削弱), a 围城 forms (few speak, the rest only read), no new blood
(缺少新陈代谢) — plus newcomers nobody answers and plain falling activity.
Only complete weeks are compared: the recent weeks against the weeks before
them, each as a weekly mean, so a quiet last day or a half-finished week can
never read as a decline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

LEADER_FADING = "leader_fading"
FEWER_SPEAKERS = "fewer_speakers"
NO_NEW_MEMBERS = "no_new_members"
NEWCOMERS_IGNORED = "newcomers_ignored"
ACTIVITY_DECLINE = "activity_decline"
#: Reasons in the order a report shows them: the cause before the symptom.
CODES = (LEADER_FADING, FEWER_SPEAKERS, NO_NEW_MEMBERS, NEWCOMERS_IGNORED, ACTIVITY_DECLINE)


@dataclass(frozen=True)
class Thresholds:
    """When a change counts as a reason. Every figure is configurable (``[health]`` in
    shequn.toml); the defaults flag the simulator's declining groups and none of its
    healthy ones."""

    recent_weeks: int = 3
    baseline_weeks: int = 4
    #: Messages per week below which a group is too small to judge by its trend.
    min_weekly_messages: float = 20.0
    activity_drop: float = 0.30
    speakers_drop: float = 0.20
    speaker_ratio_drop: float = 0.30
    members_hold: float = 0.10
    leader_min_share: float = 0.03
    leader_drop: float = 0.40
    no_joins_min_members: int = 10
    net_loss_share: float = 0.02
    newcomers_min: int = 8
    newcomers_unanswered: float = 0.50
    penalties: dict[str, float] = field(
        default_factory=lambda: {
            LEADER_FADING: 20.0,
            FEWER_SPEAKERS: 20.0,
            NO_NEW_MEMBERS: 15.0,
            NEWCOMERS_IGNORED: 15.0,
            ACTIVITY_DECLINE: 30.0,
        }
    )


@dataclass(frozen=True, slots=True)
class Week:
    """One complete week of one group."""

    week: date
    messages: int
    speakers: int
    members: int  # seats held at the week's end
    joins: int
    leaves: int  # leaves and kicks
    leader_messages: int
    newcomers: int
    newcomers_answered: int


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    figures: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Diagnosis:
    score: int
    declining: bool
    reasons: tuple[Reason, ...]
    weeks_compared: int


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _drop(before: float, after: float) -> float:
    """How much ``after`` fell below ``before``, as a share of ``before`` (0 if it rose)."""
    return max(0.0, (before - after) / before) if before > 0 else 0.0


def diagnose(weeks: list[Week], t: Thresholds | None = None) -> Diagnosis:
    """The group's health from its complete weeks, oldest first.

    Weeks before the group's first message (history that starts later, a group
    founded inside the range) are no baseline and are skipped.
    """
    t = t or Thresholds()
    while weeks and weeks[0].messages == 0:
        weeks = weeks[1:]
    recent = weeks[-t.recent_weeks :] if len(weeks) >= t.recent_weeks else []
    base = weeks[-(t.recent_weeks + t.baseline_weeks) : -t.recent_weeks] if recent else []
    reasons: list[Reason] = []
    if len(base) >= 2:
        reasons += _trend_reasons(base, recent, t)
    if recent:
        reasons += _renewal_reasons(recent, t)
    penalty = 0.0
    for reason in reasons:
        severity = float(reason.figures.get("severity", 1.0))
        penalty += t.penalties.get(reason.code, 15.0) * (0.5 + min(1.0, severity))
    codes = {r.code for r in reasons}
    declining = ACTIVITY_DECLINE in codes or len(codes & {LEADER_FADING, FEWER_SPEAKERS}) == 2
    reasons.sort(key=lambda r: CODES.index(r.code))
    return Diagnosis(
        score=max(0, min(100, round(100 - penalty))),
        declining=declining,
        reasons=tuple(reasons),
        weeks_compared=len(base) + len(recent),
    )


def _trend_reasons(base: list[Week], recent: list[Week], t: Thresholds) -> list[Reason]:
    out = []
    msgs_b, msgs_r = _mean([w.messages for w in base]), _mean([w.messages for w in recent])
    if msgs_b < t.min_weekly_messages:
        return out
    spk_b, spk_r = _mean([w.speakers for w in base]), _mean([w.speakers for w in recent])
    mem_b, mem_r = _mean([w.members for w in base]), _mean([w.members for w in recent])
    lead_b = sum(w.leader_messages for w in base) / max(1, sum(w.messages for w in base))
    lead_r = sum(w.leader_messages for w in recent) / max(1, sum(w.messages for w in recent))
    # A share diluted by a flood of newcomers is not a fading leader: their own
    # weekly messages must fall too.
    lead_abs_b = _mean([w.leader_messages for w in base])
    lead_abs_r = _mean([w.leader_messages for w in recent])
    if (
        lead_b >= t.leader_min_share
        and _drop(lead_b, lead_r) >= t.leader_drop
        and _drop(lead_abs_b, lead_abs_r) >= t.leader_drop / 2
    ):
        out.append(
            Reason(
                LEADER_FADING,
                {
                    "baseline_share": round(lead_b, 4),
                    "recent_share": round(lead_r, 4),
                    "severity": round(_drop(lead_b, lead_r), 3),
                },
            )
        )
    ratio_b = spk_b / mem_b if mem_b else 0.0
    ratio_r = spk_r / mem_r if mem_r else 0.0
    holds = mem_b > 0 and _drop(mem_b, mem_r) <= t.members_hold
    if holds and _drop(ratio_b, ratio_r) >= t.speaker_ratio_drop:
        out.append(
            Reason(
                FEWER_SPEAKERS,
                {
                    "baseline_ratio": round(ratio_b, 4),
                    "recent_ratio": round(ratio_r, 4),
                    "baseline_members": round(mem_b, 1),
                    "recent_members": round(mem_r, 1),
                    "severity": round(_drop(ratio_b, ratio_r), 3),
                },
            )
        )
    if _drop(msgs_b, msgs_r) >= t.activity_drop and _drop(spk_b, spk_r) >= t.speakers_drop:
        out.append(
            Reason(
                ACTIVITY_DECLINE,
                {
                    "baseline_messages": round(msgs_b, 1),
                    "recent_messages": round(msgs_r, 1),
                    "baseline_speakers": round(spk_b, 1),
                    "recent_speakers": round(spk_r, 1),
                    "severity": round(_drop(msgs_b, msgs_r), 3),
                },
            )
        )
    return out


def _renewal_reasons(recent: list[Week], t: Thresholds) -> list[Reason]:
    out = []
    joins = sum(w.joins for w in recent)
    leaves = sum(w.leaves for w in recent)
    members = recent[-1].members
    net = joins - leaves
    no_joins = joins == 0 and members >= t.no_joins_min_members
    net_loss = net < 0 and -net >= max(2.0, t.net_loss_share * members)
    if no_joins or net_loss:
        out.append(
            Reason(
                NO_NEW_MEMBERS,
                {
                    "weeks": len(recent),
                    "joins": joins,
                    "leaves": leaves,
                    "members": members,
                    "severity": 1.0
                    if no_joins
                    else round(min(1.0, -net / max(1, members) * 10), 3),
                },
            )
        )
    newcomers = sum(w.newcomers for w in recent)
    answered = sum(w.newcomers_answered for w in recent)
    if newcomers >= t.newcomers_min:
        unanswered = (newcomers - answered) / newcomers
        if unanswered >= t.newcomers_unanswered:
            out.append(
                Reason(
                    NEWCOMERS_IGNORED,
                    {
                        "newcomers": newcomers,
                        "unanswered": newcomers - answered,
                        "unanswered_share": round(unanswered, 4),
                        "severity": round(unanswered, 3),
                    },
                )
            )
    return out
