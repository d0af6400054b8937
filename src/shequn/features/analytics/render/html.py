"""The health report as one self-contained HTML file an operator can open anywhere.

The page must open offline, from an e-mail attachment or a chat upload, and must stay
safe although group names and terms come straight from chat. So: ECharts and our chart
code are inlined and pinned by sha256 hashes in a Content-Security-Policy that forbids
everything else; Jinja autoescapes every value; chart data travels as JSON in
``<script type="application/json">`` blocks, serialised so that no string can end the
block; and the chart code reads those blocks as data, never as code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from shequn.features.analytics.render.catalogue import has, normalise_lang, text
from shequn.features.analytics.render.numbers import activity_rows, decimal, integer, percent

_PACKAGE = "shequn.features.analytics.render"
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
#: How many of the latest weeks' top terms a group card lists.
TOPIC_WEEKS = 3


@lru_cache(maxsize=8)
def static_text(name: str) -> str:
    """A file shipped in ``render/static``, read through importlib.resources so it
    works the same from a source tree, an editable install and a wheel."""
    return resources.files(_PACKAGE).joinpath("static", name).read_text(encoding="utf-8")


def echarts_version() -> str:
    """The vendored ECharts version, as recorded next to the bundle."""
    for line in static_text("ECHARTS_VERSION").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "version":
            return value.strip()
    return "?"


def csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline script or style."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def script_json(data: Any) -> str:
    """JSON that is safe as the text of a ``<script type="application/json">`` element.

    ``<``, ``>`` and ``&`` can only occur inside JSON strings, where ``\\u003c`` means the
    same thing to JSON.parse, so escaping them keeps ``</script>`` and ``<!--`` out of
    the element without changing the data; U+2028/2029 are escaped for old JS parsers.
    """
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return raw.translate(_JSON_ESCAPES)


def content_security_policy(scripts: list[str], styles: list[str]) -> str:
    """A policy that lets exactly our inline scripts and styles run, and nothing load."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(csp_hash(s) for s in scripts),
            "style-src " + " ".join(csp_hash(s) for s in styles),
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def sorted_groups(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Declining groups first, then the weakest: the order an operator should read them."""

    def key(group: dict[str, Any]) -> tuple[bool, float, str]:
        health = group.get("health") or {}
        score = health.get("score")
        number = float(score) if isinstance(score, int | float) else math.inf
        return (not health.get("declining", False), number, str(group.get("id", "")))

    return sorted(report.get("groups", []), key=key)


def chart_labels(lang: str) -> dict[str, Any]:
    """The fixed strings the chart code needs, handed over as data like everything else."""
    return {
        "locale": "zh-CN" if lang == "zh-CN" else "en",
        "echarts_locale": "ZH" if lang == "zh-CN" else "EN",
        "weekdays": [text(lang, f"weekday.{d}") for d in range(7)],
        "partial_week": text(lang, "chart.partial_week"),
        "series": {
            k: text(lang, f"series.{k}")
            for k in ("messages", "speakers", "speaker_ratio", "leader_share", "score")
        },
        "tooltip": {k: text(lang, f"tooltip.{k}") for k in ("day", "week", "slot", "messages")},
    }


def _heatmap_data(heatmap: dict[str, Any]) -> dict[str, Any]:
    cells = [[int(h), int(d), v] for d, h, v in heatmap.get("cells", [])]
    golden = [[int(g["hour"]), int(g["weekday"])] for g in heatmap.get("golden_hours", [])]
    return {"cells": cells, "golden": golden, "max": max((c[2] for c in cells), default=0)}


def chart_blocks(report: dict[str, Any]) -> dict[str, Any]:
    """Every JSON block the page carries, by element id: what the chart code will parse."""
    lang = normalise_lang(report.get("lang"))
    overview = report.get("overview", {})
    daily = overview.get("daily", [])
    groups = sorted_groups(report)
    blocks: dict[str, Any] = {
        "report-labels": chart_labels(lang),
        "data-daily": {
            "days": [d["day"] for d in daily],
            "messages": [d.get("messages", 0) for d in daily],
            "speakers": [d.get("speakers", 0) for d in daily],
        },
        "data-scores": {
            "names": [g.get("name", "") for g in groups],
            "scores": [(g.get("health") or {}).get("score", 0) for g in groups],
            "declining": [bool((g.get("health") or {}).get("declining")) for g in groups],
        },
    }
    complete_to = (report.get("range") or {}).get("weeks_complete_to") or "9999-12-31"
    for index, group in enumerate(groups, start=1):
        weekly = group.get("weekly", [])
        blocks[f"data-weekly-{index}"] = {
            "weeks": [w["week"] for w in weekly],
            "partial": [str(w["week"]) > complete_to for w in weekly],
            **{
                k: [w.get(k) for w in weekly]
                for k in ("messages", "speakers", "speaker_ratio", "leader_share")
            },
        }
        blocks[f"data-heatmap-{index}"] = _heatmap_data(group.get("heatmap") or {})
    return blocks


def _figure(key: str, value: Any) -> str:
    """Shares as percentages, everything else as a plain number."""
    share = "share" in key or "ratio" in key
    if share and isinstance(value, float) and 0 <= value <= 1:
        return percent(value)
    return decimal(value, str(value))


def _time(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


def _band(score: Any) -> str:
    if not isinstance(score, int | float):
        return "poor"
    return "good" if score >= 70 else "fair" if score >= 40 else "poor"


def _reason(lang: str, reason: dict[str, Any]) -> dict[str, Any]:
    code = str(reason.get("code", ""))
    figures = reason.get("figures") or {}
    return {
        "code": code,
        "label": text(lang, f"reason.{code}") if has(lang, f"reason.{code}") else code,
        "detail": reason.get("detail", ""),
        "advice": reason.get("advice", ""),
        "figures": [
            (text(lang, f"figure.{k}") if has(lang, f"figure.{k}") else k, _figure(k, v))
            for k, v in figures.items()
        ],
    }


def _cohorts(cohorts: list[dict[str, Any]]) -> dict[str, Any]:
    width = max((len(c.get("retention", [])) for c in cohorts), default=0)
    rows = []
    for cohort in cohorts:
        cells = [
            (f"r{round(min(max(v, 0), 1) * 10)}", percent(v))
            for v in cohort.get("retention", [])
            if isinstance(v, int | float)
        ]
        rows.append(
            {
                "week": cohort.get("week", ""),
                "size": integer(cohort.get("size")),
                "cells": cells,
                "pad": width - len(cells),
            }
        )
    return {"width": width, "rows": rows}


def _group_view(lang: str, index: int, group: dict[str, Any]) -> dict[str, Any]:
    health = group.get("health") or {}
    totals = group.get("totals") or {}
    activity = group.get("activity") or {}
    resp = group.get("responsiveness") or {}
    heatmap = group.get("heatmap") or {}
    topics = group.get("topics") or {}
    members = integer(totals.get("members"))
    capacity = group.get("capacity")
    median = resp.get("median_reply_minutes")
    return {
        "index": index,
        "name": group.get("name", ""),
        "platform": group.get("platform", ""),
        "members_line": text(lang, "group.capacity", members=members, capacity=integer(capacity))
        if capacity
        else text(lang, "group.members", members=members),
        "score": integer(health.get("score")),
        "band": _band(health.get("score")),
        "declining": bool(health.get("declining")),
        "reasons": [_reason(lang, r) for r in health.get("reasons", [])],
        "stats": [
            (text(lang, "totals.messages"), integer(totals.get("messages"))),
            (text(lang, "totals.speakers"), integer(totals.get("speakers"))),
            (text(lang, "activity.speaker_ratio"), percent(activity.get("speaker_ratio"))),
            (text(lang, "totals.joins"), integer(totals.get("joins"))),
            (text(lang, "totals.leaves"), integer(totals.get("leaves"))),
            (text(lang, "activity.dau"), decimal(activity.get("dau"))),
        ],
        "golden": [
            text(
                lang,
                "golden.item",
                weekday=text(lang, f"weekday.{int(g['weekday']) % 7}"),
                hour=f"{int(g['hour']):02d}",
                messages=integer(g.get("messages")),
            )
            for g in heatmap.get("golden_hours", [])
        ],
        "has_heatmap": bool(heatmap.get("cells")),
        "cohorts": _cohorts(group.get("cohorts", [])),
        "responsiveness": [
            (text(lang, "resp.questions"), integer(resp.get("questions"))),
            (
                text(lang, "resp.answered"),
                f"{integer(resp.get('answered'))} · {percent(resp.get('answered_share'))}",
            ),
            (
                text(lang, "resp.within", minutes=integer(resp.get("within_minutes"))),
                percent(resp.get("answered_within_share")),
            ),
            (
                text(lang, "resp.median"),
                text(lang, "resp.minutes", minutes=decimal(median))
                if isinstance(median, int | float)
                else text(lang, "resp.no_answer"),
            ),
            (text(lang, "resp.newcomers"), integer(resp.get("newcomers"))),
            (text(lang, "resp.newcomers_unanswered"), integer(resp.get("newcomers_unanswered"))),
        ],
        "topic_weeks": [
            {
                "label": text(lang, "topics.week", week=w.get("week", "")),
                "terms": [(t.get("term", ""), integer(t.get("count"))) for t in w.get("terms", [])],
            }
            for w in topics.get("weeks", [])[:TOPIC_WEEKS]
        ],
        "rising": [
            (
                r.get("term", ""),
                integer(r.get("count")),
                decimal(r.get("baseline")),
                decimal(r.get("score")),
            )
            for r in topics.get("rising", [])
        ],
    }


def _overview_view(lang: str, report: dict[str, Any]) -> dict[str, Any]:
    overview = report.get("overview") or {}
    totals = overview.get("totals") or {}
    activity = overview.get("activity") or {}
    return {
        "totals": [
            (text(lang, "totals.groups"), integer(overview.get("groups")), False),
            (
                text(lang, "totals.declining_groups"),
                integer(overview.get("declining_groups")),
                bool(overview.get("declining_groups")),
            ),
            *(
                (text(lang, f"totals.{k}"), integer(totals.get(k)), False)
                for k in ("members", "messages", "speakers", "joins", "leaves")
            ),
        ],
        "activity": activity_rows(lang, activity),
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader(_PACKAGE, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: dict[str, Any]) -> str:
    """The report as a complete HTML document (a string; write it as UTF-8)."""
    lang = normalise_lang(report.get("lang"))
    scripts = [static_text("echarts.min.js"), static_text("report.js")]
    css = static_text("report.css")
    blocks = chart_blocks(report)
    groups = sorted_groups(report)
    range_ = report.get("range") or {}
    community = report.get("community") or {}

    def t(key: str, **values: Any) -> str:
        return text(lang, key, **values)

    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            lang=lang,
            t=t,
            csp=content_security_policy(scripts, [css]),
            css=Markup(css),
            echarts_js=Markup(scripts[0]),
            report_js=Markup(scripts[1]),
            blocks={key: Markup(script_json(value)) for key, value in blocks.items()},
            community=community.get("name", ""),
            timezone=community.get("timezone", ""),
            range_line=t("meta.range", start=range_.get("from", ""), end=range_.get("to", "")),
            as_of=t("meta.as_of", time=_time(range_.get("as_of", ""))),
            generated=t("meta.generated", time=_time(report.get("generated_at", ""))),
            weeks_complete=range_.get("weeks_complete_to"),
            overview=_overview_view(lang, report),
            groups=[_group_view(lang, i, g) for i, g in enumerate(groups, start=1)],
            echarts_version=echarts_version(),
        )
    )
