"""Time-zone helpers: everything is stored in UTC and shown in the community's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shequn.kit.errors import ConfigError

DEFAULT_TIMEZONE = "Asia/Shanghai"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r}") from exc


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; naive datetimes are refused, never guessed."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("naive datetime: a time zone is required")
    return value.astimezone(UTC)


def from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
