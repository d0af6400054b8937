"""``shequn bench ingest``: bulk ingest against the raw insert floor of the same database.

The pipeline run stores N simulated message events through the real Ingestor
(membership processor on). The floor inserts the very same rows into a bare
table with the same columns and indexes, with the plainest fast path the
database has: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, committing
every batch like the pipeline does. Generating the events and preparing the
floor's rows are not timed. Both bulk runs stream one batch at a time, so
memory stays flat whatever N is. After the bulk run, the community's next 500
messages are stored one at a time (streaming mode) for the latency figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
)

from shequn.app import App
from shequn.bench.common import RssSampler, chunked, scratch_database
from shequn.config import Settings
from shequn.core import Event, EventType
from shequn.db.types import sqlite_datetime
from shequn.runtime.ingest.rows import event_values, prepare
from shequn.simulator import SimConfig, simulate


def message_events(count: int, *, seed: int = 11) -> Iterator[Event]:
    """``count`` message events from a large simulated community, streamed."""
    community = simulate(
        SimConfig(groups=60, members=30_000, days=3650, seed=seed, end=date(2026, 1, 1))
    )
    return islice((e for e in community.events() if e.type is EventType.MESSAGE), count)


#: Events stored one at a time after the bulk run (the stream's next ones), for latency.
STREAMED = 500


@dataclass
class Run:
    events: int
    seconds: float
    rss: RssSampler
    stream_ms: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def run_pipeline(url: str, count: int, batch_size: int) -> Run:
    app = App.create(Settings(database_url=url))
    app.migrate()
    ingestor = app.ingestor(app.community("bench"), batch_size=batch_size)
    rss, elapsed, stored = RssSampler(), 0.0, 0
    events = message_events(count + STREAMED)
    for chunk in chunked(islice(events, count), batch_size):
        started = time.perf_counter()
        stored += ingestor.ingest_many(chunk).stored
        elapsed += time.perf_counter() - started
        rss.sample()
    latencies = []
    for event in events:  # the community's next messages, as a live adapter delivers them
        started = time.perf_counter()
        ingestor.ingest(event)
        latencies.append((time.perf_counter() - started) * 1000)
    app.close()
    if stored != count:
        raise RuntimeError(f"pipeline stored {stored} of {count} events")
    return Run(stored, elapsed, rss, sorted(latencies))


def _floor_table() -> Table:
    """The event table's columns and indexes, without foreign keys or anything else."""
    return Table(
        "event_floor",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("community_id", Integer, nullable=False),
        Column("group_id", Integer),
        Column("identity_id", Integer),
        Column("platform", String(32), nullable=False),
        Column("type", String(32), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("source", String(255), nullable=False),
        Column("source_id", String(255), nullable=False),
        Column("text", Text),
        Column("payload", Text, nullable=False),
        Column("ingested_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("source", "source_id"),
        Index("ix_floor_group", "group_id", "occurred_at"),
        Index("ix_floor_identity", "identity_id", "occurred_at"),
    )


def run_floor(url: str, count: int, batch_size: int) -> Run:
    table = _floor_table()
    engine = create_engine(url)
    table.metadata.create_all(engine)
    ids: dict[str | None, int] = {}
    now = datetime.now(UTC)
    sqlite = engine.dialect.name == "sqlite"
    cols = [c.name for c in table.columns if c.name != "id"]
    elapsed, done = 0.0, 0
    raw = engine.raw_connection()
    try:
        if sqlite:
            cur = raw.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
        for chunk in chunked(message_events(count), batch_size):
            rows = []
            for e in chunk:
                v = event_values(
                    prepare(e),
                    community_id=1,
                    group_id=ids.setdefault(e.group, len(ids) + 1),
                    identity_id=ids.setdefault(e.actor, len(ids) + 1),
                    ingested_at=now,
                )
                if sqlite:
                    v = v._replace(
                        occurred_at=sqlite_datetime(v.occurred_at),  # type: ignore[arg-type]
                        ingested_at=sqlite_datetime(v.ingested_at),  # type: ignore[arg-type]
                    )
                rows.append(tuple(v))
            started = time.perf_counter()
            cur = raw.cursor()
            for batch in chunked(rows, batch_size):
                if sqlite:
                    cur.executemany(
                        f"INSERT INTO event_floor ({', '.join(cols)}) "
                        f"VALUES ({', '.join('?' * len(cols))})",
                        batch,
                    )
                else:
                    with cur.copy(f"COPY event_floor ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                raw.commit()
            cur.close()
            elapsed += time.perf_counter() - started
            done += len(rows)
    finally:
        raw.close()
        engine.dispose()
    return Run(done, elapsed, RssSampler())


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def bench_ingest(db: str, events: int, batch_size: int = 20_000) -> dict[str, object]:
    with scratch_database(db, "floor") as floor_url:
        floor = run_floor(floor_url, events, batch_size)
    with scratch_database(db, "pipeline") as url:
        pipeline = run_pipeline(url, events, batch_size)
    return {
        "bench": "ingest",
        "db": db,
        "events": events,
        "batch_size": batch_size,
        "events_per_s": round(pipeline.per_s),
        "floor_events_per_s": round(floor.per_s),
        "ratio": pipeline.per_s / floor.per_s,
        "seconds": pipeline.seconds,
        "floor_seconds": floor.seconds,
        "stream_p50_ms": _percentile(pipeline.stream_ms, 0.50),
        "stream_p99_ms": _percentile(pipeline.stream_ms, 0.99),
        "peak_rss_mb": pipeline.rss.peak,
        "rss_growth_mb": pipeline.rss.growth,
        "rss_growth_second_half_mb": pipeline.rss.late_growth,
    }
