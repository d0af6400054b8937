"""Night mode and mute-all windows: times when whole groups are muted.

They are separate from the moderation of messages: ``window_actions`` is called on each
tick of the scheduler and returns MUTE_ALL / UNMUTE_ALL at the edges. A window is either
a time of day in the community's zone (``DailyWindow``) or a one-off span
(``OneOffWindow``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, ClassVar, cast

from shequn.core import Action, ActionType
from shequn.features.moderation.context import _aware
from shequn.features.moderation.detect import RuleError, Wording, echo
from shequn.features.moderation.reader import _Reader
from shequn.kit.timeutil import zone as zone_named


@dataclass(frozen=True, slots=True)
class Target:
    """A group a window applies to, by platform id."""

    platform: str
    group: str


ALL_DAYS: frozenset[int] = frozenset(range(7))
_DAY_NAMES = (
    ("Mon", "周一"),
    ("Tue", "周二"),
    ("Wed", "周三"),
    ("Thu", "周四"),
    ("Fri", "周五"),
    ("Sat", "周六"),
    ("Sun", "周日"),
)


def _target_problems(targets: Sequence[Target]) -> list[Wording]:
    if not targets:
        return [Wording("the window applies to no group", "时段没有指定任何群")]
    return []


@dataclass(frozen=True)
class DailyWindow:
    """A time of day, in the community's zone, when the targets are muted: night mode.

    ``start`` > ``end`` crosses midnight (23:00–07:00). ``days`` (0 = Monday) are the days
    the window starts on, so Friday's 23:00–07:00 covers Saturday 03:00. Local clock times
    are what count: on the night clocks go forward an hour, a window over the missing hour
    is shorter, and on the night they go back, a window over the repeated hour is longer.
    """

    id: str
    name: str
    start: time
    end: time
    targets: tuple[Target, ...]
    days: frozenset[int] = ALL_DAYS
    enabled: bool = True
    kind: ClassVar[str] = "daily"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "days", frozenset(self.days))
        problems = _target_problems(self.targets)
        if not self.id:
            problems.append(Wording("the window has no id", "时段没有 id"))
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            problems.append(
                Wording(
                    "times are local to the community's zone: drop their time zone",
                    "时间按社群时区计算，请去掉时区",
                )
            )
        if self.start == self.end:
            problems.append(
                Wording("the window starts and ends at the same time", "时段的开始和结束时间相同")
            )
        if not self.days or not self.days <= ALL_DAYS:
            problems.append(
                Wording(
                    "the days must be a non-empty set of 0 (Monday) to 6 (Sunday)",
                    "星期必须是 0（周一）到 6（周日）中的若干天",
                )
            )
        if problems:
            raise RuleError(self.id, self.name, problems)

    def covers(self, at: datetime, zone: tzinfo) -> bool:
        local = at.astimezone(zone)
        clock = local.time()
        if self.start < self.end:
            return self.start <= clock < self.end and local.weekday() in self.days
        if clock >= self.start:
            return local.weekday() in self.days
        if clock < self.end:
            return (local.date() - timedelta(days=1)).weekday() in self.days
        return False

    def describe(self, zone_name: str) -> Wording:
        hours = f"{self.start:%H:%M}–{self.end:%H:%M}"
        if self.days == ALL_DAYS:
            return Wording(f"{hours} {zone_name}", f"{hours}（{zone_name}）")
        en = " ".join(_DAY_NAMES[d][0] for d in sorted(self.days))
        zh = "、".join(_DAY_NAMES[d][1] for d in sorted(self.days))
        return Wording(f"{hours} {zone_name}, {en}", f"{zh} {hours}（{zone_name}）")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "days": sorted(self.days),
            "targets": [{"platform": t.platform, "group": t.group} for t in self.targets],
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DailyWindow:
        """Raises RuleError naming the window and every problem in it."""
        return cast(DailyWindow, window_from_dict({**data, "kind": cls.kind}))


@dataclass(frozen=True)
class OneOffWindow:
    """A one-off mute of the targets from ``start`` to ``end``, e.g. during a talk."""

    id: str
    name: str
    start: datetime
    end: datetime
    targets: tuple[Target, ...]
    enabled: bool = True
    kind: ClassVar[str] = "once"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        problems = _target_problems(self.targets)
        if not self.id:
            problems.append(Wording("the window has no id", "时段没有 id"))
        aware = all(
            t.tzinfo is not None and t.utcoffset() is not None for t in (self.start, self.end)
        )
        if not aware:
            problems.append(
                Wording("the start and end need a time zone", "开始和结束时间需要带时区")
            )
        elif self.end <= self.start:
            problems.append(
                Wording("the window ends before it starts", "时段的结束时间早于开始时间")
            )
        if problems:
            raise RuleError(self.id, self.name, problems)

    def covers(self, at: datetime, zone: tzinfo) -> bool:
        return self.start <= at < self.end

    def describe(self, zone_name: str) -> Wording:
        return Wording(
            f"{self.start.isoformat()} to {self.end.isoformat()}",
            f"{self.start.isoformat()} 至 {self.end.isoformat()}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "targets": [{"platform": t.platform, "group": t.group} for t in self.targets],
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OneOffWindow:
        """Raises RuleError naming the window and every problem in it."""
        return cast(OneOffWindow, window_from_dict({**data, "kind": cls.kind}))


Window = DailyWindow | OneOffWindow


def _clock(value: Any, key: str, problems: list[Wording]) -> time:
    try:
        if not isinstance(value, str) or len(value) not in (5, 8):
            raise ValueError
        parsed = time.fromisoformat(value)
        if parsed.tzinfo is not None:
            raise ValueError
        return parsed
    except ValueError:
        problems.append(
            Wording(
                f"'{key}' must be a time like 23:00, not {echo(repr(value))}",
                f"{key} 必须是 23:00 这样的时间，而不是 {echo(repr(value))}",
            )
        )
        return time(0)


def _moment(value: Any, key: str, problems: list[Wording]) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value)) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None:
            raise ValueError
        return parsed
    except ValueError:
        problems.append(
            Wording(
                f"'{key}' must be a date and time with its zone, like "
                f"2026-03-02T19:00+08:00, not {echo(repr(value))}",
                f"{key} 必须是带时区的日期时间，如 2026-03-02T19:00+08:00，"
                f"而不是 {echo(repr(value))}",
            )
        )
        return datetime(1970, 1, 1, tzinfo=UTC)


def window_from_dict(data: Any) -> Window:
    """Raises RuleError naming the window and every problem in it."""
    reader = _Reader(data, "window")
    window_id = reader.text("id") or ""
    name = reader.text("name") or ""
    problems = reader.problems
    targets: list[Target] = []
    raw_targets = reader.data.get("targets", [])
    for raw in raw_targets if isinstance(raw_targets, list | tuple) else [raw_targets]:
        if (
            isinstance(raw, Mapping)
            and isinstance(raw.get("platform"), str)
            and isinstance(raw.get("group"), str)
        ):
            targets.append(Target(raw["platform"], raw["group"]))
        else:
            problems.append(
                Wording(
                    f"a target must be {{platform, group}}, not {echo(repr(raw))}",
                    f"目标必须是 {{platform, group}}，而不是 {echo(repr(raw))}",
                )
            )
    enabled = reader.flag("enabled", True)
    kind = reader.data.get("kind", "daily")
    try:
        if kind == DailyWindow.kind:
            days = reader.data.get("days", sorted(ALL_DAYS))
            if not isinstance(days, list | tuple) or not all(
                isinstance(d, int) and not isinstance(d, bool) for d in days
            ):
                problems.append(
                    Wording(
                        "'days' must be a list of 0 (Monday) to 6 (Sunday)",
                        "days 必须是 0（周一）到 6（周日）的列表",
                    )
                )
                days = sorted(ALL_DAYS)
            start = _clock(reader.data.get("start"), "start", problems)
            end = _clock(reader.data.get("end"), "end", problems)
            if problems:
                raise RuleError(window_id, name, problems)
            return DailyWindow(
                window_id, name, start, end, tuple(targets), frozenset(days), enabled
            )
        if kind == OneOffWindow.kind:
            start_at = _moment(reader.data.get("start"), "start", problems)
            end_at = _moment(reader.data.get("end"), "end", problems)
            if problems:
                raise RuleError(window_id, name, problems)
            return OneOffWindow(window_id, name, start_at, end_at, tuple(targets), enabled)
    except RuleError as error:
        merged = list(dict.fromkeys([*problems, *error.problems]))
        raise RuleError(window_id, name, merged) from None
    problems.append(
        Wording(
            f"unknown window kind {echo(repr(kind))} (known: daily, once)",
            f"未知的时段类型 {echo(repr(kind))}（可用：daily、once）",
        )
    )
    raise RuleError(window_id, name, problems)


def load_windows(data: Iterable[Any]) -> tuple[list[Window], list[RuleError]]:
    """Every window that works, and a RuleError for each one that does not."""
    windows: list[Window] = []
    problems: list[RuleError] = []
    for raw in data:
        try:
            windows.append(window_from_dict(raw))
        except RuleError as error:
            problems.append(error)
    return windows, problems


def _zone(zone: str | tzinfo) -> tuple[tzinfo, str]:
    if isinstance(zone, str):
        return zone_named(zone), zone
    return zone, str(zone)


def window_actions(
    windows: Iterable[Window],
    zone: str | tzinfo,
    last_tick: datetime | None,
    now: datetime,
    *,
    lang: str = "zh-CN",
) -> list[Action]:
    """MUTE_ALL for each group a window began for since ``last_tick``, UNMUTE_ALL for each
    group whose windows all ended.

    Decided by state, not by counting edges: a group is muted while any of its enabled
    windows covers the instant. So a tick missed over a whole window does nothing (the
    group ends where it started), overlapping windows never unmute early, and a repeated
    tick repeats nothing. On the first tick (``last_tick`` None) a group inside a window
    is muted; one outside is left alone, so a manual mute-all is not undone.
    """
    _aware(now, "now")
    if last_tick is not None:
        _aware(last_tick, "last_tick")
    tz, zone_name = _zone(zone)
    by_target: dict[Target, list[Window]] = {}
    for window in windows:
        if window.enabled:
            for target in window.targets:
                by_target.setdefault(target, []).append(window)
    actions: list[Action] = []
    for target, mine in by_target.items():
        active = [w for w in mine if w.covers(now, tz)]
        was = [w for w in mine if w.covers(last_tick, tz)] if last_tick is not None else []
        if active and not was:
            actions.append(_window_action(ActionType.MUTE_ALL, target, active[0], zone_name, lang))
        elif was and not active:
            actions.append(_window_action(ActionType.UNMUTE_ALL, target, was[0], zone_name, lang))
    return actions


def _window_action(
    kind: ActionType, target: Target, window: Window, zone_name: str, lang: str
) -> Action:
    when = window.describe(zone_name)
    if kind is ActionType.MUTE_ALL:
        said = Wording(f"“{window.name}” begins ({when.en})", f"「{window.name}」开始（{when.zh}）")
    else:
        said = Wording(f"“{window.name}” ends ({when.en})", f"「{window.name}」结束（{when.zh}）")
    return Action(
        kind,
        platform=target.platform,
        group=target.group,
        reason=said.pick(lang),
        params={"window": window.id},
    )


__all__ = [
    "ALL_DAYS",
    "DailyWindow",
    "OneOffWindow",
    "Target",
    "Window",
    "load_windows",
    "window_actions",
    "window_from_dict",
]
