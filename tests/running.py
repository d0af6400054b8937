"""Running the bot runtime inside a test: start it, wait for its adapters, stop it; wait
for a condition; write beside it without deadlocking with its own writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import Connection

from shequn.app import App
from shequn.db.engine import WRITE
from shequn.runtime.bot import BotRuntime


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` every few milliseconds until it holds; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(runtime: BotRuntime, *, tick_s: float | None = None) -> AsyncIterator[BotRuntime]:
    """The runtime running in this loop with every adapter connected. ``tick_s`` spaces its
    tickers out (a test that ticks by hand, when its clock says work is due, passes an hour)."""
    if tick_s is not None:
        runtime.tick_s = tick_s
    task = asyncio.create_task(runtime.run())
    await runtime.started()
    names = [e.name for e in runtime.entries]
    await until(lambda: all(runtime.supervisor.states.get(n) == "connected" for n in names))
    try:
        yield runtime
    finally:
        runtime.stop()
        await task


@contextmanager
def write(app: App) -> Iterator[Connection]:
    """A write transaction that takes SQLite's lock up front (BEGIN IMMEDIATE), as the
    runtime's own do, so it never deadlocks with them."""
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            yield conn
