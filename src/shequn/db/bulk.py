"""Set-membership filters bound as a single parameter.

``column IN (?, ?, …)`` with thousands of values costs SQLAlchemy a per-value
expansion on every execution and needs chunking under SQLite's variable limit.
Binding the whole set as one value — a JSON array read by ``json_each`` on
SQLite, an array on PostgreSQL — keeps the statement cached and the call cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.expression import any_


def one_of(dialect: str, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (strings or integers)."""
    values = list(values)
    if dialect == "postgresql":
        kind = Integer() if values and isinstance(values[0], int) else String()
        return column == any_(bindparam(None, values, type_=ARRAY(kind)))
    each = func.json_each(bindparam(None, orjson.dumps(values).decode(), type_=String()))
    return column.in_(select(literal_column("value")).select_from(each))


def pair_of(
    dialect: str, first: Any, second: Any, pairs: Sequence[tuple[int, int]]
) -> ColumnElement[bool]:
    """``(first, second)`` is one of the integer ``pairs``."""
    if dialect == "postgresql":
        a = bindparam(None, [p[0] for p in pairs], type_=ARRAY(Integer()))
        b = bindparam(None, [p[1] for p in pairs], type_=ARRAY(Integer()))
        table = func.unnest(a, b).table_valued("a", "b").render_derived()
        return tuple_(first, second).in_(select(table.c.a, table.c.b))
    each = func.json_each(bindparam(None, orjson.dumps(pairs).decode(), type_=String()))
    value = literal_column("value")
    return tuple_(first, second).in_(
        select(func.json_extract(value, "$[0]"), func.json_extract(value, "$[1]")).select_from(each)
    )


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
        seq = func.pg_get_serial_sequence(table.name, pk.name)
        return list(
            conn.execute(
                select(func.nextval(seq)).select_from(func.generate_series(1, count))
            ).scalars()
        )
    first = conn.execute(select(func.coalesce(func.max(pk), 0))).scalar_one() + 1
    return list(range(first, first + count))
