"""The ingest pipeline.

``Ingestor.ingest`` stores one event with the lowest latency (adapters,
webhooks); ``Ingestor.ingest_many`` streams any number of events through in
batches (importers, the simulator). Both run the same steps, each batch in one
transaction:

1. normalise every event (a bad one refuses the whole batch before any write)
   and drop repeats inside the batch;
2. find or create the groups and identities the batch mentions;
3. append the events, skipping those already stored (same source and source id);
4. hand the newly stored events, in time order, to every processor;
5. write the actions they return to the outbox.

A crash leaves every batch either fully stored with its effects or absent, so
running the same input again completes the work without doubling anything.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from shequn.core import Action, Event, StoredEvent
from shequn.db.engine import WRITE, capabilities
from shequn.features.community.setup import CommunityRef
from shequn.features.processor import Processor
from shequn.kit.clock import Clock, SystemClock
from shequn.kit.errors import StoreError
from shequn.runtime.ingest.directory import Directory
from shequn.runtime.ingest.event_writer import writer_for
from shequn.runtime.ingest.normalise import normalise, unique
from shequn.runtime.ingest.result import IngestResult
from shequn.runtime.ingest.rows import Prepared, event_values, prepare
from shequn.runtime.outbox import Pending, enqueue

#: PostgreSQL errors after which the whole batch can simply run again.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "23505"}
MAX_KEY = 255


def _batched(items: Iterable[Event], size: int) -> Iterator[list[Event]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


@contextmanager
def _cycles_collected_between_batches() -> Iterator[None]:
    """Hold the cyclic garbage collector's automatic passes off during a bulk ingest.

    A batch builds some hundred thousand objects that all stay alive until it
    commits; each automatic young-generation pass over them finds nothing to
    free, and those passes cost a fifth of a bulk import. Memory is still
    freed by reference counting as usual; the caller collects the young
    generations once per batch, when the batch's objects are gone.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _prepare(events: Sequence[Event]) -> list[Prepared]:
    """Normalise (refusing the batch if any event is bad), drop repeats, build row parts."""
    return [prepare(e) for e in unique([normalise(e) for e in events])]


def action_key(stored: StoredEvent, processor: str, n: int) -> str:
    """A key that is the same every time this event makes this processor act."""
    key = f"{stored.event.source}:{stored.event.source_id}:{processor}:{n}"
    if len(key) > MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        community: CommunityRef,
        processors: Sequence[Processor[Any]] = (),
        *,
        batch_size: int = 10_000,
        clock: Clock | None = None,
        retries: int = 5,
    ) -> None:
        self.engine = engine
        self.community = community
        self.processors = tuple(processors)
        self.batch_size = batch_size
        self.clock = clock or SystemClock()
        self.retries = retries
        self._writer = writer_for(capabilities(engine))
        self._directory = Directory(community.workspace_id)

    def ingest(self, event: Event) -> IngestResult:
        """Store one event now (streaming mode)."""
        return self._run_batch(_prepare([event]), received=1)

    def ingest_many(
        self,
        events: Iterable[Event],
        *,
        on_batch: Callable[[IngestResult], None] | None = None,
    ) -> IngestResult:
        """Store a stream of events in batches (bulk mode); memory stays one batch deep."""
        total = IngestResult()
        with _cycles_collected_between_batches():
            for chunk in _batched(events, self.batch_size):
                result = self._run_batch(_prepare(chunk), received=len(chunk))
                total.add(result)
                if on_batch is not None:
                    on_batch(result)
                gc.collect(1)
        return total

    def _run_batch(self, batch: list[Prepared], *, received: int) -> IngestResult:
        for attempt in range(1, self.retries + 1):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(**WRITE)
                    with conn.begin():
                        result = self._write(conn, batch)
                self._directory.committed()
                result.received = received
                result.duplicates = received - result.stored
                return result
            except (IntegrityError, DBAPIError) as exc:
                state = getattr(exc.orig, "sqlstate", None)
                if state not in _RETRYABLE_SQLSTATES or attempt == self.retries:
                    raise StoreError(f"storing a batch of {received} events failed: {exc}") from exc
                # Another process won a race (deadlock, serialisation): the batch is
                # idempotent, so back off a little, at random, and run it again.
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    def _write(self, conn: Connection, batch: list[Prepared]) -> IngestResult:
        now = self.clock.now()
        events = [p.event for p in batch]
        ref = self.community
        self._directory.begin(conn)
        groups = self._directory.groups(
            conn,
            community_id=ref.community_id,
            wanted={(e.platform, e.group): e.group_name for e in events if e.group},
            now=now,
        )
        identities = self._directory.identities(
            conn,
            wanted={(e.platform, e.actor): e.actor_name for e in events if e.actor},
            now=now,
        )
        rows, placed = [], []
        for p in batch:
            e = p.event
            g = groups[(e.platform, e.group)] if e.group else None
            i = identities[(e.platform, e.actor)] if e.actor else None
            community_id = g.community_id if g else ref.community_id
            placed.append((community_id, g, i))
            rows.append(
                event_values(
                    p,
                    community_id=community_id,
                    group_id=g.id if g else None,
                    identity_id=i.id if i else None,
                    ingested_at=now,
                )
            )
        ids = self._writer.write(conn, rows)
        stored = [
            StoredEvent(
                id=eid,
                event=e,
                community_id=cid,
                group_id=g.id if g else None,
                identity_id=i.id if i else None,
                member_id=i.member_id if i else None,
            )
            for e, eid, (cid, g, i) in zip(events, ids, placed, strict=True)
            if eid is not None
        ]
        stored.sort(key=lambda s: s.event.occurred_at)
        pending = self._process(conn, stored)
        actions = enqueue(conn, pending, now=now)
        return IngestResult(stored=len(stored), actions=actions, batches=1)

    def _process(self, conn: Connection, stored: list[StoredEvent]) -> list[Pending]:
        pending: list[Pending] = []
        if not stored:
            return pending
        for processor in self.processors:
            state = processor.load(conn, stored)
            for s in stored:
                for n, action in enumerate(processor.step(state, s)):
                    pending.append(self._pend(action, s, processor.name, n))
            processor.save(conn, state)
        return pending

    @staticmethod
    def _pend(action: Action, stored: StoredEvent, processor: str, n: int) -> Pending:
        if action.platform is None and not action.internal:
            # A feature answering an event acts on the platform the event came from.
            action = replace(action, platform=stored.event.platform)
        if not action.key:
            action = action.with_key(action_key(stored, processor, n))
        return Pending(action=action, community_id=stored.community_id, event_id=stored.id)
