"""A tiny run of each benchmark, so a broken bench is caught by the suite (not its speed)."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from servers import pg_admin_url
from shequn.bench.ingest import bench_ingest
from shequn.bench.metrics import bench_metrics
from shequn.bench.web import bench_web
from shequn.cli.main import app


def test_ingest_bench_sqlite_reports_its_figures() -> None:
    figures = bench_ingest("sqlite", 3000, batch_size=500)
    assert figures["events"] == 3000
    assert figures["bench"] == "ingest" and figures["db"] == "sqlite"
    assert figures["events_per_s"] > 0 and figures["floor_events_per_s"] > 0
    assert 0 < figures["ratio"] < 10
    assert figures["peak_rss_mb"] > 0


@pytest.mark.postgres
def test_ingest_bench_postgres_reports_its_figures(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEQUN_BENCH_POSTGRES_URL", pg_admin_url())
    figures = bench_ingest("postgres", 3000, batch_size=500)
    assert figures["db"] == "postgres" and figures["events"] == 3000
    assert figures["ratio"] > 0


def test_bench_command_ends_with_one_json_line() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "1000"])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    figures = orjson.loads(last)
    assert figures["events"] == 1000 and "ratio" in figures


def test_metrics_bench_agrees_and_reports_its_figures(tmp_path) -> None:  # type: ignore[no-untyped-def]
    keep = tmp_path / "community.db"
    figures = bench_metrics("sqlite", 5000, keep)
    assert figures["bench"] == "metrics" and figures["messages"] == 5000
    assert figures["rollup_ms"] > 0 and figures["raw_ms"] > 0 and figures["ratio"] > 0
    again = bench_metrics("sqlite", 5000, keep)  # reuses the stored community
    assert again["messages"] == 5000


def test_web_bench_times_every_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    figures = bench_web("sqlite", 5000, tmp_path / "community.db")
    assert figures["bench"] == "web" and figures["messages"] == 5000
    assert set(figures["pages"]) == {"overview", "group_list", "group_detail", "member_list"}
    for page in figures["pages"].values():
        assert 0 < page["p50_ms"] <= page["p95_ms"]
    assert figures["worst_p95_ms"] == max(p["p95_ms"] for p in figures["pages"].values())
    assert figures["baseline_report_ms"] > 0 and figures["ratio"] > 0


def test_dispatch_bench_paces_to_the_limits_and_loses_nothing() -> None:
    from shequn.bench.dispatch import bench_dispatch

    figures = bench_dispatch("sqlite", 600, 20, latency_messages=10)
    assert figures["bench"] == "dispatch" and figures["actions"] == 600
    assert figures["dropped"] == 0 and figures["duplicated"] == 0
    assert 0.95 <= figures["ratio"] <= 1.0
    assert figures["actions_per_s"] > 0
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p99_ms"]
