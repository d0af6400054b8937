"""Kill -9 the dispatcher mid-batch, again and again: every action still happens exactly once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dispatching import put, sends
from shequn.adapters.sim.world import SimWorld
from shequn.app import App
from shequn.models import OutboxRow

CHILD = Path(__file__).with_name("dispatch_child.py")
KILLS = 20
ACTIONS, GROUPS = 3000, 20

pytestmark = pytest.mark.slow


def _start(url: str, journal: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), url, str(journal), str(GROUPS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "ready", child.stderr.read() if child.stderr else line
    return child


def _in_flight(app: App) -> int:
    o = OutboxRow.__table__
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).where(o.c.status == "in_flight")).scalar_one()


def test_killed_dispatchers_never_lose_or_repeat_an_action(
    app: App, db_url: str, tmp_path: Path
) -> None:
    community = app.community("社群").community_id
    put(app, community, sends(ACTIONS, GROUPS))
    journal = tmp_path / "platform.db"
    rng = random.Random(7)
    mid_batch = 0
    for _ in range(KILLS):
        child = _start(db_url, journal)
        time.sleep(rng.uniform(0.05, 0.35))
        child.send_signal(signal.SIGKILL)
        child.wait()
        mid_batch += _in_flight(app) > 0
    last = _start(db_url, journal)
    out, err = last.communicate(timeout=300)
    assert last.returncode == 0, err
    assert out.strip() == "idle"

    world = SimWorld(app.clock, journal=journal)
    performed = Counter(p.key for p in world.journal())
    world.close()
    assert performed == Counter({f"k{i}": 1 for i in range(ACTIONS)})
    o = OutboxRow.__table__
    with app.engine.connect() as conn:
        statuses = dict(conn.execute(select(o.c.status, func.count()).group_by(o.c.status)).all())
    assert statuses == {"done": ACTIONS}
    # The kills must land while actions are being performed, or this proves nothing.
    assert mid_batch >= KILLS // 2, f"only {mid_batch} of {KILLS} kills landed mid-batch"
