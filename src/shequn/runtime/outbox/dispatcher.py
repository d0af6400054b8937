"""The dispatcher: carries out the outbox's actions through the adapters, once each.

Each pass claims the due actions of the routes it serves under a lease, holds back
those whose rate limits are spent (they go back to the queue, due when a token
will be there), performs the rest — one group's actions in order, different
groups concurrently — and records every outcome in one transaction:

- done: the platform's answer is kept with the row;
- a transient failure: back to the queue after an exponential backoff (or the
  platform's ``retry_after``), until ``max_attempts`` is reached;
- a permanent failure or an unsupported action: failed, with the reason;
- an outcome nobody knows (the dispatcher died mid-action, or the platform did
  not answer in time): the adapter is asked (``reconcile``); a platform that
  cannot say gets the action again only if it is safe to repeat, and otherwise
  the row is marked uncertain for an operator rather than risking a duplicate.

Time comes from the injected clock and waiting from the injected sleeper, so the
same loop runs on the real clock and, for tests and the bench, on simulated time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from shequn.adapters.base import (
    ActionFailed,
    Adapter,
    Bucket,
    Done,
    Outcome,
    Reconciled,
    TransientFailure,
)
from shequn.core import Action
from shequn.db.engine import WRITE
from shequn.kit.clock import Clock
from shequn.models import OutboxStatus
from shequn.runtime.outbox import store
from shequn.runtime.outbox.buckets import Limiter
from shequn.runtime.outbox.store import Claimed, Route

log = logging.getLogger("shequn.dispatch")


class InternalPerformer(Protocol):
    """Carries out shequn's own actions (tags, points, operator notices)."""

    async def perform(self, community_id: int, action: Action) -> Done: ...


class Sleeper(Protocol):
    async def __call__(self, seconds: float, wake: asyncio.Event) -> None: ...


