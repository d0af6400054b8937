"""What a question about activity is asked of: which groups, which local days, as of when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shequn.features.analytics.rollup.logic import week_of


@dataclass(frozen=True, slots=True)
class Scope:
    """Local days ``start`` … ``end`` (inclusive) of a community in ``timezone``.

    ``as_of`` is the instant the figures describe (the last event, or now);
    a day or week that ends after it is partial and never compared with
    whole ones. ``groups`` narrows it to some of the community's groups.
    """

    community_id: int
    timezone: str
    start: date
    end: date
    as_of: datetime
    groups: tuple[int, ...] = ()
    #: True when nothing was said after the range: "spoke since day D" is then
    #: answered by each member's last message, without counting days.
    reaches_latest: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def instant(self, day: date) -> datetime:
        """The first instant of local ``day``."""
        return datetime.combine(day, time(), self.zone)

    @property
    def end_instant(self) -> datetime:
        return self.instant(self.end + timedelta(days=1))

    def complete_weeks(self) -> list[date]:
        """Mondays of the weeks inside the range that had ended by ``as_of``."""
        weeks = []
        week = week_of(self.start)
        if week < self.start:
            week += timedelta(days=7)
        while week + timedelta(days=6) <= self.end:
            if self.instant(week + timedelta(days=7)) <= self.as_of:
                weeks.append(week)
            week += timedelta(days=7)
        return weeks
