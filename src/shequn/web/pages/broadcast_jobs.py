"""``/broadcast/jobs``: the jobs that send posts, and each one's delivery report — group
by group, queued, sent (with a link to the message where the platform gives one),
failed with the platform's reason, cancelled or refused with why — with retry of the
failed copies, cancel of the waiting ones, cancel of the job, and its schedule to edit.
A refused edit shows every problem with the input kept (422).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shequn.features.broadcast import service as broadcast
from shequn.features.broadcast.problems import BroadcastError
from shequn.features.broadcast.schedule_text import parse_schedule
from shequn.web.api.broadcast import Id, Refused, id_cursor
from shequn.web.api.broadcast_jobs import STATUSES, act, edit
from shequn.web.api.operators import Storable
from shequn.web.auth import CanBroadcast, CanView
from shequn.web.context import web_of
from shequn.web.errors import NotFound
from shequn.web.pages.broadcast import community_id
from shequn.web.pages.broadcast_forms import schedule_form
from shequn.web.pages.overview import N_
from shequn.web.paging import DEFAULT_LIMIT, encode_cursor
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=1000), Storable]
Kind = Annotated[str, Form(max_length=16)]
BADGES = {
    "active": "good",
    "paused": "warn",
    "done": "",
    "cancelled": "tag-gray",
    "queued": "",
    "sent": "good",
    "failed": "bad",
    "refused": "warn",
}
NOTICES = {
    "retry": N_("%(n)s failed copies are queued again."),
    "cancel-pending": N_("%(n)s waiting copies are withdrawn."),
    "cancel": N_("The job is cancelled; %(n)s waiting copies are withdrawn."),
    "scheduled": N_("The job is scheduled."),
    "edited": N_("The schedule is saved."),
}


def _names(page: PageContext) -> tuple[dict[str, str], dict[str, str]]:
    statuses = {
        "active": page.gettext("Active"),
        "paused": page.gettext("Paused"),
        "done": page.gettext("Done"),
        "cancelled": page.gettext("Cancelled"),
    }
    deliveries = {
        "queued": page.gettext("Queued"),
        "sent": page.gettext("Sent"),
        "failed": page.gettext("Failed"),
        "cancelled": page.gettext("Cancelled"),
        "refused": page.gettext("Refused"),
    }
    return statuses, deliveries


def _when(page: PageContext, text: str | None) -> str:
    if not text:
        return page.gettext("At once")
    try:
        return parse_schedule(text).describe(page.locale)
    except BroadcastError:
        return text


# --- jobs --------------------------------------------------------------------------------


def _job_view(page: PageContext, j: broadcast.JobRow) -> dict[str, Any]:
    pacing = j.pacing
    parts = [page.gettext("daily cap %(n)s", n=pacing.get("daily_cap", "–"))]
    if pacing.get("quiet"):
        parts.append(page.gettext("quiet hours %(span)s", span=pacing["quiet"]))
    if pacing.get("golden"):
        parts.append(page.gettext("golden hours"))
    return {
        "id": j.id,
        "post_id": j.post_id,
        "title": j.title,
        "targets": j.targets,
        "when": _when(page, j.schedule),
        "schedule": j.schedule or "",
        "pacing": " · ".join(parts),
        "status": j.status,
        "badge": BADGES.get(j.status, ""),
        "next_run": j.next_run,
        "last_run": j.last_run,
        "editable": j.editable,
    }


@router.get("/broadcast/jobs")
def jobs_page(
    request: Request,
    who: CanView,
    status: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "broadcast"}, page=page)
    chosen = status if status in STATUSES else None
    before = id_cursor(cursor)
    with web_of(request).read() as conn:
        rows = broadcast.job_rows(
            conn,
            page.community.community_id,
            status=chosen,
            before_id=before,
            limit=DEFAULT_LIMIT + 1,
        )
    shown = rows[:DEFAULT_LIMIT]
    filters = {"status": chosen} if chosen else {}
    statuses, _ = _names(page)
    context = {
        "active": "broadcast",
        "jobs": [_job_view(page, j) for j in shown],
        "status": chosen,
        "statuses": STATUSES,
        "status_names": statuses,
        "next_url": "/broadcast/jobs?"
        + urlencode({**filters, "cursor": encode_cursor([shown[-1].id])})
        if len(rows) > DEFAULT_LIMIT
        else None,
        "first_url": "/broadcast/jobs" + (f"?{urlencode(filters)}" if filters else "")
        if before is not None
        else None,
    }
    return render(request, "broadcast/jobs.html.j2", context, page=page)


def _safe_link(url: str | None) -> str | None:
    """A platform's link to a sent message, shown only when it is a web address."""
    if not url or urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return url


