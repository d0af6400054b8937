"""``shequn bench import`` at a tiny size: its figures are there and sane, and the export
it writes is one ``shequn import telegram`` reads whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from servers import pg_admin_url
from shequn.bench.import_ import bench_import
from shequn.bench.telegram_export import write_export
from shequn.cli.main import app
from shequn.models import EventRow, Group

runner = CliRunner()


def test_import_bench_sqlite_reports_its_figures() -> None:
    figures = bench_import("sqlite", 2)
    assert figures["bench"] == "import" and figures["db"] == "sqlite"
    assert 1.8 <= figures["file_mb"] <= 2.2
    assert figures["messages"] > 1000 and figures["events"] > figures["messages"]
    assert figures["msgs_per_s"] > 0 and figures["seconds"] > 0 and figures["json_load_s"] > 0
    assert 0 < figures["ratio"] < 1  # json.load only parses
    assert 20 < figures["peak_rss_mb"] < 2000
    assert 5 < figures["json_load_peak_rss_mb"] < 2000


@pytest.mark.postgres
def test_import_bench_postgres_reports_its_figures(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEQUN_BENCH_POSTGRES_URL", pg_admin_url())
    figures = bench_import("postgres", 1)
    assert figures["db"] == "postgres" and figures["events"] > figures["messages"] > 0


def _messages(export: dict[str, Any]) -> list[dict[str, Any]]:
    chats = export["chats"]["list"] + export["left_chats"]["list"]
    return [m for chat in chats for m in chat["messages"]]


def test_the_written_export_imports_every_message_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "result.json"
    written = write_export(path, 1)
    assert 0.9 * 2**20 <= path.stat().st_size == written.bytes <= 1.1 * 2**20
    export = json.loads(path.read_text(encoding="utf-8"))
    messages = _messages(export)
    assert len(messages) == written.messages
    assert export["left_chats"]["list"] and written.chats >= 3
    actions = {m.get("action") for m in messages}
    assert {"create_group", "invite_members", "join_group_by_link"} <= actions
    assert any(isinstance(m.get("text"), list) for m in messages)
    assert any("reply_to_message_id" in m for m in messages)
    assert any("reactions" in m for m in messages)

    url = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("SHEQUN_DATABASE_URL", url)
    result = runner.invoke(app, ["import", "telegram", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{written.messages:,} messages read, {written.events:,} events stored" in result.stdout
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == (
            written.events
        )
        assert conn.execute(select(func.count()).select_from(Group)).scalar_one() == (written.chats)
    engine.dispose()


def test_bench_import_command_ends_with_one_json_line() -> None:
    result = runner.invoke(app, ["bench", "import", "--size-mb", "1"])
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout.strip().splitlines()[-1])
    for key in ("file_mb", "messages", "msgs_per_s", "seconds", "peak_rss_mb"):
        assert figures[key] > 0
    for key in ("json_load_s", "json_load_peak_rss_mb", "ratio"):
        assert figures[key] > 0
