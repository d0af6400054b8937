"""``/join/{slug}``: the rotating invite's public page on the simulated community."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shequn.db.engine import WRITE
from shequn.features.templates.invites import create_invite, set_invite_enabled
from shequn.features.templates.places import add_to_pool, seats_of
from shequn.models import Group
from shequn.models.templates import InviteVisit
from shequn.web.security import CONTENT_SECURITY_POLICY
from webharness import WebHarness

pytestmark = pytest.mark.anyio
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


def _pool(web: WebHarness, *, room_in_second: bool = True) -> tuple[str, str, int]:
    """The first two groups in the pool, the first full, the second with room (or not);
    an invite at /join/readers. Returns the groups' names and the invite's id."""
    cid, now = web.ref.community_id, web.app.clock.now()
    with web.app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            groups = conn.execute(
                select(Group.id, Group.name)
                .where(Group.community_id == cid)
                .order_by(Group.id)
                .limit(2)
            ).all()
            seats = seats_of(conn, [g.id for g in groups])
            first, second = groups
            add_to_pool(conn, cid, first.id, capacity=seats[first.id], now=now)
            add_to_pool(
                conn,
                cid,
                second.id,
                capacity=seats[second.id] + (5 if room_in_second else 0),
                join_url="https://chat.example.org/join?code={token}",
                join_note="入群后请先看群公告。\nRead the notice first.",
                now=now,
            )
            invite = create_invite(conn, cid, "readers", "上海读书会", now=now)
    return first.name, second.name, invite


def _visits(web: WebHarness) -> list:
    with web.app.engine.connect() as conn:
        return conn.execute(select(InviteVisit).order_by(InviteVisit.id)).all()


async def test_a_visitor_is_sent_to_the_first_group_with_room(web: WebHarness) -> None:
    full, open_, _ = _pool(web)
    reply = await web.client().get("/join/readers?src=poster", headers=ZH)
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    (visit,) = _visits(web)
    assert visit.source == "poster" and visit.member_id is None
    with web.app.engine.connect() as conn:
        sent_to = conn.execute(select(Group.name).where(Group.id == visit.group_id)).scalar()
    assert sent_to == open_ != full
    page = reply.text
    assert "欢迎！你要加入的群是：" in page
    assert f"https://chat.example.org/join?code={visit.token}" in page
    assert "入群后请先看群公告。" in page and "Read the notice first." in page
    assert "你来自：poster" in page
    assert "<script>" not in page, "no inline script"

    english = await web.client().get("/join/readers", headers=EN)
    assert "Welcome! Your group is:" in english.text
    assert "You came here from" not in english.text
    assert len(_visits(web)) == 2


async def test_when_every_group_is_full_the_visitor_is_asked_to_come_back(
    web: WebHarness,
) -> None:
    _pool(web, room_in_second=False)
    reply = await web.client().get("/join/readers?src=partner", headers=EN)
    assert reply.status_code == 200
    assert "Every group is full right now" in reply.text
    assert "https://chat.example.org" not in reply.text
    (visit,) = _visits(web)
    assert (visit.source, visit.group_id, visit.pool_id) == ("partner", None, None)
    zh = await web.client().get("/join/readers", headers=ZH)
    assert "目前所有群都满了" in zh.text


async def test_a_hostile_source_is_kept_as_text_and_shown_inert(web: WebHarness) -> None:
    _pool(web)
    hostile = "<script>window.__pwned=1</script>"
    reply = await web.client().get("/join/readers", params={"src": hostile}, headers=EN)
    assert reply.status_code == 200
    assert hostile not in reply.text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in reply.text
    assert _visits(web)[0].source == hostile

    for bad, why in [("x" * 65, "at most 64 characters"), ("evil\u202etxt", "U+202E")]:
        refused = await web.client().get("/join/readers", params={"src": bad}, headers=EN)
        assert refused.status_code == 400
        assert "This link is not valid" in refused.text and why in refused.text
    assert len(_visits(web)) == 1, "a refused visit records nothing"


async def test_an_unknown_or_switched_off_invite_is_not_found(web: WebHarness) -> None:
    _, _, invite = _pool(web)
    missing = await web.client().get("/join/nobody", headers=ZH)
    assert missing.status_code == 404 and "找不到这个邀请" in missing.text
    with web.app.engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            set_invite_enabled(conn, web.ref.community_id, invite, False, now=web.app.clock.now())
    off = await web.client().get("/join/readers", headers=EN)
    assert off.status_code == 404 and "Invite not found" in off.text
    assert _visits(web) == []
