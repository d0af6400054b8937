"""Append events to the log, skipping those already stored, and say which were new.

Two paths, one contract (``write`` returns the new id of each row, or None for
a duplicate):

* SQLite holds one writer at a time (the batch runs under BEGIN IMMEDIATE), so
  it assigns ids itself, appends with one ``INSERT OR IGNORE`` executemany and
  reads back which of the new ids exist.
* PostgreSQL may have several ingesting processes. Small batches use
  ``INSERT … ON CONFLICT DO NOTHING RETURNING``. Large ones reserve ids from the
  sequence and ``COPY`` straight into the table inside a savepoint — the
  fastest path there is, and the common one (new history). If any row is
  already stored (a re-import, or another process got there first), the COPY
  fails as a whole, the savepoint is rolled back, and the batch goes through a
  staging table and ``INSERT … SELECT … ON CONFLICT DO NOTHING`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

import orjson
import psycopg
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from shequn.db.bulk import COPY_MIN_ROWS, copy_rows, reserve_ids
from shequn.db.engine import Capabilities
from shequn.db.types import sqlite_datetime
from shequn.models import EventRow

_event = EventRow.__table__


class EventValues(NamedTuple):
    """One event row as written; ``payload`` is already JSON text."""

    community_id: int
    group_id: int | None
    identity_id: int | None
    platform: str
    type: str
    occurred_at: datetime
    source: str
    source_id: str
    text: str | None
    payload: str
    ingested_at: datetime


COLUMNS = EventValues._fields


class EventWriter(Protocol):
    def write(self, conn: Connection, rows: Sequence[EventValues]) -> list[int | None]: ...


class SqliteEventWriter:
    """Append under the write lock: ids are assigned here, duplicates ignored by the
    unique index, and one range scan of the new ids tells which rows went in."""

    def write(self, conn: Connection, rows: Sequence[EventValues]) -> list[int | None]:
        if not rows:
            return []
        first = conn.execute(select(func.coalesce(func.max(_event.c.id), 0))).scalar_one() + 1
        ingested = {t: sqlite_datetime(t) for t in {r.ingested_at for r in rows}}
        values = [
            (
                first + n,
                *r[:5],
                sqlite_datetime(r.occurred_at),
                *r[6:10],
                ingested[r.ingested_at],
            )
            for n, r in enumerate(rows)
        ]
        placeholders = ", ".join("?" * (len(COLUMNS) + 1))
        conn.exec_driver_sql(
            f"INSERT OR IGNORE INTO event (id, {', '.join(COLUMNS)}) VALUES ({placeholders})",
            values,
        )
        last = first + len(rows) - 1
        stored = set(
            conn.execute(
                select(_event.c.id).where(_event.c.id >= first).where(_event.c.id <= last)
            ).scalars()
        )
        return [first + n if first + n in stored else None for n in range(len(rows))]


_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS event_staging (
    ord integer NOT NULL,
    community_id integer NOT NULL,
    group_id integer,
    identity_id integer,
    platform varchar(32) NOT NULL,
    type varchar(32) NOT NULL,
    occurred_at timestamptz NOT NULL,
    source varchar(255) NOT NULL,
    source_id varchar(255) NOT NULL,
    text text,
    payload jsonb NOT NULL,
    ingested_at timestamptz NOT NULL
) ON COMMIT DELETE ROWS
"""


class PostgresEventWriter:
    def write(self, conn: Connection, rows: Sequence[EventValues]) -> list[int | None]:
        if not rows:
            return []
        # Every writer takes the unique keys in the same (sorted) order, so two
        # processes storing overlapping batches wait for each other instead of
        # deadlocking.
        keys = [(r[6], r[7]) for r in rows]  # (source, source_id)
        order = sorted(range(len(rows)), key=keys.__getitem__)
        ordered = [rows[i] for i in order]
        if len(rows) < COPY_MIN_ROWS:
            written = self._insert(conn, ordered)
        else:
            written = self._copy(conn, ordered)
        ids: list[int | None] = [None] * len(rows)
        for position, new_id in zip(order, written, strict=True):
            ids[position] = new_id
        return ids

    def _insert(self, conn: Connection, rows: Sequence[EventValues]) -> list[int | None]:
        stmt = (
            pg_insert(_event)
            .values([{**r._asdict(), "payload": orjson.loads(r.payload)} for r in rows])
            .on_conflict_do_nothing(index_elements=["source", "source_id"])
            .returning(_event.c.id, _event.c.source, _event.c.source_id)
        )
        new = {(s, sid): i for i, s, sid in conn.execute(stmt)}
        return [new.get((r.source, r.source_id)) for r in rows]

    def _copy(self, conn: Connection, rows: Sequence[EventValues]) -> list[int | None]:
        ids = reserve_ids(conn, _event, len(rows))
        savepoint = conn.begin_nested()
        try:
            copy_rows(
                conn,
                f"COPY event (id, {', '.join(COLUMNS)}) FROM STDIN",
                ((i, *r) for i, r in zip(ids, rows, strict=True)),
            )
        except psycopg.errors.UniqueViolation:
            savepoint.rollback()
            return self._staged(conn, rows)
        savepoint.commit()
        return list(ids)

    def _staged(self, conn: Connection, rows: Sequence[EventValues]) -> list[int | None]:
        cols = ", ".join(COLUMNS)
        conn.exec_driver_sql(_STAGING_DDL)
        copy_rows(
            conn,
            f"COPY event_staging (ord, {cols}) FROM STDIN",
            ((n, *r) for n, r in enumerate(rows)),
        )
        result = conn.exec_driver_sql(
            f"INSERT INTO event ({cols}) SELECT {cols} FROM event_staging ORDER BY ord "
            "ON CONFLICT (source, source_id) DO NOTHING RETURNING id, source, source_id"
        )
        new = {(s, sid): i for i, s, sid in result}
        return [new.get((r.source, r.source_id)) for r in rows]


def writer_for(caps: Capabilities) -> EventWriter:
    return PostgresEventWriter() if caps.copy else SqliteEventWriter()
