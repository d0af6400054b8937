"""Tickers: what falls due with time is queued once, and one failing ticker costs nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from shequn.app import App
from shequn.core import Action, ActionType, Message
from shequn.models import OutboxRow
from shequn.runtime.outbox import Pending, enqueue
from shequn.runtime.ticks import run_ticks


class Due:
    """Queues one reminder per hour boundary passed, and records that it ran."""

    name = "due"

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id

    def tick(self, conn: Connection, now: datetime) -> Sequence[Pending]:
        hour = now.strftime("%Y%m%d%H")
        action = Action(
            ActionType.SEND_MESSAGE,
            platform="sim",
            group="g0",
            message=Message.of("整点提醒"),
            key=f"due:{hour}",
        )
        return [Pending(action, self.community_id)]


class Broken:
    """Writes, then fails: its write must not survive."""

    name = "broken"

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id

    def tick(self, conn: Connection, now: datetime) -> Sequence[Pending]:
        half = Action(
            ActionType.SEND_MESSAGE,
            platform="sim",
            group="g0",
            message=Message.of("半"),
            key="half",
        )
        enqueue(conn, [Pending(half, self.community_id)], now=now)
        raise RuntimeError("stored rule cannot be read")


def test_due_work_is_queued_once_and_a_failing_ticker_is_isolated(app: App) -> None:
    cid = app.community("社群").community_id
    tickers = [Broken(cid), Due(cid)]
    first = run_ticks(app.engine, tickers, app.clock.now())
    again = run_ticks(app.engine, tickers, app.clock.now())
    assert first.queued == 1 and again.queued == 0
    assert (
        set(first.failed) == {"broken"} and "stored rule cannot be read" in first.failed["broken"]
    )
    with app.engine.connect() as conn:
        keys = conn.execute(select(OutboxRow.__table__.c.idempotency_key)).scalars().all()
        assert keys == [f"due:{app.clock.now().strftime('%Y%m%d%H')}"]