def _job_page(
    request: Request,
    page: PageContext,
    job_id: int,
    *,
    notice: str | None = None,
    form: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    cid = community_id(page)
    try:
        with web_of(request).read() as conn:
            job = broadcast.get_job(conn, cid, job_id)
            report = broadcast.delivery_report(conn, cid, job_id, lang=page.locale)
    except broadcast.BroadcastNotFound:
        raise NotFound(f"no job {job_id}") from None
    view = _job_view(page, job)
    statuses, deliveries = _names(page)
    totals = report.totals
    context = {
        "active": "broadcast",
        "job": view,
        "notice": notice,
        "status_names": statuses,
        "delivery_names": deliveries,
        "badges": BADGES,
        "totals": [(s, n) for s, n in totals.items() if n],
        "counts": totals,
        "deliveries": [
            {
                "recipient": d.recipient,
                "name": d.name,
                "platform": d.platform,
                "run_at": d.run_at,
                "send_at": d.send_at,
                "status": d.status.value,
                "reason": d.reason,
                "link": _safe_link(d.link),
            }
            for d in report.deliveries
        ],
        "problems": problems or [],
        "form": form
        or {
            "targets": job.targets,
            "when": job.schedule or "",
            "daily_cap": str(job.pacing.get("daily_cap", "")),
            "quiet": job.pacing.get("quiet", ""),
            "golden": bool(job.pacing.get("golden")),
        },
    }
    return render(request, "broadcast/job.html.j2", context, page=page, status=status)


@router.get("/broadcast/jobs/{job_id}")
def job_page(
    request: Request,
    who: CanView,
    job_id: Id,
    msg: Annotated[str | None, Query(max_length=16)] = None,
    n: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    page = page_context(request, who)
    notice = NOTICES.get(msg or "")
    return _job_page(request, page, job_id, notice=page.gettext(notice, n=n) if notice else None)


@router.post("/broadcast/jobs/{job_id}/edit")
def edit_job(
    request: Request,
    who: CanBroadcast,
    job_id: Id,
    targets: Short = "",
    when: Short = "",
    daily_cap: Kind = "",
    quiet: Short = "",
    golden: Kind = "",
) -> Response:
    """Save a job's new targets, schedule and pacing, or show every problem."""
    page = page_context(request, who)
    cid = community_id(page)
    form = schedule_form(
        {"targets": targets, "daily_cap": daily_cap, "quiet": quiet, "golden": golden}
    )
    pacing = form.pacing()
    problems = [p.text(page.locale) for p in form.problems]
    if not problems:
        try:
            edit(
                request,
                who,
                cid,
                job_id,
                targets=form.targets or None,
                when=when.strip() or None,
                pacing=pacing,
                lang=page.locale,
            )
        except Refused as error:
            problems = error.detail["problems"]
        else:
            return RedirectResponse(f"/broadcast/jobs/{job_id}?msg=edited", status_code=303)
    values = {
        "targets": targets,
        "when": when,
        "daily_cap": daily_cap,
        "quiet": quiet,
        "golden": bool(golden),
    }
    return _job_page(request, page, job_id, form=values, problems=problems, status=422)


def _action_route(what: str) -> None:
    @router.post(f"/broadcast/jobs/{{job_id}}/{what}", name=f"page_{what.replace('-', '_')}")
    def route(request: Request, who: CanBroadcast, job_id: Id) -> Response:
        page = page_context(request, who)
        cid = community_id(page)
        try:
            touched = act(request, who, cid, job_id, what, page.locale)
        except Refused as error:
            return _job_page(request, page, job_id, problems=error.detail["problems"], status=422)
        query = urlencode({"msg": what, "n": touched})
        return RedirectResponse(f"/broadcast/jobs/{job_id}?{query}", status_code=303)


for _what in ("retry", "cancel-pending", "cancel"):
    _action_route(_what)
