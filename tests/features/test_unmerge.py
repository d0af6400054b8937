"""Unmerging members: the pure recomputation, and round trips through the real pipeline
on both databases (the simulated community's round trip is in tests/web)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, select, text

from factories import START, event
from shequn.app import App
from shequn.core import EventType
from shequn.db.engine import WRITE
from shequn.features.community.merge import merge_members
from shequn.features.community.unmerge import UnmergeError, seat_numbers, unmerge_member
from shequn.features.community.unmerge_logic import (
    LoggedEvent,
    Replayed,
    count_rollups,
    pick_numbers,
    replay_seat,
)
from shequn.models import Group, Identity, Member, MemberTag, Tag, Workspace

# -- pure -------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _replayed(first: int) -> Replayed:
    seat = replay_seat([LoggedEvent(first, T0 + timedelta(minutes=first), 1, 1, "join", {})])
    assert seat is not None
    return seat


@given(
    firsts=st.lists(st.integers(1, 50), min_size=1, max_size=2, unique=True),
    held=st.none() | st.integers(1, 20),
    hints=st.lists(st.none() | st.integers(1, 30), min_size=2, max_size=2),
    gap=st.none() | st.integers(21, 30),
    next_number=st.integers(31, 40),
)
def test_each_member_gets_its_own_number(
    firsts: list[int], held: int | None, hints: list[int | None], gap: int | None, next_number: int
) -> None:
    wanted = {member: _replayed(f) for member, f in enumerate(firsts)}
    given_hints = {m: h for m, h in enumerate(hints) if h is not None and m in wanted}
    chosen, after = pick_numbers(
        wanted, held=held, hints=given_hints, gap=gap, next_number=next_number
    )
    assert set(chosen) == set(wanted)
    assert len(set(chosen.values())) == len(chosen), "numbers are unique"
    fresh = sorted(n for n in chosen.values() if n >= next_number)
    assert fresh == list(range(next_number, after)), "fresh numbers are drawn in order"
    if len(set(given_hints.values())) == len(given_hints):
        assert all(chosen[m] == h for m, h in given_hints.items()), "hints win"
    if not given_hints and held is not None:
        first = min(wanted, key=lambda m: wanted[m].first)
        assert chosen[first] == held, "the first seated keeps the combined seat's number"


def test_the_later_member_takes_the_gap() -> None:
    wanted = {7: _replayed(5), 3: _replayed(9)}
    chosen, after = pick_numbers(wanted, held=4, hints={}, gap=11, next_number=20)
    assert chosen == {7: 4, 3: 11} and after == 20
    chosen, after = pick_numbers(wanted, held=4, hints={}, gap=None, next_number=20)
    assert chosen == {7: 4, 3: 20} and after == 21


_kinds = st.sampled_from(["join", "leave", "message", "member_update", "reaction", "read"])


@given(st.lists(st.tuples(_kinds, st.integers(0, 500)), max_size=12), st.randoms())
def test_replay_does_not_depend_on_the_order_events_are_handed_in(
    items: list[tuple[str, int]], rnd: random.Random
) -> None:
    events = [
        LoggedEvent(i, T0 + timedelta(minutes=m), 1, 1, kind, {"role": "admin"} if i % 3 else {})
        for i, (kind, m) in enumerate(items)
    ]
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert replay_seat(events) == replay_seat(shuffled)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60 * 24 * 5)), max_size=30))
def test_rollups_count_messages_per_local_day(items: list[tuple[int, int]]) -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    events = [
        LoggedEvent(i, T0 + timedelta(minutes=m), 1, g, "message", {})
        for i, (g, m) in enumerate(items)
    ] + [LoggedEvent(999, T0, 1, 0, "join", {})]
    counted = count_rollups(events, {1: zone})
    assert sum(counted.days.values()) == len(items)
    for g, (first, last, n) in counted.groups.items():
        times = [T0 + timedelta(minutes=m) for gg, m in items if gg == g]
        assert (first, last, n) == (min(times), max(times), len(times))
    for (g, day), n in counted.days.items():
        assert n == sum(
            1
            for gg, m in items
            if gg == g and (T0 + timedelta(minutes=m)).astimezone(zone).date() == day
        )


# -- through the pipeline, on both databases ----------------------------------------------


def _write(app: App) -> Any:
    conn = app.engine.connect()
    conn.execution_options(**WRITE)
    return conn


def _snapshot(conn: Connection, members: list[int]) -> dict[str, list[tuple[Any, ...]]]:
    """Both members' seats and rollup rows, as plain tuples."""
    ids = ",".join(str(m) for m in members)
    return {
        "seats": [
            tuple(r)
            for r in conn.execute(
                text(
                    "select member_id, group_id, number, role, joined_at, left_at, title, "
                    f"card_name, entry_source from membership where member_id in ({ids}) "
                    "order by member_id, group_id"
                )
            )
        ],
        "days": [
            tuple(r)
            for r in conn.execute(
                text(
                    "select member_id, group_id, day, messages from activity_member_day "
                    f"where member_id in ({ids}) order by 1, 2, 3"
                )
            )
        ],
        "groups": [
            tuple(r)
            for r in conn.execute(
                text(
                    "select member_id, group_id, first_message_at, last_message_at, messages "
                    f"from activity_member_group where member_id in ({ids}) order by 1, 2"
                )
            )
        ],
    }


