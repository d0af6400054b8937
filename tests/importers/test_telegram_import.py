"""``shequn import telegram`` end to end on written sample exports, good and broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from shequn.cli.main import app
from shequn.models import EventRow, Group

SAMPLE = Path(__file__).parent / "samples" / "telegram_single.json"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("SHEQUN_DATABASE_URL", url)
    return url


def count(url: str, table) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return n


def test_importing_twice_adds_nothing_the_second_time(db: str) -> None:
    first = runner.invoke(app, ["import", "telegram", str(SAMPLE)])
    assert first.exit_code == 0, first.output
    assert "11 messages read, 12 events stored, 0 already present, 1 unsupported" in first.stdout
    second = runner.invoke(app, ["import", "telegram", str(SAMPLE)])
    assert "0 events stored, 12 already present" in second.stdout
    assert count(db, EventRow) == 12


def test_a_full_account_export_imports_every_chat(db: str, tmp_path: Path) -> None:
    chat = json.loads(SAMPLE.read_text(encoding="utf-8"))
    export = {
        "about": "Telegram export",
        "chats": {"about": "", "list": [chat, {**chat, "id": 2, "name": "二群"}]},
        "left_chats": {"about": "", "list": [{**chat, "id": 3, "name": "退出的群"}]},
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["import", "telegram", str(path), "--community", "跑团"])
    assert result.exit_code == 0, result.output
    assert count(db, Group) == 3
    assert count(db, EventRow) == 36


def broken(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_truncated_export_stops_cleanly_after_whole_batches(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEQUN_INGEST_BATCH_SIZE", "4")
    data = SAMPLE.read_bytes()
    path = broken(tmp_path, "cut.json", data[: int(len(data) * 0.8)])
    result = runner.invoke(app, ["import", "telegram", str(path)])
    assert result.exit_code == 1
    assert f"{path}: broken JSON near byte" in result.output
    assert "Traceback" not in result.output
    stored = count(db, EventRow)
    assert stored % 4 == 0 and stored < 12  # whole batches only, nothing half-written
    fixed = broken(tmp_path, "cut.json", data)
    again = runner.invoke(app, ["import", "telegram", str(fixed)])
    assert again.exit_code == 0 and count(db, EventRow) == 12


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("binary.json", bytes(range(256)) * 4, "broken JSON"),
        (
            "gbk.json",
            '{"name": "群", "id": 1, "messages": [{"id": 1, "text": "你好"'.encode("gbk"),
            "near byte",
        ),
        ("empty.json", b"", "broken JSON"),
        (
            "no-unixtime.json",
            json.dumps(
                {
                    "id": 5,
                    "messages": [
                        {"id": 1, "type": "message", "date": "2026-01-01T00:00:00", "text": "x"}
                    ],
                }
            ).encode(),
            "date_unixtime",
        ),
    ],
)
def test_bad_files_are_refused_with_the_file_and_the_place(
    db: str, tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    path = broken(tmp_path, name, data)
    result = runner.invoke(app, ["import", "telegram", str(path)])
    assert result.exit_code == 1, result.output
    assert str(path) in result.output and says in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_is_one_clear_error(db: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "telegram", str(tmp_path / "nope.json")])
    assert result.exit_code == 1
    assert "nope.json" in result.output and "Traceback" not in result.output
