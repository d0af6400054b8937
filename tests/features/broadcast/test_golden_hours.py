"""Golden hours through the real pipeline: each group gets the post at its own busiest hour
of the past weeks, read from the heatmap the rollups keep."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from broadcasting import outbox
from factories import event
from shequn.app import App, default_processors
from shequn.features.broadcast.service import save_post, schedule_post

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_each_group_gets_the_post_at_its_own_busiest_hour(app: App) -> None:
    ref = app.community("读书会")
    start = app.clock.now() - timedelta(days=10)
    chatter = []
    n = 0
    for day in range(7):
        base = (start + timedelta(days=day)).astimezone(SHANGHAI).replace(minute=5)
        for group, hour, count in (("g1", 21, 6), ("g1", 9, 1), ("g2", 7, 5), ("g2", 22, 2)):
            for i in range(count):
                n += 1
                at = base.replace(hour=hour) + timedelta(seconds=i)
                chatter.append(event(n, group=group, actor=f"u{i}", at=at))
    app.ingestor(ref, default_processors()).ingest_many(chatter)

    now = app.clock.now()  # 17:00 in Shanghai
    with app.engine.begin() as conn:
        post = save_post(
            conn, ref.community_id, {"text": "{group} 今晚分享会"}, operator_id=None, now=now
        )
        schedule_post(
            conn,
            ref.community_id,
            post,
            targets="all",
            when=None,
            pacing={"golden": True},
            operator_id=None,
            now=now,
        )
    local = {
        r.group_ref: r.not_before.astimezone(SHANGHAI)
        for r in outbox(app)
        if r.type == "send_message"
    }
    assert set(local) == {"g1", "g2"}
    assert (local["g1"].hour, local["g1"].date()) == (21, now.astimezone(SHANGHAI).date())
    tomorrow = now.astimezone(SHANGHAI).date() + timedelta(days=1)
    assert (local["g2"].hour, local["g2"].date()) == (7, tomorrow)
    assert all(at >= now for at in local.values())
