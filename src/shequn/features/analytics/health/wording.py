"""What each reason says, and the next step the seeds' playbook suggests, in zh-CN and English.

The advice follows seed 003's account of a group's decline and revival: the
leader leads again and spreads the work over a committee (班委); light daily
topics pull readers into talking (拆墙); new blood comes in through a lobby
and an entry threshold; newcomers are welcomed at once; and when a group is
past saving, the active members move to a fresh group with a small entry fee
(大清洗).
"""

from __future__ import annotations

from typing import Any

from shequn.features.analytics.health.logic import (
    ACTIVITY_DECLINE,
    FEWER_SPEAKERS,
    LEADER_FADING,
    NEWCOMERS_IGNORED,
    NO_NEW_MEMBERS,
)

LANGS = ("zh-CN", "en")

_DETAIL = {
    "zh-CN": {
        LEADER_FADING: "群主和管理员的发言占比从 {baseline_share:.0%} 降到 {recent_share:.0%}",
        FEWER_SPEAKERS: "发言人占比从 {baseline_ratio:.1%} 降到 {recent_ratio:.1%}，"
        "而成员数几乎不变（{baseline_members:.0f} → {recent_members:.0f}）：围城正在形成",
        NO_NEW_MEMBERS: "最近 {weeks} 周新进 {joins} 人、离开 {leaves} 人：缺少新陈代谢",
        NEWCOMERS_IGNORED: "最近 {newcomers} 位新人的第一句话中有 {unanswered} 句没人回应",
        ACTIVITY_DECLINE: "每周消息从 {baseline_messages:.0f} 条降到 {recent_messages:.0f} 条，"
        "发言人从 {baseline_speakers:.0f} 降到 {recent_speakers:.0f}",
    },
    "en": {
        LEADER_FADING: "the owner and admins wrote {baseline_share:.0%} of messages, "
        "now {recent_share:.0%}",
        FEWER_SPEAKERS: "the share of members who speak fell from {baseline_ratio:.1%} to "
        "{recent_ratio:.1%} while membership held ({baseline_members:.0f} → "
        "{recent_members:.0f}): a closed circle is forming",
        NO_NEW_MEMBERS: "{joins} joined and {leaves} left in the last {weeks} weeks: no new blood",
        NEWCOMERS_IGNORED: "{unanswered} of the last {newcomers} newcomers' first messages "
        "got no reply",
        ACTIVITY_DECLINE: "weekly messages fell from {baseline_messages:.0f} to "
        "{recent_messages:.0f}, speakers from {baseline_speakers:.0f} to {recent_speakers:.0f}",
    },
}

_ADVICE = {
    "zh-CN": {
        LEADER_FADING: "群主要重新带头：固定每周一次分享或答疑，并把日常运营分给班委"
        "（班长、组织委员、宣传委员、字幕侠），不要让社群只靠一个人。",
        FEWER_SPEAKERS: "拆掉围城：每天一个轻互动话题（接龙、投票、打卡），点名邀请潜水的成员发言，"
        "让只看不说的人也忍不住参与。",
        NO_NEW_MEMBERS: "恢复新陈代谢：用群活码和客厅群引入新人，设置入群门槛筛选，"
        "同时清理长期不活跃的成员。",
        NEWCOMERS_IGNORED: "新人入群后 10 分钟内要有人 @ 欢迎，并附上群规；"
        "可以开启自动欢迎，请一位管理员专门负责迎新。",
        ACTIVITY_DECLINE: "先找原因（看上面的其他信号），再组织一次主题分享或活动激活老成员；"
        "若仍无起色，把活跃成员迁到新群并设小额入群费（大清洗）。",
    },
    "en": {
        LEADER_FADING: "The owner should lead again: a fixed weekly talk or Q&A, and the daily "
        "work shared out to a committee (monitor, organiser, publicist, note-takers) so the "
        "group never rests on one person.",
        FEWER_SPEAKERS: "Break the circle: a light daily topic (chains, polls, check-ins) and "
        "personal invitations to members who only read, so they want to join in.",
        NO_NEW_MEMBERS: "Bring in new blood: a rotating invite and a lobby group for newcomers, "
        "an entry threshold to screen them, and a clean-out of long-inactive members.",
        NEWCOMERS_IGNORED: "Greet every newcomer with an @ within ten minutes and share the "
        "rules; turn on the automatic welcome and make one admin responsible for newcomers.",
        ACTIVITY_DECLINE: "Find the cause in the other signals, then run a themed talk or event "
        "to wake the old members; if nothing changes, move the active members to a fresh "
        "group with a small entry fee.",
    },
}


def detail(lang: str, code: str, figures: dict[str, Any]) -> str:
    return _DETAIL[lang][code].format(**figures)


def advice(lang: str, code: str) -> str:
    return _ADVICE[lang][code]
