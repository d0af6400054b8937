"""Several processes ingesting the same events at once on PostgreSQL: each event is stored
once, every member gets exactly one seat and number, and no batch is lost to a race."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import func, select

from factories import event
from servers import truncate_all
from shequn.app import App
from shequn.config import Settings
from shequn.core import EventType
from shequn.models import EventRow, Identity, Member, Membership
from shequn.runtime.ingest import IngestResult

pytestmark = pytest.mark.postgres


def test_concurrent_ingestors_store_each_event_once(pg_url: str) -> None:
    truncate_all(pg_url)  # the session's database is shared with other tests: start empty
    events = [
        event(
            n,
            EventType.JOIN if n % 7 == 0 else EventType.MESSAGE,
            group=f"g{n % 3}",
            actor=f"u{n % 150}",
        )
        for n in range(3000)
    ]
    apps = [App.create(Settings(database_url=pg_url)) for _ in range(4)]
    community = apps[0].community("concurrent")
    results: list[IngestResult] = []
    errors: list[BaseException] = []

    def work(app: App, seed: int) -> None:
        stream = events[:]
        random.Random(seed).shuffle(stream)
        try:
            results.append(app.ingestor(community, batch_size=200).ingest_many(stream))
        except BaseException as exc:  # surfaced below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a, i)) for i, a in enumerate(apps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.stored for r in results) == len(events)
    with apps[0].engine.connect() as conn:
        count = lambda q: conn.execute(q).scalar_one()  # noqa: E731
        assert count(select(func.count()).select_from(EventRow)) == len(events)
        assert count(select(func.count()).select_from(Identity)) == 150
        assert count(select(func.count()).select_from(Member)) == 150
        numbers = conn.execute(select(Membership.group_id, Membership.number)).all()
    assert len(numbers) == 150  # actor k only ever appears in group k % 3
    by_group: dict[int, list[int]] = {}
    for gid, number in numbers:
        by_group.setdefault(gid, []).append(number)
    for seats in by_group.values():
        assert sorted(seats) == list(range(1, len(seats) + 1))
    for app in apps:
        app.close()
