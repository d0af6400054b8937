"""A realistic report in the JSON form the renderers take, built without a database.

Renderer tests should not depend on the analytics pipeline producing a particular
community, so this builds one directly: three groups over twelve weeks, one healthy,
one declining for two reasons, one middling with a single warning. ``hostile=True``
swaps every string that would come from chat for one that tries to break out of HTML,
JavaScript, JSON, Rich markup or the terminal.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

START = date(2026, 8, 3)  # a Monday
WEEKS = 12

LONG = "<i>" + "很长的群名" * 2000
HOSTILE = [
    "[bold red]x[/] <script>alert(1)</script>",
    "</script><script>alert(2)</script>\u202eevil\u202c",
    '" onmouseover="alert(3) ' + LONG,
]
HOSTILE_TERMS = [
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    '" onmouseover="alert(3)',
    "javascript:alert(4)",
    "<img src=x onerror=alert(5)>",
    "\u202eevil\u202c",
    "[bold red]x[/]",
    "<!--",
    "line\u2028break\u2029",
    "{a|rich}",
    "\x1b[31mred",
    LONG,
]
HOSTILE_COMMUNITY = "javascript:alert(4) <!-- & \u2028 <script>alert(6)</script>"

_NAMES = {
    "zh-CN": ("跑步社群", ["跑团1群", "跑团2群·新手营", "越野跑交流群"]),
    "en": ("Runners Club", ["Runners 1", "Runners 2 · beginners", "Trail running"]),
}
_TERMS = {
    "zh-CN": [
        "配速",
        "马拉松",
        "打卡",
        "跑鞋",
        "拉伸",
        "心率",
        "越野",
        "周末约跑",
        "膝盖",
        "补给",
        "半马",
        "训练计划",
    ],
    "en": [
        "pace",
        "marathon",
        "check-in",
        "shoes",
        "stretch",
        "heart rate",
        "trail",
        "weekend run",
        "knee",
        "gels",
        "half",
        "plan",
    ],
}
_REASONS = {
    "zh-CN": {
        "leader_fading": (
            "群主和管理员的发言占比从 18% 降到 3%",
            "群主要重新带头：每周固定一次分享，并点名回应新人。",
        ),
        "fewer_speakers": (
            "发言的成员比例从 21% 降到 10%",
            "发起一个人人都能答的话题，比如“这周跑了多少公里”。",
        ),
        "newcomers_ignored": (
            "最近 12 位新人里有 5 位的第一句话没人回应",
            "安排一位管理员在新人发言后 30 分钟内回复。",
        ),
    },
    "en": {
        "leader_fading": (
            "The owner's and admins' share of messages fell from 18% to 3%",
            "Lead again: share something at a fixed time each week and greet newcomers.",
        ),
        "fewer_speakers": (
            "The share of members who speak fell from 21% to 10%",
            "Ask a question everyone can answer, like 'how far did you run this week?'",
        ),
        "newcomers_ignored": (
            "5 of the last 12 newcomers got no reply to their first message",
            "Have an admin answer newcomers within 30 minutes.",
        ),
    },
}
_FIGURES = {
    "leader_fading": {"baseline_share": 0.18, "recent_share": 0.03},
    "fewer_speakers": {
        "baseline_ratio": 0.21,
        "recent_ratio": 0.1,
        "baseline_members": 405.0,
        "recent_members": 398.5,
    },
    "newcomers_ignored": {"newcomers": 12, "unanswered": 5, "unanswered_share": 0.4167},
}


def _activity(rng: random.Random, members: int, speakers: int) -> dict[str, Any]:
    return {
        "dau": round(speakers * 0.35, 1),
        "wau": round(speakers * 0.8, 1),
        "mau": float(speakers),
        "speaker_ratio": round(speakers / members, 3),
        "top20_share": round(rng.uniform(0.6, 0.85), 3),
        "gini": round(rng.uniform(0.55, 0.8), 3),
        "lurker_share": round(1 - speakers / members, 3),
        "silent_members": members - speakers,
        "silent_days": 30,
    }


def _group(lang: str, index: int, name: str, profile: str, rng: random.Random) -> dict[str, Any]:
    days = WEEKS * 7
    decline = profile == "declining"
    daily = []
    for d in range(days):
        level = (1.0 - 0.6 * d / days) if decline else 1.0 + 0.1 * rng.random()
        weekend = 1.3 if (START + timedelta(d)).weekday() >= 5 else 1.0
        messages = int(rng.gauss(260, 30) * level * weekend)
        daily.append(
            {
                "day": (START + timedelta(d)).isoformat(),
                "messages": messages,
                "speakers": max(1, int(messages / rng.uniform(5.5, 7.5) * (0.8 + 0.2 * level))),
                "joins": rng.randint(0, 3),
                "leaves": rng.randint(0, 2),
            }
        )
    members = 480 - 40 * index
    weekly = []
    for w in range(WEEKS):
        chunk = daily[w * 7 : w * 7 + 7]
        messages = sum(c["messages"] for c in chunk)
        speakers = int(sum(c["speakers"] for c in chunk) / 3)
        leader = 0.18 - 0.15 * w / WEEKS if decline else 0.12 + 0.02 * rng.random()
        weekly.append(
            {
                "week": (START + timedelta(weeks=w)).isoformat(),
                "messages": messages,
                "speakers": speakers,
                "members": members - WEEKS + w,
                "joins": sum(c["joins"] for c in chunk),
                "leaves": sum(c["leaves"] for c in chunk),
                "leader_share": round(leader, 3),
                "speaker_ratio": round(speakers / members, 3),
            }
        )
    cells = []
    for weekday in range(7):
        for hour in range(24):
            peak = 3.0 if hour in (7, 12, 21) else 1.0 if 8 <= hour <= 23 else 0.05
            value = int(rng.uniform(20, 60) * peak * (1.4 if weekday >= 5 else 1.0))
            if value:
                cells.append([weekday, hour, value])
    top = sorted(cells, key=lambda c: -c[2])[:3]
    terms = _TERMS[lang]
    totals_speakers = max(w["speakers"] for w in weekly)
    reasons = {"declining": ["leader_fading", "fewer_speakers"], "warning": ["newcomers_ignored"]}
    return {
        "id": index,
        "name": name,
        "platform": ["telegram", "wechat", "qq"][index % 3],
        "external_id": f"g{index:02d}",
        "capacity": 500,
        "totals": {
            "members": members,
            "messages": sum(d["messages"] for d in daily),
            "joins": sum(d["joins"] for d in daily),
            "leaves": sum(d["leaves"] for d in daily),
            "speakers": totals_speakers,
        },
        "activity": _activity(rng, members, totals_speakers),
        "daily": daily,
        "weekly": weekly,
        "heatmap": {
            "cells": cells,
            "golden_hours": [{"weekday": c[0], "hour": c[1], "messages": c[2]} for c in top],
        },
        "cohorts": [
            {
                "week": (START + timedelta(weeks=w)).isoformat(),
                "size": rng.randint(4, 20),
                "retention": [
                    round(max(0.0, 0.85 * (0.8**k) - rng.uniform(0, 0.1)), 3)
                    for k in range(WEEKS - w)
                ],
            }
            for w in range(WEEKS)
        ],
        "responsiveness": {
            "questions": 300,
            "answered": 240,
            "answered_share": 0.8,
            "within_minutes": 30,
            "answered_within_share": 0.7,
            "median_reply_minutes": None if profile == "warning" else 4.5,
            "newcomers": 12,
            "newcomers_unanswered": 5 if profile == "warning" else 1,
        },
        "topics": {
            "weeks": [
                {
                    "week": (START + timedelta(weeks=WEEKS - 1 - w)).isoformat(),
                    "terms": [
                        {"term": t, "count": 40 - 3 * i}
                        for i, t in enumerate(rng.sample(terms, 10))
                    ],
                }
                for w in range(4)
            ],
            "rising": [
                {"term": t, "count": 30 - 4 * i, "baseline": 2.5 + i, "score": round(5.1 - i, 2)}
                for i, t in enumerate(terms[:4])
            ],
        },
        "health": {
            "score": {"healthy": 84, "declining": 38, "warning": 61}[profile],
            "declining": decline,
            "reasons": [
                {
                    "code": code,
                    "detail": _REASONS[lang][code][0],
                    "figures": dict(_FIGURES[code]),
                    "advice": _REASONS[lang][code][1],
                }
                for code in reasons.get(profile, [])
            ],
        },
    }


def _poison(report: dict[str, Any]) -> None:
    """Replace every chat-derived string with a hostile one."""
    report["community"]["name"] = HOSTILE_COMMUNITY
    for group, name in zip(report["groups"], HOSTILE, strict=True):
        group["name"] = name
        for n, week in enumerate(group["topics"]["weeks"]):
            for i, term in enumerate(week["terms"]):
                term["term"] = HOSTILE_TERMS[(i + n) % len(HOSTILE_TERMS)]
        for i, rising in enumerate(group["topics"]["rising"]):
            rising["term"] = HOSTILE_TERMS[-1 - i]
        for reason in group["health"]["reasons"]:
            reason["detail"] = name + " " + reason["detail"]
            reason["advice"] = HOSTILE_TERMS[1] + reason["advice"]


def sample_report(lang: str = "zh-CN", hostile: bool = False) -> dict[str, Any]:
    """A report of three groups over twelve weeks, in ``lang``; deterministic."""
    rng = random.Random(7)
    community, names = _NAMES[lang]
    profiles = ["healthy", "declining", "warning"]
    groups = [_group(lang, i + 1, names[i], profiles[i], rng) for i in range(3)]
    end = START + timedelta(days=WEEKS * 7 - 1)
    overview_daily = [
        {k: (rows[0]["day"] if k == "day" else sum(r[k] for r in rows)) for k in rows[0]}
        for rows in zip(*(g["daily"] for g in groups), strict=True)
    ]
    totals = {k: sum(g["totals"][k] for g in groups) for k in groups[0]["totals"]}
    report: dict[str, Any] = {
        "version": 1,
        "lang": lang,
        "community": {"name": community, "timezone": "Asia/Shanghai"},
        "generated_at": "2026-11-02T09:30:00+08:00",
        "range": {
            "from": START.isoformat(),
            "to": end.isoformat(),
            "as_of": f"{end.isoformat()}T23:58:00+08:00",
            "weeks_complete_to": (end - timedelta(days=6)).isoformat(),
        },
        "overview": {
            "groups": len(groups),
            "declining_groups": sum(g["health"]["declining"] for g in groups),
            "totals": totals,
            "activity": _activity(rng, totals["members"], totals["speakers"]),
            "daily": overview_daily,
        },
        "groups": groups,
    }
    if hostile:
        _poison(report)
    return report
