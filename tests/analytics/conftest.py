"""A simulated community with planted arcs, ingested once per test module."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from shequn.app import App
from shequn.config import Settings
from shequn.features.analytics.report import ReportOptions, build_report, default_scope
from shequn.features.community.setup import CommunityRef
from shequn.kit.clock import FrozenClock
from shequn.simulator import SimCommunity, SimConfig, simulate

SIM = SimConfig(groups=6, members=900, days=70, seed=3, end=date(2026, 10, 4))
#: The day after the simulated window: reports are made "now".
AFTER = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


@dataclass
class Simulated:
    app: App
    ref: CommunityRef
    sim: SimCommunity

    def report(self, **options: Any) -> dict[str, Any]:
        """The report as ``shequn report`` builds it, as of the clock's now."""
        with self.app.engine.connect() as conn:
            scope = default_scope(
                conn, self.ref.community_id, self.ref.timezone, now=self.app.clock.now()
            )
            return build_report(
                conn,
                scope,
                community_name=self.ref.name,
                generated_at=self.app.clock.now(),
                options=ReportOptions(**options),
            )

    def arcs(self) -> dict[str, str]:
        return {g.external_id: g.arc for g in self.sim.groups}


def ingest(app: App, config: SimConfig, *, until: datetime | None = None) -> CommunityRef:
    """Stream the simulated community through the real pipeline (up to ``until``)."""
    sim = simulate(config)
    ref = app.community(sim.name, timezone=config.timezone)
    events = sim.events()
    if until is not None:
        events = (e for e in events if e.occurred_at < until)
    app.ingestor(ref).ingest_many(events)
    return ref


def simulated_in(path: Path, template: Path, *, until: datetime | None = None) -> Simulated:
    shutil.copy(template, path)
    app = App.create(Settings(database_url=f"sqlite:///{path}"), clock=FrozenClock(until or AFTER))
    return Simulated(app, ingest(app, SIM, until=until), simulate(SIM))


@pytest.fixture(scope="module")
def simulated(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Simulated]:
    """The whole simulated window, on SQLite, shared by a module's tests."""
    sim = simulated_in(tmp_path_factory.mktemp("sim") / "sim.db", sqlite_template)
    yield sim
    sim.app.close()


@pytest.fixture
def simulated_until(
    tmp_path: Path, sqlite_template: Path
) -> Iterator[Callable[[datetime], Simulated]]:
    """The simulated community cut off at a given instant (an export taken mid-week)."""
    made: list[Simulated] = []

    def make(until: datetime) -> Simulated:
        made.append(simulated_in(tmp_path / f"cut{len(made)}.db", sqlite_template, until=until))
        return made[-1]

    yield make
    for sim in made:
        sim.app.close()
