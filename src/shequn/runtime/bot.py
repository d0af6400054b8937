"""The bot runtime: adapters' events in, through the ingest pipeline, actions out.

Three tasks share one event loop: the supervisor keeps the adapters connected
and queues what they hear; the ingest task stores queued events in batches
(whatever arrived while the previous batch was being written), which runs every
feature and writes their actions to the outbox in the same transaction; then it
wakes the dispatcher, which performs them. Database work runs in worker threads
so the loop stays free for the adapters' sockets and, under ``shequn serve``,
for the web app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from shequn.adapters.base import Adapter
from shequn.adapters.sim import SimWorld
from shequn.core import Event
from shequn.features.community.setup import CommunityRef
from shequn.features.ticker import Ticker
from shequn.kit.clock import Clock
from shequn.kit.errors import ConfigError, InvalidEvent
from shequn.runtime.ingest import Ingestor
from shequn.runtime.internal import InternalActions
from shequn.runtime.outbox.dispatcher import Dispatcher, DispatchSettings, default_worker
from shequn.runtime.supervisor import Entry, Supervisor
from shequn.runtime.ticks import TICK_S, run_ticks

log = logging.getLogger("shequn.runtime")

#: The most events one ingest batch takes from the queue.
BATCH = 500


@dataclass
class RuntimeStats:
    received: int = 0
    stored: int = 0
    actions: int = 0
    rejected: int = 0
    last_errors: list[str] = field(default_factory=list)


class BotRuntime:
    def __init__(
        self,
        engine: Engine,
        entries: Sequence[Entry],
        ingestor_for: Callable[[CommunityRef], Ingestor],
        *,
        clock: Clock,
        dispatch: DispatchSettings | None = None,
        worker: str | None = None,
        world: SimWorld | None = None,
        tickers: Sequence[Ticker] = (),
        tick_s: float = TICK_S,
    ) -> None:
        self.engine = engine
        self.tickers = list(tickers)
        self.tick_s = tick_s
        #: The simulated platform of this process, when a sim adapter runs (the playground).
        self.world = world
        self.entries = list(entries)
        self.clock = clock
        self.worker = worker or default_worker()
        self.stats = RuntimeStats()
        self._ingestor_for = ingestor_for
        self._ingestors: dict[int, Ingestor] = {}
        self._queue: asyncio.Queue[tuple[CommunityRef, Event]] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        routes: dict[tuple[int, str], Adapter] = {}
        for entry in self.entries:
            route = (entry.community.community_id, entry.adapter.platform)
            if route in routes:
                raise ConfigError(
                    f"adapter {entry.name!r}: community {entry.community.name!r} already has a "
                    f"{entry.adapter.platform} adapter"
                )
            routes[route] = entry.adapter
        self.dispatcher = Dispatcher(
            engine,
            routes,
            clock=clock,
            settings=dispatch,
            worker=self.worker,
            internal=InternalActions(engine, clock=clock),
        )
        self.supervisor = Supervisor(
            engine, self.entries, self._heard, clock=clock, worker=self.worker
        )

    def adapter(self, name: str) -> Adapter | None:
        return next((e.adapter for e in self.entries if e.name == name), None)

    async def _heard(self, entry: Entry, event: Event) -> None:
        self.stats.received += 1
        await self._queue.put((entry.community, event))

    async def run(self) -> None:
        """Run until ``stop()``."""
        self._stop.clear()
        tasks = [
            asyncio.create_task(self.supervisor.run(self._stop), name="supervisor"),
            asyncio.create_task(self.dispatcher.run(self._stop), name="dispatcher"),
            asyncio.create_task(self._ingest_loop(), name="ingest"),
        ]
        if self.tickers:
            tasks.append(asyncio.create_task(self._tick_loop(), name="ticks"))
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._ready.clear()

    def stop(self) -> None:
        self._stop.set()

    async def started(self) -> None:
        await self._ready.wait()

    async def _ingest_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            by_community: dict[int, tuple[CommunityRef, list[Event]]] = {}
            for ref, event in batch:
                by_community.setdefault(ref.community_id, (ref, []))[1].append(event)
            for ref, events in by_community.values():
                try:
                    await asyncio.to_thread(self._ingest, ref, events)
                except Exception as exc:  # the store refused: keep the runtime alive
                    log.exception("storing %d events failed", len(events))
                    self._note(f"storing {len(events)} events failed: {exc}")
            self.dispatcher.wake()

    async def tick(self) -> int:
        """Queue what is due now (windows, lobbies, batched welcomes, schedules); returns
        how many actions were queued."""
        report = await asyncio.to_thread(run_ticks, self.engine, self.tickers, self.clock.now())
        for name, error in report.failed.items():
            self._note(f"ticker {name}: {error}")
        if report.queued:
            self.dispatcher.wake()
        return report.queued

    async def _tick_loop(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.tick_s)

    def _ingest(self, ref: CommunityRef, events: list[Event]) -> None:
        ingestor = self._ingestors.get(ref.community_id)
        if ingestor is None:
            ingestor = self._ingestors[ref.community_id] = self._ingestor_for(ref)
        try:
            result = ingestor.ingest_many(events)
        except InvalidEvent:
            # One bad event must not cost the others: store them one by one.
            result = None
            for event in events:
                try:
                    one = ingestor.ingest(event)
                except InvalidEvent as exc:
                    self.stats.rejected += 1
                    self._note(f"{event.source}/{event.source_id}: {exc}")
                    continue
                self.stats.stored += one.stored
                self.stats.actions += one.actions
        if result is not None:
            self.stats.stored += result.stored
            self.stats.actions += result.actions

    def _note(self, error: str) -> None:
        log.warning("%s", error)
        self.stats.last_errors = [*self.stats.last_errors[-19:], error]
