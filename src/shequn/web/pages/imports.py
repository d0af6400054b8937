"""``/imports``: upload a chat export into a community and watch its import run.

The upload form posts with HTMX, so the request carries the CSRF token as a
header and the file streams straight into the uploads folder; without
JavaScript it is a plain form post, which works the same. A job's page polls
its progress every second until the job ends.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from shequn.features.imports.logic import KINDS, elapsed, fraction
from shequn.features.imports.service import JobView
from shequn.kit.errors import ShequnError
from shequn.web.api.imports import MAX_ID, find_job, page_of_jobs, start_import
from shequn.web.auth import CanImport, CanView
from shequn.web.context import web_of
from shequn.web.errors import WebError
from shequn.web.i18n import Formatter
from shequn.web.paging import DEFAULT_LIMIT, MAX_LIMIT
from shequn.web.rendering import page_context, render

router = APIRouter(include_in_schema=False)
STATUS_CLASS = {"queued": "", "running": "warn", "done": "good", "failed": "bad"}


def size_text(fmt: Formatter, size: int) -> str:
    """A file size for people: bytes, KB, MB or GB (powers of 1024)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{fmt.number(size / scale, 1)} {unit}"
    return f"{fmt.number(size)} B"


def _job_context(request: Request, job: JobView, fmt: Formatter) -> dict[str, Any]:
    now = web_of(request).app.clock.now()
    done = fraction(job.bytes_read, job.size_bytes)
    return {
        "job": job,
        "fraction": 1.0 if job.status == "done" else done,
        "elapsed": elapsed(job.started_at, job.finished_at, now),
        "status_class": STATUS_CLASS.get(job.status, ""),
        "size": lambda n: size_text(fmt, n),
    }


@router.get("/imports")
def imports_page(
    request: Request,
    who: CanView,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = page_context(request, who)
    found, next_cursor = page_of_jobs(request, who, cursor, limit)
    return render(
        request,
        "imports/index.html.j2",
        {
            "jobs": found,
            "next_cursor": next_cursor,
            "paged": cursor is not None,
            "limit": limit,
            "kinds": KINDS,
            "status_class": STATUS_CLASS,
            "max_mb": web_of(request).app.settings.max_upload_mb,
            "active": "imports",
        },
        page=page,
    )


@router.post("/imports")
async def upload(request: Request, who: CanImport) -> Response:
    """Start an import; HTMX gets the job's address to go to, or the refusal to show
    beside the form (a plain form post gets the error page instead)."""
    htmx = request.headers.get("hx-request") == "true"
    try:
        job = await start_import(request, who)
    except (WebError, ShequnError) as exc:
        if not htmx:
            raise
        message = exc.message if isinstance(exc, WebError) else str(exc)
        return render(request, "imports/_refused.html.j2", {"message": message})
    target = f"/imports/{job.id}"
    if htmx:
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/imports/{job_id}")
def job_page(
    request: Request, who: CanView, job_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> Response:
    page = page_context(request, who)
    job = find_job(request, who, job_id)
    return render(
        request,
        "imports/job.html.j2",
        _job_context(request, job, page.fmt) | {"active": "imports"},
        page=page,
    )


@router.get("/imports/{job_id}/progress")
def job_progress(
    request: Request, who: CanView, job_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> Response:
    """The job's progress block alone, for the page to poll."""
    page = page_context(request, who)
    job = find_job(request, who, job_id)
    return render(
        request, "imports/_progress.html.j2", _job_context(request, job, page.fmt), page=page
    )
