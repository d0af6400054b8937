"""Engines and sessions for SQLite and PostgreSQL, and what each can do.

SQLite is tuned for one embedded process (WAL, normal sync, foreign keys on,
a busy timeout instead of instant "database is locked"); PostgreSQL gets a
pool. ``Capabilities`` lets the store pick a faster path where one exists
(COPY, SKIP LOCKED) without sprinkling dialect checks around.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class Capabilities:
    dialect: str
    copy: bool
    skip_locked: bool

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"


def capabilities(engine: Engine) -> Capabilities:
    name = engine.dialect.name
    return Capabilities(dialect=name, copy=name == "postgresql", skip_locked=name == "postgresql")


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # 16 MB of page cache: as fast as 64 MB for ingest (appends touch few index pages),
    # and a bulk import's peak memory stays under 200 MB.
    cur.execute("PRAGMA cache_size=-16384")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


#: Execution option for transactions that will write: on SQLite they take the
#: write lock up front, so a read-then-write transaction never fails halfway
#: with SQLITE_BUSY when another process wrote in between. Readers stay deferred
#: and never wait for a writer (WAL).
WRITE = {"sqlite_immediate": True}


def _begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "echo": echo,
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
