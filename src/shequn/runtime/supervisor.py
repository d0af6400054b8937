"""The adapter supervisor: keeps every configured adapter connected and its events flowing.

Each adapter runs in its own task: connect, hand every event to the sink, and
when the connection fails or ends, wait and reconnect — 1 s, then doubling up to
a minute, back to 1 s once a connection has held for a minute. What each adapter
is doing is written to ``adapter_status`` so any process's dashboard can show it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shequn.adapters.base import Adapter, AdapterError
from shequn.core import Event
from shequn.db.engine import WRITE
from shequn.features.community.setup import CommunityRef
from shequn.kit.clock import Clock
from shequn.models import AdapterStatus

log = logging.getLogger("shequn.supervisor")
_status = AdapterStatus.__table__

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
#: A connection that held this long resets the backoff.
STABLE = timedelta(minutes=1)
#: How often rosters are fetched from platforms that only report them when asked.
SYNC_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Entry:
    """One configured adapter and the community it serves."""

    name: str
    adapter: Adapter
    community: CommunityRef


Sink = Callable[[Entry, Event], Awaitable[None]]


class Supervisor:
    def __init__(
        self,
        engine: Engine,
        entries: list[Entry],
        sink: Sink,
        *,
        clock: Clock,
        worker: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.entries = entries
        self.sink = sink
        self.clock = clock
        self.worker = worker
        self.sleep = sleep
        self.states: dict[str, str] = {}

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._keep(entry, stop)) for entry in self.entries]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, entry: Entry, stop: asyncio.Event) -> None:
        backoff = FIRST_BACKOFF_S
        while not stop.is_set():
            started = self.clock.now()
            detail = ""
            try:
                await self._set(entry, "connecting", "")
                await entry.adapter.connect()
                await self._set(entry, "connected", "")
                syncing = self._start_sync(entry)
                try:
                    async for event in entry.adapter.events():
                        await self.sink(entry, event)
                finally:
                    if syncing is not None:
                        syncing.cancel()
                detail = "the connection closed"
            except asyncio.CancelledError:
                await self._close(entry)
                await self._set(entry, "stopped", "")
                raise
            except AdapterError as exc:
                detail = str(exc)
            except Exception as exc:  # a bug in an adapter must not take the others down
                log.exception("adapter %s failed", entry.name)
                detail = f"{type(exc).__name__}: {exc}"
            await self._close(entry)
            if stop.is_set():
                break
            if self.clock.now() - started >= STABLE:
                backoff = FIRST_BACKOFF_S
            await self._set(entry, "retrying", f"{detail}; reconnecting in {backoff:g} s")
            log.warning("adapter %s: %s; reconnecting in %g s", entry.name, detail, backoff)
            await self.sleep(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)
        await self._set(entry, "stopped", "")

    def _start_sync(self, entry: Entry) -> asyncio.Task[None] | None:
        """Platforms that report rosters only on request (WeCom's customer groups) have
        a ``sync_groups`` coroutine: run it now and every ``SYNC_EVERY``."""
        sync = getattr(entry.adapter, "sync_groups", None)
        if sync is None:
            return None

        async def loop() -> None:
            while True:
                try:
                    for event in await sync():
                        await self.sink(entry, event)
                except AdapterError as exc:
                    log.warning("syncing %s failed: %s", entry.name, exc)
                await self.sleep(SYNC_EVERY.total_seconds())

        return asyncio.create_task(loop(), name=f"sync-{entry.name}")

    @staticmethod
    async def _close(entry: Entry) -> None:
        try:
            await entry.adapter.disconnect()
        except Exception:
            log.exception("disconnecting %s failed", entry.name)

    async def _set(self, entry: Entry, state: str, detail: str) -> None:
        if self.states.get(entry.name) == state and not detail:
            return
        self.states[entry.name] = state
        now = self.clock.now()
        await asyncio.to_thread(self._write, entry, state, detail, now)

    def _write(self, entry: Entry, state: str, detail: str, now: datetime) -> None:
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        values = {
            "name": entry.name,
            "platform": entry.adapter.platform,
            "account": entry.adapter.account or "",
            "community_id": entry.community.community_id,
            "state": state,
            "detail": detail[:2000],
            "worker": self.worker,
            "since": now,
            "updated_at": now,
        }
        stmt = insert(_status).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={k: v for k, v in values.items() if k != "name"}
        )
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                conn.execute(stmt)
