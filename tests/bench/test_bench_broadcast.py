"""A tiny run of the broadcast bench, so a broken bench is caught by the suite."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from shequn.bench.broadcast import bench_broadcast
from shequn.cli.main import app


def test_broadcast_bench_sends_one_copy_per_group_near_the_floor() -> None:
    figures = bench_broadcast("sqlite", 150)
    assert figures["bench"] == "broadcast" and figures["groups"] == 150
    assert (figures["sent"], figures["dropped"], figures["duplicated"]) == (150, 0, 0)
    assert figures["floor_s"] > 0 and 0.5 < figures["ratio"] <= 1.0
    assert figures["enqueue_s"] > 0


def test_broadcast_bench_command_ends_with_one_json_line() -> None:
    result = CliRunner().invoke(app, ["bench", "broadcast", "--groups", "40"])
    assert result.exit_code == 0, result.output
    figures = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert figures["groups"] == 40 and "ratio" in figures and "enqueue_s" in figures
