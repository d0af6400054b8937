"""JSON Lines and CSV imports with a column mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from shequn.adapters.importers.common import ImportStats
from shequn.adapters.importers.generic import BadRecord, csv_events, jsonl_events
from shequn.cli.main import app
from shequn.core import EventType

SHANGHAI = ZoneInfo("Asia/Shanghai")
runner = CliRunner()
LINES = [
    {
        "id": "a1",
        "time": "2026-01-01T08:00:00+08:00",
        "group": "g1",
        "group_name": "一群",
        "user": "u1",
        "user_name": "小明",
        "text": "早上好",
    },
    {"id": "a2", "time": 1767225600, "type": "join", "group": "g1", "user": "u2"},
    {
        "id": "a3",
        "time": "2026-01-01 09:30:00",
        "type": "purchase",
        "user": "u1",
        "payload": {"order_id": "o-1", "amount": 18.8, "currency": "CNY"},
    },
]


def jsonl(tmp_path: Path, lines: list) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", "utf-8")
    return path


def test_jsonl_records_become_events(tmp_path: Path) -> None:
    events = list(jsonl_events(jsonl(tmp_path, LINES), ImportStats(), tz=SHANGHAI))
    assert [e.type for e in events] == [EventType.MESSAGE, EventType.JOIN, EventType.PURCHASE]
    assert events[0].occurred_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert events[0].text == "早上好" and events[0].source == "import:events.jsonl"
    assert events[1].occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert events[2].occurred_at == datetime(2026, 1, 1, 9, 30, tzinfo=SHANGHAI)
    assert events[2].payload["order_id"] == "o-1"


def test_csv_with_a_mapping_and_payload_columns(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order,created_at,buyer,payload.order_id,payload.amount,type\n"
        "1,2026-01-01T10:00:00+08:00,u7,o-9,99,purchase\n",
        encoding="utf-8",
    )
    mapping = {"id": "order", "time": "created_at", "user": "buyer"}
    (event,) = csv_events(path, ImportStats(), tz=SHANGHAI, mapping=mapping)
    assert (event.type, event.actor, event.source_id) == (EventType.PURCHASE, "u7", "1")
    assert event.payload == {"order_id": "o-9", "amount": "99"}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", ":2: not JSON"),
        ("[1, 2]", ":2: a line must be a JSON object"),
        ('{"time": 1}', ":2: id is missing"),
        ('{"id": "x", "time": "yesterday"}', ":2: time 'yesterday'"),
        ('{"id": "x", "time": 1, "type": "teleport"}', ":2: unknown type 'teleport'"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(LINES[0], ensure_ascii=False) + "\n" + line + "\n", "utf-8")
    with pytest.raises(BadRecord, match=says):
        list(jsonl_events(path, ImportStats(), tz=SHANGHAI))


def test_the_commands_import_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEQUN_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    path = jsonl(tmp_path, LINES)
    first = runner.invoke(app, ["import", "jsonl", str(path)])
    assert first.exit_code == 0, first.output
    assert "3 events stored" in first.stdout
    assert (
        "0 events stored, 3 already present"
        in runner.invoke(app, ["import", "jsonl", str(path)]).stdout
    )
    bad_map = runner.invoke(app, ["import", "csv", str(path), "--map", "time"])
    assert bad_map.exit_code != 0 and "FIELD=COLUMN" in bad_map.output
