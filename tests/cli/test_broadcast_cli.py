"""``shequn broadcast``: a post sent from the shell to a tag's groups, scheduled, listed,
and refused with the service's words and exit status 2, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from broadcasting import add_groups, copies
from shequn.app import App
from shequn.cli import common
from shequn.cli.main import app
from shequn.models import BroadcastJob, BroadcastPost

runner = CliRunner()


@pytest.fixture
def shequn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setenv("SHEQUN_DATABASE_URL", f"sqlite:///{tmp_path / 'broadcast.db'}")
    monkeypatch.chdir(tmp_path)
    # The shared console measured its width when it was imported, wherever that was: give
    # the tables room so a schedule is never wrapped across lines.
    monkeypatch.setattr(common.console, "width", 200)
    made = App.create()
    made.migrate()
    community = made.community("读书会")
    add_groups(made, community, 2, tags=["vip"])
    add_groups(made, community, 1, start=2)
    try:
        yield made
    finally:
        made.close()


def broadcast(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["broadcast", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def _stored(shequn: App) -> tuple[int, int]:
    with shequn.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(BroadcastPost.__table__)).scalar_one(),
            conn.execute(select(func.count()).select_from(BroadcastJob.__table__)).scalar_one(),
        )


def test_send_now_to_a_tag_queues_one_copy_per_group_and_prints_the_plan(shequn: App) -> None:
    code, out = broadcast("send", "--to", "tag:vip", "--text", "{group}：今晚八点分享会")
    assert code == 0, out
    assert "job 1: now" in out and "群0" in out and "群1" in out and "群2" not in out
    assert copies(shequn) == {"g0": 1, "g1": 1}
    code, out = broadcast("send", "--to", "all", "--text", "晨报", "--at", "weekdays 08:30")
    assert code == 0, out
    assert "job 2: weekdays 08:30" in out and out.count("scheduled") == 3
    code, out = broadcast("list")
    assert code == 0, out
    assert "weekdays 08:30" in out and "pending 2" in out and "active" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--to", "tag:nobody", "--text", "hi"), "tag:nobody"),
        (("--to", "all", "--text", "hi", "--at", "2020-01-01T08:00"), "past"),
        (("--to", "all", "--text", "hi", "--at", "someday"), "someday"),
        (("--to", "all", "--text", "{city}"), "{city}"),
    ],
)
def test_refusals_exit_2_with_the_reason_and_store_nothing(
    shequn: App, args: tuple[str, ...], said: str
) -> None:
    code, out = broadcast("send", *args)
    assert code == 2
    assert said in out and "error:" in out
    assert _stored(shequn) == (0, 0) and copies(shequn) == {}


def test_an_unknown_community_is_named(shequn: App) -> None:
    code, out = broadcast("send", "--to", "all", "--text", "hi", "--community", "别的")
    assert code == 1 and "别的" in out
