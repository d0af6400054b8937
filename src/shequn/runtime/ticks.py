"""Asking the features' tickers what is due, each in its own transaction.

One ticker that fails (a bad stored rule, a bug) neither loses the others' work nor
half-writes its own: its transaction rolls back and the failure is reported. What a ticker
is, and why its actions' keys make repeated ticks harmless, is in ``features.ticker``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from shequn.db.engine import WRITE
from shequn.features.outbox import enqueue
from shequn.features.ticker import Ticker

log = logging.getLogger("shequn.runtime.ticks")

#: How often the bot runtime asks its tickers what is due, in seconds.
TICK_S = 15.0


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
