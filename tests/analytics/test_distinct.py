"""Kept distinct-speaker counts always equal a recount: every write that could change
one drops it, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from factories import START, event
from shequn.app import App
from shequn.features.analytics import dashboard, distinct
from shequn.features.analytics.rollup.logic import week_of
from shequn.features.analytics.scope import Scope
from shequn.features.community.merge import merge_members
from shequn.features.community.unmerge import unmerge_member
from shequn.models import DistinctCount, Identity

DAY = START.date()


def _kept(app: App) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(DistinctCount)).scalar_one()


def _counts(app: App, ref) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    scope = Scope(ref.community_id, ref.timezone, DAY, DAY, START + timedelta(days=1))
    with app.engine.connect() as conn:
        gid = dashboard.group_ids(conn, scope)[0]
        week = dashboard.weekly_speakers(conn, [gid], [week_of(DAY)])[gid][week_of(DAY)]
        day = dashboard.daily_people(conn, scope, DAY)[DAY]
        conn.commit()
    return week, day


def test_a_new_speaker_drops_the_kept_counts(app: App) -> None:
    ref = app.community("c")
    ingest = app.ingestor(ref)
    ingest.ingest_many([event(1, actor="u1"), event(2, actor="u2"), event(3, actor="u1")])
    assert _counts(app, ref) == (2, 2)
    assert _kept(app) == 2
    assert _counts(app, ref) == (2, 2), "read back from what was kept"
    ingest.ingest_many([event(4, actor="u3")])
    assert _kept(app) == 0, "the message landed on a kept day and week"
    assert _counts(app, ref) == (3, 3)


def test_merges_and_unmerges_drop_the_kept_counts(app: App) -> None:
    ref = app.community("c")
    app.ingestor(ref).ingest_many([event(1, actor="u1"), event(2, actor="u2")])
    assert _counts(app, ref) == (2, 2)
    with app.engine.begin() as conn:
        one, two = (
            conn.execute(select(Identity.member_id).where(Identity.external_id == u)).scalar_one()
            for u in ("u1", "u2")
        )
        merge_members(conn, one, two)
    assert _kept(app) == 0
    assert _counts(app, ref) == (1, 1)
    with app.engine.begin() as conn:
        unmerge_member(conn, two)
    assert _kept(app) == 0, "an unmerge drops them too"
    assert _counts(app, ref) == (2, 2)


def test_recall_and_remember_round_trip(app: App) -> None:
    with app.engine.begin() as conn:
        distinct.remember(conn, distinct.GROUP_WEEK, {(1, DAY): 5, (2, DAY): 0})
        distinct.remember(conn, distinct.GROUP_WEEK, {(1, DAY): 5})
        assert distinct.recall(conn, distinct.GROUP_WEEK, [(1, DAY), (2, DAY), (3, DAY)]) == {
            (1, DAY): 5,
            (2, DAY): 0,
        }
        distinct.forget(conn, distinct.GROUP_WEEK, [1], [DAY])
        assert distinct.recall(conn, distinct.GROUP_WEEK, [(1, DAY), (2, DAY)]) == {(2, DAY): 0}
