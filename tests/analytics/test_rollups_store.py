"""The rollups the pipeline keeps, on SQLite and PostgreSQL, checked against the event log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from factories import START, event
from shequn.app import App
from shequn.config import Settings
from shequn.core import EventType
from shequn.core.message import Message, Quote, Text
from shequn.features.analytics import overview
from shequn.features.analytics.report import default_scope
from shequn.features.analytics.rollup.rebuild import rebuild
from shequn.features.community.merge import merge_members
from shequn.models import GroupDay, Identity, MemberDay, MemberGroup, OpenItem, TermWeek
from shequn.simulator import SimConfig, simulate

SMALL = SimConfig(groups=3, members=300, days=21, seed=5, end=date(2026, 3, 22))
TABLES = (GroupDay, MemberDay, MemberGroup, TermWeek)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every rollup row, members named by their accounts (ids depend on batching), and
    open items without their ids."""
    out = {}
    with engine.connect() as conn:
        account = dict(conn.execute(select(Identity.member_id, Identity.external_id)).all())
        for model in TABLES:
            table = model.__table__
            rows = [r._asdict() for r in conn.execute(select(table))]
            if "member_id" in table.c:
                rows = [r | {"member_id": account[r["member_id"]]} for r in rows]
            out[table.name] = sorted(tuple(r.values()) for r in rows)
        t = OpenItem.__table__
        out[t.name] = sorted(
            tuple(r) for r in conn.execute(select(t.c.group_id, t.c.kind, t.c.message_ref))
        )
    return out


def scope_of(app: App, ref) -> object:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return default_scope(conn, ref.community_id, ref.timezone, now=datetime.now(UTC))


def test_rollups_agree_with_the_event_log(app: App) -> None:
    sim = simulate(SMALL)
    ref = app.community(sim.name)
    app.ingestor(ref, batch_size=1500).ingest_many(sim.events())
    scope = scope_of(app, ref)
    with app.engine.connect() as conn:
        fast, slow = overview.from_rollups(conn, scope), overview.from_events(conn, scope)  # type: ignore[arg-type]
    assert fast == slow
    assert sum(o.messages for o in fast.values()) > 3000


def test_any_batching_gives_the_same_rollups(app: App, tmp_path, sqlite_template) -> None:  # type: ignore[no-untyped-def]
    import shutil

    sim = simulate(SMALL)
    ref = app.community(sim.name)
    app.ingestor(ref, batch_size=50_000).ingest_many(sim.events())
    path = tmp_path / "other.db"
    shutil.copy(sqlite_template, path)
    other = App.create(Settings(database_url=f"sqlite:///{path}"), clock=app.clock)
    try:
        oref = other.community(sim.name)
        ingestor = other.ingestor(oref, batch_size=777)
        ingestor.ingest_many(sim.events())
        ingestor.ingest_many(sim.events())  # a re-import changes nothing
        assert snapshot(other.engine) == snapshot(app.engine)
    finally:
        other.close()


def test_a_reply_in_a_later_batch_closes_the_question(app: App) -> None:
    ref = app.community("c")
    ingestor = app.ingestor(ref)
    q = event(1, actor="u1", text="怎么报名？", message_id="m1")
    ingestor.ingest(q)
    with app.engine.connect() as conn:
        assert conn.execute(select(OpenItem.message_ref)).scalars().all() == ["m1"]
    answer = event(8, actor="u2", message_id="m2").with_(
        message=Message((Quote("m1"), Text("这样")))
    )
    ingestor.ingest(answer)
    with app.engine.connect() as conn:
        assert conn.execute(select(OpenItem.id)).all() == []
        day = conn.execute(select(GroupDay.questions, GroupDay.answered_15m)).one()
    assert tuple(day) == (1, 1)


def test_merging_members_folds_their_activity(app: App) -> None:
    ref = app.community("c")
    ingestor = app.ingestor(ref)
    ingestor.ingest_many(
        [
            event(1, actor="wx-li"),
            event(2, actor="qq-li", at=START + timedelta(hours=1)),
            event(3, actor="qq-li", at=START + timedelta(days=1)),
            event(4, actor="other"),
        ]
    )
    with app.engine.connect() as conn:
        ids = dict(conn.execute(select(Identity.external_id, Identity.member_id)).all())
    with app.engine.begin() as conn:
        merge_members(conn, ids["wx-li"], ids["qq-li"])
    with app.engine.connect() as conn:
        days = conn.execute(
            select(MemberDay.member_id, MemberDay.messages).order_by(
                MemberDay.day, MemberDay.member_id
            )
        ).all()
        groups = conn.execute(
            select(
                MemberGroup.member_id, MemberGroup.messages, MemberGroup.first_message_at
            ).order_by(MemberGroup.member_id)
        ).all()
    keep, other = ids["wx-li"], ids["other"]
    assert sorted(tuple(r) for r in days) == sorted([(keep, 2), (other, 1), (keep, 1)])
    assert sorted(tuple(r)[:2] for r in groups) == sorted([(keep, 3), (other, 1)])
    first = {r.member_id: r.first_message_at for r in groups}
    assert first[keep] == START + timedelta(minutes=1)
    scope = scope_of(app, ref)
    with app.engine.connect() as conn:
        assert overview.from_rollups(conn, scope) == overview.from_events(conn, scope)  # type: ignore[arg-type]
        assert next(iter(overview.from_rollups(conn, scope).values())).speakers == 2  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [EventType.JOIN, EventType.LEAVE])
def test_roster_changes_are_counted(app: App, kind: EventType) -> None:
    ref = app.community("c")
    app.ingestor(ref).ingest(event(1, kind, actor="u9"))
    with app.engine.connect() as conn:
        row = conn.execute(select(GroupDay.joins, GroupDay.leaves, GroupDay.messages)).one()
    assert tuple(row) == ((1, 0, 0) if kind is EventType.JOIN else (0, 1, 0))


def test_rebuilding_from_the_event_log_gives_the_same_rollups(app: App) -> None:
    sim = simulate(SMALL)
    ref = app.community(sim.name)
    app.ingestor(ref, batch_size=2000).ingest_many(sim.events())
    before = snapshot(app.engine)
    with app.engine.begin() as conn:
        for model in (GroupDay, MemberDay, MemberGroup, TermWeek, OpenItem):
            conn.execute(model.__table__.delete())
    seen: list[int] = []
    replayed = rebuild(app.engine, ref.community_id, on_chunk=seen.append)
    assert replayed == seen[-1] > 5000
    assert snapshot(app.engine) == before
