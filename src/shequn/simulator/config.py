"""The knobs of a simulated community; everything else follows from them and the seed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shequn.kit.timeutil import DEFAULT_TIMEZONE


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. The same config always yields the same community, event for event.

    ``end`` is the last simulated day (inclusive) in ``timezone``; the window is
    the ``days`` local days ending there. The CLI passes today, tests pass a
    fixed date so that nothing depends on when they run.
    """

    groups: int = 20
    members: int = 5000
    days: int = 90
    seed: int = 7
    end: date = date(2026, 11, 1)
    timezone: str = DEFAULT_TIMEZONE
    platform: str = "sim"

    def __post_init__(self) -> None:
        if self.groups < 1:
            raise ValueError("a simulated community needs at least one group")
        if self.members < 1:
            raise ValueError("a simulated community needs at least one member")
        if self.days < 1:
            raise ValueError("a simulated community needs at least one day")

    @property
    def source(self) -> str:
        """The event source name: re-running the same seed re-delivers the same events."""
        return f"sim:{self.seed}"