def _ids(app: App) -> dict[str, int]:
    with app.engine.connect() as conn:
        return dict(conn.execute(select(Identity.external_id, Identity.member_id)).all())


def _history() -> list[Any]:
    """Two accounts of one person: both in g1 (qq joins later and becomes admin), qq alone
    in g2, wx alone in g3; with messages on several days and a leave."""
    day = timedelta(days=1)
    return [
        event(1, EventType.JOIN, actor="someone"),
        event(2, EventType.JOIN, actor="wx", via="link"),
        event(3, actor="wx"),
        event(4, EventType.JOIN, actor="qq", entry_source="公众号"),
        event(5, EventType.MEMBER_UPDATE, actor="qq", role="admin", title="班长", card="小李"),
        event(6, actor="qq", at=START + day),
        event(7, actor="qq", group="g2", at=START + day),
        event(8, actor="wx", group="g3", at=START + 2 * day),
        event(9, EventType.LEAVE, actor="wx", group="g3", at=START + 3 * day),
        event(10, actor="qq", at=START + 3 * day),
        event(11, actor="someone", at=START + 3 * day),
    ]


@pytest.mark.parametrize("keep_first", [True, False])
@pytest.mark.parametrize("remember", [True, False])
def test_merge_then_unmerge_restores_seats_and_rollups(
    app: App, keep_first: bool, remember: bool
) -> None:
    app.ingestor(app.community("c"), batch_size=3).ingest_many(_history())
    ids = _ids(app)
    keep, gone = (ids["wx"], ids["qq"]) if keep_first else (ids["qq"], ids["wx"])
    with app.engine.connect() as conn:
        before = _snapshot(conn, [keep, gone])
        numbers = {m: seat_numbers(conn, m) for m in (keep, gone)}
        version = conn.execute(select(Workspace.members_version)).scalar_one()
    with _write(app) as conn, conn.begin():
        merge_members(conn, keep, gone)
    with app.engine.connect() as conn:
        assert _snapshot(conn, [keep, gone]) != before
        rosters = dict(conn.execute(select(Group.id, Group.roster_version)).all())
    with _write(app) as conn, conn.begin():
        result = unmerge_member(conn, gone, numbers=numbers if remember else None)
    assert result.identities_moved == 1 and result.kept == keep
    with app.engine.connect() as conn:
        assert _snapshot(conn, [keep, gone]) == before
        assert conn.execute(select(Member.merged_into_id).where(Member.id == gone)).scalar() is None
        assert conn.execute(select(Workspace.members_version)).scalar_one() == version + 2
        renewed = dict(conn.execute(select(Group.id, Group.roster_version)).all())
    assert {g for g in rosters if rosters[g] != renewed[g]} == set(result.groups)


