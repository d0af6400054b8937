"""Membership bookkeeping through the real pipeline, and member merges, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories import START, event
from shequn.app import App
from shequn.core import EventType
from shequn.db.engine import WRITE
from shequn.features.community.merge import MergeError, merge_members
from shequn.models import EventRow, Group, Identity, Member, Membership, MemberTag, Tag


def seats(app: App, group: str = "g1") -> dict[str, Membership]:
    with Session(app.engine) as s:
        rows = s.execute(
            select(Identity.external_id, Membership)
            .join(Membership, Membership.member_id == Identity.member_id)
            .join(Group, Group.id == Membership.group_id)
            .where(Group.external_id == group)
        ).all()
    return {ext: m for ext, m in rows}


def test_members_are_numbered_in_join_order_and_keep_their_number(app: App) -> None:
    ingestor = app.ingestor(app.community("c"), batch_size=2)
    ingestor.ingest_many(
        [
            event(1, EventType.JOIN, actor="owner", role="owner", via="qrcode"),
            event(2, EventType.JOIN, actor="a", entry_source="公众号"),
            event(3, EventType.JOIN, actor="b"),
            event(4, EventType.LEAVE, actor="a"),
            event(5, EventType.JOIN, actor="c"),
            event(6, EventType.JOIN, actor="a"),
            event(7, EventType.MEMBER_UPDATE, actor="b", title="班长"),
        ]
    )
    s = seats(app)
    assert {k: v.number for k, v in s.items()} == {"owner": 1, "a": 2, "b": 3, "c": 4}
    assert s["owner"].role == "owner" and s["owner"].entry_source == "qrcode"
    assert s["a"].left_at is None and s["a"].joined_at == START + timedelta(minutes=6)
    assert s["a"].entry_source == "公众号"
    assert s["b"].title == "班长"
    with Session(app.engine) as session:
        assert session.scalars(select(Group.next_number)).one() == 5


def test_speakers_without_a_join_are_seated_as_observed(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    ingestor.ingest_many([event(1, actor="x"), event(2, actor="y"), event(3, actor="x")])
    ingestor.ingest(event(0, EventType.JOIN, actor="x", at=START - timedelta(days=3), via="link"))
    s = seats(app)
    assert (s["x"].number, s["y"].number) == (1, 2)
    assert s["x"].entry_source == "link" and s["x"].joined_at == START - timedelta(days=3)
    assert s["y"].entry_source == "observed"


def test_each_group_numbers_on_its_own(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    ingestor.ingest_many(
        [event(n, EventType.JOIN, group=f"g{n % 2}", actor=f"u{n}") for n in range(6)]
    )
    assert sorted(m.number for m in seats(app, "g0").values()) == [1, 2, 3]
    assert sorted(m.number for m in seats(app, "g1").values()) == [1, 2, 3]


def test_merge_keeps_every_identity_and_event(app: App) -> None:
    ingestor = app.ingestor(app.community("c"))
    ingestor.ingest_many(
        [
            event(1, EventType.JOIN, actor="wx-zhang"),
            event(2, EventType.JOIN, actor="qq-zhang", role="admin"),
            event(3, EventType.JOIN, actor="qq-zhang", group="g2"),
            event(4, actor="wx-zhang"),
            event(5, actor="qq-zhang"),
        ]
    )
    with Session(app.engine) as s:
        ids = dict(s.execute(select(Identity.external_id, Identity.member_id)).all())
        tag = Tag(workspace_id=1, name="老会员", created_at=START)
        s.add(tag)
        s.flush()
        s.add_all(
            [
                MemberTag(member_id=ids["wx-zhang"], tag_id=tag.id, created_at=START),
                MemberTag(member_id=ids["qq-zhang"], tag_id=tag.id, created_at=START),
            ]
        )
        s.commit()
    keep, gone = ids["wx-zhang"], ids["qq-zhang"]
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            result = merge_members(conn, keep, gone)
    assert (result.identities_moved, result.memberships_moved, result.memberships_combined) == (
        1,
        1,
        1,
    )
    with Session(app.engine) as s:
        assert set(s.scalars(select(Identity.member_id))) == {keep}
        assert s.get(Member, gone).merged_into_id == keep
        assert s.scalars(select(EventRow.id)).all().__len__() == 5
        own = s.scalars(select(Membership).where(Membership.member_id == keep)).all()
        assert len(own) == 2
        g1 = next(m for m in own if m.number == 1)
        assert g1.role == "admin"
        assert s.scalars(select(MemberTag.member_id)).all() == [keep]
    with app.engine.connect() as conn, conn.begin(), pytest.raises(MergeError, match="already"):
        merge_members(conn, keep, gone)


def test_an_ingestor_sees_a_merge_made_between_its_batches(app: App) -> None:
    """The ingestor remembers identities between batches; a merge must make it forget."""
    ingestor = app.ingestor(app.community("c"))
    ingestor.ingest_many([event(1, actor="wx"), event(2, actor="qq")])
    with Session(app.engine) as s:
        ids = dict(s.execute(select(Identity.external_id, Identity.member_id)).all())
    with app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            merge_members(conn, ids["wx"], ids["qq"])
    ingestor.ingest(event(3, actor="qq", group="g2"))
    with Session(app.engine) as s:
        seat_members = set(
            s.scalars(
                select(Membership.member_id)
                .join(Group, Group.id == Membership.group_id)
                .where(Group.external_id == "g2")
            )
        )
    assert seat_members == {ids["wx"]}


def test_an_ingestor_sees_seats_changed_by_another_between_its_batches(app: App) -> None:
    """Each ingestor remembers seats; a change made by another must not be missed."""
    community = app.community("c")
    first, second = app.ingestor(community), app.ingestor(community)
    first.ingest_many([event(1, EventType.JOIN, actor="a"), event(2, actor="a")])
    second.ingest(event(3, EventType.LEAVE, actor="a"))
    assert seats(app)["a"].left_at is not None
    first.ingest(event(4, actor="a"))  # back, and speaking: the seat reopens
    seat = seats(app)["a"]
    assert seat.left_at is None and seat.number == 1
    first.ingest(event(5, EventType.JOIN, actor="b"))
    assert seats(app)["b"].number == 2
