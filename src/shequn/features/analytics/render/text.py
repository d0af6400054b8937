"""The health report in a terminal, with Rich, for operators who live in SSH sessions.

Group names, terms and the report's sentences are shown as ``rich.text.Text`` and never
parsed as markup, so a group called ``[bold red]x[/]`` prints those characters. Control
characters are made visible first: an ESC in a group name would otherwise reach the
terminal as an escape sequence, and a bidi override could reorder the lines after it.
"""

from __future__ import annotations

import re
from itertools import zip_longest
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from shequn.features.analytics.render.catalogue import has, normalise_lang, text
from shequn.features.analytics.render.html import sorted_groups
from shequn.features.analytics.render.numbers import activity_rows, decimal, integer, percent

_CONTROL = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
#: Names are cut to this many characters in titles and table cells.
NAME_WIDTH = 48
#: A sentence longer than this is cut: a 10,000-character group name quoted in a
#: reason would otherwise fill the screen.
SENTENCE_LIMIT = 1000


def safe(value: Any, limit: int | None = None) -> str:
    """``value`` as one line whose control characters are shown as ``\\uXXXX``."""
    raw = str(value)
    if limit is not None and len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", raw.replace("\n", " "))


def plain(value: Any, style: str = "", limit: int | None = SENTENCE_LIMIT) -> Text:
    """Untrusted text as a Rich Text: printed as written, never read as markup."""
    return Text(safe(value, limit), style=style)


def _score_style(score: Any, declining: bool) -> str:
    if declining or not isinstance(score, int | float) or score < 40:
        return "bold red"
    return "bold yellow" if score < 70 else "bold green"


def _overview(lang: str, report: dict[str, Any]) -> Table:
    overview = report.get("overview") or {}
    totals = overview.get("totals") or {}
    activity = overview.get("activity") or {}
    table = Table(title=text(lang, "text.overview"), box=box.SIMPLE_HEAVY, show_header=False)
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_column(style="dim")
    table.add_column(justify="right")
    left = [
        (text(lang, "totals.groups"), integer(overview.get("groups"))),
        (text(lang, "totals.declining_groups"), integer(overview.get("declining_groups"))),
        *(
            (text(lang, f"totals.{k}"), integer(totals.get(k)))
            for k in ("members", "messages", "speakers", "joins", "leaves")
        ),
    ]
    right = activity_rows(lang, activity)
    for (lk, lv), (rk, rv) in zip_longest(left, right, fillvalue=("", "")):
        table.add_row(Text(lk), Text(lv), Text(rk), Text(rv))
    return table


def _groups(lang: str, groups: list[dict[str, Any]]) -> Table:
    table = Table(title=text(lang, "text.groups"), box=box.SIMPLE_HEAVY)
    table.add_column(
        text(lang, "text.group"), max_width=NAME_WIDTH, no_wrap=True, overflow="ellipsis"
    )
    table.add_column(text(lang, "group.score"), justify="right")
    table.add_column(text(lang, "declining.badge"), justify="center")
    for key in ("totals.members", "totals.messages", "totals.speakers", "activity.speaker_ratio"):
        table.add_column(text(lang, key), justify="right")
    for group in groups:
        health = group.get("health") or {}
        totals = group.get("totals") or {}
        activity = group.get("activity") or {}
        declining = bool(health.get("declining"))
        table.add_row(
            plain(group.get("name", "")),
            Text(integer(health.get("score")), style=_score_style(health.get("score"), declining)),
            Text(text(lang, "text.yes"), style="bold red")
            if declining
            else Text(text(lang, "text.no")),
            Text(integer(totals.get("members"))),
            Text(integer(totals.get("messages"))),
            Text(integer(totals.get("speakers"))),
            Text(percent(activity.get("speaker_ratio"))),
        )
    return table


def _reasons(lang: str, group: dict[str, Any]) -> Panel:
    health = group.get("health") or {}
    parts: list[RenderableType] = []
    for reason in health.get("reasons", []):
        code = str(reason.get("code", ""))
        title = Text()
        title.append(text(lang, f"reason.{code}") if has(lang, f"reason.{code}") else "", "bold")
        title.append(" ")
        title.append(safe(code), "cyan")
        parts.append(title)
        parts.append(Padding(plain(reason.get("detail", "")), (0, 0, 0, 2)))
        figures = reason.get("figures") or {}
        if figures:
            line = Text(style="dim")
            for key, value in figures.items():
                label = text(lang, f"figure.{key}") if has(lang, f"figure.{key}") else safe(key)
                shown = percent(value) if ("share" in key or "ratio" in key) else decimal(value)
                line.append(f"{label} {shown}   ")
            parts.append(Padding(line, (0, 0, 0, 2)))
        # A grid, not one Text: Rich wraps at spaces, so a Chinese sentence after
        # the label would otherwise drop to its own line as one long "word".
        advice = Table.grid(padding=(0, 1))
        advice.add_column(no_wrap=True)
        advice.add_column(ratio=1, overflow="fold")
        label = Text("→ ", style="green")
        label.append(text(lang, "text.advice").strip(), "bold green")
        advice.add_row(label, plain(reason.get("advice", "")))
        parts.append(Padding(advice, (0, 0, 0, 2)))
    title = plain(group.get("name", ""), "bold", limit=NAME_WIDTH)
    return Panel(Group(*parts), title=title, title_align="left", box=box.ROUNDED)


def render_text(report: dict[str, Any], console: Console) -> None:
    """Print the overview, one row per group, then each troubled group's reasons."""
    lang = normalise_lang(report.get("lang"))
    community = report.get("community") or {}
    range_ = report.get("range") or {}
    header = Text(text(lang, "title") + " · ", style="bold")
    header.append_text(plain(community.get("name", ""), "bold", limit=2 * NAME_WIDTH))
    console.print(header)
    console.print(
        Text(
            text(
                lang,
                "meta.range",
                start=safe(range_.get("from", "")),
                end=safe(range_.get("to", "")),
            ),
            style="dim",
        )
    )
    console.print(_overview(lang, report))
    groups = sorted_groups(report)
    console.print(_groups(lang, groups))
    for group in groups:
        if (group.get("health") or {}).get("reasons"):
            console.print(_reasons(lang, group))
