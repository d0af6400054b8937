"""Every fixed string the report renderers show, in Chinese and in English.

The report's own sentences (a reason's detail and advice) arrive already written in
the report's language; everything around them — headings, labels, units, weekday
names, tooltips — comes from here, so one lookup by message id serves the HTML page,
the chart code and the terminal alike, and a test can check both tables carry the
same ids. Placeholders use ``str.format`` names; the templates are ours, the values
may be untrusted, and each renderer escapes the result for where it goes.
"""

from __future__ import annotations

from typing import Any

DEFAULT_LANG = "zh-CN"

_ZH: dict[str, str] = {
    "title": "社群健康报告",
    "meta.range": "统计区间 {start} 至 {end}",
    "meta.as_of": "数据截至 {time}",
    "meta.generated": "生成于 {time}",
    "meta.timezone": "时区 {tz}",
    "meta.weeks_complete": "最后一个完整周从 {week} 开始",
    "section.overview": "总览",
    "section.groups": "各群健康度",
    "section.totals": "规模",
    "section.activity": "活跃度",
    "totals.groups": "群",
    "totals.declining_groups": "衰退中的群",
    "totals.members": "成员",
    "totals.messages": "消息",
    "totals.joins": "入群",
    "totals.leaves": "退群",
    "totals.speakers": "发言人数",
    "activity.dau": "日活（DAU）",
    "activity.wau": "周活（WAU）",
    "activity.mau": "月活（MAU）",
    "activity.speaker_ratio": "发言率",
    "activity.top20_share": "前 20% 发言者的消息占比",
    "activity.gini": "发言集中度（基尼系数）",
    "activity.lurker_share": "潜水成员比例",
    "activity.silent_members": "{days} 天未发言的成员",
    "chart.daily": "每日消息与发言人数",
    "chart.scores": "各群健康分",
    "chart.weekly": "每周趋势",
    "chart.heatmap": "一周活跃时段（按小时的消息数）",
    "series.messages": "消息",
    "series.speakers": "发言人数",
    "series.speaker_ratio": "发言率",
    "series.leader_share": "群主/管理员发言占比",
    "series.score": "健康分",
    "tooltip.day": "{day}",
    "tooltip.week": "{week} 当周",
    "tooltip.slot": "{weekday} {hour}:00–{hour}:59",
    "tooltip.messages": "{messages} 条消息",
    "declining.heading": "需要关注的群",
    "declining.none": "目前没有衰退中的群。",
    "declining.badge": "衰退中",
    "group.score": "健康分",
    "group.platform": "平台 {platform}",
    "group.members": "{members} 名成员",
    "group.capacity": "{members} / {capacity} 名成员",
    "group.reasons": "问题与建议",
    "group.no_reasons": "没有发现明显问题。",
    "group.advice": "建议",
    "group.figures": "数据",
    "group.more_reasons": "另有 {count} 条",
    "score.good": "健康",
    "score.fair": "一般",
    "score.poor": "较差",
    "reason.leader_fading": "群主淡出",
    "reason.fewer_speakers": "发言的人变少",
    "reason.no_new_members": "没有新成员加入",
    "reason.newcomers_ignored": "新人无人回应",
    "reason.activity_decline": "活跃度下降",
    "section.golden": "黄金时段",
    "golden.item": "{weekday} {hour}:00（{messages} 条）",
    "heatmap.none": "这段时间没有消息。",
    "section.cohorts": "新成员留存",
    "cohort.help": "每行是一周入群的成员；第 k 格是他们在入群后第 k 周仍发言的比例（第 0 周为入群当周）。",
    "cohort.week": "入群周",
    "cohort.size": "人数",
    "cohort.k": "第 {k} 周",
    "cohort.none": "这段时间没有新成员。",
    "section.responsiveness": "响应",
    "resp.questions": "提问",
    "resp.answered": "得到回答",
    "resp.within": "{minutes} 分钟内回答",
    "resp.median": "回复时间中位数",
    "resp.minutes": "{minutes} 分钟",
    "resp.no_answer": "无回答",
    "resp.newcomers": "新成员",
    "resp.newcomers_unanswered": "发言无人回应的新成员",
    "section.topics": "话题",
    "topics.latest": "最近几周的热词",
    "topics.week": "{week} 当周",
    "topics.rising": "上升的词",
    "topics.none": "暂无。",
    "rising.term": "词",
    "rising.count": "最近次数",
    "rising.baseline": "此前每周",
    "rising.score": "上升强度",
    "figure.baseline_share": "此前占比",
    "figure.recent_share": "最近占比",
    "figure.baseline": "此前",
    "figure.recent": "最近",
    "figure.change": "变化",
    "figure.newcomers": "新成员",
    "figure.unanswered": "无人回应",
    "unit.count": "{count} 次",
    "nav.top": "回到顶部",
    "footer": "由 shequn 生成。图表：Apache ECharts {version}（Apache-2.0），已内嵌，无需联网。",
    "text.overview": "总览",
    "text.groups": "各群",
    "text.group": "群",
    "text.code": "代码",
    "text.detail": "说明",
    "text.yes": "是",
    "text.no": "否",
    "weekday.0": "周一",
    "weekday.1": "周二",
    "weekday.2": "周三",
    "weekday.3": "周四",
    "weekday.4": "周五",
    "weekday.5": "周六",
    "weekday.6": "周日",
}

