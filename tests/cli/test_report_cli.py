"""``shequn report`` end to end: an export imported, then read as JSON, HTML and text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from shequn.cli.main import app

runner = CliRunner()
SAMPLES = Path(__file__).parent.parent / "importers" / "samples"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHEQUN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def imported(env: Path) -> None:
    result = runner.invoke(app, ["import", "telegram", str(SAMPLES / "telegram_single.json")])
    assert result.exit_code == 0, result.output


def test_json_report_of_an_imported_export(env: Path) -> None:
    imported(env)
    result = runner.invoke(app, ["report", "--format", "json", "--out", "r.json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    data = orjson.loads((env / "r.json").read_bytes())
    assert data["lang"] == "en" and data["community"]["name"] == "imported"
    group = data["groups"][0]
    assert set(group["totals"]) >= {"members", "messages", "joins", "leaves", "speakers"}
    assert group["totals"]["messages"] > 0
    assert set(group["health"]) >= {"score", "declining", "reasons"}
    assert 0 <= group["health"]["score"] <= 100


def test_html_report_is_one_self_contained_page(env: Path) -> None:
    imported(env)
    result = runner.invoke(app, ["report", "--format", "html", "--out", "r.html"])
    assert result.exit_code == 0, result.output
    page = (env / "r.html").read_text(encoding="utf-8")
    loads: list[str] = []

    class Loads(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            loads.extend(v or "" for k, v in attrs if k in ("src", "href") and tag != "a")

    Loads().feed(page)
    assert not [u for u in loads if "//" in u]
    assert "echarts" in page.lower() and "社群健康报告" in page


def test_text_report_in_the_terminal(env: Path) -> None:
    imported(env)
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert "社群健康报告" in result.stdout


def test_clear_errors(env: Path) -> None:
    empty = runner.invoke(app, ["db", "upgrade"])
    assert empty.exit_code == 0
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 1 and "no community yet" in result.stderr
    imported(env)
    result = runner.invoke(app, ["report", "--group", "no such group"])
    assert result.exit_code == 1 and "no such group" in result.stderr
    result = runner.invoke(app, ["report", "--from", "2030-01-01", "--to", "2029-01-01"])
    assert result.exit_code == 1 and "after it ends" in result.stderr
    result = runner.invoke(app, ["report", "--lang", "fr"])
    assert result.exit_code == 1 and "fr" in result.stderr


def test_health_thresholds_come_from_the_settings(env: Path) -> None:
    (env / "shequn.toml").write_text("[health]\nactivity_drop = 0.5\nno_such = 1\n")
    imported(env)
    result = runner.invoke(app, ["report", "--format", "json"])
    assert result.exit_code == 1 and "no_such" in result.stderr


def test_history_stored_before_the_rollups_is_recounted(env: Path) -> None:
    from sqlalchemy import create_engine, text

    imported(env)
    engine = create_engine(f"sqlite:///{env / 'cli.db'}")
    with engine.begin() as conn:
        for table in ("activity_group_day", "activity_member_day", "activity_member_group"):
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 1 and "rebuild-rollups" in result.stderr
    result = runner.invoke(app, ["db", "rebuild-rollups"])
    assert result.exit_code == 0 and "events recounted" in result.stdout
    assert runner.invoke(app, ["report", "--format", "json"]).exit_code == 0
