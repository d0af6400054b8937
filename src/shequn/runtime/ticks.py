"""Work that falls due with time rather than with an event.

A mute-all window opens at 20:00, a lobby member becomes eligible after three days, the
welcomes of newcomers who arrived together go out once the batch closes, a scheduled post
falls due. None of these is caused by a message, so the ingest pipeline never sees them.

A ``Ticker`` is asked, every few seconds, what is due at ``now``; it answers with outbox
actions and may record what it did in the same transaction. Each ticker runs in its own
transaction, so one that fails (a bad stored rule, a bug) neither loses the others' work nor
half-writes its own. Tickers must be idempotent over repeated calls with the same ``now``
and over a restart: an action's key names its cause and the moment it fell due, so a tick
replayed after a crash finds the action already queued and adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine

from shequn.db.engine import WRITE
from shequn.runtime.outbox.enqueue import Pending, enqueue

log = logging.getLogger("shequn.runtime.ticks")

#: How often the bot runtime asks its tickers what is due, in seconds.
TICK_S = 15.0


class Ticker(Protocol):
    name: str

    def tick(self, conn: Connection, now: datetime) -> Sequence[Pending]:
        """The actions due at ``now``. Runs inside a transaction the caller commits
        together with the returned actions' outbox rows."""
        ...


@dataclass
class TickReport:
    queued: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def run_ticks(engine: Engine, tickers: Sequence[Ticker], now: datetime) -> TickReport:
    """Ask each ticker what is due and queue it; a failing ticker is reported, not raised."""
    report = TickReport()
    for ticker in tickers:
        try:
            with engine.connect() as conn:
                conn.execution_options(**WRITE)
                with conn.begin():
                    report.queued += enqueue(conn, list(ticker.tick(conn, now)), now=now)
        except Exception as exc:
            log.exception("ticker %s failed", ticker.name)
            report.failed[ticker.name] = f"{type(exc).__name__}: {exc}"
    return report
