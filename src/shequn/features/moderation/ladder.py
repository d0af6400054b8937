"""The warning ladder: warnings that pile up escalate to a mute, then to removal.

A ladder is a lifetime for warnings and a list of steps, e.g. "warnings expire after 7
days; the 3rd live warning mutes for a day; the 4th removes the member". A warning is
live while it is younger than the expiry; steps are reached by the number of live
warnings, the new one included, so a member who stays quiet for a week starts again from
nothing. Past the last step, the last step repeats.

Everything is a pure function of the warning times and ``now``: the caller stores the
list ``escalate`` returns and passes it back next time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from shequn.features.moderation.detect import RuleError, Wording, echo, is_chinese

#: The longest mute: QQ's own limit, and long enough that longer ones should be a ban.
MAX_MUTE = timedelta(days=30)
#: The ladder's identifier in errors; it is configured once per community.
LADDER_ID = "ladder"


class Penalty(StrEnum):
    """What a step does beyond the warning itself. WARN: nothing more (below the first step)."""

    WARN = "warn"
    MUTE = "mute"
    KICK = "kick"
    BAN = "ban"


_EN_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_ZH_UNITS = ("天", "小时", "分钟", "秒")


def span(duration: timedelta, lang: str) -> str:
    """``1 天 2 小时`` / ``1 day 2 hours``: whole seconds, largest units first."""
    left = max(int(duration.total_seconds()), 0)
    parts = []
    for (en, size), zh in zip(_EN_UNITS, _ZH_UNITS, strict=True):
        count, left = divmod(left, size)
        if count:
            if is_chinese(lang):
                parts.append(f"{count} {zh}")
            else:
                parts.append(f"{count} {en}" + ("" if count == 1 else "s"))
    if not parts:
        return "0 秒" if is_chinese(lang) else "0 seconds"
    return " ".join(parts)


def mute_problems(duration: timedelta | None, what: Wording) -> list[Wording]:
    """Why a mute duration cannot be used: missing, not positive, or beyond MAX_MUTE."""
    if duration is None:
        return [Wording(f"{what.en} mutes but has no duration", f"{what.zh}禁言但没有设置时长")]
    if duration <= timedelta(0):
        return [
            Wording(
                f"{what.en}: the mute must last longer than zero", f"{what.zh}：禁言时长必须大于零"
            )
        ]
    if duration > MAX_MUTE:
        return [
            Wording(
                f"{what.en}: a mute lasts at most {span(MAX_MUTE, 'en')}; use a ban for longer",
                f"{what.zh}：禁言最长 {span(MAX_MUTE, 'zh')}，更长请用封禁",
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class Step:
    """Reached when a member has ``at`` live warnings (the new one included)."""

    at: int
    penalty: Penalty
    duration: timedelta | None = None

    def describe(self) -> Wording:
        """What happens at this step, as a clause: ``muted for 1 day`` / ``禁言 1 天``."""
        if self.penalty is Penalty.MUTE and self.duration is not None:
            return Wording(
                f"muted for {span(self.duration, 'en')}", f"禁言 {span(self.duration, 'zh')}"
            )
        if self.penalty is Penalty.KICK:
            return Wording("removed from the group", "移出本群")
        if self.penalty is Penalty.BAN:
            return Wording("banned from the group", "封禁")
        return Wording("warned", "警告")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": self.at, "penalty": self.penalty.value}
        if self.duration is not None:
            out["duration_s"] = self.duration.total_seconds()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        """Raises RuleError for a malformed step (named as the ladder's)."""
        problems: list[Wording] = []
        at = data.get("at")
        if isinstance(at, bool) or not isinstance(at, int):
            problems.append(
                Wording(
                    f"a step's 'at' must be a whole number, not {at!r}",
                    f"步骤的 at 必须是整数，而不是 {at!r}",
                )
            )
            at = 0
        raw = data.get("penalty")
        try:
            penalty = Penalty(raw)
        except ValueError:
            known = ", ".join(p.value for p in Penalty if p is not Penalty.WARN)
            problems.append(
                Wording(
                    f"unknown penalty {raw!r} (known: {known})",
                    f"未知的处罚 {raw!r}（可用：{known}）",
                )
            )
            penalty = Penalty.WARN
        duration = _seconds(data.get("duration_s"), problems)
        problems += _unknown(data, ("at", "penalty", "duration_s"), "steps")
        if problems:
            raise RuleError(LADDER_ID, "", problems)
        return cls(at, penalty, duration)


def _unknown(data: Mapping[str, Any], known: tuple[str, ...], where: str) -> list[Wording]:
    """Fields nobody reads: a misspelt ``mute_s`` would otherwise leave a mute without a
    duration, or silently change nothing."""
    return [
        Wording(f"unknown field '{where}.{echo(str(key))}'", f"未知的字段 {where}.{echo(str(key))}")
        for key in data
        if key not in known
    ]


def warn_only(count: int) -> Step:
    """The step below the first: the warning is given and nothing else happens."""
    return Step(count, Penalty.WARN)


def _seconds(value: Any, problems: list[Wording]) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(
            Wording(
                f"a duration must be a number of seconds, not {value!r}",
                f"时长必须是秒数，而不是 {value!r}",
            )
        )
        return None
    try:
        return timedelta(seconds=value)
    except (OverflowError, ValueError):
        problems.append(
            Wording(f"the duration {value!r} is out of range", f"时长 {value!r} 超出范围")
        )
        return None


def _default_steps() -> tuple[Step, ...]:
    return (Step(3, Penalty.MUTE, timedelta(days=1)), Step(4, Penalty.KICK))


@dataclass(frozen=True, slots=True)
class Ladder:
    """How warnings escalate. The default: 3 warnings within 7 days mute for a day, the
    next one removes the member. Raises RuleError when the steps cannot work."""

    expiry: timedelta = timedelta(days=7)
    steps: tuple[Step, ...] = _default_steps()

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise RuleError(LADDER_ID, "", problems)

    def problems(self) -> list[Wording]:
        problems: list[Wording] = []
        if self.expiry <= timedelta(0):
            problems.append(
                Wording("warnings must expire after a positive time", "警告的有效期必须大于零")
            )
        previous = 0
        for step in self.steps:
            label = Wording(f"the step at {step.at} warnings", f"第 {step.at} 次警告的步骤")
            if step.at <= previous:
                problems.append(
                    Wording(
                        f"{label.en} must come after {previous} (steps go up one by one or more)",
                        f"{label.zh}必须大于 {previous}（步骤按次数递增）",
                    )
                )
            previous = max(previous, step.at)
            if step.penalty is Penalty.WARN:
                problems.append(
                    Wording(
                        f"{label.en} does nothing beyond the warning",
                        f"{label.zh}除警告外什么也不做",
                    )
                )
            elif step.penalty is Penalty.MUTE:
                problems.extend(mute_problems(step.duration, label))
            elif step.duration is not None:
                problems.append(
                    Wording(
                        f"{label.en}: only a mute has a duration", f"{label.zh}：只有禁言有时长"
                    )
                )
        return problems

    def step_for(self, count: int) -> Step:
        """The step ``count`` live warnings reach: the highest one at or below it."""
        reached = [step for step in self.steps if step.at <= count]
        return reached[-1] if reached else warn_only(count)

    def next_step(self, count: int) -> Step | None:
        """The first step above ``count`` warnings, or None past the last one."""
        return next((step for step in self.steps if step.at > count), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expiry_s": self.expiry.total_seconds(),
            "steps": [step.to_dict() for step in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ladder:
        """Raises RuleError naming every problem in the ladder."""
        problems: list[Wording] = []
        expiry = _seconds(data.get("expiry_s", 7 * 86400), problems)
        raw_steps = data.get("steps", [])
        steps: list[Step] = []
        if not isinstance(raw_steps, list | tuple):
            problems.append(Wording("the steps must be a list", "步骤必须是列表"))
            raw_steps = []
        for raw in raw_steps:
            if not isinstance(raw, Mapping):
                problems.append(
                    Wording(
                        f"a step must be an object, not {raw!r}", f"步骤必须是对象，而不是 {raw!r}"
                    )
                )
                continue
            try:
                steps.append(Step.from_dict(raw))
            except RuleError as error:
                problems.extend(error.problems)
        problems += _unknown(data, ("expiry_s", "steps"), "ladder")
        if problems or expiry is None:
            raise RuleError(LADDER_ID, "", problems or [Wording("no expiry", "没有有效期")])
        return cls(expiry, tuple(steps))


class Escalation(NamedTuple):
    """The step a new warning reaches, and the member's live warnings including it."""

    step: Step
    warnings: tuple[datetime, ...]


def live(warnings: Sequence[datetime], expiry: timedelta, now: datetime) -> tuple[datetime, ...]:
    """The warnings that have not expired at ``now``, oldest first. One given exactly
    ``expiry`` ago has expired; one dated after ``now`` (another machine's clock) counts."""
    return tuple(sorted(w for w in warnings if now - w < expiry))


def escalate(ladder: Ladder, warnings: Sequence[datetime], now: datetime) -> Escalation:
    """Give one more warning at ``now``: the step it reaches and the new warnings list."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    current = (*live(warnings, ladder.expiry, now), now)
    return Escalation(ladder.step_for(len(current)), current)
