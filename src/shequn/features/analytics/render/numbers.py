"""How figures read, the same in the HTML page and in the terminal."""

from __future__ import annotations

from typing import Any

from shequn.features.analytics.render.catalogue import text

DASH = "–"


def integer(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else DASH


def percent(value: Any) -> str:
    """A share as a percentage, with a decimal only where it matters (0.5 %, not 0 %)."""
    if not isinstance(value, int | float):
        return DASH
    return f"{value * 100:.1f}%" if 0 < abs(value) < 0.1 else f"{value * 100:.0f}%"


def decimal(value: Any, missing: str = DASH) -> str:
    """Integers with thousands separators, other numbers to two places without trailing zeros."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return missing
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")


def activity_rows(lang: str, activity: dict[str, Any]) -> list[tuple[str, str]]:
    """The activity figures of a group or the community, labelled, in reading order."""
    return [
        (text(lang, "activity.dau"), decimal(activity.get("dau"))),
        (text(lang, "activity.wau"), decimal(activity.get("wau"))),
        (text(lang, "activity.mau"), decimal(activity.get("mau"))),
        (text(lang, "activity.speaker_ratio"), percent(activity.get("speaker_ratio"))),
        (text(lang, "activity.top20_share"), percent(activity.get("top20_share"))),
        (text(lang, "activity.gini"), decimal(activity.get("gini"))),
        (text(lang, "activity.lurker_share"), percent(activity.get("lurker_share"))),
        (
            text(lang, "activity.silent_members", days=integer(activity.get("silent_days"))),
            integer(activity.get("silent_members")),
        ),
    ]
