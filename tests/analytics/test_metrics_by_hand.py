"""Every figure of the report on a group small enough to count by hand (both databases).

The story, in Shanghai time, two full weeks and a Monday:

* Mon 03-02: 李 (owner) joins 08:00, 王 joins 09:00; 李 says hello at 10:00 and asks
  a question at 10:30; 王 answers it, quoting it, at 10:35.
* Tue 03-03: 赵 joins (and never says a word); 王 talks at 21:15.
* Mon 03-09: 张 joins 09:00 and introduces themself at 09:30; nobody answers.
* Tue 03-10: 赵 leaves.
* Mon 03-16: 李 says good morning at 10:00 (the last message: the week it opens is partial).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from factories import event
from shequn.app import App
from shequn.core import EventType
from shequn.core.message import Message, Quote, Text
from shequn.features.analytics.report import ReportOptions, build_report, default_scope

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ)


def said(n: int, who: str, when: datetime, *parts: object) -> object:
    e = event(n, actor=who, at=when, message_id=f"m{n}")
    return e.with_(message=Message.of(*parts))  # type: ignore[arg-type]


STORY = [
    event(1, EventType.JOIN, actor="li", at=at(2, 8), role="owner"),
    event(2, EventType.JOIN, actor="wang", at=at(2, 9)),
    said(3, "li", at(2, 10), "大家好"),
    said(4, "li", at(2, 10, 30), "配速怎么提高？"),
    said(5, "wang", at(2, 10, 35), Quote("m4"), Text("多练间歇跑")),
    event(6, EventType.JOIN, actor="zhao", at=at(3, 10)),
    said(7, "wang", at(3, 21, 15), "马拉松报名了"),
    event(8, EventType.JOIN, actor="zhang", at=at(9, 9)),
    said(9, "zhang", at(9, 9, 30), "我是新人"),
    event(10, EventType.LEAVE, actor="zhao", at=at(10, 10)),
    said(11, "li", at(16, 10), "周一好"),
]


@pytest.fixture
def report(app: App) -> dict:
    ref = app.community("c", timezone="Asia/Shanghai")
    app.ingestor(ref).ingest_many(STORY)  # type: ignore[arg-type]
    with app.engine.connect() as conn:
        scope = default_scope(conn, ref.community_id, ref.timezone, now=at(20, 12))
        return build_report(
            conn,
            scope,
            community_name="c",
            generated_at=at(20, 12),
            options=ReportOptions(lang="en", silent_days=5),
        )


def test_range_totals_and_activity(report: dict) -> None:
    assert report["range"]["from"] == "2026-03-02" and report["range"]["to"] == "2026-03-16"
    assert report["range"]["weeks_complete_to"] == "2026-03-09"
    (group,) = report["groups"]
    assert group["totals"] == {
        "members": 3,
        "messages": 6,
        "joins": 4,
        "leaves": 1,
        "speakers": 3,
    }
    act = group["activity"]
    assert act["dau"] == pytest.approx(1 / 7, abs=0.01)  # only 李 spoke in the last 7 days
    assert (act["wau"], act["mau"]) == (1, 3)
    assert act["speaker_ratio"] == 1.0 and act["lurker_share"] == 0.0
    assert act["top20_share"] == 0.5  # 李 wrote 3 of 6
    assert act["gini"] == pytest.approx(2 / 9, abs=1e-3)  # messages 1, 2, 3
    assert act["silent_members"] == 2  # 王 and 张 said nothing in the last 5 days
    assert report["overview"]["totals"] == group["totals"]


def test_weeks_heatmap_and_cohorts(report: dict) -> None:
    (group,) = report["groups"]
    weeks = {w["week"]: w for w in group["weekly"]}
    first, second, third = weeks["2026-03-02"], weeks["2026-03-09"], weeks["2026-03-16"]
    assert (first["messages"], first["speakers"], first["members"], first["joins"]) == (4, 2, 3, 3)
    assert first["leader_share"] == 0.5 and first["complete"]
    assert (second["messages"], second["members"], second["leaves"]) == (1, 3, 1)
    assert not third["complete"]
    cells = sorted(map(tuple, group["heatmap"]["cells"]))
    assert cells == [(0, 9, 1), (0, 10, 4), (1, 21, 1)]  # Monday 10:00 holds four messages
    assert group["heatmap"]["golden_hours"][0] == {"weekday": 0, "hour": 10, "messages": 4}
    cohorts = {c["week"]: c for c in group["cohorts"]}
    # 李, 王 and 赵 joined in the first week: 李 spoke then and two weeks on, 王 only then.
    assert cohorts["2026-03-02"]["size"] == 3
    assert cohorts["2026-03-02"]["retention"] == pytest.approx([2 / 3, 0.0, 1 / 3], abs=1e-3)
    assert cohorts["2026-03-09"] == {"week": "2026-03-09", "size": 1, "retention": [1.0, 0.0]}


def test_responsiveness(report: dict) -> None:
    (group,) = report["groups"]
    r = group["responsiveness"]
    assert (r["questions"], r["answered"], r["answered_share"]) == (1, 1, 1.0)
    assert r["answered_within_share"] == 1.0
    assert r["median_reply_minutes"] == 3.0  # the middle of the 1–5 minute bucket
    # 李, 王 and 张 all spoke within a week of joining; nobody answered their first words.
    assert (r["newcomers"], r["newcomers_unanswered"]) == (3, 3)


def test_topics(report: dict) -> None:
    (group,) = report["groups"]
    assert group["topics"]["weeks"][0]["week"] == "2026-03-16"
    # Terms used once in a week are the long tail: only repeated terms are listed.
    assert all(not w["terms"] for w in group["topics"]["weeks"])


def test_a_range_that_ends_before_the_latest_data(app: App) -> None:
    ref = app.community("c", timezone="Asia/Shanghai")
    app.ingestor(ref).ingest_many(STORY)  # type: ignore[arg-type]
    with app.engine.connect() as conn:
        scope = default_scope(
            conn, ref.community_id, ref.timezone, now=at(20, 12), end=at(9, 0).date()
        )
        assert not scope.reaches_latest
        report = build_report(conn, scope, community_name="c", generated_at=at(20, 12))
    (group,) = report["groups"]
    # 03-02 … 03-09: 李, 王 and 张 spoke; in the last 7 days (03-03 … 03-09) 王 and 张.
    assert group["totals"]["speakers"] == 3 and group["totals"]["messages"] == 5
    assert (group["activity"]["wau"], group["activity"]["mau"]) == (2, 3)
    assert group["totals"]["members"] == 4  # 赵 had not left yet