_EN: dict[str, str] = {
    "title": "Community health report",
    "meta.range": "{start} to {end}",
    "meta.as_of": "Data as of {time}",
    "meta.generated": "Generated {time}",
    "meta.timezone": "Time zone {tz}",
    "meta.weeks_complete": "Last complete week starts {week}",
    "section.overview": "Overview",
    "section.groups": "Group health",
    "section.totals": "Size",
    "section.activity": "Activity",
    "totals.groups": "Groups",
    "totals.declining_groups": "Declining groups",
    "totals.members": "Members",
    "totals.messages": "Messages",
    "totals.joins": "Joins",
    "totals.leaves": "Leaves",
    "totals.speakers": "Speakers",
    "activity.dau": "Daily active (DAU)",
    "activity.wau": "Weekly active (WAU)",
    "activity.mau": "Monthly active (MAU)",
    "activity.speaker_ratio": "Speaker ratio",
    "activity.top20_share": "Messages from the top 20%",
    "activity.gini": "Concentration (Gini)",
    "activity.lurker_share": "Lurkers",
    "activity.silent_members": "Silent for {days} days",
    "chart.daily": "Messages and speakers per day",
    "chart.scores": "Health score by group",
    "chart.weekly": "Weekly trend",
    "chart.heatmap": "Activity by hour of the week (messages)",
    "series.messages": "Messages",
    "series.speakers": "Speakers",
    "series.speaker_ratio": "Speaker ratio",
    "series.leader_share": "Owner/admin share",
    "series.score": "Health score",
    "tooltip.day": "{day}",
    "tooltip.week": "Week of {week}",
    "tooltip.slot": "{weekday} {hour}:00–{hour}:59",
    "tooltip.messages": "{messages} messages",
    "declining.heading": "Groups that need attention",
    "declining.none": "No group is declining.",
    "declining.badge": "Declining",
    "group.score": "Health score",
    "group.platform": "Platform {platform}",
    "group.members": "{members} members",
    "group.capacity": "{members} / {capacity} members",
    "group.reasons": "Problems and advice",
    "group.no_reasons": "No problem found.",
    "group.advice": "Advice",
    "group.figures": "Figures",
    "group.more_reasons": "{count} more",
    "score.good": "Healthy",
    "score.fair": "Fair",
    "score.poor": "Poor",
    "reason.leader_fading": "Leaders fading",
    "reason.fewer_speakers": "Fewer people speak",
    "reason.no_new_members": "No new members",
    "reason.newcomers_ignored": "Newcomers ignored",
    "reason.activity_decline": "Activity declining",
    "section.golden": "Golden hours",
    "golden.item": "{weekday} {hour}:00 ({messages} messages)",
    "heatmap.none": "No messages in this period.",
    "section.cohorts": "Newcomer retention",
    "cohort.help": "Each row is the members who joined in one week; cell k is the share of them "
    "who still spoke k weeks after joining (week 0 is the week they joined).",
    "cohort.week": "Joined week of",
    "cohort.size": "People",
    "cohort.k": "W{k}",
    "cohort.none": "No newcomers in this period.",
    "section.responsiveness": "Responsiveness",
    "resp.questions": "Questions",
    "resp.answered": "Answered",
    "resp.within": "Answered within {minutes} min",
    "resp.median": "Median reply time",
    "resp.minutes": "{minutes} min",
    "resp.no_answer": "no answers",
    "resp.newcomers": "Newcomers",
    "resp.newcomers_unanswered": "Newcomers nobody answered",
    "section.topics": "Topics",
    "topics.latest": "Top terms of the latest weeks",
    "topics.week": "Week of {week}",
    "topics.rising": "Rising terms",
    "topics.none": "None yet.",
    "rising.term": "Term",
    "rising.count": "Recent count",
    "rising.baseline": "Weekly before",
    "rising.score": "Rise",
    "figure.baseline_share": "Share before",
    "figure.recent_share": "Share now",
    "figure.baseline": "Before",
    "figure.recent": "Now",
    "figure.change": "Change",
    "figure.newcomers": "Newcomers",
    "figure.unanswered": "Unanswered",
    "unit.count": "{count} times",
    "nav.top": "Back to top",
    "footer": "Made by shequn. Charts: Apache ECharts {version} (Apache-2.0), embedded; "
    "nothing is fetched.",
    "text.overview": "Overview",
    "text.groups": "Groups",
    "text.group": "Group",
    "text.code": "Code",
    "text.detail": "Detail",
    "text.yes": "yes",
    "text.no": "no",
    "weekday.0": "Mon",
    "weekday.1": "Tue",
    "weekday.2": "Wed",
    "weekday.3": "Thu",
    "weekday.4": "Fri",
    "weekday.5": "Sat",
    "weekday.6": "Sun",
}

CATALOGUES: dict[str, dict[str, str]] = {"zh-CN": _ZH, "en": _EN}


def normalise_lang(lang: str | None) -> str:
    """The catalogue for ``lang``: Chinese for any ``zh…``, English for anything else.

    A report written in a language we have no table for still renders, in English,
    rather than failing in front of the operator.
    """
    if not lang:
        return DEFAULT_LANG
    return "zh-CN" if lang.lower().startswith("zh") else "en"


def text(lang: str | None, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in.

    An unknown key raises KeyError: a missing label is a bug to catch in tests, not
    something to paper over with the raw id on an operator's screen.
    """
    template = CATALOGUES[normalise_lang(lang)][key]
    return template.format_map(values) if values else template


def has(lang: str | None, key: str) -> bool:
    """Whether ``key`` exists, for labels keyed by data (figure names, reason codes)."""
    return key in CATALOGUES[normalise_lang(lang)]


def weekday(lang: str | None, day: int) -> str:
    """The short weekday name; 0 is Monday, as in the report."""
    return text(lang, f"weekday.{int(day) % 7}")
