"""Kill a bulk ingest with SIGKILL at random moments; running it again must give exactly
the rows an uninterrupted run gives — none lost, none doubled, numbering intact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.slow

SIMULATE = [
    sys.executable,
    "-m",
    "shequn",
    "simulate",
    "--groups",
    "5",
    "--members",
    "2500",
    "--days",
    "30",
    "--seed",
    "5",
    "--end",
    "2026-03-01",
]
FINGERPRINT = {
    "events": "SELECT e.source_id, e.type, i.external_id, g.external_id FROM event e "
    "LEFT JOIN identity i ON i.id = e.identity_id LEFT JOIN chat_group g ON g.id = e.group_id",
    "seats": "SELECT g.external_id, i.external_id, m.number, m.role, m.left_at IS NULL, m.title "
    "FROM membership m JOIN chat_group g ON g.id = m.group_id "
    "JOIN identity i ON i.member_id = m.member_id",
    "numbers": "SELECT external_id, next_number FROM chat_group",
}


def run(url: str, *, kill_after: float | None = None) -> bool:
    """Run the simulation into ``url``; return True if it was killed before finishing."""
    env = {**os.environ, "SHEQUN_DATABASE_URL": url, "SHEQUN_INGEST_BATCH_SIZE": "300"}
    proc = subprocess.Popen(SIMULATE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        return False
    # Kill a while after the run stored its first new batch, not a while after it started:
    # how long the interpreter takes to start depends on what else the machine is doing.
    before = _stored(url)
    deadline = time.monotonic() + 120
    while proc.poll() is None and _stored(url) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(kill_after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True
    return False


def _stored(url: str) -> int:
    """How many events the database holds; 0 before the schema exists."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM event")).scalar_one())
    except Exception:
        return 0
    finally:
        engine.dispose()


def fingerprint(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {
            k: sorted(map(tuple, conn.execute(text(q))), key=repr) for k, q in FINGERPRINT.items()
        }
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}"
    run(url)
    return fingerprint(url)


def test_repeated_sigkill_then_rerun_matches_an_uninterrupted_run(
    db_url: str, reference: dict[str, list[tuple]]
) -> None:
    rng = random.Random(20261122)
    kills, partial = 0, []
    for _ in range(4):
        if run(db_url, kill_after=rng.uniform(0.0, 1.5)):
            kills += 1
            partial.append(len(fingerprint(db_url)["events"]))
    run(db_url)
    got = fingerprint(db_url)
    total = len(reference["events"])
    assert kills >= 1, "the ingest finished before any kill: make the run longer"
    assert any(0 < n < total for n in partial), f"no kill landed mid-ingest: {partial}"
    assert len(got["events"]) == len(reference["events"])
    assert got == reference
