"""A dispatcher process for the crash test: serves the simulated platform until the outbox
is empty, unless it is killed first. Usage: dispatch_child.py DATABASE_URL JOURNAL GROUPS"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from shequn.adapters.sim import SimAdapter, SimPlatformConfig, SimWorld
from shequn.app import App
from shequn.config import Settings
from shequn.kit.clock import SystemClock
from shequn.runtime.outbox.dispatcher import Dispatcher, DispatchSettings


def main(url: str, journal: str, groups: int) -> None:
    clock = SystemClock()
    app = App.create(Settings(database_url=url), clock=clock)
    community = app.community("社群").community_id
    world = SimWorld(clock, journal=Path(journal))
    for g in range(groups):
        world.add_group(f"g{g}", f"群{g}")
    adapter = SimAdapter(SimPlatformConfig(community="社群", latency_ms=2), world)
    dispatcher = Dispatcher(
        app.engine,
        {(community, "sim"): adapter},
        clock=clock,
        settings=DispatchSettings(batch=40, lease=timedelta(seconds=1), perform_timeout=0.5),
    )
    print("ready", flush=True)
    asyncio.run(dispatcher.run_until_idle())
    print("idle", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