async def real_sleep(seconds: float, wake: asyncio.Event) -> None:
    """Wait ``seconds`` of real time, or less when woken."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=max(0.0, seconds))


@dataclass(frozen=True, slots=True)
class DispatchSettings:
    batch: int = 200
    #: How long a claimed row stays ours; must outlast ``perform_timeout``.
    lease: timedelta = timedelta(seconds=60)
    perform_timeout: float = 20.0
    max_attempts: int = 8
    backoff_base_s: float = 2.0
    backoff_cap_s: float = 900.0
    #: A bucket over every action this dispatcher performs, on top of each platform's.
    overall: Bucket | None = None
    #: Off only to measure the dispatcher itself.
    limits: bool = True
    #: The longest nap when nothing is due; new actions of this process wake it sooner.
    idle_poll_s: float = 1.0


@dataclass(slots=True)
class PassReport:
    """What one pass did, and when the next one has work."""

    claimed: int = 0
    done: int = 0
    retried: int = 0
    held: int = 0
    failed: int = 0
    uncertain: int = 0
    reconciled: int = 0
    next_at: datetime | None = None


@dataclass(slots=True)
class _Outcomes:
    done: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    retry: list[tuple[int, datetime, str | None]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    uncertain: list[tuple[int, str]] = field(default_factory=list)


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        adapters: Mapping[Route, Adapter],
        *,
        clock: Clock,
        settings: DispatchSettings | None = None,
        sleep: Sleeper = real_sleep,
        internal: InternalPerformer | None = None,
        worker: str | None = None,
        on_done: Callable[[Claimed, Done], Awaitable[None] | None] | None = None,
    ) -> None:
        self.engine = engine
        self.adapters = dict(adapters)
        self.clock = clock
        self.settings = settings or DispatchSettings()
        self.sleep = sleep
        self.internal = internal
        self.worker = worker or default_worker()
        self.on_done = on_done
        self.limiter = Limiter(overall=self.settings.overall)
        self._held: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._look_for_abandoned: datetime | None = None

    # --- the loop ------------------------------------------------------------------------

    def wake(self) -> None:
        """New actions were enqueued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set."""
        while not stop.is_set():
            report = await self.run_once()
            if report.claimed or report.reconciled:
                continue
            await self._nap(report.next_at, limit=self.settings.idle_poll_s)

    async def run_until_idle(self) -> None:
        """Dispatch until no action of these routes is pending or in flight (tests and
        benches: on simulated time, the naps are instant)."""
        while True:
            report = await self.run_once()
            if report.claimed or report.reconciled:
                continue
            if report.next_at is None:
                return
            await self._nap(report.next_at, limit=None)

    async def _nap(self, until: datetime | None, *, limit: float | None) -> None:
        seconds = limit if until is None else (until - self.clock.now()).total_seconds()
        if limit is not None:
            seconds = min(seconds or 0.0, limit)
        self._wake.clear()
        await self.sleep(max(0.0, seconds or 0.0), self._wake)

    # --- one pass --------------------------------------------------------------------------

    async def run_once(self) -> PassReport:
        report = PassReport()
        now = self.clock.now()
        routes, internal = set(self.adapters), self.internal is not None
        abandoned: list[Claimed] = []
        if self._look_for_abandoned is None or now >= self._look_for_abandoned:
            # A lease runs for ``lease``: looking a few times per lease is enough.
            self._look_for_abandoned = now + self.settings.lease / 4
            abandoned = await self._db(
                lambda c: store.claim_abandoned(
                    c,
                    worker=self.worker,
                    routes=routes,
                    internal=internal,
                    now=now,
                    lease=self.settings.lease,
                    limit=self.settings.batch,
                )
            )
        if abandoned:
            report.reconciled = len(abandoned)
            outcomes = await self._reconcile_all(abandoned, now)
            await self._record(outcomes, now, report)
        self._held = {g: t for g, t in self._held.items() if t > now}
        room = self._room(now)
        claimed: list[Claimed] = []
        if room > 0:
            held = set(self._held)
            claimed = await self._db(
                lambda c: store.claim_due(
                    c,
                    worker=self.worker,
                    routes=routes,
                    internal=internal,
                    now=now,
                    lease=self.settings.lease,
                    limit=room,
                    held_back=held,
                )
            )
        report.claimed = len(claimed)
        go, hold = self._admit(claimed, now)
        report.held = len(hold)
        outcomes = await self._perform_all(go, now)
        outcomes_now = self.clock.now()
        await self._record(outcomes, outcomes_now, report, hold=hold)
        if not claimed:
            report.next_at = await self._next_at(now)
        return report

    def _room(self, now: datetime) -> int:
        """How many rows to claim: the batch, or fewer when every account's bucket is
        nearly spent (claiming more would only put them back)."""
        if not self.settings.limits:
            return self.settings.batch
        total = 0
        for adapter in self.adapters.values():
            room = self.limiter.account_room(now, adapter.source, adapter.limits.per_account)
            total += self.settings.batch if room is None else room
        if self.internal is not None:
            total += self.settings.batch
        return min(self.settings.batch, total)

    def _admit(
        self, claimed: Sequence[Claimed], now: datetime
    ) -> tuple[list[Claimed], list[tuple[int, datetime, str | None]]]:
        """Split the claimed rows into those the rate limits let through now and those
        held back until their buckets refill (a held group holds its later rows too,
        so one group's actions keep their order)."""
        go: list[Claimed] = []
        hold: list[tuple[int, datetime, str | None]] = []
        held_until: dict[tuple[Any, ...], datetime] = {}
        for row in claimed:
            adapter = self._adapter(row)
            if adapter is None or not self.settings.limits:
                go.append(row)
                continue
            key = (row.community_id, row.platform, row.group_ref)
            if key in held_until:
                hold.append((row.id, held_until[key], None))
                continue
            wait = self.limiter.try_take(
                now,
                adapter.source,
                row.group_ref,
                per_group=adapter.limits.per_group,
                per_account=adapter.limits.per_account,
            )
            if wait > 0:
                due = now + timedelta(seconds=wait)
                held_until[key] = due
                hold.append((row.id, due, None))
                if row.group_ref is not None and adapter.limits.per_group is not None:
                    group_wait = self.limiter.group_wait(now, adapter.source, row.group_ref)
                    if group_wait > 0:
                        self._held[row.group_ref] = now + timedelta(seconds=group_wait)
            else:
                go.append(row)
        return go, hold

    def _adapter(self, row: Claimed) -> Adapter | None:
        if row.platform is None:
            return None
        return self.adapters.get((row.community_id, row.platform))

    async def _next_at(self, now: datetime) -> datetime | None:
        routes, internal = set(self.adapters), self.internal is not None

        def query(conn: Connection) -> tuple[datetime | None, datetime | None]:
            return (
                store.next_due(conn, routes=routes, internal=internal, after=now),
                store.lease_deadline(conn, routes=routes, internal=internal),
            )

        due, lease_ends = await self._db(query)
        times = [due] if due is not None else []
        if lease_ends is not None:
            # An abandoned row is looked for on the first pass after its lease ends.
            times.append(max(lease_ends, self._look_for_abandoned or lease_ends))

        times += [t for t in self._held.values() if t > now]
        if self._room(now) == 0:
            times.append(now + timedelta(seconds=self._account_wait(now)))
        return min(times) if times else None

    def _account_wait(self, now: datetime) -> float:
        """How long until an account's bucket is full again. Tokens beyond the burst are
        lost, so waking when it is full and spending it all loses no throughput, and
        costs one pass per burst instead of one per token."""
        waits = [
            self.limiter.account_refill(now, a.source, a.limits.per_account)
            for a in self.adapters.values()
        ]
        return max(0.001, min(waits, default=0.001))

    # --- performing ------------------------------------------------------------------------

    async def _perform_all(self, rows: Sequence[Claimed], now: datetime) -> _Outcomes:
        """One task per group, performing that group's rows in order."""
        outcomes = _Outcomes()
        lanes: dict[tuple[Any, ...], list[Claimed]] = defaultdict(list)
        for row in rows:
            lanes[(row.community_id, row.platform, row.group_ref)].append(row)

        async def lane(items: list[Claimed]) -> None:
            for row in items:
                await self._perform(row, outcomes)

        await asyncio.gather(*(lane(items) for items in lanes.values()))
        return outcomes

    async def _perform(self, row: Claimed, out: _Outcomes) -> None:
        try:
            action = row.action()
        except Exception as exc:  # a row written by an older or broken writer
            out.failed.append((row.id, f"the stored action cannot be read: {exc}"))
            return
        try:
            if row.platform is None:
                if self.internal is None:
                    raise ActionFailed("no performer for shequn's own actions in this process")
                done = await asyncio.wait_for(
                    self.internal.perform(row.community_id, action), self.settings.perform_timeout
                )
            else:
                adapter = self._adapter(row)
                if adapter is None:
                    raise TransientFailure(f"no {row.platform} adapter is running")
                done = await asyncio.wait_for(
                    adapter.perform(action), self.settings.perform_timeout
                )
        except TimeoutError:
            reason = f"no answer within {self.settings.perform_timeout:g} s"
            await self._unknown(row, action, reason, out)
            return
        except TransientFailure as exc:
            self._retry(row, exc.reason, exc.retry_after, out)
            return
        except ActionFailed as exc:
            out.failed.append((row.id, exc.reason))
            return
        except Exception as exc:  # an adapter bug: keep the loop alive, retry a few times
            log.exception("performing outbox row %s failed", row.id)
            self._retry(row, f"{type(exc).__name__}: {exc}", None, out)
            return
        out.done.append((row.id, done.to_dict()))
        if self.on_done is not None:
            result = self.on_done(row, done)
            if asyncio.iscoroutine(result):
                await result

    def _retry(self, row: Claimed, reason: str, retry_after: float | None, out: _Outcomes) -> None:
        if row.attempts >= self.settings.max_attempts:
            out.failed.append((row.id, f"gave up after {row.attempts} attempts: {reason}"))
            return
        delay = min(
            self.settings.backoff_cap_s,
            self.settings.backoff_base_s * 2 ** max(0, row.attempts - 1),
        )
        if retry_after is not None:
            delay = max(delay, retry_after)
        out.retry.append((row.id, self.clock.now() + timedelta(seconds=delay), reason))

    async def _unknown(self, row: Claimed, action: Action, reason: str, out: _Outcomes) -> None:
        """Whether an action happened is unknown: ask the platform, then repeat it only
        if that is safe."""
        adapter = self._adapter(row)
        checked = await self._reconcile_one(adapter, action)
        if checked.outcome is Outcome.DONE:
            out.done.append((row.id, (checked.done or Done()).to_dict()))
        elif checked.outcome is Outcome.ABSENT or (
            adapter is None or action.type in adapter.repeatable
        ):
            self._retry(row, f"interrupted ({reason}); safe to perform again", None, out)
        else:
            out.uncertain.append(
                (
                    row.id,
                    f"interrupted ({reason}); {row.platform} cannot tell whether it happened, "
                    f"and repeating a {action.type.value} could do it twice",
                )
            )

    async def _reconcile_one(self, adapter: Adapter | None, action: Action) -> Reconciled:
        if adapter is None:
            return Reconciled(Outcome.UNKNOWN)
        try:
            return await asyncio.wait_for(adapter.reconcile(action), self.settings.perform_timeout)
        except Exception:
            log.exception("reconciling %s failed", action.key)
            return Reconciled(Outcome.UNKNOWN)

    async def _reconcile_all(self, rows: Sequence[Claimed], now: datetime) -> _Outcomes:
        outcomes = _Outcomes()
        for row in rows:
            try:
                action = row.action()
            except Exception as exc:
                outcomes.failed.append((row.id, f"the stored action cannot be read: {exc}"))
                continue
            await self._unknown(row, action, "its dispatcher stopped mid-action", outcomes)
        return outcomes

    # --- recording -------------------------------------------------------------------------

    async def _record(
        self,
        out: _Outcomes,
        now: datetime,
        report: PassReport,
        *,
        hold: Sequence[tuple[int, datetime, str | None]] = (),
    ) -> None:
        if not (out.done or out.retry or out.failed or out.uncertain or hold):
            return

        def write(conn: Connection) -> None:
            store.finish(conn, self.worker, out.done, now=now)
            store.release(conn, self.worker, out.retry, now=now, attempted=True)
            store.release(conn, self.worker, hold, now=now, attempted=False)
            store.settle(conn, self.worker, OutboxStatus.FAILED, out.failed, now=now)
            store.settle(conn, self.worker, OutboxStatus.UNCERTAIN, out.uncertain, now=now)

        await self._db(write)
        report.done += len(out.done)
        report.retried += len(out.retry)
        report.failed += len(out.failed)
        report.uncertain += len(out.uncertain)
        for row_id, why in out.failed + out.uncertain:
            log.warning("outbox row %s: %s", row_id, why)

    async def _db(self, fn: Callable[[Connection], Any]) -> Any:
        def run() -> Any:
            with self.engine.connect() as conn:
                conn.execution_options(**WRITE)
                with conn.begin():
                    return fn(conn)

        return await asyncio.to_thread(run)
