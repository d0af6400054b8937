"""``/broadcast/compose`` and ``/broadcast/calendar``: sending a post to many groups, and
what is coming.

Compose takes the post, the targets, when (now, a one-off time, or a recurring text such
as "weekdays 08:30", on the community's clock) and the pacing. "Check before sending"
shows how many groups the targets match, each targeted platform's preview and the WeCom
groups that have had their one mass message that day — before anything is queued. A
refused job shows every problem with the input kept (422); nothing is stored. The
calendar lists the scheduled jobs' runs day by day on the community's clock.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shequn.features.broadcast import service as broadcast
from shequn.features.broadcast.localtime import as_zone, start_of_day
from shequn.features.broadcast.problems import BroadcastError
from shequn.features.broadcast.schedule import next_run
from shequn.features.broadcast.schedule_text import parse_schedule
from shequn.features.broadcast.targets import resolve_targets
from shequn.web.api.broadcast import Refused, reader_lang
from shequn.web.api.broadcast_jobs import schedule
from shequn.web.api.operators import Storable
from shequn.web.auth import CanBroadcast, CanView
from shequn.web.context import web_of
from shequn.web.errors import NotFound
from shequn.web.pages.broadcast import community_id, preview_view
from shequn.web.pages.broadcast_forms import ScheduleForm, schedule_form
from shequn.web.rendering import PageContext, page_context, render

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=1000), Storable]
Kind = Annotated[str, Form(max_length=16)]
#: Days the calendar shows at once.
CALENDAR_DAYS = 14
#: The most posts the compose page offers.
POST_CHOICES = 200


# --- compose -----------------------------------------------------------------------------


def _run_at(form: ScheduleForm, when: str | None, zone: str, now: datetime) -> datetime:
    """When the first run would go, for the WeCom check; now when it cannot be read (the
    schedule's own problems are reported by scheduling)."""
    if when is None:
        return now
    try:
        return next_run(parse_schedule(when, zone=zone, now=now), now, zone) or now
    except BroadcastError:
        return now


def _check(
    request: Request, page: PageContext, post_id: int | None, form: ScheduleForm
) -> dict[str, Any] | None:
    """What sending would do — groups matched, each platform's preview, WeCom conflicts —
    or the problems that stop it; None before a post and targets are chosen."""
    if post_id is None or not form.targets:
        return None
    assert page.community is not None
    cid, lang = page.community.community_id, page.locale
    now = web_of(request).app.clock.now()
    when = form.when()
    check: dict[str, Any] = {"problems": [], "conflicts": [], "previews": [], "matched": 0}
    try:
        with web_of(request).read() as conn:
            groups = resolve_targets(form.targets, broadcast.group_infos(conn, cid)).groups
            check["matched"] = len(groups)
            readers = reader_lang(conn, cid)
            rendered = broadcast.preview(
                conn, cid, post_id, targets=form.targets, lang=readers, now=now
            )
            at = _run_at(form, when, page.community.timezone, now)
            conflicts = broadcast.wecom_conflicts_for(conn, cid, list(groups), at)
    except broadcast.BroadcastNotFound:
        check["problems"] = [page.gettext("Choose a post of the library.")]
        return check
    except BroadcastError as error:
        check["problems"] = error.lines(lang)
        return check
    check["previews"] = preview_view(rendered, lang)
    check["conflicts"] = [c.problem().text(lang) for c in conflicts]
    check["problems"] = [p.text(lang) for p in form.problems]
    return check


def _compose(
    request: Request,
    page: PageContext,
    *,
    post: str = "",
    form: ScheduleForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    cid = community_id(page)
    assert page.community is not None
    with web_of(request).read() as conn:
        posts = broadcast.post_rows(conn, cid, limit=POST_CHOICES)
        group_tags = sorted({t for g in broadcast.group_infos(conn, cid) for t in g.tags})
    form = form or ScheduleForm()
    chosen = int(post) if post.isdigit() and len(post) < 10 else None
    values = {
        "post": post,
        "targets": form.targets,
        "when_kind": form.when_kind,
        "at": form.at,
        "repeat": form.repeat,
        "daily_cap": form.daily_cap,
        "quiet": form.quiet,
        "golden": form.golden,
    }
    context = {
        "active": "broadcast",
        "posts": posts,
        "group_tags": group_tags,
        "zone": page.community.timezone,
        "form": values,
        "problems": problems or [],
        "check": _check(request, page, chosen, form),
    }
    return render(request, "broadcast/compose.html.j2", context, page=page, status=status)


@router.get("/broadcast/compose")
def compose_page(
    request: Request,
    who: CanView,
    post: Annotated[str, Query(max_length=12)] = "",
    targets: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "broadcast"}, page=page)
    return _compose(request, page, post=post, form=schedule_form({"targets": targets}))


def _compose_form(
    post: str, targets: str, when_kind: str, at: str, repeat: str, cap: str, quiet: str, golden: str
) -> ScheduleForm:
    return schedule_form(
        {
            "targets": targets,
            "when_kind": when_kind,
            "at": at,
            "repeat": repeat,
            "daily_cap": cap,
            "quiet": quiet,
            "golden": golden,
        }
    )


@router.post("/broadcast/compose/check")
def compose_check(
    request: Request,
    who: CanView,
    post: Annotated[str, Form(max_length=12)] = "",
    targets: Short = "",
    when_kind: Kind = "now",
    at: Kind = "",
    repeat: Short = "",
    daily_cap: Kind = "",
    quiet: Short = "",
    golden: Kind = "",
) -> Response:
    """The check alone for HTMX, else the compose page with it."""
    page = page_context(request, who)
    community_id(page)
    form = _compose_form(post, targets, when_kind, at, repeat, daily_cap, quiet, golden)
    if request.headers.get("hx-request") == "true":
        chosen = int(post) if post.isdigit() and len(post) < 10 else None
        check = _check(request, page, chosen, form)
        return render(request, "broadcast/_check.html.j2", {"check": check}, page=page)
    return _compose(request, page, post=post, form=form)


@router.post("/broadcast/compose")
def compose(
    request: Request,
    who: CanBroadcast,
    post: Annotated[str, Form(max_length=12)] = "",
    targets: Short = "",
    when_kind: Kind = "now",
    at: Kind = "",
    repeat: Short = "",
    daily_cap: Kind = "",
    quiet: Short = "",
    golden: Kind = "",
) -> Response:
    """Schedule the job and open its report; or the form again with every problem."""
    page = page_context(request, who)
    cid = community_id(page)
    form = _compose_form(post, targets, when_kind, at, repeat, daily_cap, quiet, golden)
    when, pacing = form.when(), form.pacing()
    problems = [p.text(page.locale) for p in form.problems]
    if not (post.isdigit() and len(post) < 10):
        problems.append(page.gettext("Choose a post of the library."))
    if not problems:
        try:
            job_id = schedule(
                request,
                who,
                cid,
                int(post),
                targets=form.targets,
                when=when,
                pacing=pacing,
                lang=page.locale,
            )
        except NotFound:
            problems.append(page.gettext("Choose a post of the library."))
        except Refused as error:
            problems.extend(error.detail["problems"])
        else:
            return RedirectResponse(f"/broadcast/jobs/{job_id}?msg=scheduled", status_code=303)
    form.problems.clear()
    return _compose(request, page, post=post, form=form, problems=problems, status=422)


# --- calendar ----------------------------------------------------------------------------


@router.get("/broadcast/calendar")
def calendar_page(
    request: Request,
    who: CanView,
    start: Annotated[date | None, Query()] = None,
) -> Response:
    """The runs of the scheduled jobs, day by day on the community's clock."""
    page = page_context(request, who)
    if page.community is None:
        return render(request, "overview/empty.html.j2", {"active": "broadcast"}, page=page)
    zone = page.community.timezone
    today = web_of(request).app.clock.now().astimezone(as_zone(zone)).date()
    first = start if start is not None and date(2000, 1, 1) <= start <= date(2999, 1, 1) else today
    last = first + timedelta(days=CALENDAR_DAYS)
    with web_of(request).read() as conn:
        found = broadcast.upcoming(
            conn,
            page.community.community_id,
            start=start_of_day(first, zone),
            end=start_of_day(last, zone),
        )
    days: OrderedDict[date, list[Any]] = OrderedDict()
    for o in found:
        days.setdefault(o.local.date(), []).append(o)
    earlier = first - timedelta(days=CALENDAR_DAYS)
    context = {
        "active": "broadcast",
        "days": list(days.items()),
        "start": first,
        "end": last - timedelta(days=1),
        "zone": zone,
        "earlier_url": f"/broadcast/calendar?start={earlier.isoformat()}"
        if first > today
        else None,
        "later_url": f"/broadcast/calendar?start={last.isoformat()}",
    }
    return render(request, "broadcast/calendar.html.j2", context, page=page)
