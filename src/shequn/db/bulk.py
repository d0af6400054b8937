"""Set-membership filters bound as a single parameter.

``column IN (?, ?, …)`` with thousands of values costs SQLAlchemy a per-value
expansion on every execution and needs chunking under SQLite's variable limit.
Binding the whole set as one value — a JSON array read by ``json_each`` on
SQLite, an array on PostgreSQL — keeps the statement cached and the call cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.sql.expression import any_


def one_of(dialect: str, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (strings or integers)."""
    values = list(values)
    if dialect == "postgresql":
        kind = Integer() if values and isinstance(values[0], int) else String()
        return column == any_(bindparam(None, values, type_=ARRAY(kind)))
    each = func.json_each(bindparam(None, orjson.dumps(values).decode(), type_=String()))
    return column.in_(select(literal_column("value")).select_from(each))


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``, so rows can be bulk-inserted with their ids.

    ``INSERT … RETURNING`` with a guaranteed row order runs one statement per
    row on SQLite; reserving the ids first keeps bulk inserts to one
    ``executemany``. SQLite takes them after the current maximum (the caller
    holds the write lock); PostgreSQL draws them from the table's sequence, so
    concurrent writers never collide.
    """
    if count <= 0:
        return []
    pk = table.c.id
    if conn.dialect.name == "postgresql":
        # An uncorrelated subquery: the sequence is looked up once, not per id.
        seq = select(func.pg_get_serial_sequence(table.name, pk.name)).scalar_subquery()
        return list(
            conn.execute(
                select(func.nextval(seq)).select_from(func.generate_series(1, count))
            ).scalars()
        )
    first = conn.execute(select(func.coalesce(func.max(pk), 0))).scalar_one() + 1
    return list(range(first, first + count))


def rows_for_keys(
    conn: Connection,
    columns: Sequence[Any],
    where: Sequence[ColumnElement[bool]],
    key: Any | tuple[Any, ...],
    keys: Sequence[Any],
) -> list[Row[Any]]:
    """The rows (at most one per key) whose ``key`` is one of ``keys``.

    ``key`` is a column, or a tuple of columns with ``keys`` holding tuples of
    integers; it must be unique among the rows ``where`` selects. On
    PostgreSQL the lookup is a LATERAL index probe per key, a plan that cannot
    turn into a scan of the whole table when the planner's statistics lag
    behind a bulk load (a plain ``= ANY(array)`` did, so each batch cost more
    as the table grew).
    """
    if not keys:
        return []
    composite = isinstance(key, tuple)
    if conn.dialect.name != "postgresql":
        match = _sqlite_pairs(key, keys) if composite else one_of("sqlite", key, keys)
        return list(conn.execute(select(*columns).where(*where, match)))
    if composite:
        arrays = [
            bindparam(None, [k[i] for k in keys], type_=ARRAY(Integer())) for i in range(len(key))
        ]
        names = [f"k{i}" for i in range(len(key))]
        wanted = func.unnest(*arrays).table_valued(*names).render_derived()
        probes = [col == wanted.c[name] for col, name in zip(key, names, strict=True)]
    else:
        kind = Integer() if isinstance(keys[0], int) else String()
        wanted = func.unnest(bindparam(None, list(keys), type_=ARRAY(kind)))
        wanted = wanted.table_valued("k").render_derived()
        probes = [key == wanted.c.k]
    probe = select(*columns).where(*where, *probes).limit(1).lateral()
    return list(conn.execute(select(probe).select_from(wanted).join(probe, true())))


def _sqlite_pairs(key: tuple[Any, ...], keys: Sequence[tuple[int, ...]]) -> ColumnElement[bool]:
    each = func.json_each(bindparam(None, orjson.dumps(list(keys)).decode(), type_=String()))
    value = literal_column("value")
    parts = [func.json_extract(value, f"$[{i}]") for i in range(len(key))]
    return tuple_(*key).in_(select(*parts).select_from(each))


#: Below this many rows, a plain INSERT costs less than setting up a COPY.
COPY_MIN_ROWS = 64


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows at once: ``COPY`` on PostgreSQL, one ``executemany`` on SQLite.

    psycopg's ``executemany`` sends one statement per row; for the thousands of
    members and seats a bulk import creates, ``COPY`` is several times faster.
    Every row must have the same keys.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        conn.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    copy_rows(
        conn,
        f"COPY {table.name} ({', '.join(columns)}) FROM STDIN",
        ([row[c] for c in columns] for row in rows),
    )


def copy_rows(conn: Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """Stream ``rows`` through a PostgreSQL ``COPY … FROM STDIN`` statement."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key: Sequence[str],
    *,
    add: Sequence[str] = (),
    least: Sequence[str] = (),
    greatest: Sequence[str] = (),
) -> None:
    """Insert ``rows``, or fold them into the rows already there with the same ``key``.

    Columns in ``add`` are summed, ``least`` / ``greatest`` keep the smaller /
    larger value: increments that commute, so concurrent writers need no
    read-modify-write and no lock beyond the row's own. Rows are written in
    key order (so two writers never wait on each other in a cycle); their keys
    must be unique. PostgreSQL takes large sets through ``COPY`` into a staging
    table and one ``INSERT … SELECT … ON CONFLICT``.
    """
    if not rows:
        return
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    columns = list(rows[0])
    postgres = conn.dialect.name == "postgresql"
    if postgres and len(rows) >= COPY_MIN_ROWS:
        _upsert_staged(conn, table, rows, columns, key, add, least, greatest)
        return
    statement = _upsert_statement(
        conn.dialect.name, table, tuple(key), tuple(add), tuple(least), tuple(greatest)
    )
    conn.execute(statement, rows)


@lru_cache(maxsize=64)
def _upsert_statement(
    dialect: str,
    table: Table,
    key: tuple[str, ...],
    add: tuple[str, ...],
    least: tuple[str, ...],
    greatest: tuple[str, ...],
) -> Any:
    """One statement per shape, built once: building it costs more than running it for
    the handful of rows a streamed event adds."""
    postgres = dialect == "postgresql"
    lo, hi = (func.least, func.greatest) if postgres else (func.min, func.max)
    stmt = (pg_insert if postgres else sqlite_insert)(table)
    new = stmt.excluded
    changes = {c: table.c[c] + new[c] for c in add}
    changes |= {c: lo(table.c[c], new[c]) for c in least}
    changes |= {c: hi(table.c[c], new[c]) for c in greatest}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=changes)


def _upsert_staged(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    columns: list[str],
    key: Sequence[str],
    add: Sequence[str],
    least: Sequence[str],
    greatest: Sequence[str],
) -> None:
    stage = f"stage_{table.name}"
    cols = ", ".join(columns)
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS"
    )
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    copy_rows(
        conn, f"COPY {stage} ({cols}) FROM STDIN", ([row[c] for c in columns] for row in rows)
    )
    sets = [f"{c} = {table.name}.{c} + EXCLUDED.{c}" for c in add]
    sets += [f"{c} = LEAST({table.name}.{c}, EXCLUDED.{c})" for c in least]
    sets += [f"{c} = GREATEST({table.name}.{c}, EXCLUDED.{c})" for c in greatest]
    conflict = ", ".join(key)
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage} ORDER BY {conflict} "
        f"ON CONFLICT ({conflict}) {action}"
    )
