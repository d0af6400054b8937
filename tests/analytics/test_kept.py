"""Kept counts always equal a recount: every write that could change
one drops it, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from factories import START, event
from shequn.app import App
from shequn.core import EventType
from shequn.features.analytics import dashboard, kept
from shequn.features.analytics.rollup.logic import week_of
from shequn.features.analytics.scope import Scope
from shequn.features.community.merge import merge_members
from shequn.features.community.unmerge import unmerge_member
from shequn.models import Identity, KeptCount

DAY = START.date()


def _kept(app: App) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(KeptCount)).scalar_one()


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
        kept.remember(conn, kept.GROUP_WEEK, {(1, DAY): 5, (2, DAY): 0})
        kept.remember(conn, kept.GROUP_WEEK, {(1, DAY): 5})
        assert kept.recall(conn, kept.GROUP_WEEK, [(1, DAY), (2, DAY), (3, DAY)]) == {
            (1, DAY): 5,
            (2, DAY): 0,
        }
        kept.forget(conn, kept.GROUP_WEEK, [1], [DAY])
        assert kept.recall(conn, kept.GROUP_WEEK, [(1, DAY), (2, DAY)]) == {(2, DAY): 0}


def _roster_figures(app: App, ref) -> tuple[int, dict, dict]:  # type: ignore[no-untyped-def]
    end = START + timedelta(days=14)
    scope = Scope(ref.community_id, ref.timezone, DAY, (end - timedelta(days=1)).date(), end)
    weeks = [week_of(DAY), week_of(DAY) + timedelta(days=7)]
    with app.engine.connect() as conn:
        ids = dashboard.group_ids(conn, scope)
        figures = (
            dashboard.people_present(conn, scope),
            dashboard.seat_counts(conn, ids, scope.end_instant),
            dashboard.leader_messages(conn, scope, ids, weeks),
        )
        conn.commit()
    return figures


def _fresh_roster_figures(app: App, ref) -> tuple[int, dict, dict]:  # type: ignore[no-untyped-def]
    with app.engine.begin() as conn:
        kept.forget_everything(conn)
    return _roster_figures(app, ref)


def test_roster_counts_are_recounted_after_any_seat_change(app: App) -> None:
    ref = app.community("c")
    ingest = app.ingestor(ref)
    ingest.ingest_many(
        [
            event(1, EventType.JOIN, actor="u1", role="owner"),
            event(2, EventType.JOIN, actor="u2"),
            event(3, EventType.JOIN, actor="u3", group="g2"),
            event(4, actor="u1"),
            event(5, actor="u2"),
            event(6, actor="u2"),
        ]
    )
    first = _roster_figures(app, ref)
    assert first[0] == 3
    assert sorted(first[1].values()) == [(1, 1), (2, 2)]
    assert sum(n for weeks in first[2].values() for n in weeks.values()) == 1
    assert _roster_figures(app, ref) == first, "read back from what was kept"
    with app.engine.connect() as conn:
        kinds = {k for (k,) in conn.execute(select(KeptCount.kind).distinct())}
    assert {kept.PRESENT, kept.SEATS_NOW, kept.SEATS_AT, kept.LEADER_WEEK} <= kinds

    # u2 becomes an admin: their two messages are a leader's now.
    ingest.ingest_many([event(7, EventType.MEMBER_UPDATE, actor="u2", role="admin")])
    promoted = _roster_figures(app, ref)
    assert sum(n for weeks in promoted[2].values() for n in weeks.values()) == 3
    assert promoted == _fresh_roster_figures(app, ref)

    # u3 leaves g2, u4 and u5 join g1: head counts follow without anyone forgetting them.
    _roster_figures(app, ref)
    ingest.ingest_many(
        [
            event(8, EventType.LEAVE, actor="u3", group="g2"),
            event(9, EventType.JOIN, actor="u4"),
            event(10, EventType.JOIN, actor="u5"),
        ]
    )
    moved = _roster_figures(app, ref)
    assert moved[0] == 4
    assert sorted(moved[1].values()) == [(0, 0), (4, 4)]
    assert moved == _fresh_roster_figures(app, ref)


def test_a_stale_stamp_is_replaced_not_duplicated(app: App) -> None:
    with app.engine.begin() as conn:
        kept.remember(conn, kept.SEATS_NOW, {(1, kept.TIMELESS): 5}, {1: 11})
        assert kept.recall(conn, kept.SEATS_NOW, [(1, kept.TIMELESS)], {1: 12}) == {}
        kept.remember(conn, kept.SEATS_NOW, {(1, kept.TIMELESS): 6}, {1: 12})
        assert kept.recall(conn, kept.SEATS_NOW, [(1, kept.TIMELESS)], {1: 12}) == {
            (1, kept.TIMELESS): 6
        }
        assert conn.execute(select(func.count()).select_from(KeptCount)).scalar_one() == 1
    assert kept.stamp_of(1, "a") == kept.stamp_of(1, "a") != kept.stamp_of(1, "b")
    assert 0 <= kept.stamp_of("x") < 2**63