def test_an_ingestor_sees_an_unmerge_made_between_its_batches(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    ingestor.ingest_many(_history())
    ids = _ids(app)
    with _write(app) as conn, conn.begin():
        merge_members(conn, ids["wx"], ids["qq"])
    ingestor.ingest(event(20, actor="qq", group="g4", at=START + timedelta(days=4)))
    with _write(app) as conn, conn.begin():
        unmerge_member(conn, ids["qq"])
    ingestor.ingest(event(21, actor="qq", group="g5", at=START + timedelta(days=5)))
    ingestor.ingest(event(22, actor="qq", group="g1", at=START + timedelta(days=5)))
    with app.engine.connect() as conn:
        seats = {
            (ext, g)
            for ext, g in conn.execute(
                text(
                    "select i.external_id, g.external_id from membership m "
                    "join identity i on i.member_id = m.member_id "
                    "join chat_group g on g.id = m.group_id"
                )
            )
        }
        spoke = dict(
            conn.execute(
                text(
                    "select g.external_id, sum(a.messages) from activity_member_group a "
                    "join chat_group g on g.id = a.group_id where a.member_id = :m "
                    "group by g.external_id"
                ),
                {"m": ids["qq"]},
            ).all()
        )
    assert {("qq", "g4"), ("qq", "g5"), ("qq", "g1"), ("qq", "g2")} <= seats
    assert ("wx", "g4") not in seats, "the seat made while merged went back with its events"
    assert spoke == {"g1": 3, "g2": 1, "g4": 1, "g5": 1}


def test_tags_stay_with_the_kept_member(app: App) -> None:
    app.ingestor(app.community("c")).ingest_many(_history())
    ids = _ids(app)
    with app.engine.begin() as conn:
        tag = conn.execute(
            Tag.__table__.insert()
            .values(workspace_id=1, name="老会员", created_at=START)
            .returning(Tag.__table__.c.id)
        ).scalar_one()
        conn.execute(
            MemberTag.__table__.insert().values(member_id=ids["qq"], tag_id=tag, created_at=START)
        )
    with _write(app) as conn, conn.begin():
        merge_members(conn, ids["wx"], ids["qq"])
        unmerge_member(conn, ids["qq"])
    with app.engine.connect() as conn:
        assert conn.execute(select(MemberTag.member_id)).scalars().all() == [ids["wx"]]


def test_only_a_merged_member_can_be_unmerged(app: App) -> None:
    app.ingestor(app.community("c")).ingest_many(_history())
    ids = _ids(app)
    with _write(app) as conn, conn.begin(), pytest.raises(UnmergeError, match="not merged"):
        unmerge_member(conn, ids["wx"])
    with _write(app) as conn, conn.begin(), pytest.raises(UnmergeError, match="does not exist"):
        unmerge_member(conn, 987654)


def test_a_chain_of_merges_unwinds_one_member_at_a_time(app: App) -> None:
    app.ingestor(app.community("c")).ingest_many(
        [*_history(), event(30, EventType.JOIN, actor="tg"), event(31, actor="tg")]
    )
    ids = _ids(app)
    members = [ids["wx"], ids["qq"], ids["tg"]]
    with app.engine.connect() as conn:
        before = _snapshot(conn, members)
    with _write(app) as conn, conn.begin():
        merge_members(conn, ids["wx"], ids["qq"])
        merge_members(conn, ids["wx"], ids["tg"])
    with _write(app) as conn, conn.begin():
        unmerge_member(conn, ids["qq"])
        unmerge_member(conn, ids["tg"])
    with app.engine.connect() as conn:
        assert _snapshot(conn, members) == before
