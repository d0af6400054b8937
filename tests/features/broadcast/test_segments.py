"""A segment — the members carrying a tag — is reached by direct message, once each, and
only while they sit in one of the community's groups."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broadcasting import outbox
from factories import event
from shequn.app import App, default_processors
from shequn.core import EventType
from shequn.features.broadcast.problems import TargetError
from shequn.features.broadcast.service import save_post, schedule_post
from shequn.features.community.tags import create_tag, tag_member
from shequn.models import Identity

NOTE = {"title": "私信", "text": "{community} 的 VIP 朋友：周五的分享会给你留了座位"}


def _member(app: App, user: str) -> int:
    with app.engine.connect() as conn:
        return conn.execute(
            select(Identity.__table__.c.member_id).where(Identity.__table__.c.external_id == user)
        ).scalar_one()


def test_a_segment_is_reached_by_direct_message_once_per_seated_member(app: App) -> None:
    ref = app.community("读书会")
    app.ingestor(ref, default_processors()).ingest_many(
        [
            event(1, EventType.JOIN, group="g1", actor="u1"),
            event(2, EventType.JOIN, group="g2", actor="u1"),  # two seats, one message
            event(3, EventType.JOIN, group="g1", actor="u2"),
            event(4, EventType.JOIN, group="g1", actor="u3"),  # not in the segment
            event(5, EventType.JOIN, group="g1", actor="u4"),
            event(6, EventType.LEAVE, group="g1", actor="u4"),  # in it, but gone
        ]
    )
    now = app.clock.now()
    with app.engine.begin() as conn:
        vip = create_tag(conn, ref.workspace_id, name="VIP", now=now)
        for user in ("u1", "u2", "u4"):
            tag_member(conn, ref.workspace_id, _member(app, user), vip.id, now=now)
        post = save_post(conn, ref.community_id, NOTE, operator_id=None, now=now)
        schedule_post(
            conn,
            ref.community_id,
            post,
            targets="segment:VIP",
            when=None,
            pacing=None,
            operator_id=None,
            now=now,
        )
    sent = [r for r in outbox(app) if r.type == "direct_message"]
    assert sorted(r.action["user"] for r in sent) == ["u1", "u2"]
    assert all(r.action["message"][0]["text"].startswith("读书会 的 VIP 朋友") for r in sent)

    with app.engine.begin() as conn, pytest.raises(TargetError, match="no such segment"):
        schedule_post(
            conn,
            ref.community_id,
            post,
            targets="segment:SVIP",
            when=None,
            pacing=None,
            operator_id=None,
            now=now,
        )
