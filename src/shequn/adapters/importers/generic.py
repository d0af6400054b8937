"""JSON Lines and CSV, for anything that has no importer of its own.

Each line (JSONL) or row (CSV) is one event. Fields, after renaming with the
mapping (``--map time=created_at`` reads the ``created_at`` column as ``time``):

=============  =============================================================
``id``         required: the event's id, unique within the file's source
``time``       required: ISO 8601 (with an offset, or read in the community's
               zone) or Unix seconds
``type``       one of the event types (default ``message``)
``group``      the group's id; ``group_name`` its name
``user``       the author's account id; ``user_name`` the name shown
``text``       the message text
``payload``    JSONL: an object; CSV: every column named ``payload.KEY``
``source``     optional: the stream the ids belong to (default ``import:FILE``)
``platform``   optional (default ``import``)
=============  =============================================================
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from shequn.adapters.importers.common import ImportFailed, ImportStats, open_text
from shequn.core import Event, EventType, Message
from shequn.kit.timeutil import from_timestamp


class BadRecord(ImportFailed):
    """A line or row that cannot be read; the message gives file and line."""


def _time(value: Any, tz: ZoneInfo, where: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_timestamp(value)
    text = str(value or "").strip()
    if text.replace(".", "", 1).isdigit():
        return from_timestamp(float(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRecord(f"{where}: time {value!r} is neither ISO 8601 nor Unix seconds") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def record_event(
    record: Mapping[str, Any], where: str, *, default_source: str, tz: ZoneInfo
) -> Event:
    """The event one record stands for. Pure."""
    if not record.get("id"):
        raise BadRecord(f"{where}: id is missing")
    try:
        kind = EventType(record.get("type") or "message")
    except ValueError:
        raise BadRecord(f"{where}: unknown type {record.get('type')!r}") from None
    payload = record.get("payload") or {}
    if not isinstance(payload, Mapping):
        raise BadRecord(f"{where}: payload must be an object")
    text = record.get("text")
    return Event(
        type=kind,
        platform=str(record.get("platform") or "import"),
        source=str(record.get("source") or default_source),
        source_id=str(record["id"]),
        occurred_at=_time(record.get("time"), tz, where),
        group=_str(record.get("group")),
        group_name=_str(record.get("group_name")),
        actor=_str(record.get("user")),
        actor_name=_str(record.get("user_name")),
        message=Message.of(str(text)) if kind is EventType.MESSAGE else None,
        payload=dict(payload),
    )


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _renamed(record: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    out = dict(record)
    for field, column in mapping.items():
        if column in record:
            out[field] = record[column]
    return out


def jsonl_events(
    path: Path, stats: ImportStats, *, tz: ZoneInfo, mapping: Mapping[str, str] | None = None
) -> Iterator[Event]:
    """Every event of a JSON Lines file, one line at a time."""
    source = f"import:{path.name}"
    with open_text(path, BadRecord) as (text, raw, _encoding):
        line_no = 0
        try:
            for line_no, line in enumerate(text, start=1):
                stats.bytes_read = raw.tell()
                if not line.strip():
                    continue
                where = f"{path}:{line_no}"
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise BadRecord(f"{where}: not JSON ({exc})") from None
                if not isinstance(record, dict):
                    raise BadRecord(f"{where}: a line must be a JSON object")
                stats.messages += 1
                yield record_event(
                    _renamed(record, mapping or {}), where, default_source=source, tz=tz
                )
        except UnicodeDecodeError as exc:
            raise BadRecord(f"{path}:{line_no + 1}: undecodable text ({exc.reason})") from None


def csv_events(
    path: Path, stats: ImportStats, *, tz: ZoneInfo, mapping: Mapping[str, str] | None = None
) -> Iterator[Event]:
    """Every event of a CSV file with a header row, one row at a time."""
    source = f"import:{path.name}"
    with open_text(path, BadRecord) as (text, raw, _encoding):
        reader = csv.DictReader(text)
        try:
            for row in reader:
                stats.bytes_read = raw.tell()
                stats.messages += 1
                record: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
                payload = {
                    k.split(".", 1)[1]: v for k, v in record.items() if k.startswith("payload.")
                }
                if payload:
                    record["payload"] = payload
                yield record_event(
                    _renamed(record, mapping or {}),
                    f"{path}:{reader.line_num}",
                    default_source=source,
                    tz=tz,
                )
        except UnicodeDecodeError as exc:
            raise BadRecord(
                f"{path}:{reader.line_num + 1}: undecodable text ({exc.reason})"
            ) from None
        except csv.Error as exc:
            raise BadRecord(f"{path}:{reader.line_num}: {exc}") from None
