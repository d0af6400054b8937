"""A deterministic, realistic Chinese community: data for the demo, the tests and the benchmarks.

``simulate(config)`` decides the cast (people with real-looking names and
nicknames, groups with topics, owners, admins and a lifecycle arc) and returns
a ``SimCommunity`` whose ``events()`` streams everything that happens, day by
day, in time order and constant memory::

    community = simulate(SimConfig(groups=8, members=2000, days=30))
    for event in community.events():
        ...

The same config always gives the same events; nothing reads the clock or the
global random state. The arcs (``SimGroup.arc``) are the ground truth that
health analytics should recover.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from shequn.core.events import Event
from shequn.simulator import stream
from shequn.simulator.config import SimConfig
from shequn.simulator.plan import Arc, Plan, SimGroup, SimPerson, build_plan


class SimCommunity:
    """A simulated community: its cast is fixed, its history is streamed on demand."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self.config: SimConfig = plan.config
        self.name: str = plan.name
        self.groups: list[SimGroup] = [g.group for g in plan.groups]
        self.people: list[SimPerson] = plan.people

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The simulated window as aware UTC datetimes: [first local midnight, last one)."""
        cal = self._plan.calendar
        return datetime.fromtimestamp(cal.start, UTC), datetime.fromtimestamp(cal.stop, UTC)

    def group(self, external_id: str) -> SimGroup:
        for g in self.groups:
            if g.external_id == external_id:
                return g
        raise KeyError(external_id)

    def events(self) -> Iterator[Event]:
        """Every event in time order; each call replays the identical sequence."""
        return stream.events(self._plan)


def simulate(config: SimConfig | None = None) -> SimCommunity:
    """Build the community for ``config`` (the defaults if none); events are generated lazily."""
    return SimCommunity(build_plan(config or SimConfig()))


__all__ = ["Arc", "SimCommunity", "SimConfig", "SimGroup", "SimPerson", "simulate"]
