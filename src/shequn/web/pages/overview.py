"""``/``: the current community at a glance — its size and activity, its trend over the
last 13 weeks, and the groups that are declining, with why and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from shequn.features.analytics import dashboard
from shequn.features.analytics.health import logic as health
from shequn.web.auth import CanView
from shequn.web.context import web_of
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


#: What each reason is called in a badge (its sentence comes from ``health.wording``).
REASON_LABELS = {
    health.LEADER_FADING: N_("Leaders fading"),
    health.FEWER_SPEAKERS: N_("Fewer people speak"),
    health.NO_NEW_MEMBERS: N_("No new members"),
    health.NEWCOMERS_IGNORED: N_("Newcomers ignored"),
    health.ACTIVITY_DECLINE: N_("Activity declining"),
}


def band(score: int) -> str:
    """The colour of a health score: the report's bands (70 and 40)."""
    return "good" if score >= 70 else "warn" if score >= 40 else "bad"


def reason_views(page: PageContext, reasons: Iterable[dashboard.Worded]) -> list[dict[str, Any]]:
    """Reasons as a page shows them: a label, the sentence and the next step (already
    written in the operator's language)."""
    return [
        {
            "code": w.code,
            "label": page.gettext(REASON_LABELS.get(w.code, w.code)),
            "detail": w.detail,
            "advice": w.advice,
        }
        for w in reasons
    ]


def trend_blocks(page: PageContext, figures: dashboard.CommunityFigures) -> dict[str, Any]:
    """The JSON the overview's two charts read."""
    days = [p.day.isoformat() for p in figures.daily]
    return {
        "activity": {
            "x": days,
            "series": [
                {
                    "name": page.gettext("Messages"),
                    "data": [p.messages for p in figures.daily],
                    "area": True,
                },
                {
                    "name": page.gettext("Speakers"),
                    "data": [p.speakers for p in figures.daily],
                    "axis": 1,
                },
            ],
        },
        "comings": {
            "x": days,
            "series": [
                {
                    "name": page.gettext("Joins"),
                    "data": [p.joins for p in figures.daily],
                    "type": "bar",
                },
                {
                    "name": page.gettext("Leaves"),
                    "data": [p.leaves for p in figures.daily],
                    "type": "bar",
                },
            ],
        },
    }


@router.get("/")
def overview(request: Request, who: CanView) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "overview"}, page=page)
    web = web_of(request)
    ref = page.community
    with web.read() as conn:
        scope = dashboard.scope_of(conn, ref.community_id, ref.timezone, now=web.app.clock.now())
        figures = dashboard.community_figures(conn, scope)
    alerts = [
        {
            "id": a.group_id,
            "name": a.name,
            "score": a.score,
            "band": band(a.score),
            "reasons": reason_views(page, dashboard.worded(a.reasons, page.locale)),
        }
        for a in figures.alerts
    ]
    return render(
        request,
        "overview/index.html.j2",
        {
            "active": "overview",
            "figures": figures,
            "scope": scope,
            "alerts": alerts,
            "charts": trend_blocks(page, figures),
        },
        page=page,
    )
