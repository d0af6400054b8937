"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: A 64-bit key that is still SQLite's rowid alias (so it autoincrements there).
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: JSON everywhere, JSONB on PostgreSQL (indexable, compact).
Json = JSON().with_variant(JSONB(), "postgresql")

#: How UTC instants are written as text on SQLite; the bulk path writes the same.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored in UTC, always returned time-zone aware.

    SQLite has no time zones and hands back naive values; this type refuses
    naive input and re-attaches UTC on the way out so no code ever compares a
    naive and an aware datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"UTCDateTime needs an aware datetime, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def sqlite_datetime(value: datetime) -> str:
    """The text SQLite stores for an aware instant (what UTCDateTime's binding writes).

    ``isoformat`` with a space and microseconds gives exactly SQLITE_DATETIME_FORMAT,
    several times faster than ``strftime`` on the bulk path.
    """
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
