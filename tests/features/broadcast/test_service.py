"""The broadcast service on both databases: posts and jobs checked before anything is
stored or queued, a post sent now to every targeted group, WeCom's daily limit shown
before sending, the daily cap across posts, and editing and cancelling jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcasting import add_groups, copies, outbox
from shequn.app import App
from shequn.features.broadcast.problems import BroadcastError, PostError, ScheduleError, TargetError
from shequn.features.broadcast.service import (
    JobClosed,
    PostInUse,
    PostNotFound,
    WeComConflicts,
    cancel_job,
    delete_post,
    delivery_report,
    edit_job,
    get_job,
    get_post,
    group_infos,
    job_rows,
    post_rows,
    preview,
    save_post,
    schedule_post,
    upcoming,
    wecom_conflicts_for,
)
from shequn.models import BroadcastDelivery, BroadcastJob, BroadcastPost

BRIEF = {"title": "晨报", "text": "{group} 的晨报 · {date}", "tags": ["daily"]}


def _count(app: App, table) -> int:
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _post(app: App, cid: int, data=BRIEF) -> int:
    with app.engine.begin() as conn:
        return save_post(conn, cid, data, operator_id=None, now=app.clock.now())


def _schedule(app: App, cid: int, post_id: int, targets: str, when=None, pacing=None) -> int:
    with app.engine.begin() as conn:
        return schedule_post(
            conn,
            cid,
            post_id,
            targets=targets,
            when=when,
            pacing=pacing,
            operator_id=None,
            now=app.clock.now(),
        )


def test_posts_round_trip_filter_by_tag_and_bad_ones_are_refused(app: App) -> None:
    cid = app.community("读书会").community_id
    first = _post(app, cid)
    second = _post(app, cid, {"text": "Talk on Friday\nat 20:00", "lang": "en", "tags": ["talk"]})
    with app.engine.connect() as conn:
        assert [p.id for p in post_rows(conn, cid)] == [second, first]
        assert [p.id for p in post_rows(conn, cid, tag="talk")] == [second]
        assert [p.id for p in post_rows(conn, cid, before_id=second)] == [first]
        row = get_post(conn, cid, second)
        assert (row.title, row.post.id, row.langs) == ("Talk on Friday", str(second), ["en"])
        with pytest.raises(PostNotFound):
            get_post(conn, app.community("别的").community_id, first)
    with app.engine.begin() as conn, pytest.raises(PostError) as refused:
        save_post(conn, cid, {"text": "{city} 你好"}, operator_id=None, now=app.clock.now())
    assert "{city}" in refused.value.text("en")
    with app.engine.begin() as conn:
        save_post(
            conn,
            cid,
            {**BRIEF, "title": "新"},
            operator_id=None,
            now=app.clock.now(),
            post_id=first,
        )
        assert get_post(conn, cid, first).title == "新"
        delete_post(conn, cid, second)
    assert _count(app, BroadcastPost.__table__) == 1


def test_group_infos_carry_tags_and_the_community(app: App) -> None:
    community = app.community("读书会", timezone="Asia/Shanghai")
    ids = add_groups(app, community, 2, tags=["晨报"])
    add_groups(app, community, 1, platform="telegram", start=2)
    with app.engine.connect() as conn:
        infos = group_infos(conn, community.community_id)
    assert [i.id for i in infos][:2] == [str(i) for i in ids]
    assert infos[0].tags == {"晨报"} and infos[2].tags == frozenset()
    assert {i.zone for i in infos} == {"Asia/Shanghai"} and infos[0].community == "读书会"


@pytest.mark.parametrize(
    ("targets", "when", "pacing", "error", "where"),
    [
        ("tag:daily", "someday 08:30", None, ScheduleError, "someday"),
        ("tag:daily", "2020-01-01T08:00", None, ScheduleError, "past"),
        ("tag:nope", None, None, TargetError, "tag:nope"),
        ("all", None, {"daily_cap": 0}, BroadcastError, "daily_cap"),
        ("tag:nope", "someday", None, BroadcastError, "tag:nope"),
    ],
)
def test_a_refused_job_stores_and_queues_nothing(
    app: App, targets: str, when, pacing, error, where: str
) -> None:
    community = app.community("读书会")
    add_groups(app, community, 2, tags=["daily"])
    post_id = _post(app, community.community_id)
    with pytest.raises(error) as refused:
        _schedule(app, community.community_id, post_id, targets, when, pacing)
    assert where in refused.value.text("en")
    assert _count(app, BroadcastJob.__table__) == 0
    assert _count(app, BroadcastDelivery.__table__) == 0 and outbox(app) == []


def test_a_post_too_long_for_a_targeted_platform_is_refused_before_sending(app: App) -> None:
    community = app.community("读书会")
    add_groups(app, community, 1, platform="wecom", prefix="wx")
    post_id = _post(app, community.community_id, {"text": "长" * 2000})
    with app.engine.connect() as conn:
        (rendered,) = preview(
            conn, community.community_id, post_id, targets="all", lang="zh-CN", now=app.clock.now()
        )
    assert rendered.platform == "wecom" and not rendered.ok
    with pytest.raises(BroadcastError, match="4,000"):
        _schedule(app, community.community_id, post_id, "all")
    assert outbox(app) == [] and _count(app, BroadcastJob.__table__) == 0


def test_send_now_queues_one_copy_per_group_in_the_same_transaction(app: App) -> None:
    community = app.community("读书会")
    add_groups(app, community, 3, tags=["daily"])
    add_groups(app, community, 2, start=3)
    cid = community.community_id
    job_id = _schedule(app, cid, _post(app, cid), "tag:daily")
    assert copies(app) == {"g0": 1, "g1": 1, "g2": 1}
    with app.engine.connect() as conn:
        job = get_job(conn, cid, job_id)
        report = delivery_report(conn, cid, job_id)
    assert (job.status, job.next_run, job.counts) == ("done", None, {"pending": 3})
    assert report.totals["queued"] == 3 and {d.name for d in report.deliveries} == {
        "群0",
        "群1",
        "群2",
    }
    row = outbox(app)[0]
    assert row.action["message"][0]["text"].startswith("群0 的晨报")


def test_wecom_one_mass_message_a_day_is_shown_and_refused_unless_allowed(app: App) -> None:
    community = app.community("读书会")
    add_groups(app, community, 2, platform="wecom", prefix="wx", tags=["vip"])
    cid = community.community_id
    _schedule(app, cid, _post(app, cid), "tag:vip")
    second = _post(app, cid, {"text": "第二条"})
    with app.engine.connect() as conn:
        conflicts = wecom_conflicts_for(conn, cid, "tag:vip", app.clock.now())
    assert len(conflicts) == 2 and conflicts[0].next_day > conflicts[0].day
    with pytest.raises(WeComConflicts) as refused:
        _schedule(app, cid, second, "tag:vip")
    assert "WeCom" in refused.value.text("en") and len(refused.value.conflicts) == 2
    assert _count(app, BroadcastJob.__table__) == 1
    job_id = _schedule(app, cid, second, "tag:vip", pacing={"allow_wecom_conflict": True})
    with app.engine.connect() as conn:
        report = delivery_report(conn, cid, job_id, lang="zh-CN")
    assert [d.status for d in report.deliveries] == ["refused", "refused"]
    assert report.deliveries[0].reason_code == "platform_daily_limit"
    assert "企业微信" in report.deliveries[0].reason and report.deliveries[0].next_slot
    assert sum(copies(app).values()) == 2


def test_the_daily_cap_holds_across_two_posts(app: App) -> None:
    community = app.community("读书会")
    add_groups(app, community, 2)
    cid = community.community_id
    _schedule(app, cid, _post(app, cid), "all", pacing={"daily_cap": 1})
    job_id = _schedule(app, cid, _post(app, cid, {"text": "通知"}), "all", pacing={"daily_cap": 1})
    with app.engine.connect() as conn:
        report = delivery_report(conn, cid, job_id)
    assert [d.reason_code for d in report.deliveries] == ["daily_cap", "daily_cap"]
    assert copies(app) == {"g0": 1, "g1": 1}


def test_a_scheduled_job_is_edited_listed_in_the_calendar_and_cancelled(app: App) -> None:
    community = app.community("读书会", timezone="Asia/Shanghai")
    add_groups(app, community, 1, tags=["daily"])
    add_groups(app, community, 1, tags=["talk"], start=1)
    cid = community.community_id
    now = app.clock.now()
    post_id = _post(app, cid)
    job_id = _schedule(app, cid, post_id, "tag:daily", "weekdays 08:30")
    assert outbox(app) == []
    with app.engine.connect() as conn:
        week = upcoming(conn, cid, start=now, end=now + timedelta(days=7))
        job = get_job(conn, cid, job_id)
    assert [o.clock for o in week] == ["08:30"] * 5 and job.when == "weekdays 08:30"
    assert job.next_run == week[0].at
    with app.engine.begin() as conn, pytest.raises(TargetError):
        edit_job(conn, cid, job_id, targets="tag:nope", now=now)
    with app.engine.begin() as conn:
        edit_job(conn, cid, job_id, targets="tag:talk", when="fri 20:00", now=now)
    with app.engine.connect() as conn:
        job = get_job(conn, cid, job_id)
        week = upcoming(conn, cid, start=now, end=now + timedelta(days=7))
    assert (job.targets, job.schedule) == ("tag:talk", "fri 20:00")
    assert [o.local.weekday() for o in week] == [4] and week[0].clock == "20:00"
    with app.engine.begin() as conn, pytest.raises(PostInUse):
        delete_post(conn, cid, post_id)
    with app.engine.begin() as conn:
        assert cancel_job(conn, cid, job_id, now=now) == 0
    with app.engine.connect() as conn:
        assert [j.status for j in job_rows(conn, cid)] == ["cancelled"]
        assert upcoming(conn, cid, start=now, end=now + timedelta(days=7)) == []
    with app.engine.begin() as conn, pytest.raises(JobClosed):
        edit_job(conn, cid, job_id, targets="all", now=now)
