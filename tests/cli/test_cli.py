"""The command line, run in-process with Typer's runner against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from shequn import __version__
from shequn.app import App
from shequn.cli.main import app
from shequn.db import migrate
from shequn.models import EventRow, Group, Operator

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SHEQUN_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip() == __version__


def test_db_upgrade_current_downgrade(env: str) -> None:
    head = migrate.head_revision(App.create().engine)
    assert f"schema at {head}" in runner.invoke(app, ["db", "upgrade"]).stdout
    assert f"database: {head}" in runner.invoke(app, ["db", "current"]).stdout
    assert "base" in runner.invoke(app, ["db", "downgrade", "base"]).stdout


def test_a_bad_setting_is_one_clear_error(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEQUN_TIMEZONE", "Mars/Olympus")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "unknown time zone 'Mars/Olympus'" in result.output
    assert "Traceback" not in result.output


def test_a_toml_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'from-toml.db'}"
    (tmp_path / "shequn.toml").write_text(f'database_url = "{url}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHEQUN_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert (tmp_path / "from-toml.db").exists()


def test_simulate_twice_adds_nothing_the_second_time(env: str) -> None:
    args = ["simulate", "--groups", "3", "--members", "120", "--days", "5", "--end", "2026-02-01"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    engine = create_engine(env)
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        groups = conn.execute(select(func.count()).select_from(Group)).scalar_one()
    assert events > 100 and groups == 3
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    assert "stored 0 events" in second.stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventRow)).scalar_one() == events
    engine.dispose()


def test_demo_prints_a_summary_per_group(env: str) -> None:
    args = ["demo", "--groups", "3", "--members", "150", "--days", "7", "--no-serve"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "all groups" in result.stdout
    assert result.stdout.count("sim") >= 3
    assert "made the operator demo" in result.stdout
    engine = create_engine(env)
    with engine.connect() as conn:
        assert conn.execute(select(Operator.username, Operator.role)).all() == [("demo", "owner")]
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0 and "simulating" not in again.stdout
    assert "made the operator" not in again.stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Operator)).scalar_one() == 1
    engine.dispose()


def test_demo_makes_no_demo_user_beside_real_operators(env: str) -> None:
    made = runner.invoke(
        app, ["user", "create", "boss", "--password-stdin"], input="long-secret-1\n"
    )
    assert made.exit_code == 0, made.output
    args = ["demo", "--groups", "2", "--members", "60", "--days", "3", "--no-serve"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    engine = create_engine(env)
    with engine.connect() as conn:
        assert conn.execute(select(Operator.username)).scalars().all() == ["boss"]
    engine.dispose()
